//! Wire format of the control socket: request lines in, reply and event lines out.
//!
//! Pure functions, no IO: [`parse_request`] turns one line into the request
//! id and a [`Command`] (or the error to answer with); [`ok_line`],
//! [`error_line`] and [`event_line`] build the JSON lines sent back. Member
//! order of a reply is fixed: `id`, `ok`, then the result or `error`.

use crate::command::{Command, CommandError};
use crate::phone::{Event, SipTrace};
use serde_json::Value;

/// Parses one request line. The id is echoed in the reply (`null` when the
/// line is not JSON or has no `id`).
pub fn parse_request(line: &str) -> (Value, Result<Command, CommandError>) {
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return (
                Value::Null,
                Err(CommandError::new(
                    "bad_json",
                    format!("malformed JSON: {e}"),
                )),
            )
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    (id, Command::from_json(&value))
}

fn json(value: &impl serde::Serialize) -> String {
    // Serializing a `Value`, a string or a derived `Serialize` with string
    // keys cannot fail; fall back to `null` rather than panic.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// `{"id":..,"ok":true, ...result}`: the members of an object result are
/// merged in (except `id` and `ok`); `null` adds nothing; any other value
/// goes under `result`.
pub fn ok_line(id: &Value, result: &Value) -> String {
    let mut line = format!("{{\"id\":{},\"ok\":true", json(id));
    match result {
        Value::Null => {}
        Value::Object(members) => {
            for (k, v) in members {
                if k != "id" && k != "ok" {
                    line.push(',');
                    line.push_str(&json(k));
                    line.push(':');
                    line.push_str(&json(v));
                }
            }
        }
        other => {
            line.push_str(",\"result\":");
            line.push_str(&json(other));
        }
    }
    line.push('}');
    line
}

/// `{"id":..,"ok":false,"error":{"code":..,"message":..}}`.
pub fn error_line(id: &Value, error: &CommandError) -> String {
    format!(
        "{{\"id\":{},\"ok\":false,\"error\":{{\"code\":{},\"message\":{}}}}}",
        json(id),
        json(&error.code),
        json(&error.message)
    )
}

/// The reply line for the outcome of a command.
pub fn reply_line(id: &Value, outcome: &Result<Value, CommandError>) -> String {
    match outcome {
        Ok(result) => ok_line(id, result),
        Err(e) => error_line(id, e),
    }
}

/// One event as a JSON line (`{"event":"call",...}`).
pub fn event_line(event: &Event) -> String {
    json(event)
}

/// One traced SIP message as a line of the `trace` stream:
/// `{"event":"sip", ...the SipTrace members}`.
pub fn trace_line(trace: &SipTrace) -> String {
    let body = json(trace);
    match body.strip_prefix('{') {
        Some(rest) if rest != "}" => format!("{{\"event\":\"sip\",{rest}"),
        _ => "{\"event\":\"sip\"}".to_string(),
    }
}

/// What a line of an `events` or `trace` stream carries.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamLine {
    Event(Event),
    Trace(SipTrace),
}

/// Reads one line of an `events` or `trace` stream; `None` for a line that
/// is neither (a newer event kind, say), which a reader skips.
pub fn parse_stream_line(line: &str) -> Option<StreamLine> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value.get("event").and_then(Value::as_str) == Some("sip") {
        serde_json::from_value(value).ok().map(StreamLine::Trace)
    } else {
        serde_json::from_value(value).ok().map(StreamLine::Event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_ids_are_echoed() {
        let (id, cmd) = parse_request(r#"{"id":7,"cmd":"dial","to":"1002"}"#);
        assert_eq!(id, json!(7));
        assert_eq!(
            cmd.unwrap(),
            Command::Dial {
                to: "1002".into(),
                account: None
            }
        );
        let (id, cmd) = parse_request(r#"{"id":{"k":[1]},"cmd":"status"}"#);
        assert_eq!(id, json!({"k": [1]}));
        assert_eq!(cmd.unwrap(), Command::Status);
        let (id, _) = parse_request(r#"{"cmd":"status"}"#);
        assert_eq!(id, Value::Null);
    }

    #[test]
    fn malformed_requests() {
        let (id, cmd) = parse_request("{\"id\":1,\"cmd\":");
        assert_eq!(id, Value::Null);
        let e = cmd.unwrap_err();
        assert_eq!(e.code, "bad_json");
        assert!(e.message.starts_with("malformed JSON: "), "{}", e.message);
        let (id, cmd) = parse_request(r#"{"id":"x","cmd":"fly"}"#);
        assert_eq!(id, json!("x"));
        assert_eq!(cmd.unwrap_err().code, "unknown_command");
        let (id, cmd) = parse_request("[1,2]");
        assert_eq!(id, Value::Null);
        assert_eq!(cmd.unwrap_err().code, "bad_request");
        let (_, cmd) = parse_request(r#"{"id":2,"cmd":"dial"}"#);
        assert_eq!(cmd.unwrap_err().code, "bad_argument");
    }

    #[test]
    fn golden_reply_lines() {
        assert_eq!(ok_line(&json!(1), &Value::Null), r#"{"id":1,"ok":true}"#);
        assert_eq!(
            ok_line(&json!("a"), &json!({"call": "c1"})),
            r#"{"id":"a","ok":true,"call":"c1"}"#
        );
        assert_eq!(
            ok_line(&json!(3), &json!({"id": 99, "ok": false, "n": [1, "two"]})),
            r#"{"id":3,"ok":true,"n":[1,"two"]}"#
        );
        assert_eq!(
            ok_line(&Value::Null, &json!(5)),
            r#"{"id":null,"ok":true,"result":5}"#
        );
        assert_eq!(
            error_line(
                &json!(4),
                &CommandError::new("no_such_call", "no call `c9`, \"quoted\"")
            ),
            r#"{"id":4,"ok":false,"error":{"code":"no_such_call","message":"no call `c9`, \"quoted\""}}"#
        );
        assert_eq!(
            reply_line(&json!(5), &Err(CommandError::bad_argument("x"))),
            r#"{"id":5,"ok":false,"error":{"code":"bad_argument","message":"x"}}"#
        );
        for line in [
            ok_line(&json!(1), &json!({"a": "line\nbreak"})),
            error_line(&json!(1), &CommandError::new("c", "two\nlines")),
        ] {
            assert!(!line.contains('\n'), "{line}");
            serde_json::from_str::<Value>(&line).unwrap();
        }
    }

    #[test]
    fn golden_event_lines() {
        let e = Event::Registration {
            account: "office".into(),
            registered: false,
            reason: Some("401 wrong password".into()),
        };
        assert_eq!(
            event_line(&e),
            r#"{"event":"registration","account":"office","registered":false,"reason":"401 wrong password"}"#
        );
        let e = Event::Dtmf {
            call: "c1".into(),
            digit: "5".into(),
        };
        assert_eq!(
            event_line(&e),
            r#"{"event":"dtmf","call":"c1","digit":"5"}"#
        );
    }

    #[test]
    fn trace_lines_read_back() {
        let t = SipTrace {
            at_ms: 1_700_000_000_123,
            direction: crate::phone::TraceDirection::Out,
            peer: "udp:127.0.0.1:5070".into(),
            call_id: Some("abc@h".into()),
            summary: "INVITE".into(),
            cseq: Some("1 INVITE".into()),
            text: "INVITE sip:x SIP/2.0\r\n\r\n".into(),
        };
        let line = trace_line(&t);
        assert!(
            line.starts_with(r#"{"event":"sip","at_ms":1700000000123,"direction":"out","#),
            "{line}"
        );
        assert_eq!(parse_stream_line(&line), Some(StreamLine::Trace(t)));
    }

    #[test]
    fn event_lines_read_back_and_unknown_ones_are_skipped() {
        let e = Event::Mwi {
            account: "office".into(),
            new: 2,
            old: 1,
        };
        assert_eq!(
            parse_stream_line(&event_line(&e)),
            Some(StreamLine::Event(e))
        );
        let call = crate::control::server::tests::call_event("c1", crate::phone::CallState::Held);
        assert_eq!(
            parse_stream_line(&event_line(&call)),
            Some(StreamLine::Event(call))
        );
        assert_eq!(
            parse_stream_line(r#"{"event":"teleport","to":"mars"}"#),
            None
        );
        assert_eq!(parse_stream_line("not json"), None);
    }
}
