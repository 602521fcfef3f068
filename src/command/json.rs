//! A [`Command`] back into its request object (`{"cmd": .., ...args}`):
//! what a client of the control socket (the attached TUI) sends for a
//! command it built. The inverse of [`Command::from_json`]: absent optional
//! arguments are left out, so the phone fills in the same defaults.

use super::{Command, DndVia};
use serde_json::{Map, Value};

impl Command {
    /// The request object for this command, without an `id`.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("cmd".into(), Value::from(self.name()));
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_string(), v);
        };
        let text = |s: &str| Value::from(s.to_string());
        match self {
            Command::Status
            | Command::ForwardClear
            | Command::Blf
            | Command::Devices
            | Command::Events
            | Command::Trace
            | Command::Detach
            | Command::Quit => {}
            Command::Dial { to, account } => {
                put("to", text(to));
                if let Some(a) = account {
                    put("account", text(a));
                }
            }
            Command::Answer { call }
            | Command::Hangup { call }
            | Command::Hold { call }
            | Command::Resume { call }
            | Command::Switch { call } => {
                if let Some(c) = call {
                    put("call", text(c));
                }
            }
            Command::Reject { call, code } => {
                if let Some(c) = call {
                    put("call", text(c));
                }
                put("code", Value::from(*code));
            }
            Command::History { limit } => {
                if let Some(l) = limit {
                    put("limit", Value::from(*l as u64));
                }
            }
            Command::Mute { call, on } => {
                if let Some(c) = call {
                    put("call", text(c));
                }
                put("on", Value::from(*on));
            }
            Command::Dtmf { call, digits } => {
                if let Some(c) = call {
                    put("call", text(c));
                }
                put("digits", text(digits));
            }
            Command::Deflect { call, to }
            | Command::Transfer { call, to }
            | Command::Consult { call, to } => {
                if let Some(c) = call {
                    put("call", text(c));
                }
                put("to", text(to));
            }
            Command::Connect { call, consult } => {
                put("call", text(call));
                put("consult", text(consult));
            }
            Command::Callback { entry } => {
                if let Some(e) = entry {
                    put("entry", Value::from(*e));
                }
            }
            Command::CallbackFree { entry, to } => {
                if let Some(e) = entry {
                    put("entry", Value::from(*e));
                }
                put("when", text("free"));
                if let Some(t) = to {
                    put("to", text(t));
                }
            }
            Command::CallbackAccept { id } => {
                if let Some(i) = id {
                    put("callback", text(i));
                }
            }
            Command::CallbackCancel { id } => put("callback", text(id)),
            Command::Conference { calls } => {
                if let Some(calls) = calls {
                    put("calls", Value::from(calls.clone()));
                }
            }
            Command::ConfAdd { to, call } => {
                if let Some(t) = to {
                    put("to", text(t));
                }
                if let Some(c) = call {
                    put("call", text(c));
                }
            }
            Command::ConfRemove { call }
            | Command::ConfSplit { call }
            | Command::ConfJoin { call } => {
                put("call", text(call));
            }
            Command::Dnd { on, via } => {
                put("on", Value::from(*on));
                let via = match via {
                    DndVia::Line => "line",
                    DndVia::Presence => "presence",
                };
                put("via", text(via));
            }
            Command::Forward {
                when,
                scope,
                to,
                after_s,
                via,
            } => {
                put("when", text(when));
                put("scope", text(scope));
                put("to", text(to));
                if let Some(a) = after_s {
                    put("after_s", Value::from(*a));
                }
                put("via", text(via));
            }
            Command::Pickup { target } => {
                if let Some(t) = target {
                    put("target", text(t));
                }
            }
            Command::Record { call, on, path } => {
                if let Some(c) = call {
                    put("call", text(c));
                }
                put("on", Value::from(*on));
                if let Some(p) = path {
                    put("path", text(p));
                }
            }
            Command::Gain { call, mic, speaker } => {
                for (k, v) in [("call", call), ("mic", mic), ("speaker", speaker)] {
                    if let Some(v) = v {
                        put(k, text(v));
                    }
                }
            }
            Command::Device { role, name } => {
                put("role", text(role));
                if let Some(n) = name {
                    put("name", text(n));
                }
            }
            Command::Search { q, limit } => {
                put("q", text(q));
                if let Some(l) = limit {
                    put("limit", Value::from(*l as u64));
                }
            }
            Command::Normalize { number, account } => {
                put("number", text(number));
                if let Some(a) = account {
                    put("account", text(a));
                }
            }
        }
        Value::Object(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::SPECS;

    /// Every command, as its spec's example and with every argument given,
    /// comes back the same through its request object.
    #[test]
    fn every_command_round_trips() {
        let mut lines: Vec<String> = SPECS.iter().map(|s| s.example.to_string()).collect();
        lines.extend(
            [
                "dial to=1002 account=office",
                "reject call=c2 code=603",
                "mute on=off call=c1",
                "dtmf digits=12# call=c3",
                "transfer to=1003 call=c1",
                "conference calls=c1,c2",
                "conf_add call=c4",
                "dnd on=on via=presence",
                "forward when=no_answer to=1009 scope=internal after_s=20 via=feature_code",
                "record on=on call=c1 path=/tmp/x.wav",
                "history limit=3",
                "callback entry=9",
                "pickup target=1002",
            ]
            .map(String::from),
        );
        for line in lines {
            let cmd = Command::parse_line(&line).unwrap();
            let json = cmd.to_json();
            assert_eq!(Command::from_json(&json).unwrap(), cmd, "{line} → {json}");
        }
    }

    #[test]
    fn absent_optional_arguments_are_left_out() {
        assert_eq!(
            Command::Hangup { call: None }.to_json(),
            serde_json::json!({"cmd": "hangup"})
        );
        assert_eq!(
            Command::Dial {
                to: "1002".into(),
                account: None
            }
            .to_json(),
            serde_json::json!({"cmd": "dial", "to": "1002"})
        );
    }
}
