//! The reducer for conference and PBX keys: the conference group from
//! `status`, level refresh on the tick, conference keys on the selected
//! member, the BLF panel's focus and keys, MWI and voicemail.

use super::*;
use crate::ui::key::Key;
use crossterm::event::{KeyEvent, KeyModifiers};
use serde_json::json;

const T0: &str = "2026-11-25T13:00:00Z";

fn app() -> App {
    App::new(
        Keymap::defaults(),
        Theme::fallback(false),
        UiConfig::default(),
        vec![
            BlfTarget {
                target: "1002".into(),
                label: Some("Reception".into()),
                presence: true,
            },
            BlfTarget {
                target: "1003".into(),
                label: None,
                presence: true,
            },
        ],
        parse_rfc3339(T0).unwrap() + 65,
    )
}

fn call(id: &str, conference: bool) -> CallInfo {
    CallInfo {
        account: "office".into(),
        remote: format!("sip:{id}@test.local"),
        conference,
        ..super::tests::call(id, CallDirection::Out, CallState::Active)
    }
}

fn press(a: &mut App, s: &str) -> Vec<Effect> {
    let k = Key::parse(s).unwrap();
    let mut m = KeyModifiers::empty();
    if k.ctrl {
        m |= KeyModifiers::CONTROL;
    }
    a.on_key(KeyEvent::new(k.code, m))
}

fn run(line: &str) -> Vec<Effect> {
    vec![Effect::Execute(Command::parse_line(line).unwrap())]
}

/// c1 alone, c2 and c3 in the conference (c3 split).
fn conference_app() -> App {
    let mut a = app();
    for (id, conf) in [("c1", false), ("c2", true), ("c3", true)] {
        a.on_phone_event(Event::Call {
            call: Box::new(call(id, conf)),
        });
    }
    a.on_reply(
        "status",
        Ok(json!({"conference": {"members": ["c2", "c3"],
            "levels": {"c2": -20.0, "c3": -96.0}, "local_level": -30.0, "split": "c3"}})),
    );
    a
}

#[test]
fn status_fills_the_conference_and_the_tick_refreshes_only_while_it_exists() {
    let mut a = conference_app();
    assert_eq!(a.conference.split.as_deref(), Some("c3"));
    assert_eq!(a.conference_size(), 2);
    assert_eq!(a.call_order(), vec![1, 2, 0]);
    let now = a.now + 1;
    assert_eq!(a.on_tick(now), vec![Effect::Execute(Command::Status)]);
    a.on_reply("status", Ok(json!({"conference": {"members": []}})));
    for c in ["c2", "c3"] {
        a.on_phone_event(Event::Call {
            call: Box::new(call(c, false)),
        });
    }
    assert!(!a.has_conference());
    assert_eq!(a.on_tick(now + 1), Vec::new());
}

#[test]
fn selection_walks_the_list_as_shown_and_conference_keys_take_the_member() {
    let mut a = conference_app();
    press(&mut a, "g");
    assert_eq!(a.selected_call().unwrap().id, "c2");
    press(&mut a, "j");
    assert_eq!(a.selected_call().unwrap().id, "c3");
    press(&mut a, "j");
    assert_eq!(a.selected_call().unwrap().id, "c1");
    press(&mut a, "j");
    assert_eq!(a.selected_call().unwrap().id, "c1");
    // J on a non-member rejoins the split member
    assert_eq!(press(&mut a, "J"), run("conf_join call=c3"));
    // X on a non-member does not hang up the wrong call: asks for it
    assert_eq!(press(&mut a, "X"), Vec::new());
    assert!(matches!(&a.mode, Mode::Input { text, .. } if text == "conf_remove "));
    press(&mut a, "<Esc>");
    press(&mut a, "g");
    assert_eq!(press(&mut a, "S"), run("conf_split call=c2"));
    assert_eq!(press(&mut a, "X"), run("conf_remove call=c2"));
}

#[test]
fn blf_focus_moves_in_the_panel_and_keys_act_on_the_target() {
    let mut a = conference_app();
    press(&mut a, "G");
    assert_eq!(a.selected_call().unwrap().id, "c1");
    press(&mut a, "b");
    assert!(a.blf_focus);
    press(&mut a, "j");
    assert_eq!(a.blf_sel, 1);
    assert_eq!(
        a.selected_call().unwrap().id,
        "c1",
        "calls keep their selection"
    );
    assert_eq!(press(&mut a, "<Enter>"), run("dial 1003"));
    press(&mut a, "k");
    assert_eq!(press(&mut a, "P"), run("pickup target=1002"));
    assert_eq!(press(&mut a, "t"), run("transfer call=c1 to=1002"));
    assert_eq!(press(&mut a, "A"), run("conf_add to=1002"));
    press(&mut a, "b");
    assert!(!a.blf_focus);
    assert_eq!(press(&mut a, "A"), run("conf_add call=c1"));
    assert_eq!(press(&mut a, "P"), run("pickup"));
    // Esc (Calls view) gives the selection back too
    press(&mut a, "b");
    press(&mut a, "<Esc>");
    assert!(!a.blf_focus);
}

#[test]
fn blf_focus_without_targets_is_a_message() {
    let mut a = App::new(
        Keymap::defaults(),
        Theme::fallback(false),
        UiConfig::default(),
        Vec::new(),
        0,
    );
    press(&mut a, "b");
    assert!(!a.blf_focus);
    assert_eq!(a.message.clone().unwrap().0, Level::Error);
}

#[test]
fn status_and_events_fill_mwi_and_blf_lamps() {
    let mut a = app();
    a.on_reply(
        "status",
        Ok(json!({"mwi": [{"account": "office", "new": 2, "old": 5}],
            "blf": [{"target": "1002", "uri": "sip:1002@x", "state": "ringing",
                     "remote": "sip:1005@x"}]})),
    );
    assert_eq!(a.mwi.get("office"), Some(&(2, 5)));
    assert_eq!(a.new_messages(), 2);
    assert_eq!(
        a.blf_state.get("1002"),
        Some(&LampView {
            state: "ringing".into(),
            remote: Some("sip:1005@x".into()),
            presence: None,
            note: None,
            name: None,
        })
    );
    // An unreadable reply changes nothing and says so.
    a.on_reply("status", Ok(json!({"mwi": [{"bad": 1}]})));
    assert_eq!(a.new_messages(), 2);
    assert_eq!(a.message.clone().unwrap().0, Level::Error);
    a.on_reply("status", Ok(json!({"mwi": null})));
    assert_eq!(a.new_messages(), 0);
    a.on_phone_event(Event::Mwi {
        account: "home".into(),
        new: 1,
        old: 0,
    });
    assert_eq!(a.new_messages(), 1);
}

#[test]
fn voicemail_key_dials_the_accounts_number_else_the_pbx_code_else_explains() {
    let mut a = app();
    a.accounts = vec![AccountRow {
        name: "office".into(),
        aor: String::new(),
        registered: true,
        reason: None,
    }];
    assert_eq!(press(&mut a, "V"), Vec::new());
    let (level, text) = a.message.clone().unwrap();
    assert_eq!(level, Level::Error);
    assert!(text.contains("no voicemail number"), "{text}");
    a.pbx_voicemail = Some("*86".into());
    assert_eq!(press(&mut a, "V"), run("dial to=*86 account=office"));
    a.voicemail.insert("office".into(), "8500".into());
    assert_eq!(press(&mut a, "V"), run("dial to=8500 account=office"));
}

#[test]
fn dnd_keys_toggle_each_kind_on_its_own() {
    let mut a = app();
    assert_eq!(press(&mut a, "z"), run("dnd on"));
    assert_eq!(press(&mut a, "Z"), run("dnd on via=presence"));
    // Line DND on: `z` switches it off, `Z` still switches presence on.
    a.on_reply(
        "status",
        Ok(json!({"dnd": true, "dnd_kinds": {"line": true, "presence": false}})),
    );
    assert_eq!(press(&mut a, "z"), run("dnd off"));
    assert_eq!(press(&mut a, "Z"), run("dnd on via=presence"));
    // Presence switched on from another pane: the event shows it at once.
    a.on_phone_event(Event::Dnd {
        on: true,
        line: false,
        presence: true,
    });
    assert!(a.dnd && a.dnd_presence && !a.dnd_line);
    assert_eq!(press(&mut a, "z"), run("dnd on"));
    assert_eq!(press(&mut a, "Z"), run("dnd off via=presence"));
    // A phone that reports only `dnd` has it on the line.
    a.on_reply("status", Ok(json!({"dnd": true})));
    assert_eq!(press(&mut a, "z"), run("dnd off"));
    assert_eq!(press(&mut a, "Z"), run("dnd on via=presence"));
}

#[test]
fn forwarding_changed_elsewhere_shows_at_once() {
    let mut a = app();
    a.on_phone_event(Event::Forward {
        rules: serde_json::from_value(
            json!([{"when": "always", "to": "1009", "via": "client", "scope": "all"}]),
        )
        .unwrap(),
    });
    assert_eq!(a.forward_rules, 1);
}
