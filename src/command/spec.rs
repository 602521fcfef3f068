//! The shape of a command spec ([`Spec`], [`Arg`]) and the checks an
//! argument's kind makes on a request's value. Owns no command: the specs
//! themselves live in the sibling files, one `static` each.

use super::args::Args;
use super::{Command, CommandError};
use serde_json::{Map, Value};

/// Where a user can give a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A key of the TUI's keymap (`run = "hold"`).
    Key,
    /// The TUI's `:` line.
    Line,
    /// The control socket, and `termphone ctl` on it.
    Socket,
}

impl Surface {
    /// As prose: "a key", "the `:` line", "the control socket".
    pub fn describe(self) -> &'static str {
        match self {
            Surface::Key => "a key",
            Surface::Line => "the `:` line",
            Surface::Socket => "the control socket",
        }
    }
}

/// Keys, the `:` line and the control socket: what most commands offer.
pub const EVERYWHERE: &[Surface] = &[Surface::Key, Surface::Line, Surface::Socket];
/// The control socket only (a stream, not an action).
pub const SOCKET_ONLY: &[Surface] = &[Surface::Socket];

/// What an argument's value must be. Words (`ctl`, `:`) arrive as strings;
/// each kind also takes its string spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A non-empty string (a JSON number is taken as its digits).
    Text,
    /// A whole number `>= 0`, as a JSON number or a string of digits.
    Whole,
    /// `true`/`false`, or the words `on/off`, `yes/no`, `true/false`, `1/0`.
    Flag,
    /// Call ids: a JSON array of strings or a comma-separated string (`c1,c2`).
    List,
    /// One of a fixed set of words. `quoted`: the error message writes the
    /// values in backticks (as `dnd` always has; scripts match the text).
    OneOf {
        values: &'static [&'static str],
        quoted: bool,
    },
}

/// Whether an argument must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// "`cmd` needs `arg`" when absent.
    Required,
    /// May be absent; the build function sees `None`.
    Optional,
    /// May be absent; then this value (spelt as a word) is taken.
    Default(&'static str),
    /// Exactly one of this argument and the named other one must be given.
    Either(&'static str),
}

/// One argument of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    pub presence: Presence,
    /// Values worth offering at the `:` line besides those the kind implies.
    pub suggest: &'static [&'static str],
    /// Added to the argument's description in docs/control.md.
    pub note: &'static str,
}

impl Arg {
    const fn new(name: &'static str, kind: Kind) -> Arg {
        Arg {
            name,
            kind,
            presence: Presence::Required,
            suggest: &[],
            note: "",
        }
    }
    /// A required string argument.
    pub const fn text(name: &'static str) -> Arg {
        Arg::new(name, Kind::Text)
    }
    /// A required whole number.
    pub const fn whole(name: &'static str) -> Arg {
        Arg::new(name, Kind::Whole)
    }
    /// A required on/off switch.
    pub const fn flag(name: &'static str) -> Arg {
        Arg::new(name, Kind::Flag)
    }
    /// A required list of call ids.
    pub const fn list(name: &'static str) -> Arg {
        Arg::new(name, Kind::List)
    }
    /// A required choice among `values`.
    pub const fn one_of(name: &'static str, values: &'static [&'static str]) -> Arg {
        Arg::new(
            name,
            Kind::OneOf {
                values,
                quoted: false,
            },
        )
    }
    /// The error for a value outside the choice writes the values in backticks.
    pub const fn quote_values(mut self) -> Arg {
        if let Kind::OneOf { values, .. } = self.kind {
            self.kind = Kind::OneOf {
                values,
                quoted: true,
            };
        }
        self
    }
    pub const fn optional(mut self) -> Arg {
        self.presence = Presence::Optional;
        self
    }
    /// Optional, with `value` (a word of this argument's kind) when absent.
    pub const fn default(mut self, value: &'static str) -> Arg {
        self.presence = Presence::Default(value);
        self
    }
    /// Exactly one of this argument and `other` must be given.
    pub const fn or(mut self, other: &'static str) -> Arg {
        self.presence = Presence::Either(other);
        self
    }
    pub const fn suggest(mut self, values: &'static [&'static str]) -> Arg {
        self.suggest = values;
        self
    }
    pub const fn note(mut self, note: &'static str) -> Arg {
        self.note = note;
        self
    }

    /// Values to offer when completing this argument: its choices, `on`/`off`
    /// for a switch, and its suggestions.
    pub fn candidates(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = match self.kind {
            Kind::OneOf { values, .. } => values.to_vec(),
            Kind::Flag => vec!["on", "off"],
            Kind::Text | Kind::Whole | Kind::List => Vec::new(),
        };
        out.extend(
            self.suggest
                .iter()
                .filter(|s| !out.contains(s))
                .collect::<Vec<_>>(),
        );
        out
    }

    /// Checks a given (non-null) value against the kind, with the error
    /// messages scripts know.
    pub(super) fn check(&self, cmd: &str, value: &Value) -> Result<Checked, CommandError> {
        let key = self.name;
        let bad = |text: String| CommandError::bad_argument(format!("`{cmd}`: `{key}` {text}"));
        match self.kind {
            Kind::Text => text(value).map(Checked::Text).map_err(bad),
            Kind::OneOf { values, quoted } => {
                let word = text(value).map_err(bad)?;
                if values.contains(&word.as_str()) {
                    return Ok(Checked::Text(word));
                }
                let names: Vec<String> = values
                    .iter()
                    .map(|v| {
                        if quoted {
                            format!("`{v}`")
                        } else {
                            v.to_string()
                        }
                    })
                    .collect();
                let choices = match names.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    _ => names.concat(),
                };
                Err(bad(format!("is {choices}, not `{word}`")))
            }
            Kind::Whole => match value {
                Value::Number(n) => n
                    .as_u64()
                    .map(Checked::Whole)
                    .ok_or_else(|| bad("must be a whole number".into())),
                Value::String(s) => s
                    .trim()
                    .parse::<u64>()
                    .map(Checked::Whole)
                    .map_err(|_| bad(format!("must be a whole number, not `{s}`"))),
                other => Err(bad(format!("must be a whole number, not {other}"))),
            },
            Kind::Flag => match value {
                Value::Bool(b) => Ok(Checked::Flag(*b)),
                Value::String(s) => match s.as_str() {
                    "true" | "on" | "yes" | "1" => Ok(Checked::Flag(true)),
                    "false" | "off" | "no" | "0" => Ok(Checked::Flag(false)),
                    _ => Err(bad(format!("must be on/off or true/false, not `{s}`"))),
                },
                other => Err(bad(format!("must be true or false, not {other}"))),
            },
            Kind::List => match value {
                Value::String(s) => Ok(Checked::List(
                    s.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect(),
                )),
                Value::Array(items) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(bad(format!("must list call ids, not {other}"))),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Checked::List),
                other => Err(bad(format!("must be a list of call ids, not {other}"))),
            },
        }
    }
}

/// A string value: a non-empty string, or a number's digits. The error is
/// the part of the message after "`cmd`: `arg` ".
fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) if s.is_empty() => Err("must not be empty".into()),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("must be a string, not {other}")),
    }
}

/// A value that passed its argument's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Text(String),
    Whole(u64),
    Flag(bool),
    List(Vec<String>),
}

/// One command: everything the parsers, the `:` line, the keymap checks and
/// docs/control.md know about it.
#[derive(Debug)]
pub struct Spec {
    /// The name on every surface (`"cmd"` on the socket).
    pub name: &'static str,
    /// In positional order: `ctl dial 1002` gives the first one `1002`.
    pub args: &'static [Arg],
    /// One line for lists.
    pub help: &'static str,
    /// docs/control.md's "effect (SIP)" text.
    pub effect: &'static str,
    pub surfaces: &'static [Surface],
    /// A `:` line that parses into this command (checked by a test).
    pub example: &'static str,
    /// Builds the command, reading each argument with [`Args::get`] in the
    /// order its checks should report; adds checks no kind can express.
    pub build: fn(&Args) -> Result<Command, CommandError>,
}

impl Spec {
    /// The spec of the command called `name`.
    pub fn named(name: &str) -> Option<&'static Spec> {
        super::SPECS.iter().copied().find(|s| s.name == name)
    }

    pub fn arg(&self, name: &str) -> Option<&'static Arg> {
        self.args.iter().find(|a| a.name == name)
    }

    /// The argument names in positional order.
    pub fn arg_names(&self) -> Vec<&'static str> {
        self.args.iter().map(|a| a.name).collect()
    }

    pub fn offers(&self, surface: Surface) -> bool {
        self.surfaces.contains(&surface)
    }

    /// Parses the members of a request object (`cmd` and `id` aside).
    pub(super) fn parse(&'static self, obj: &Map<String, Value>) -> Result<Command, CommandError> {
        let name = self.name;
        for key in obj.keys() {
            if key != "cmd" && key != "id" && self.arg(key).is_none() {
                return Err(CommandError::bad_argument(format!(
                    "`{name}` takes no argument `{key}` (it takes: {})",
                    if self.args.is_empty() {
                        "none".to_string()
                    } else {
                        self.arg_names().join(", ")
                    }
                )));
            }
        }
        let command = (self.build)(&Args::new(self, obj))?;
        let given = |key: &str| !matches!(obj.get(key), None | Some(Value::Null));
        for (i, arg) in self.args.iter().enumerate() {
            let Presence::Either(other) = arg.presence else {
                continue;
            };
            if self.args[..i].iter().any(|a| a.name == other) {
                continue; // the pair was checked at its first member
            }
            match (given(arg.name), given(other)) {
                (false, false) => {
                    return Err(CommandError::bad_argument(format!(
                        "`{name}` needs `{}` (or `{other}`)",
                        arg.name
                    )))
                }
                (true, true) => {
                    return Err(CommandError::bad_argument(format!(
                        "`{name}` takes either `{}` or `{other}`, not both",
                        arg.name
                    )))
                }
                _ => {}
            }
        }
        Ok(command)
    }
}
