//! The reducer for callbacks when free: `c` on a call just ended busy or
//! unanswered arms one, `c` while a free target rings accepts it, `F`
//! arms one for a history entry, and the `callback` events keep the
//! pending ones.

use super::tests::{call, key};
use super::*;

const T0: &str = "2026-11-25T13:00:00Z";

fn app() -> App {
    App::new(
        Keymap::defaults(),
        Theme::fallback(false),
        UiConfig::default(),
        Vec::new(),
        parse_rfc3339(T0).unwrap() + 5,
    )
}

fn ended(reason: &str, answered: bool) -> CallInfo {
    let mut c = call("c1", CallDirection::Out, CallState::Ended);
    c.end_reason = Some(reason.into());
    c.ended_at = Some(T0.into());
    c.answered_at = answered.then(|| T0.into());
    c
}

fn callback_event(id: &str, state: &str) -> Event {
    Event::Callback {
        id: id.into(),
        target: "sip:1002@test.local".into(),
        via: "dialog".into(),
        state: state.into(),
        call: None,
        error: None,
    }
}

#[test]
fn c_after_a_busy_or_unanswered_call_arms_a_callback_else_redials() {
    let free = Command::CallbackFree {
        entry: None,
        to: Some("sip:1002@test.local".into()),
    };
    let redial = Command::Callback { entry: None };
    let table = [
        ("486 Busy Here", false, free.clone()),
        ("480 Temporarily Unavailable", false, free.clone()),
        ("hangup", true, redial.clone()),
        ("404 Not Found", false, redial),
    ];
    for (reason, answered, want) in table {
        let mut a = app();
        a.on_phone_event(Event::Call {
            call: Box::new(ended(reason, answered)),
        });
        assert_eq!(a.on_key(key("c")), vec![Effect::Execute(want)], "{reason}");
    }
}

#[test]
fn callback_events_keep_the_pending_ones_and_c_accepts_the_ringing_one() {
    let mut a = app();
    a.on_phone_event(callback_event("cb1", "waiting"));
    assert_eq!(a.callbacks.len(), 1);
    a.on_phone_event(callback_event("cb1", "ringing"));
    assert_eq!(
        a.on_key(key("c")),
        vec![Effect::Execute(Command::CallbackAccept {
            id: Some("cb1".into())
        })]
    );
    a.on_phone_event(callback_event("cb1", "dialed"));
    assert!(a.callbacks.is_empty());
    a.on_phone_event(callback_event("cb2", "waiting"));
    a.on_phone_event(callback_event("cb2", "expired"));
    assert!(a.callbacks.is_empty());
}

#[test]
fn f_in_history_arms_a_callback_for_the_entry() {
    let mut a = app();
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
    a.on_key(key("<F2>"));
    assert_eq!(
        a.on_key(key("F")),
        vec![Effect::Execute(Command::CallbackFree {
            entry: Some(7),
            to: None
        })]
    );
}
