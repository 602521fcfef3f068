//! The one command language of termphone (docs/control.md): the control
//! socket, `termphone ctl`, the TUI's keys and its `:` line all produce a
//! [`Command`] through the parsers here. A leaf: depends on nothing else in
//! the crate.
//!
//! Each command has one [`Spec`] (a `static` in `command/*.rs`, grouped by
//! concern): its name, its arguments with their kinds in positional order,
//! a help line, the effect text of docs/control.md, the surfaces that offer
//! it, an example, and the function that builds the [`Command`] from its
//! checked arguments. The JSON parser ([`Command::from_json`]), the words
//! parser ([`Command::words_to_json`], [`Command::parse_line`]),
//! [`Command::name`], the `:` line's completion, the keymap's checks and the
//! command table of docs/control.md all read the specs.
//!
//! # How to add a command
//!
//! 1. Add its variant to [`Command`] (the phone matches on it).
//! 2. Write its `static` [`Spec`] in the file of its concern (`calls`,
//!    `transfer`, `conference`, `pbx`, `session`, `numbers`): arguments with
//!    [`Arg::text`], [`Arg::whole`], [`Arg::flag`], [`Arg::list`] or
//!    [`Arg::one_of`], then `.optional()`, `.default("…")` or `.or("other")`;
//!    `build` reads each one with `a.get("name")?` (a plain type when it must
//!    be there, an `Option` when it may not) and adds any check a kind cannot
//!    express.
//! 3. Add the `Variant => file::SPEC` line to `specs!` below (the compiler
//!    insists: the match it generates must cover every variant).
//! 4. Carry it out in the phone's command dispatch, and bind it in
//!    `keymaps/default.toml` or list it there as `unbound`.
//! 5. Run `cargo test --lib command::docs -- --ignored` to rewrite the table
//!    in docs/control.md; `cargo test --lib command` checks the rest.

mod args;
mod callback;
mod calls;
mod conference;
#[cfg(test)]
mod docs;
mod json;
mod numbers;
mod pbx;
mod session;
mod spec;
#[cfg(test)]
mod tests;
mod transfer;

pub use args::{Args, FromArg, Wrong};
pub use spec::{Arg, Checked, Kind, Presence, Spec, Surface, EVERYWHERE, SOCKET_ONLY};

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
    /// `callback when=free`: arm a callback for when `to` (or the history
    /// entry's party, or the last busy or unanswered target) is free.
    CallbackFree {
        entry: Option<i64>,
        to: Option<String>,
    },
    /// Dial a callback whose target is free (default: the ringing one).
    CallbackAccept { id: Option<String> },
    /// Drop a pending callback when free.
    CallbackCancel { id: String },
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
    /// Stream the SIP trace (socket only; answered with `ok` then `sip` lines).
    Trace,
    /// Leave the phone and its calls running; close this interface or connection.
    Detach,
    /// End every call, unregister, exit.
    Quit,
    /// What the account's dial plan makes of a number (nothing is dialled).
    Normalize {
        number: String,
        account: Option<String>,
    },
    /// The directory and history searched, best match first.
    Search { q: String, limit: Option<usize> },
    /// The sound devices: inputs and outputs, the defaults marked.
    Devices,
    /// A call's microphone / speaker gain: `up`, `down` or dB.
    Gain {
        call: Option<String>,
        mic: Option<String>,
        speaker: Option<String>,
    },
    /// Use the device `name` (an id or name from `devices`; default: the
    /// system's) as the microphone (`input`), the call output (`output`)
    /// or the ring output (`ring`).
    Device { role: String, name: Option<String> },
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

/// Lists every command's spec once, in the order lists and completion show
/// them, and maps each [`Command`] variant to its spec.
/// Variants after the `;` share a spec listed before it (a second form of
/// one command, e.g. `callback when=free`).
macro_rules! specs {
    ($($variant:ident => $spec:path,)* ; $($form:ident => $form_spec:path,)*) => {
        /// Every command's spec.
        pub static SPECS: &[&Spec] = &[$(&$spec),*];

        impl Command {
            /// This command's spec.
            pub fn spec(&self) -> &'static Spec {
                match self {
                    $(Command::$variant { .. } => &$spec,)*
                    $(Command::$form { .. } => &$form_spec,)*
                }
            }
        }
    };
}

specs! {
    Status => session::STATUS,
    Dial => calls::DIAL,
    Answer => calls::ANSWER,
    Hangup => calls::HANGUP,
    Reject => calls::REJECT,
    History => session::HISTORY,
    Hold => calls::HOLD,
    Resume => calls::RESUME,
    Switch => calls::SWITCH,
    Mute => calls::MUTE,
    Dtmf => calls::DTMF,
    Deflect => transfer::DEFLECT,
    Transfer => transfer::TRANSFER,
    Consult => transfer::CONSULT,
    Connect => transfer::CONNECT,
    Callback => session::CALLBACK,
    CallbackAccept => callback::CALLBACK_ACCEPT,
    CallbackCancel => callback::CALLBACK_CANCEL,
    Conference => conference::CONFERENCE,
    ConfAdd => conference::CONF_ADD,
    ConfRemove => conference::CONF_REMOVE,
    ConfSplit => conference::CONF_SPLIT,
    ConfJoin => conference::CONF_JOIN,
    Dnd => pbx::DND,
    Forward => pbx::FORWARD,
    ForwardClear => pbx::FORWARD_CLEAR,
    Pickup => pbx::PICKUP,
    Blf => pbx::BLF,
    Record => calls::RECORD,
    Events => session::EVENTS,
    Trace => session::TRACE,
    Detach => session::DETACH,
    Quit => session::QUIT,
    Normalize => numbers::NORMALIZE,
    Search => numbers::SEARCH,
    Devices => session::DEVICES,
    Device => session::DEVICE,
    Gain => calls::GAIN,
    ;
    CallbackFree => session::CALLBACK,
}

fn unknown(name: &str) -> CommandError {
    CommandError::new("unknown_command", format!("unknown command `{name}`"))
}

impl Command {
    /// The command's name as in docs/control.md.
    pub fn name(&self) -> &'static str {
        self.spec().name
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
        Spec::named(name).ok_or_else(|| unknown(name))?.parse(obj)
    }

    /// Parses words as typed after `termphone ctl` or at the `:` line:
    /// `dial 1002`, `transfer call=c1 to=1003`. Values stay strings; the
    /// typed parse in [`Command::from_json`] converts them.
    pub fn words_to_json(words: &[String]) -> Result<Value, CommandError> {
        let (name, rest) = words
            .split_first()
            .ok_or_else(|| CommandError::new("bad_request", "no command given"))?;
        let spec = Spec::named(name).ok_or_else(|| unknown(name))?;
        let mut obj = Map::new();
        obj.insert("cmd".into(), Value::String(name.clone()));
        let mut positional = spec.args.iter().map(|a| a.name);
        for word in rest {
            match word.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.contains(':') => {
                    obj.insert(k.to_string(), Value::String(v.to_string()));
                }
                _ => {
                    let key = positional.find(|k| !obj.contains_key(*k)).ok_or_else(|| {
                        CommandError::bad_argument(format!(
                            "too many arguments for `{name}`: `{word}`"
                        ))
                    })?;
                    obj.insert(key.to_string(), Value::String(word.clone()));
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
