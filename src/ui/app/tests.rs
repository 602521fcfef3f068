//! The reducer: events, keys and replies in, effects and state out.

use super::*;
use crate::ui::key::Key;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const T0: &str = "2026-11-25T13:00:00Z";

pub(super) fn app() -> App {
    let mut a = App::new(
        Keymap::defaults(),
        Theme::fallback(false),
        UiConfig {
            theme: "default".into(),
            bell: true,
            notify: true,
        },
        Vec::new(),
        parse_rfc3339(T0).unwrap() + 65,
    );
    a.history = vec![HistoryRow {
        id: 7,
        account: "direct".into(),
        direction: "out".into(),
        remote: "sip:1002@test.local".into(),
        started_at: T0.into(),
        answered_at: None,
        ended_at: Some(T0.into()),
        end_reason: Some("486 Busy Here".into()),
        missed: false,
        name: None,
    }];
    a
}

/// A connected call to 1002 on the `direct` account (also the base of
/// `pbx_tests`' calls).
pub(super) fn call(id: &str, dir: CallDirection, state: CallState) -> CallInfo {
    CallInfo {
        id: id.into(),
        account: "direct".into(),
        direction: dir,
        remote: "sip:1002@test.local".into(),
        remote_name: None,
        name: None,
        state,
        held: state == CallState::Held,
        remote_held: false,
        muted: false,
        conference: false,
        started_at: T0.into(),
        answered_at: Some(T0.into()),
        ended_at: None,
        end_reason: None,
        codec: Some("PCMU".into()),
        codec_rate: None,
        red: false,
        stats: None,
        transfer_status: None,
        recording: None,
        sip_call_id: format!("{id}@sip"),
        local_sip: None,
        local_media: None,
        media_encryption: None,
        redirected_to: None,
        signalling: None,
    }
}

fn ev(c: CallInfo) -> Event {
    Event::Call { call: Box::new(c) }
}

pub(super) fn key(s: &str) -> KeyEvent {
    let k = Key::parse(s).unwrap();
    let mut m = KeyModifiers::empty();
    if k.ctrl {
        m |= KeyModifiers::CONTROL;
    }
    KeyEvent::new(k.code, m)
}

fn typed(a: &mut App, text: &str) -> Vec<Effect> {
    let mut out = Vec::new();
    for c in text.chars() {
        out.extend(a.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::empty())));
    }
    out
}

#[test]
fn incoming_call_rings_notifies_and_is_selected() {
    let mut a = app();
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    let effects = a.on_phone_event(ev(call("c2", CallDirection::In, CallState::Ringing)));
    assert_eq!(effects[0], Effect::Bell);
    assert!(matches!(&effects[1], Effect::Notify(t) if t.contains("1002")));
    assert_eq!(a.selected_call().unwrap().id, "c2");
    // an update of the same ringing call does not ring again
    assert!(a
        .on_phone_event(ev(call("c2", CallDirection::In, CallState::Ringing)))
        .is_empty());
    a.settings.bell = false;
    a.settings.notify = false;
    assert!(a
        .on_phone_event(ev(call("c3", CallDirection::In, CallState::Ringing)))
        .is_empty());
}

#[test]
fn keys_act_on_the_selected_call() {
    let mut a = app();
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    assert_eq!(
        a.on_key(key("h")),
        vec![Effect::Execute(Command::Hold {
            call: Some("c1".into())
        })]
    );
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Held)));
    assert_eq!(
        a.on_key(key("h")),
        vec![Effect::Execute(Command::Resume {
            call: Some("c1".into())
        })]
    );
    assert_eq!(
        a.on_key(key("m")),
        vec![Effect::Execute(Command::Mute {
            call: Some("c1".into()),
            on: true
        })]
    );
    assert_eq!(
        a.on_key(key("x")),
        vec![Effect::Execute(Command::Hangup {
            call: Some("c1".into())
        })]
    );
    // answer only picks a ringing selection; else the phone chooses
    assert_eq!(
        a.on_key(key("a")),
        vec![Effect::Execute(Command::Answer { call: None })]
    );
}

#[test]
fn digits_send_dtmf_in_a_call_and_dial_otherwise() {
    let mut a = app();
    assert!(typed(&mut a, "10").is_empty());
    assert_eq!(
        a.mode,
        Mode::Input {
            kind: PromptKind::Dial,
            text: "10".into()
        }
    );
    typed(&mut a, "02");
    assert_eq!(
        a.on_key(key("<Enter>")),
        vec![Effect::Execute(Command::Dial {
            to: "1002".into(),
            account: None
        })]
    );
    assert_eq!(a.mode, Mode::Normal);
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    assert_eq!(
        typed(&mut a, "#"),
        vec![Effect::Execute(Command::Dtmf {
            call: Some("c1".into()),
            digits: "#".into()
        })]
    );
}

#[test]
fn missing_argument_opens_the_command_line() {
    let mut a = app();
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    assert!(a.on_key(key("t")).is_empty());
    assert_eq!(
        a.mode,
        Mode::Input {
            kind: PromptKind::Command,
            text: "transfer call=c1 ".into()
        }
    );
    assert_eq!(typed(&mut a, "1003"), Vec::new());
    assert_eq!(
        a.on_key(key("<Enter>")),
        vec![Effect::Execute(Command::Transfer {
            call: Some("c1".into()),
            to: "1003".into()
        })]
    );
}

#[test]
fn command_line_errors_go_to_the_message_line() {
    let mut a = app();
    a.on_key(key(":"));
    typed(&mut a, "reject code=42");
    assert!(a.on_key(key("<Enter>")).is_empty());
    let (level, text) = a.message.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(text.contains("bad_argument"), "{text}");
    a.on_key(key(":"));
    typed(&mut a, "frob");
    a.on_key(key("<Enter>"));
    assert!(a.message.clone().unwrap().1.contains("unknown command"));
    // replies with errors too
    a.on_reply(
        "hold",
        Err(CommandError::new("not_supported", "no hold here")),
    );
    assert_eq!(
        a.message,
        Some((Level::Error, "hold: no hold here (not_supported)".into()))
    );
}

#[test]
fn quit_asks_when_calls_are_up() {
    let mut a = app();
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    assert!(a.on_key(key("q")).is_empty());
    assert_eq!(a.mode, Mode::ConfirmQuit);
    assert!(a.on_key(key("n")).is_empty());
    assert_eq!(a.mode, Mode::Normal);
    a.on_key(key("q"));
    assert_eq!(a.on_key(key("y")), vec![Effect::Execute(Command::Quit)]);
    let mut idle = app();
    assert_eq!(idle.on_key(key("q")), vec![Effect::Execute(Command::Quit)]);
}

#[test]
fn completion_of_names_calls_entries_and_uris() {
    let mut a = app();
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    assert_eq!(
        a.complete(PromptKind::Command, "tra"),
        ("transfer ".into(), vec!["transfer".into()])
    );
    let (text, all) = a.complete(PromptKind::Command, "c");
    assert_eq!(text, "c");
    assert!(all.contains(&"callback".to_string()) && all.contains(&"connect".to_string()));
    assert_eq!(a.complete(PromptKind::Command, "hold ").0, "hold c1 ");
    assert_eq!(
        a.complete(PromptKind::Command, "callback ").0,
        "callback 7 "
    );
    assert_eq!(
        a.complete(PromptKind::Command, "transfer sip:").0,
        "transfer sip:1002@test.local "
    );
    assert_eq!(
        a.complete(PromptKind::Command, "transfer to=e").0,
        "transfer to=echo "
    );
    assert_eq!(
        a.complete(PromptKind::Dial, "sip").0,
        "sip:1002@test.local "
    );
    assert_eq!(
        a.complete(PromptKind::Command, "nope x").1,
        Vec::<String>::new()
    );
    // Tab in the input line applies it
    a.on_key(key(":"));
    typed(&mut a, "hist");
    a.on_key(key("<Tab>"));
    assert_eq!(
        a.mode,
        Mode::Input {
            kind: PromptKind::Command,
            text: "history ".into()
        }
    );
}

#[test]
fn status_history_and_registration_update_the_bars() {
    let mut a = app();
    let status = serde_json::json!({
        "accounts": [{"name": "office", "aor": "sip:1001@test.local", "registered": false, "expires": 0, "reason": "registering"}],
        "calls": [], "dnd": true, "forward": [{"when": "busy", "to": "1009", "via": "feature_code"}],
        "listen": "127.0.0.1:5062"
    });
    assert!(a.on_reply("status", Ok(status)).is_empty());
    assert!(a.dnd);
    assert_eq!(a.forward_rules, 1);
    assert_eq!(a.listen, "127.0.0.1:5062");
    a.on_phone_event(Event::Registration {
        account: "office".into(),
        registered: true,
        reason: None,
    });
    assert!(a.accounts[0].registered);
    let history = serde_json::json!({"history": [
        {"id": 3, "account": "office", "direction": "in", "remote": "sip:1003@test.local",
         "started_at": T0, "ended_at": T0, "end_reason": "cancelled", "missed": true}
    ]});
    a.on_reply("history", Ok(history));
    assert_eq!(a.history.len(), 1);
    assert!(a.history[0].missed);
    // other successful commands refresh the status
    assert_eq!(
        a.on_reply("dial", Ok(serde_json::json!({"call": "c9"}))),
        vec![Effect::Execute(Command::Status)]
    );
}

#[test]
fn ended_calls_leave_after_a_while_and_history_refreshes() {
    let mut a = app();
    let mut c = call("c1", CallDirection::Out, CallState::Ended);
    c.ended_at = Some(T0.into());
    let effects = a.on_phone_event(ev(c));
    assert_eq!(
        effects,
        vec![Effect::Execute(Command::History {
            limit: Some(HISTORY_LIMIT)
        })]
    );
    let t0 = parse_rfc3339(T0).unwrap();
    a.tick(t0 + 10);
    assert_eq!(a.calls.len(), 1);
    a.tick(t0 + ENDED_KEEP_S + 1);
    assert!(a.calls.is_empty());
}

#[test]
fn history_view_enter_calls_back_the_selected_entry() {
    let mut a = app();
    a.on_key(key("<F2>"));
    assert_eq!(a.view, View::History);
    assert_eq!(
        a.on_key(key("<Enter>")),
        vec![Effect::Execute(Command::Callback { entry: Some(7) })]
    );
    assert_eq!(
        a.on_key(key("c")),
        vec![Effect::Execute(Command::Callback { entry: Some(7) })]
    );
}

#[test]
fn unbound_keys_say_so() {
    let mut a = app();
    assert!(a.on_key(key("<F12>")).is_empty());
    assert_eq!(a.message.clone().unwrap().0, Level::Error);
    assert!(a.message.clone().unwrap().1.contains("F12"));
}

fn input(a: &App) -> Option<&str> {
    match &a.mode {
        Mode::Input { text, .. } => Some(text),
        _ => None,
    }
}

#[test]
fn input_line_keys_edit_recall_and_leave() {
    let mut a = app();
    a.on_key(key(":"));
    typed(&mut a, "hold? x");
    assert_eq!(input(&a), Some("hold? x"), "unbound characters are typed");
    a.on_key(key("<Backspace>"));
    assert_eq!(input(&a), Some("hold? "));
    a.on_key(key("<C-u>"));
    assert_eq!(input(&a), Some(""));
    // Backspace on an empty line leaves it
    a.on_key(key("<Backspace>"));
    assert_eq!(a.mode, Mode::Normal);
    // two lines typed, then recalled newest first
    for line in ["dial 1002", "dial 1003"] {
        a.on_key(key(":"));
        typed(&mut a, line);
        a.on_key(key("<Enter>"));
    }
    a.on_key(key("d"));
    a.on_key(key("<Up>"));
    assert_eq!(input(&a), Some("dial 1003"));
    a.on_key(key("<Up>"));
    assert_eq!(input(&a), Some("dial 1002"));
    a.on_key(key("<Down>"));
    assert_eq!(input(&a), Some("dial 1003"));
    // Esc and C-c leave it; F-keys and Alt chords do nothing
    a.on_key(key("<F5>"));
    a.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT));
    assert_eq!(input(&a), Some("dial 1003"));
    a.on_key(key("<Esc>"));
    assert_eq!(a.mode, Mode::Normal);
    a.on_key(key("d"));
    a.on_key(key("<C-c>"));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn message_detail_scrolls_and_other_keys_close_it() {
    let mut a = app();
    a.on_trace(SipTrace {
        at_ms: 0,
        direction: crate::phone::TraceDirection::In,
        peer: "udp:127.0.0.1:5070".into(),
        call_id: None,
        summary: "OPTIONS".into(),
        cseq: None,
        text: "OPTIONS sip:a SIP/2.0\r\n".into(),
    });
    a.on_key(key("<F3>"));
    a.on_key(key("<Enter>"));
    let scroll = |a: &App| match a.mode {
        Mode::Detail { scroll, .. } => Some(scroll),
        _ => None,
    };
    assert_eq!(scroll(&a), Some(0));
    for (k, expected) in [
        ("j", 1),
        ("<Down>", 2),
        ("<Space>", 12),
        ("<PageDown>", 22),
        ("k", 21),
        ("<PageUp>", 11),
        ("<Up>", 10),
        ("<PageUp>", 0),
        ("<PageUp>", 0),
    ] {
        a.on_key(key(k));
        assert_eq!(scroll(&a), Some(expected), "{k}");
    }
    a.on_key(key("x"));
    assert_eq!(a.mode, Mode::Normal);
    a.on_key(key("<Enter>"));
    a.on_key(key("<Esc>"));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn help_pages_through_with_its_key_and_any_other_key_closes() {
    let mut a = app();
    a.on_key(key("?"));
    assert_eq!(a.mode, Mode::Help { page: 0 });
    a.on_key(key("?"));
    assert_eq!(a.mode, Mode::Help { page: 1 });
    a.on_key(key("?"));
    assert_eq!(a.mode, Mode::Normal);
    a.on_key(key("?"));
    a.on_key(key("j"));
    assert_eq!(a.mode, Mode::Normal);
}

#[test]
fn user_keys_change_the_input_line_the_detail_and_the_quit_question() {
    let mut a = app();
    a.keymap
        .overlay_text(
            r#"
[prompt]
keymap = [
    { on = "<C-w>", run = "prompt clear", desc = "clear" },
    { on = "<Esc>", run = "nothing" },
]
[confirm]
keymap = [ { on = "<Enter>", run = "confirm yes", desc = "quit" } ]
"#,
            std::path::Path::new("keymap.toml"),
        )
        .unwrap();
    a.on_key(key(":"));
    typed(&mut a, "hold");
    a.on_key(key("<C-w>"));
    assert_eq!(input(&a), Some(""));
    a.on_key(key("<Esc>"));
    assert_eq!(input(&a), Some(""), "Esc no longer leaves the line");
    a.on_key(key("<C-c>"));
    assert_eq!(a.mode, Mode::Normal);
    a.on_phone_event(ev(call("c1", CallDirection::Out, CallState::Active)));
    a.on_key(key("q"));
    assert_eq!(
        a.on_key(key("<Enter>")),
        vec![Effect::Execute(Command::Quit)]
    );
    a.on_key(key("q"));
    assert_eq!(a.on_key(key("y")), vec![Effect::Execute(Command::Quit)]);
}

#[test]
fn completion_offers_what_the_command_specs_declare() {
    let a = app();
    assert_eq!(
        a.complete(PromptKind::Command, "forward busy 1004 scope=i")
            .0,
        "forward busy 1004 scope=internal "
    );
    assert_eq!(
        a.complete(PromptKind::Command, "dnd on p").0,
        "dnd on presence "
    );
    assert_eq!(
        a.complete(PromptKind::Command, "reject c1 ").1,
        vec!["486".to_string(), "603".to_string()]
    );
    assert_eq!(
        a.complete(PromptKind::Command, "mute o").1,
        vec!["on".to_string(), "off".to_string()]
    );
    // `events` is for the control socket, not the `:` line
    assert!(a
        .complete(PromptKind::Command, "e")
        .1
        .iter()
        .all(|n| n != "events"));
}

#[test]
fn c_connects_the_held_call_with_its_consultation_without_asking() {
    let mut a = app();
    a.on_phone_event(ev(call("c1", CallDirection::In, CallState::Held)));
    a.on_phone_event(ev(call("c2", CallDirection::Out, CallState::Alerting)));
    assert_eq!(
        a.on_key(key("C")),
        vec![Effect::Execute(Command::Connect {
            call: "c1".into(),
            consult: "c2".into(),
        })]
    );
}

#[test]
fn a_vanished_device_is_shown_on_the_message_line() {
    let mut a = app();
    let effects = a.on_phone_event(Event::DeviceFallback {
        role: "output".into(),
        from: "USB Headset".into(),
        to: Some("Default Audio Device".into()),
    });
    assert!(effects.is_empty());
    let (level, text) = a.message.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert_eq!(
        text,
        "output device USB Headset disappeared: now on Default Audio Device"
    );
}
