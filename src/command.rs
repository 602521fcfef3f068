//! The one command language of termphone (docs/control.md): the control socket,
//! `termphone ctl` and (later) the TUI's keys and `:` line all produce a
//! [`Command`] through the parsers here. A leaf: depends on nothing else in
//! the crate.

use serde_json::{Map, Value};
use std::fmt;

/// A command for the phone, with its arguments checked and typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Accounts, calls and phone state.
    Status,
    /// Place a call. `to` is a number, a SIP URI or `echo`.
    Dial { to: String, account: Option<String> },
    /// Answer a ringing call (default: the ringing one).
    Answer { call: Option<String> },
    /// End a call in whatever way its state needs (BYE/CANCEL/reject).
    Hangup { call: Option<String> },
    /// Reject an incoming call with 486 (default) or 603.
    Reject { call: Option<String>, code: u16 },
    /// Call history, newest first.
    History { limit: Option<usize> },
    /// Put a call on hold (re-INVITE a=sendonly).
    Hold { call: Option<String> },
    /// Resume a held call (re-INVITE a=sendrecv).
    Resume { call: Option<String> },
    /// Hold the active call and resume another (default: the other held one).
    Switch { call: Option<String> },
    /// Stop / restart sending audio.
    Mute { call: Option<String>, on: bool },
    /// Send DTMF digits (RFC 4733, SIP INFO fallback).
    Dtmf {
        call: Option<String>,
        digits: String,
    },
    /// 302 an incoming call to `to` before answering.
    Deflect { call: Option<String>, to: String },
    /// Blind transfer (REFER).
    Transfer { call: Option<String>, to: String },
    /// Hold `call` and dial `to` for a consultation.
    Consult { call: Option<String>, to: String },
    /// Attended transfer: REFER with Replaces joining `call`'s peer and `consult`'s.
    Connect { call: String, consult: String },
    /// Dial the remote party of a history entry (default: last missed call).
    Callback { entry: Option<i64> },
    /// Join calls (default: all live ones) into a local conference.
    Conference { calls: Option<Vec<String>> },
    /// Dial `to` straight into the conference, or bring `call` in.
    ConfAdd {
        to: Option<String>,
        call: Option<String>,
    },
    /// Hang up one conference member; the others stay.
    ConfRemove { call: String },
    /// Talk privately to one member; the others keep talking.
    ConfSplit { call: String },
    /// Bring the split member back into the conference.
    ConfJoin { call: String },
    /// Do Not Disturb on the line (new calls rejected) or via presence.
    Dnd { on: bool, via: DndVia },
    /// Add a forwarding rule (by the client, or the PBX's feature code).
    Forward {
        when: String,
        scope: String,
        to: String,
        after_s: Option<u32>,
        via: String,
    },
    /// Remove every forwarding rule.
    ForwardClear,
    /// Pick up `target`'s ringing call (dialog event + Replaces, or feature code).
    Pickup { target: Option<String> },
    /// Busy lamp field states.
    Blf,
    /// Record a call, both directions, to a WAV file.
    Record {
        call: Option<String>,
        on: bool,
        path: Option<String>,
    },
    /// Stream events (socket only; answered with `ok` then event lines).
    Events,
    /// End every call, unregister, exit.
    Quit,
}

/// Where DND is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DndVia {
    /// New calls are rejected here (and the PBX told by feature code if configured).
    Line,
    /// A "busy / do not disturb" presence document is published.
    Presence,
}

/// An error a user can cause with a command: a stable `code` and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// snake_case, stable: scripts match on it.
    pub code: String,
    /// Human text.
    pub message: String,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
        }
    }
    pub fn bad_argument(message: impl Into<String>) -> Self {
        Self::new("bad_argument", message)
    }
}

/// Every command name with its positional argument names, for `ctl` and `:`.
#[rustfmt::skip]
pub const COMMANDS: &[(&str, &[&str], &str)] = &[
    ("status", &[], "accounts, calls and phone state"),
    ("dial", &["to", "account"], "call a number, SIP URI or `echo`"),
    ("answer", &["call"], "answer the ringing call"),
    ("hangup", &["call"], "end a call"),
    ("reject", &["call", "code"], "reject an incoming call (486/603)"),
    ("history", &["limit"], "call history, newest first"),
    ("hold", &["call"], "put a call on hold"),
    ("resume", &["call"], "resume a held call"),
    ("switch", &["call"], "hold the active call, resume another"),
    ("mute", &["on", "call"], "stop or restart sending audio"),
    ("dtmf", &["digits", "call"], "send DTMF digits"),
    ("deflect", &["to", "call"], "forward an incoming call before answering (302)"),
    ("transfer", &["to", "call"], "blind transfer (REFER)"),
    ("consult", &["to", "call"], "hold the call and dial a consultation"),
    ("connect", &["call", "consult"], "attended transfer of call to consult"),
    ("callback", &["entry"], "call back a history entry (default: last missed)"),
    ("conference", &["calls"], "join calls (default: all) into a local conference"),
    ("conf_add", &["to", "call"], "dial a party into the conference, or bring a call in"),
    ("conf_remove", &["call"], "hang up one conference member"),
    ("conf_split", &["call"], "talk privately to one member"),
    ("conf_join", &["call"], "bring the split member back"),
    ("dnd", &["on", "via"], "Do Not Disturb on/off (via line or presence)"),
    ("forward", &["when", "to", "scope", "after_s", "via"], "add a call forwarding rule"),
    ("forward_clear", &[], "remove every forwarding rule"),
    ("pickup", &["target"], "pick up a ringing call"),
    ("blf", &[], "busy lamp field states"),
    ("record", &["on", "call", "path"], "record a call (both directions) to WAV"),
    ("events", &[], "stream events"),
    ("quit", &[], "end all calls, unregister and exit"),
];

impl Command {
    /// The command's name as in docs/control.md.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Dial { .. } => "dial",
            Command::Answer { .. } => "answer",
            Command::Hangup { .. } => "hangup",
            Command::Reject { .. } => "reject",
            Command::History { .. } => "history",
            Command::Hold { .. } => "hold",
            Command::Resume { .. } => "resume",
            Command::Switch { .. } => "switch",
            Command::Mute { .. } => "mute",
            Command::Dtmf { .. } => "dtmf",
            Command::Deflect { .. } => "deflect",
            Command::Transfer { .. } => "transfer",
            Command::Consult { .. } => "consult",
            Command::Connect { .. } => "connect",
            Command::Callback { .. } => "callback",
            Command::Conference { .. } => "conference",
            Command::ConfAdd { .. } => "conf_add",
            Command::ConfRemove { .. } => "conf_remove",
            Command::ConfSplit { .. } => "conf_split",
            Command::ConfJoin { .. } => "conf_join",
            Command::Dnd { .. } => "dnd",
            Command::Forward { .. } => "forward",
            Command::ForwardClear => "forward_clear",
            Command::Pickup { .. } => "pickup",
            Command::Blf => "blf",
            Command::Record { .. } => "record",
            Command::Events => "events",
            Command::Quit => "quit",
        }
    }

    /// Parses a request object `{"cmd": "...", ...args}`. The `id` member, if
    /// any, is ignored here (the protocol layer echoes it).
    pub fn from_json(value: &Value) -> Result<Command, CommandError> {
        let obj = value
            .as_object()
            .ok_or_else(|| CommandError::new("bad_request", "a request must be a JSON object"))?;
        let name = obj
            .get("cmd")
            .and_then(Value::as_str)
            .ok_or_else(|| CommandError::new("bad_request", "missing string member `cmd`"))?;
        let spec = COMMANDS
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| {
                CommandError::new("unknown_command", format!("unknown command `{name}`"))
            })?;
        for key in obj.keys() {
            if key != "cmd" && key != "id" && !spec.1.contains(&key.as_str()) {
                return Err(CommandError::bad_argument(format!(
                    "`{name}` takes no argument `{key}` (it takes: {})",
                    if spec.1.is_empty() {
                        "none".to_string()
                    } else {
                        spec.1.join(", ")
                    }
                )));
            }
        }
        let args = Args { obj, cmd: name };
        Ok(match name {
            "status" => Command::Status,
            "dial" => Command::Dial {
                to: args.required_str("to")?,
                account: args.opt_str("account")?,
            },
            "answer" => Command::Answer {
                call: args.opt_str("call")?,
            },
            "hangup" => Command::Hangup {
                call: args.opt_str("call")?,
            },
            "reject" => {
                let code = args.opt_u64("code")?.unwrap_or(486);
                if code != 486 && code != 603 && !(400..700).contains(&code) {
                    return Err(CommandError::bad_argument(format!(
                        "reject code must be a 4xx, 5xx or 6xx status (486 busy, 603 decline), not {code}"
                    )));
                }
                Command::Reject {
                    call: args.opt_str("call")?,
                    code: code as u16,
                }
            }
            "history" => Command::History {
                limit: args.opt_u64("limit")?.map(|l| l as usize),
            },
            "hold" => Command::Hold {
                call: args.opt_str("call")?,
            },
            "resume" => Command::Resume {
                call: args.opt_str("call")?,
            },
            "switch" => Command::Switch {
                call: args.opt_str("call")?,
            },
            "mute" => Command::Mute {
                call: args.opt_str("call")?,
                on: args.opt_bool("on")?.unwrap_or(true),
            },
            "dtmf" => {
                let digits = args.required_str("digits")?;
                if let Some(bad) = digits
                    .chars()
                    .find(|c| !"0123456789*#ABCDabcd".contains(*c))
                {
                    return Err(CommandError::bad_argument(format!(
                        "`dtmf`: `{bad}` is not a DTMF digit (0-9, *, #, A-D)"
                    )));
                }
                Command::Dtmf {
                    call: args.opt_str("call")?,
                    digits: digits.to_ascii_uppercase(),
                }
            }
            "deflect" => Command::Deflect {
                call: args.opt_str("call")?,
                to: args.required_str("to")?,
            },
            "transfer" => Command::Transfer {
                call: args.opt_str("call")?,
                to: args.required_str("to")?,
            },
            "consult" => Command::Consult {
                call: args.opt_str("call")?,
                to: args.required_str("to")?,
            },
            "connect" => Command::Connect {
                call: args.required_str("call")?,
                consult: args.required_str("consult")?,
            },
            "callback" => Command::Callback {
                entry: args.opt_u64("entry")?.map(|e| e as i64),
            },
            "conference" => Command::Conference {
                calls: args.opt_list("calls")?,
            },
            "conf_add" => {
                let (to, call) = (args.opt_str("to")?, args.opt_str("call")?);
                match (&to, &call) {
                    (None, None) => {
                        return Err(CommandError::bad_argument(
                            "`conf_add` needs `to` (or `call`)",
                        ))
                    }
                    (Some(_), Some(_)) => {
                        return Err(CommandError::bad_argument(
                            "`conf_add` takes either `to` or `call`, not both",
                        ))
                    }
                    _ => {}
                }
                Command::ConfAdd { to, call }
            }
            "conf_remove" => Command::ConfRemove {
                call: args.required_str("call")?,
            },
            "conf_split" => Command::ConfSplit {
                call: args.required_str("call")?,
            },
            "conf_join" => Command::ConfJoin {
                call: args.required_str("call")?,
            },
            "dnd" => Command::Dnd {
                on: args
                    .opt_bool("on")?
                    .ok_or_else(|| CommandError::bad_argument("`dnd` needs `on`"))?,
                via: match args.opt_str("via")?.as_deref() {
                    None | Some("line") => DndVia::Line,
                    Some("presence") => DndVia::Presence,
                    Some(other) => {
                        return Err(CommandError::bad_argument(format!(
                            "`dnd`: `via` is `line` or `presence`, not `{other}`"
                        )))
                    }
                },
            },
            "forward" => {
                let when = args.required_str("when")?;
                if !["always", "busy", "no_answer"].contains(&when.as_str()) {
                    return Err(CommandError::bad_argument(format!(
                        "`forward`: `when` is always, busy or no_answer, not `{when}`"
                    )));
                }
                let scope = args.opt_str("scope")?.unwrap_or_else(|| "all".into());
                if !["all", "internal", "external"].contains(&scope.as_str()) {
                    return Err(CommandError::bad_argument(format!(
                        "`forward`: `scope` is all, internal or external, not `{scope}`"
                    )));
                }
                let via = args.opt_str("via")?.unwrap_or_else(|| "client".into());
                if !["client", "feature_code"].contains(&via.as_str()) {
                    return Err(CommandError::bad_argument(format!(
                        "`forward`: `via` is client or feature_code, not `{via}`"
                    )));
                }
                Command::Forward {
                    when,
                    scope,
                    to: args.required_str("to")?,
                    after_s: args.opt_u64("after_s")?.map(|s| s.min(600) as u32),
                    via,
                }
            }
            "forward_clear" => Command::ForwardClear,
            "pickup" => Command::Pickup {
                target: args.opt_str("target")?,
            },
            "blf" => Command::Blf,
            "record" => Command::Record {
                call: args.opt_str("call")?,
                on: args.opt_bool("on")?.unwrap_or(true),
                path: args.opt_str("path")?,
            },
            "events" => Command::Events,
            "quit" => Command::Quit,
            _ => {
                return Err(CommandError::new(
                    "unknown_command",
                    format!("unknown command `{name}`"),
                ))
            }
        })
    }

    /// Parses words as typed after `termphone ctl` or at the `:` line:
    /// `dial 1002`, `transfer call=c1 to=1003`. Values stay strings; the
    /// typed parse in [`Command::from_json`] converts them.
    pub fn words_to_json(words: &[String]) -> Result<Value, CommandError> {
        let (name, rest) = words
            .split_first()
            .ok_or_else(|| CommandError::new("bad_request", "no command given"))?;
        let spec = COMMANDS.iter().find(|(n, _, _)| n == name).ok_or_else(|| {
            CommandError::new("unknown_command", format!("unknown command `{name}`"))
        })?;
        let mut obj = Map::new();
        obj.insert("cmd".into(), Value::String(name.clone()));
        let mut positional = spec.1.iter();
        for word in rest {
            match word.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.contains(':') => {
                    obj.insert(k.to_string(), Value::String(v.to_string()));
                }
                _ => {
                    let key = positional.find(|k| !obj.contains_key(**k)).ok_or_else(|| {
                        CommandError::bad_argument(format!(
                            "too many arguments for `{name}`: `{word}`"
                        ))
                    })?;
                    obj.insert((*key).to_string(), Value::String(word.clone()));
                }
            }
        }
        Ok(Value::Object(obj))
    }

    /// Parses a `:` line or ctl words into a command.
    pub fn parse_line(line: &str) -> Result<Command, CommandError> {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        Command::from_json(&Command::words_to_json(&words)?)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

struct Args<'a> {
    obj: &'a Map<String, Value>,
    cmd: &'a str,
}

impl Args<'_> {
    fn opt_str(&self, key: &str) -> Result<Option<String>, CommandError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Err(CommandError::bad_argument(format!(
                "`{}`: `{key}` must not be empty",
                self.cmd
            ))),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(CommandError::bad_argument(format!(
                "`{}`: `{key}` must be a string, not {other}",
                self.cmd
            ))),
        }
    }

    fn required_str(&self, key: &str) -> Result<String, CommandError> {
        self.opt_str(key)?
            .ok_or_else(|| CommandError::bad_argument(format!("`{}` needs `{key}`", self.cmd)))
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, CommandError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                CommandError::bad_argument(format!(
                    "`{}`: `{key}` must be a whole number",
                    self.cmd
                ))
            }),
            Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
                CommandError::bad_argument(format!(
                    "`{}`: `{key}` must be a whole number, not `{s}`",
                    self.cmd
                ))
            }),
            Some(other) => Err(CommandError::bad_argument(format!(
                "`{}`: `{key}` must be a whole number, not {other}",
                self.cmd
            ))),
        }
    }

    /// A list: a JSON array of strings, or a comma-separated string (`c1,c2`).
    fn opt_list(&self, key: &str) -> Result<Option<Vec<String>>, CommandError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            )),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(CommandError::bad_argument(format!(
                        "`{}`: `{key}` must list call ids, not {other}",
                        self.cmd
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(CommandError::bad_argument(format!(
                "`{}`: `{key}` must be a list of call ids, not {other}",
                self.cmd
            ))),
        }
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, CommandError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "on" | "yes" | "1" => Ok(Some(true)),
                "false" | "off" | "no" | "0" => Ok(Some(false)),
                _ => Err(CommandError::bad_argument(format!(
                    "`{}`: `{key}` must be on/off or true/false, not `{s}`",
                    self.cmd
                ))),
            },
            Some(other) => Err(CommandError::bad_argument(format!(
                "`{}`: `{key}` must be true or false, not {other}",
                self.cmd
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positional_and_named_words() {
        assert_eq!(
            Command::parse_line("dial 1002").unwrap(),
            Command::Dial {
                to: "1002".into(),
                account: None
            }
        );
        assert_eq!(
            Command::parse_line("dial sip:bob@127.0.0.1:5070 account=office").unwrap(),
            Command::Dial {
                to: "sip:bob@127.0.0.1:5070".into(),
                account: Some("office".into())
            }
        );
        assert_eq!(
            Command::parse_line("reject c2 603").unwrap(),
            Command::Reject {
                call: Some("c2".into()),
                code: 603
            }
        );
        assert_eq!(
            Command::parse_line("reject").unwrap(),
            Command::Reject {
                call: None,
                code: 486
            }
        );
    }

    #[test]
    fn json_requests() {
        assert_eq!(
            Command::from_json(&json!({"id": 1, "cmd": "dial", "to": 1002})).unwrap(),
            Command::Dial {
                to: "1002".into(),
                account: None
            }
        );
        assert_eq!(
            Command::from_json(&json!({"cmd": "history", "limit": 5})).unwrap(),
            Command::History { limit: Some(5) }
        );
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(
            Command::parse_line("frobnicate").unwrap_err().code,
            "unknown_command"
        );
        assert_eq!(
            Command::parse_line("dial").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("hangup c1 c2").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::from_json(&json!({"cmd": "dial", "to": "1", "bogus": 1}))
                .unwrap_err()
                .code,
            "bad_argument"
        );
        assert_eq!(
            Command::from_json(&json!([1])).unwrap_err().code,
            "bad_request"
        );
        assert_eq!(
            Command::parse_line("reject c1 200").unwrap_err().code,
            "bad_argument"
        );
    }

    #[test]
    fn call_control_words() {
        assert_eq!(
            Command::parse_line("dtmf 12x").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("mute on=maybe").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("connect c1").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("transfer call=c1 to=1003").unwrap(),
            Command::Transfer {
                call: Some("c1".into()),
                to: "1003".into()
            }
        );
        assert_eq!(
            Command::parse_line("transfer 1003").unwrap(),
            Command::Transfer {
                call: None,
                to: "1003".into()
            }
        );
        assert_eq!(
            Command::parse_line("dtmf 12#a").unwrap(),
            Command::Dtmf {
                call: None,
                digits: "12#A".into()
            }
        );
        assert_eq!(
            Command::parse_line("mute off c2").unwrap(),
            Command::Mute {
                call: Some("c2".into()),
                on: false
            }
        );
        assert_eq!(
            Command::parse_line("mute").unwrap(),
            Command::Mute {
                call: None,
                on: true
            }
        );
        assert_eq!(
            Command::parse_line("connect c1 c2").unwrap(),
            Command::Connect {
                call: "c1".into(),
                consult: "c2".into()
            }
        );
        assert_eq!(
            Command::parse_line("callback 7").unwrap(),
            Command::Callback { entry: Some(7) }
        );
    }

    #[test]
    fn conference_words() {
        assert_eq!(
            Command::parse_line("conference c1,c2").unwrap(),
            Command::Conference {
                calls: Some(vec!["c1".into(), "c2".into()])
            }
        );
        assert_eq!(
            Command::parse_line("conference").unwrap(),
            Command::Conference { calls: None }
        );
        assert_eq!(
            Command::from_json(&serde_json::json!({"cmd": "conference", "calls": ["c1", "c3"]}))
                .unwrap(),
            Command::Conference {
                calls: Some(vec!["c1".into(), "c3".into()])
            }
        );
        assert_eq!(
            Command::parse_line("conf_add 1003").unwrap(),
            Command::ConfAdd {
                to: Some("1003".into()),
                call: None
            }
        );
        assert_eq!(
            Command::parse_line("conf_add call=c4").unwrap(),
            Command::ConfAdd {
                to: None,
                call: Some("c4".into())
            }
        );
        assert_eq!(
            Command::parse_line("conf_add").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("conf_remove").unwrap_err().code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("conf_split c2").unwrap(),
            Command::ConfSplit { call: "c2".into() }
        );
    }

    #[test]
    fn pbx_words() {
        assert_eq!(
            Command::parse_line("dnd on").unwrap(),
            Command::Dnd {
                on: true,
                via: DndVia::Line
            }
        );
        assert_eq!(
            Command::parse_line("dnd off presence").unwrap(),
            Command::Dnd {
                on: false,
                via: DndVia::Presence
            }
        );
        assert_eq!(Command::parse_line("dnd").unwrap_err().code, "bad_argument");
        assert_eq!(
            Command::parse_line("forward no_answer 1004 after_s=5").unwrap(),
            Command::Forward {
                when: "no_answer".into(),
                scope: "all".into(),
                to: "1004".into(),
                after_s: Some(5),
                via: "client".into()
            }
        );
        assert_eq!(
            Command::parse_line("forward sometimes 1004")
                .unwrap_err()
                .code,
            "bad_argument"
        );
        assert_eq!(
            Command::parse_line("pickup 1002").unwrap(),
            Command::Pickup {
                target: Some("1002".into())
            }
        );
        assert_eq!(Command::parse_line("blf").unwrap(), Command::Blf);
    }

    #[test]
    fn record_words() {
        assert_eq!(
            Command::parse_line("record").unwrap(),
            Command::Record {
                call: None,
                on: true,
                path: None
            }
        );
        assert_eq!(
            Command::parse_line("record off c2").unwrap(),
            Command::Record {
                call: Some("c2".into()),
                on: false,
                path: None
            }
        );
        assert_eq!(
            Command::parse_line("record on path=/tmp/x.wav").unwrap(),
            Command::Record {
                call: None,
                on: true,
                path: Some("/tmp/x.wav".into())
            }
        );
    }
}
