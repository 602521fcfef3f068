//! Caller names against SIPp callers: a `[[directory]]` vCard contact
//! with the caller's address names the incoming call (status, events and
//! history); a caller no contact has shows its From display name; a
//! directory source that blocks every read (a FIFO nobody writes) delays
//! no ring.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::callctl::{wait_ringing, wait_state};
use support::config::Account;
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

/// A SIPp caller (From `sipp <sip:sipp@…>`) that rings us, then cancels:
/// returns the call's id once it rings, and the SIPp run.
fn ring(t: &TestDir, p: &mut Phone) -> (String, support::sipp::SippRun) {
    ring_with(t, p, "uac_cancel")
}

fn ring_with(t: &TestDir, p: &mut Phone, scenario: &str) -> (String, support::sipp::SippRun) {
    let caller = Sipp::new(scenario, &t.sub("caller"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .spawn();
    let id = wait_ringing(p, 10);
    (id, caller)
}

fn named(p: &mut Phone, id: &str, name: &str) -> Value {
    match p.wait_call_from(id, 0, LONG, |c| c["name"] == name) {
        Some((_, c)) => c,
        None => panic!(
            "call {id} never named {name:?}: {:?}\n{}",
            p.call_updates(id),
            p.log_tail()
        ),
    }
}

fn history_name(p: &mut Phone) -> Value {
    let h = p.ok(json!({"cmd": "history", "limit": 1}));
    h["history"][0]["name"].clone()
}

#[test]
fn a_directory_contact_names_the_caller_in_status_events_and_history() {
    let t = TestDir::new("names-dir");
    let cards = t.sub("contacts");
    std::fs::write(
        cards.join("desk.vcf"),
        "BEGIN:VCARD\nVERSION:4.0\nFN:Front Desk Anna\nIMPP:sip:sipp@127.0.0.1\nEND:VCARD\n",
    )
    .unwrap();
    let mut opts = PhoneOpts::new();
    opts.config = opts.config.vcard_directory(&cards);
    let mut p = direct_phone(&t, opts);
    let (id, caller) = ring(&t, &mut p);
    named(&mut p, &id, "Front Desk Anna");
    let status = p.ok(json!({"cmd": "status"}));
    let call = status["calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|c| c["id"] == id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("the ringing call in status: {status}"));
    assert_eq!(call["name"], "Front Desk Anna", "{status}");
    assert_eq!(call["remote_name"], "sipp", "unchanged: {status}");
    let r = caller.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    wait_state(&mut p, &id, "ended", 5);
    assert_eq!(history_name(&mut p), "Front Desk Anna");
}

#[test]
fn a_caller_no_contact_has_shows_its_from_display_name() {
    let t = TestDir::new("names-from");
    let cards = t.sub("contacts");
    std::fs::write(
        cards.join("other.vcf"),
        "BEGIN:VCARD\nVERSION:4.0\nFN:Somebody Else\nTEL:+49 89 1234567\nEND:VCARD\n",
    )
    .unwrap();
    let mut opts = PhoneOpts::new();
    opts.config = opts.config.vcard_directory(&cards);
    let mut p = direct_phone(&t, opts);
    let (id, caller) = ring(&t, &mut p);
    let ringing = named(&mut p, &id, "sipp");
    assert_eq!(ringing["state"], "ringing", "{ringing}");
    let r = caller.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    let ended = wait_state(&mut p, &id, "ended", 5);
    assert_eq!(ended["name"], "sipp", "{ended}");
    assert_eq!(history_name(&mut p), "sipp");
}

#[test]
fn a_directory_that_blocks_reads_never_delays_the_ring() {
    let t = TestDir::new("names-fifo");
    let fifo = t.sub("contacts").join("blocked.vcf");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) runs");
    assert!(made.success(), "mkfifo {}", fifo.display());
    let mut opts = PhoneOpts::new();
    // The FIFO itself is the source: opening it for reading blocks until
    // a writer comes, and none does.
    opts.config = opts.config.vcard_directory(&fifo);
    let mut p = direct_phone(&t, opts);
    let start = Instant::now();
    let (id, caller) = ring(&t, &mut p);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "rang after {:?}",
        start.elapsed()
    );
    named(&mut p, &id, "sipp");
    let r = caller.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    wait_state(&mut p, &id, "ended", 5);
    let status = p.ok(json!({"cmd": "status"}));
    assert!(status["accounts"].is_array(), "still answers: {status}");
    // `search` reads the sources too: a source that never answers is an
    // error after 5 s, not a command that hangs, and the phone still quits.
    let start = Instant::now();
    let r = p.cmd(json!({"cmd": "search", "q": "anna"}));
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], "timeout", "{r}");
    assert!(
        start.elapsed() < Duration::from_secs(12),
        "{:?}",
        start.elapsed()
    );
    assert!(p.quit(), "the phone did not quit:\n{}", p.log_tail());
}

/// P-Asserted-Identity's display name comes before From's only for an
/// account that trusts its PBX.
#[test]
fn a_trusted_asserted_identity_names_the_caller() {
    for (trust, want) in [(true, "Asserted Anna"), (false, "sipp")] {
        let t = TestDir::new(if trust { "names-pai" } else { "names-nopai" });
        let mut opts = PhoneOpts::new();
        opts.user = "1099".into();
        let account = Account::direct("office", "1001");
        let account = if trust {
            account.trusting_asserted_identity()
        } else {
            account
        };
        opts.config = opts.config.account(account);
        let mut p = direct_phone(&t, opts);
        let (id, caller) = ring_with(&t, &mut p, "uac_cancel_pai");
        let c = named(&mut p, &id, want);
        assert_eq!(c["account"], "office", "{c}");
        let r = caller.wait(Duration::from_secs(20));
        assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
        wait_state(&mut p, &id, "ended", 5);
        assert_eq!(history_name(&mut p), want);
        assert!(
            p.call_updates(&id).iter().all(|c| c["name"] == want),
            "{:?}",
            p.call_updates(&id)
        );
    }
}

/// `status.blf` lamps carry the directory's name for their target, as the
/// `blf` events do (the lamp is listed even while no server answers its
/// subscription).
#[test]
fn blf_lamps_in_status_carry_the_directory_name() {
    let t = TestDir::new("names-blf");
    let cards = t.sub("contacts");
    std::fs::write(
        cards.join("desk.vcf"),
        "BEGIN:VCARD\nVERSION:4.0\nFN:Reception Desk\nTEL;TYPE=work:1002\nEND:VCARD\n",
    )
    .unwrap();
    let mut opts = PhoneOpts::new().blf("1002", None).blf("1003", None);
    opts.config = opts.config.vcard_directory(&cards);
    let mut p = direct_phone(&t, opts);
    let status = p
        .wait_status(LONG, |s| s["blf"][0]["name"] == "Reception Desk")
        .unwrap_or_else(|| panic!("no named lamp:\n{}", p.log_tail()));
    assert_eq!(status["blf"][0]["target"], "1002", "{status}");
    assert!(status["blf"][1].get("name").is_none(), "{status}");
    let listed = p.ok(json!({"cmd": "blf"}));
    assert_eq!(listed["blf"][0]["name"], "Reception Desk", "{listed}");
}

/// On an account that trusts its PBX, the directory is asked for the
/// number P-Asserted-Identity gives (3301), not From's `sipp`: the
/// contact's name wins over the asserted display name.
#[test]
fn the_directory_names_the_asserted_number_when_trusted() {
    let t = TestDir::new("names-pai-dir");
    let cards = t.sub("contacts");
    std::fs::write(
        cards.join("anna.vcf"),
        "BEGIN:VCARD\nVERSION:4.0\nFN:Directory Anna\nTEL;TYPE=work:3301\nEND:VCARD\n",
    )
    .unwrap();
    let mut opts = PhoneOpts::new();
    opts.user = "1099".into();
    opts.config = opts
        .config
        .account(Account::direct("office", "1001").trusting_asserted_identity())
        .vcard_directory(&cards);
    let mut p = direct_phone(&t, opts);
    let (id, caller) = ring_with(&t, &mut p, "uac_cancel_pai");
    let c = named(&mut p, &id, "Directory Anna");
    assert_eq!(c["remote_name"], "sipp", "{c}");
    let r = caller.wait(Duration::from_secs(20));
    assert!(r.success(), "caller: {}\n{}", r.describe(), p.log_tail());
    wait_state(&mut p, &id, "ended", 5);
    assert_eq!(history_name(&mut p), "Directory Anna");
}
