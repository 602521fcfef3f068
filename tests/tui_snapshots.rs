//! Whole-screen snapshots of the terminal interface at 80x24 (gitui style):
//! a fixed state rendered into ratatui's TestBackend. Times are fixed, so no
//! filters are needed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use termphone::config::{BlfTarget, DialPlan, UiConfig};
use termphone::media::MediaStats;
use termphone::phone::{CallDirection, CallEncryption, CallInfo, CallSignalling, CallState, Event};
use termphone::sip::trace::{SipTrace, TraceDirection};
use termphone::ui::app::{AccountRow, HistoryRow};
use termphone::ui::keymap::Keymap;
use termphone::ui::theme::Theme;
use termphone::ui::{draw, App};

const T0: &str = "2026-11-25T13:00:00Z";
const T0_UNIX: i64 = 1_795_611_600;

fn app() -> App {
    let mut a = App::new(
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
                target: "sip:1010@test.local".into(),
                label: None,
                presence: true,
            },
        ],
        T0_UNIX + 83,
    );
    a.accounts = vec![
        AccountRow {
            name: "office".into(),
            aor: "sip:1001@test.local".into(),
            registered: true,
            reason: None,
        },
        AccountRow {
            name: "direct".into(),
            aor: "sip:alice@127.0.0.1".into(),
            registered: false,
            reason: Some("registration off (direct IP)".into()),
        },
    ];
    a.listen = "127.0.0.1:5062".into();
    a
}

fn call(id: &str, dir: CallDirection, state: CallState, remote: &str) -> CallInfo {
    CallInfo {
        id: id.into(),
        account: "office".into(),
        direction: dir,
        remote: remote.into(),
        remote_name: None,
        name: None,
        state,
        held: state == CallState::Held,
        remote_held: false,
        muted: false,
        conference: false,
        started_at: T0.into(),
        answered_at: None,
        ended_at: None,
        end_reason: None,
        codec: None,
        codec_rate: None,
        red: false,
        stats: None,
        transfer_status: None,
        recording: None,
        sip_call_id: format!("{id}-3f2a@127.0.0.1"),
        local_sip: None,
        local_media: None,
        media_encryption: None,
        redirected_to: None,
        signalling: None,
    }
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::empty()));
}

#[test]
fn empty() {
    assert_eq!(T0_UNIX, termphone::ui::time::parse_rfc3339(T0).unwrap());
    insta::assert_snapshot!(screen(&app()));
}

#[test]
fn ringing_call() {
    let mut a = app();
    let mut c = call(
        "c1",
        CallDirection::In,
        CallState::Ringing,
        "sip:1002@test.local",
    );
    c.remote_name = Some("Reception".into());
    a.on_phone_event(Event::Call { call: Box::new(c) });
    insta::assert_snapshot!(screen(&a));
}

/// The directory's name for the caller (`name`) is shown before the SIP
/// display name, in the calls view and in the history.
#[test]
fn directory_name_on_a_ringing_call_and_in_history() {
    let mut a = app();
    let mut c = call(
        "c1",
        CallDirection::In,
        CallState::Ringing,
        "sip:+49891234567@test.local",
    );
    c.remote_name = Some("PBX Trunk".into());
    c.name = Some("Anna Berg".into());
    a.on_phone_event(Event::Call { call: Box::new(c) });
    // An unlabelled lamp shows the directory's name for its target.
    a.on_phone_event(Event::Blf {
        target: "sip:1010@test.local".into(),
        state: "idle".into(),
        remote: None,
        presence: None,
        note: None,
        name: Some("Hannah Arendt".into()),
    });
    let calls = screen(&a);
    a.history = vec![HistoryRow {
        id: 3,
        account: "office".into(),
        direction: "in".into(),
        remote: "sip:+49891234567@test.local".into(),
        started_at: "2026-11-25T12:58:00Z".into(),
        answered_at: Some("2026-11-25T12:58:02Z".into()),
        ended_at: Some("2026-11-25T12:59:02Z".into()),
        end_reason: Some("hangup".into()),
        missed: false,
        name: Some("Anna Berg".into()),
    }];
    press(&mut a, KeyCode::F(2));
    insta::assert_snapshot!(format!("{calls}\n{}", screen(&a)));
}

#[test]
fn two_calls_one_held() {
    let mut a = app();
    let mut held = call(
        "c1",
        CallDirection::Out,
        CallState::Held,
        "sip:1002@test.local",
    );
    held.answered_at = Some("2026-11-25T13:00:10Z".into());
    held.codec = Some("PCMU".into());
    held.stats = Some(MediaStats {
        rx_packets: 3000,
        lost: 12,
        jitter_ms: 3.4,
        rtt_ms: Some(21.0),
        mos: None,
        srtp_dropped: 0,
        fec_recovered: 0,
        red_recovered: 0,
        concealed_frames: 0,
        playout_ms: None,
        mic_level: None,
        speaker_level: None,
    });
    let mut active = call(
        "c2",
        CallDirection::In,
        CallState::Active,
        "sip:1003@test.local",
    );
    active.remote_name = Some("Bob Example".into());
    active.started_at = "2026-11-25T13:01:00Z".into();
    active.answered_at = Some("2026-11-25T13:01:05Z".into());
    active.muted = true;
    active.codec = Some("PCMA".into());
    active.stats = Some(MediaStats {
        rx_packets: 900,
        lost: 0,
        jitter_ms: 0.8,
        rtt_ms: None,
        mos: None,
        srtp_dropped: 0,
        fec_recovered: 0,
        red_recovered: 0,
        concealed_frames: 0,
        playout_ms: None,
        mic_level: None,
        speaker_level: None,
    });
    a.on_phone_event(Event::Call {
        call: Box::new(held),
    });
    a.on_phone_event(Event::Call {
        call: Box::new(active),
    });
    press(&mut a, KeyCode::Down);
    insta::assert_snapshot!(screen(&a));
}

/// A talking call leads its second line with level meters: the
/// microphone sent (loud) and the speaker played (quiet); a held call
/// shows none.
#[test]
fn talking_call_shows_mic_and_speaker_levels() {
    let mut a = app();
    let mut talking = call(
        "c1",
        CallDirection::Out,
        CallState::Active,
        "sip:1002@test.local",
    );
    talking.answered_at = Some("2026-11-25T13:00:10Z".into());
    talking.codec = Some("G722".into());
    talking.codec_rate = Some(16_000);
    talking.stats = Some(MediaStats {
        mic_level: Some(-18.4),
        speaker_level: Some(-41.0),
        ..stats(0, 1.5, Some(4.4)).unwrap()
    });
    let mut held = call(
        "c2",
        CallDirection::In,
        CallState::Held,
        "sip:1003@test.local",
    );
    held.codec = Some("PCMA".into());
    held.stats = Some(MediaStats {
        mic_level: Some(-96.0),
        speaker_level: Some(-96.0),
        ..stats(0, 0.5, None).unwrap()
    });
    for c in [talking, held] {
        a.on_phone_event(Event::Call { call: Box::new(c) });
    }
    let shown = screen(&a);
    assert!(shown.contains("mic ▁▂▃▅· -18 dB"), "{shown}");
    assert!(shown.contains("spk ▁···· -41 dB"), "{shown}");
    assert_eq!(shown.matches("mic ").count(), 1, "{shown}");
    insta::assert_snapshot!(shown);
}

/// An encrypted call shows a lock badge; a plain one does not.
#[test]
fn encrypted_call_shows_a_lock() {
    let mut a = app();
    let mut secure = call(
        "c1",
        CallDirection::Out,
        CallState::Active,
        "sip:1002@test.local",
    );
    secure.answered_at = Some("2026-11-25T13:00:10Z".into());
    secure.codec = Some("PCMU".into());
    secure.media_encryption = Some(CallEncryption::Srtp);
    let mut plain = call(
        "c2",
        CallDirection::In,
        CallState::Held,
        "sip:1003@test.local",
    );
    plain.held = true;
    plain.codec = Some("PCMA".into());
    plain.media_encryption = Some(CallEncryption::None);
    for c in [secure, plain] {
        a.on_phone_event(Event::Call { call: Box::new(c) });
    }
    let shown = screen(&a);
    assert_eq!(shown.matches("🔒SRTP").count(), 1, "{shown}");
    insta::assert_snapshot!(shown);
}

/// The lock tells a fully secure call (TLS signalling and SRTP media) from
/// one whose media only, or signalling only, are encrypted.
#[test]
fn lock_tells_full_from_partial_security() {
    let mut a = app();
    let kinds = [
        ("c1", Some(CallSignalling::Tls), CallEncryption::Srtp),
        ("c2", Some(CallSignalling::Udp), CallEncryption::Srtp),
        ("c3", Some(CallSignalling::Tls), CallEncryption::None),
        ("c4", Some(CallSignalling::Tcp), CallEncryption::None),
    ];
    for (i, (id, signalling, media)) in kinds.into_iter().enumerate() {
        let mut c = call(
            id,
            CallDirection::Out,
            if i == 0 {
                CallState::Active
            } else {
                CallState::Held
            },
            &format!("sip:100{}@test.local", i + 2),
        );
        c.held = i != 0;
        c.answered_at = Some("2026-11-25T13:00:10Z".into());
        c.codec = Some("PCMU".into());
        c.signalling = signalling;
        c.media_encryption = Some(media);
        a.on_phone_event(Event::Call { call: Box::new(c) });
    }
    let shown = screen(&a);
    assert_eq!(shown.matches("🔒TLS+SRTP").count(), 1, "{shown}");
    assert_eq!(shown.matches("🔒SRTP").count(), 1, "{shown}");
    assert_eq!(
        shown.matches("🔒TLS ").count() + shown.matches("🔒TLS]").count(),
        1,
        "{shown}"
    );
    assert_eq!(shown.matches("🔒").count(), 3, "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn error_message() {
    let mut a = app();
    a.accounts[0].registered = false;
    a.accounts[0].reason = Some("401 wrong password".into());
    a.dnd = true;
    a.on_reply(
        "transfer",
        Err(termphone::command::CommandError::new(
            "no_call",
            "there is no call",
        )),
    );
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn history() {
    let mut a = app();
    a.history = vec![
        HistoryRow {
            id: 12,
            account: "office".into(),
            direction: "in".into(),
            remote: "sip:1003@test.local".into(),
            started_at: "2026-11-25T12:58:00Z".into(),
            answered_at: None,
            ended_at: Some("2026-11-25T12:58:20Z".into()),
            end_reason: Some("cancelled".into()),
            missed: true,
            name: None,
        },
        HistoryRow {
            id: 11,
            account: "office".into(),
            direction: "out".into(),
            remote: "sip:echo@127.0.0.1".into(),
            started_at: "2026-11-25T12:40:00Z".into(),
            answered_at: Some("2026-11-25T12:40:01Z".into()),
            ended_at: Some("2026-11-25T12:43:31Z".into()),
            end_reason: Some("hangup".into()),
            missed: false,
            name: None,
        },
    ];
    press(&mut a, KeyCode::F(2));
    insta::assert_snapshot!(screen(&a));
}

fn trace(ms: u64, dir: TraceDirection, summary: &str, cseq: &str) -> SipTrace {
    SipTrace {
        at_ms: T0_UNIX as u64 * 1000 + ms,
        direction: dir,
        peer: "udp:127.0.0.1:5070".into(),
        call_id: Some("c1-3f2a@127.0.0.1".into()),
        summary: summary.into(),
        cseq: Some(cseq.into()),
        text: format!(
            "{summary} sip:1002@test.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062\r\nCSeq: {cseq}\r\nAuthorization: Digest username=\"1001\", response=<redacted>\r\nContent-Length: 0\r\n\r\n"
        ),
    }
}

fn ladder_app() -> App {
    let mut a = app();
    let mut c = call(
        "c1",
        CallDirection::Out,
        CallState::Active,
        "sip:1002@test.local",
    );
    c.answered_at = Some("2026-11-25T13:00:02Z".into());
    a.on_phone_event(Event::Call { call: Box::new(c) });
    a.on_trace(trace(0, TraceDirection::Out, "INVITE", "1 INVITE"));
    a.on_trace(trace(
        4,
        TraceDirection::In,
        "407 Proxy Authentication Required",
        "1 INVITE",
    ));
    a.on_trace(trace(5, TraceDirection::Out, "ACK", "1 ACK"));
    a.on_trace(trace(6, TraceDirection::Out, "INVITE", "2 INVITE"));
    a.on_trace(trace(30, TraceDirection::In, "180 Ringing", "2 INVITE"));
    a.on_trace(trace(2010, TraceDirection::In, "200 OK", "2 INVITE"));
    a.on_trace(trace(2012, TraceDirection::Out, "ACK", "2 ACK"));
    let mut other = trace(2100, TraceDirection::In, "OPTIONS", "9 OPTIONS");
    other.call_id = Some("another-call".into());
    a.on_trace(other);
    press(&mut a, KeyCode::F(3));
    a
}

#[test]
fn log_ladder() {
    let mut a = ladder_app();
    press(&mut a, KeyCode::Up);
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn log_full_message() {
    let mut a = ladder_app();
    press(&mut a, KeyCode::Char('g'));
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(s.contains("<redacted>"));
    insta::assert_snapshot!(s);
}

#[test]
fn help() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn help_second_page_shows_the_other_modes() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    press(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&a));
    press(&mut a, KeyCode::Char('?'));
    assert!(!screen(&a).contains("Keys"), "the last page closes");
}

#[test]
fn command_line_and_quit_confirmation() {
    let mut a = app();
    a.on_phone_event(Event::Call {
        call: Box::new(call(
            "c1",
            CallDirection::Out,
            CallState::Alerting,
            "sip:1002@test.local",
        )),
    });
    press(&mut a, KeyCode::Char(':'));
    for c in "transfer c1 sip:1003@test.local".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    let typing = screen(&a);
    assert!(
        typing.contains(" :transfer c1 sip:1003@test.local"),
        "{typing}"
    );
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('q'));
    let confirm = screen(&a);
    assert!(
        confirm.contains("1 call up: hang up and quit? (y/n)"),
        "{confirm}"
    );
    insta::assert_snapshot!(confirm);
}

#[test]
fn dial_prompt_shows_what_the_dial_plan_dials() {
    let mut a = app();
    a.dial_plan = Some(DialPlan {
        country_code: Some("49".into()),
        area_code: Some("89".into()),
        outside_line: Some("0".into()),
        internal_digits: Some(5),
        ..DialPlan::default()
    });
    press(&mut a, KeyCode::Char('d'));
    for c in "+49 89 1234-567".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    let typing = screen(&a);
    assert!(
        typing.contains(" dial: +49 89 1234-567  → 00891234567"),
        "{typing}"
    );
    insta::assert_snapshot!(typing);
    // An extension is dialled as typed: nothing to show.
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('d'));
    for c in "3344".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    assert!(!screen(&a).contains('→'), "{}", screen(&a));
}

#[test]
fn light_and_no_color_themes_render_the_same_text() {
    let mut a = app();
    a.on_phone_event(Event::Call {
        call: Box::new(call(
            "c1",
            CallDirection::In,
            CallState::Ringing,
            "sip:1002@test.local",
        )),
    });
    let dark = screen(&a);
    a.theme = Theme::load("light", None, false).unwrap();
    assert_eq!(screen(&a), dark);
    a.theme = Theme::load("high-contrast", None, true).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| draw(f, &a)).unwrap();
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset),
        "NO_COLOR: no colours at all"
    );
}

fn stats(lost: u64, jitter_ms: f64, mos: Option<f64>) -> Option<MediaStats> {
    Some(MediaStats {
        rx_packets: 1000 - lost,
        lost,
        jitter_ms,
        rtt_ms: None,
        mos,
        srtp_dropped: 0,
        fec_recovered: 0,
        red_recovered: 0,
        concealed_frames: 0,
        playout_ms: None,
        mic_level: None,
        speaker_level: None,
    })
}

#[test]
fn conference_three_members_one_split() {
    let mut a = app();
    for (id, ext, name, st) in [
        ("c1", "1002", Some("Reception"), stats(0, 1.2, Some(4.4))),
        ("c2", "1003", None, stats(30, 14.5, Some(3.6))),
        ("c3", "1004", Some("Carol"), stats(2, 2.0, Some(4.3))),
    ] {
        let mut c = call(
            id,
            CallDirection::Out,
            CallState::Active,
            &format!("sip:{ext}@test.local"),
        );
        c.remote_name = name.map(str::to_string);
        c.conference = true;
        c.answered_at = Some("2026-11-25T13:00:05Z".into());
        c.codec = Some("PCMU".into());
        c.stats = st;
        a.on_phone_event(Event::Call { call: Box::new(c) });
    }
    let mut other = call(
        "c4",
        CallDirection::In,
        CallState::Ringing,
        "sip:1010@test.local",
    );
    other.started_at = "2026-11-25T13:01:20Z".into();
    a.on_phone_event(Event::Call {
        call: Box::new(other),
    });
    a.on_reply(
        "status",
        Ok(serde_json::json!({
            "accounts": [
                {"name": "office", "aor": "sip:1001@test.local", "registered": true, "expires": 3600},
                {"name": "direct", "aor": "sip:alice@127.0.0.1", "registered": false, "expires": 0,
                 "reason": "registration off (direct IP)"}
            ],
            "listen": "127.0.0.1:5062",
            "conference": {
                "members": ["c1", "c2", "c3"],
                "levels": {"c1": -18.2, "c2": -96.0, "c3": -41.0},
                "local_level": -25.0,
                "split": "c2"
            }
        })),
    );
    // select the split member
    press(&mut a, KeyCode::Char('g'));
    press(&mut a, KeyCode::Char('j'));
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn blf_panel_states_with_focus_and_mwi() {
    let mut a = app();
    a.blf = ["1002", "1003", "1004", "1005"]
        .iter()
        .zip(["Reception", "Bob", "Carol", "Dave"])
        .map(|(t, l)| BlfTarget {
            target: (*t).into(),
            label: Some(l.into()),
            presence: true,
        })
        .collect();
    // Carol is lit busy by her presence (do not disturb), not by a call.
    for (target, state, remote, presence) in [
        ("1002", "idle", None, None),
        ("1003", "ringing", Some("sip:1010@test.local"), None),
        ("1004", "busy", None, Some("dnd")),
        ("1005", "offline", None, None),
    ] {
        a.on_phone_event(Event::Blf {
            target: target.into(),
            state: state.into(),
            remote: remote.map(str::to_string),
            presence: presence.map(str::to_string),
            note: None,
            name: None,
        });
    }
    a.on_phone_event(Event::Mwi {
        account: "office".into(),
        new: 2,
        old: 4,
    });
    a.forward_rules = 1;
    a.dnd = true;
    press(&mut a, KeyCode::Char('b'));
    press(&mut a, KeyCode::Char('j'));
    insta::assert_snapshot!(screen(&a));
}

#[test]
fn focused_blf_entry_is_highlighted_and_calls_keep_theirs() {
    use ratatui::style::Modifier;
    let mut a = app();
    a.on_phone_event(Event::Call {
        call: Box::new(call(
            "c1",
            CallDirection::Out,
            CallState::Active,
            "sip:1003@test.local",
        )),
    });
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let reversed = |t: &Terminal<TestBackend>, x: u16, y: u16| {
        t.backend().buffer()[(x, y)]
            .style()
            .add_modifier
            .contains(Modifier::REVERSED)
    };
    terminal.draw(|f| draw(f, &a)).unwrap();
    // BLF rows start at y=3 inside the panel at x=61; the call at y=4
    assert!(!reversed(&terminal, 62, 3));
    assert!(reversed(&terminal, 10, 4));
    press(&mut a, KeyCode::Char('b'));
    press(&mut a, KeyCode::Char('j'));
    terminal.draw(|f| draw(f, &a)).unwrap();
    assert!(!reversed(&terminal, 62, 3));
    assert!(reversed(&terminal, 62, 4), "second BLF entry selected");
    assert!(reversed(&terminal, 10, 4), "the call stays selected");
}

#[test]
fn dial_prompt_with_search_results() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    for c in "ali".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    // the request out is for "al"; its reply is stale, the one for "ali" shown
    let results = serde_json::json!({"results": [
        {"name": "Alice Smith", "number": "+49 89 1234567", "uri": "sip:+49891234567@test.local",
         "source": "contacts/alice.vcf", "kind": "work"},
        {"name": "Alice Smith", "number": "+49 170 5550", "uri": "sip:+491705550@test.local",
         "source": "contacts/alice.vcf", "kind": "cell"},
        {"name": "", "number": "1077", "uri": "sip:1077@test.local",
         "source": "history", "kind": "in"},
    ]});
    a.on_reply("search", Ok(results.clone()));
    a.on_reply("search", Ok(results));
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Down);
    let shown = screen(&a);
    assert!(
        shown.contains("▸ Alice Smith            +49 170 5550"),
        "{shown}"
    );
    assert!(shown.contains(" dial: ali"), "{shown}");
    insta::assert_snapshot!(shown);
}
