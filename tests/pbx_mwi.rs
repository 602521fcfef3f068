//! Message waiting indication (RFC 3842) against real peers: an account
//! with `mwi = true` subscribes to its message-summary; a summary PUBLISHed
//! for it through kamailio's presence modules, or NOTIFYed by a SIPp
//! voicemail server, shows in `status` (`mwi` with `new` / `old`) and as an
//! `{"event":"mwi"}` event.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::config::{Account, Config};
use support::kamailio::Kamailio;
use support::phone::Phone;
use support::setup::{registered_phone, PhoneOpts};
use support::sipp::Sipp;
use support::watcher::Watcher;
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

/// `(new, old)` from `status.mwi`: an object, or a list of per-account objects.
fn mwi_counts(status: &Value) -> Option<(u64, u64)> {
    let pick = |v: &Value| Some((v["new"].as_u64()?, v["old"].as_u64()?));
    match &status["mwi"] {
        Value::Array(a) => a.iter().find_map(pick),
        v @ Value::Object(_) => pick(v),
        _ => None,
    }
}

fn assert_mwi(p: &mut Phone, account: &str, new: u64, old: u64) {
    let st = p.wait_status(LONG, |s| mwi_counts(s) == Some((new, old)));
    assert!(
        st.is_some(),
        "status.mwi not {new}/{old}: {}\n{}",
        p.status(),
        p.log_tail()
    );
    let ev = p.wait_event(LONG, |e| {
        e["event"] == "mwi" && e["new"] == new && e["old"] == old
    });
    let ev = ev.unwrap_or_else(|| panic!("no mwi event: {:?}", p.events()));
    assert_eq!(ev["account"], account, "{ev}");
}

#[test]
fn mwi_from_the_presence_server() {
    let t = TestDir::new("pbx-mwi-presence");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let mut p = registered_phone(
        &t,
        PhoneOpts::new().account(
            Account::registered("office", "1001", &k)
                .mwi()
                .voicemail("8500"),
        ),
    );
    assert!(
        support::wait_until(LONG, || k.count_requests("SUBSCRIBE", "1001") > 0),
        "the phone did not subscribe to message-summary:\n{}\n{}",
        p.log_tail(),
        k.log()
    );
    let w = Watcher::start(k.addr());
    let code = w.publish(
        "1001",
        "message-summary",
        "application/simple-message-summary",
        "Messages-Waiting: yes\r\nMessage-Account: sip:1001@test.local\r\nVoice-Message: 2/8 (0/0)\r\n",
    );
    assert_eq!(code, 200, "{}", k.log());
    assert_mwi(&mut p, "office", 2, 8);
}

#[test]
fn mwi_notify_from_a_sipp_voicemail_server() {
    let t = TestDir::new("pbx-mwi-sipp");
    let vm = Sipp::new("uas_mwi_notify", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let config = Config::new().account(Account::via("vm", "1001", vm.addr()).mwi());
    let mut p = Phone::start(&t.sub("phone"), &config);
    assert_mwi(&mut p, "vm", 3, 5);
    let r = vm.wait(LONG);
    assert!(r.success(), "{}", r.describe());
}
