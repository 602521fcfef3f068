//! The parsers' behaviour, and the specs checked against themselves and
//! docs/control.md.

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

fn message(line: &str) -> String {
    Command::parse_line(line).unwrap_err().message
}

#[test]
fn error_messages_stay_as_scripts_know_them() {
    assert_eq!(message("dial"), "`dial` needs `to`");
    assert_eq!(
        message("hangup c1 c2"),
        "too many arguments for `hangup`: `c2`"
    );
    assert_eq!(message("frobnicate"), "unknown command `frobnicate`");
    assert_eq!(
        message("reject c1 200"),
        "reject code must be a 4xx, 5xx or 6xx status (486 busy, 603 decline), not 200"
    );
    assert_eq!(
        message("dtmf 12x"),
        "`dtmf`: `x` is not a DTMF digit (0-9, *, #, A-D)"
    );
    assert_eq!(
        message("mute on=maybe"),
        "`mute`: `on` must be on/off or true/false, not `maybe`"
    );
    assert_eq!(message("conf_add"), "`conf_add` needs `to` (or `call`)");
    assert_eq!(
        message("conf_add 1003 call=c1"),
        "`conf_add` takes either `to` or `call`, not both"
    );
    assert_eq!(message("dnd"), "`dnd` needs `on`");
    assert_eq!(
        message("dnd on via=pigeon"),
        "`dnd`: `via` is `line` or `presence`, not `pigeon`"
    );
    assert_eq!(
        message("forward sometimes 1004"),
        "`forward`: `when` is always, busy or no_answer, not `sometimes`"
    );
    assert_eq!(
        message("forward busy 1004 scope=world"),
        "`forward`: `scope` is all, internal or external, not `world`"
    );
    assert_eq!(
        message("forward busy 1004 via=fax"),
        "`forward`: `via` is client or feature_code, not `fax`"
    );
    assert_eq!(
        message("history many"),
        "`history`: `limit` must be a whole number, not `many`"
    );
    assert_eq!(message("dial to= "), "`dial`: `to` must not be empty");
    let json = |v: Value| Command::from_json(&v).unwrap_err().message;
    assert_eq!(
        json(json!({"cmd": "dial", "to": "1", "bogus": 1})),
        "`dial` takes no argument `bogus` (it takes: to, account)"
    );
    assert_eq!(
        json(json!({"cmd": "status", "x": 1})),
        "`status` takes no argument `x` (it takes: none)"
    );
    assert_eq!(json(json!({"to": "1"})), "missing string member `cmd`");
    assert_eq!(json(json!([1])), "a request must be a JSON object");
    assert_eq!(
        json(json!({"cmd": "dial", "to": true})),
        "`dial`: `to` must be a string, not true"
    );
    assert_eq!(
        json(json!({"cmd": "history", "limit": -1})),
        "`history`: `limit` must be a whole number"
    );
    assert_eq!(
        json(json!({"cmd": "history", "limit": [1]})),
        "`history`: `limit` must be a whole number, not [1]"
    );
    assert_eq!(
        json(json!({"cmd": "mute", "on": 1})),
        "`mute`: `on` must be true or false, not 1"
    );
    assert_eq!(
        json(json!({"cmd": "conference", "calls": ["c1", 2]})),
        "`conference`: `calls` must list call ids, not 2"
    );
    assert_eq!(
        json(json!({"cmd": "conference", "calls": 2})),
        "`conference`: `calls` must be a list of call ids, not 2"
    );
    assert_eq!(
        Command::words_to_json(&[]).unwrap_err().message,
        "no command given"
    );
}

#[test]
fn the_first_fault_in_reading_order_is_reported() {
    // `reject` checks its code before its call, `forward` its choices
    // before `to`: as the parser always has.
    let json = |v: Value| Command::from_json(&v).unwrap_err().message;
    assert!(json(json!({"cmd": "reject", "call": true, "code": 200})).starts_with("reject code"));
    assert_eq!(
        json(json!({"cmd": "forward", "when": "busy", "via": "fax"})),
        "`forward`: `via` is client or feature_code, not `fax`"
    );
    assert_eq!(
        json(json!({"cmd": "mute", "on": "maybe", "call": ""})),
        "`mute`: `call` must not be empty"
    );
}

#[test]
fn values_in_other_spellings() {
    assert_eq!(
        Command::from_json(&json!({"cmd": "history", "limit": " 5 "})).unwrap(),
        Command::History { limit: Some(5) }
    );
    for (word, on) in [("on", true), ("yes", true), ("true", true), ("1", true)]
        .into_iter()
        .chain([
            ("off", false),
            ("no", false),
            ("false", false),
            ("0", false),
        ])
    {
        assert_eq!(
            Command::parse_line(&format!("mute {word}")).unwrap(),
            Command::Mute { call: None, on },
            "{word}"
        );
    }
    assert_eq!(
        Command::from_json(&json!({"cmd": "mute", "on": false, "call": null})).unwrap(),
        Command::Mute {
            call: None,
            on: false
        }
    );
    assert_eq!(
        Command::from_json(&json!({"cmd": "conference", "calls": "c1, ,c2,"})).unwrap(),
        Command::Conference {
            calls: Some(vec!["c1".into(), "c2".into()])
        }
    );
    assert_eq!(
        Command::parse_line("forward always 1004 after_s=9000").unwrap(),
        Command::Forward {
            when: "always".into(),
            scope: "all".into(),
            to: "1004".into(),
            after_s: Some(600),
            via: "client".into()
        }
    );
    assert_eq!(
        Command::from_json(&json!({"cmd": "reject", "code": 480})).unwrap(),
        Command::Reject {
            call: None,
            code: 480
        }
    );
}

#[test]
fn spec_names_are_unique_and_every_spec_parses_its_example() {
    for (i, spec) in SPECS.iter().enumerate() {
        assert!(
            SPECS[..i].iter().all(|s| s.name != spec.name),
            "`{}` has two specs",
            spec.name
        );
        assert!(
            spec.example.split_whitespace().next() == Some(spec.name),
            "`{}`'s example runs another command",
            spec.name
        );
        let command = Command::parse_line(spec.example)
            .unwrap_or_else(|e| panic!("`{}`: {} ({})", spec.example, e.message, e.code));
        assert_eq!(command.spec().name, spec.name, "{}", spec.example);
        assert_eq!(command.name(), spec.name);
        assert!(
            !spec.help.is_empty() && !spec.effect.is_empty(),
            "{}",
            spec.name
        );
        assert!(!spec.surfaces.is_empty(), "{}", spec.name);
    }
}

#[test]
fn every_declared_argument_is_read_as_its_kind() {
    // Each argument given alone, with a value its kind accepts: the build
    // function must read it as that kind (no "internal" error).
    for spec in SPECS {
        for arg in spec.args {
            let value = match (arg.presence, arg.kind) {
                (Presence::Default(d), _) => d.to_string(),
                (_, Kind::OneOf { values, .. }) => values[0].to_string(),
                (_, Kind::Flag) => "on".into(),
                (_, Kind::List) => "c1,c2".into(),
                (_, Kind::Whole) => "486".into(),
                (_, Kind::Text) => "1".into(),
            };
            let request = json!({"cmd": spec.name, (arg.name): value});
            if let Err(e) = Command::from_json(&request) {
                assert_ne!(e.code, "internal", "{request}: {}", e.message);
            }
        }
    }
}

#[test]
fn argument_lists_are_sound() {
    for spec in SPECS {
        for (i, arg) in spec.args.iter().enumerate() {
            assert!(
                spec.args[..i].iter().all(|a| a.name != arg.name),
                "`{}` declares `{}` twice",
                spec.name,
                arg.name
            );
            assert!(!matches!(arg.name, "cmd" | "id"), "{}", spec.name);
            if let Presence::Either(other) = arg.presence {
                assert_eq!(
                    spec.arg(other).map(|a| a.presence),
                    Some(Presence::Either(arg.name)),
                    "`{}`: `{}` and `{other}` must name each other",
                    spec.name,
                    arg.name
                );
            }
            if let Presence::Default(d) = arg.presence {
                assert!(
                    arg.check(spec.name, &Value::String(d.into())).is_ok(),
                    "`{}`: default of `{}`",
                    spec.name,
                    arg.name
                );
            }
        }
    }
}

#[test]
fn surfaces_events_and_trace_are_for_the_socket_only() {
    for spec in SPECS {
        let stream = ["events", "trace"].contains(&spec.name);
        assert!(spec.offers(Surface::Socket), "{}", spec.name);
        assert_eq!(spec.offers(Surface::Key), !stream, "{}", spec.name);
        assert_eq!(spec.offers(Surface::Line), !stream, "{}", spec.name);
    }
}
