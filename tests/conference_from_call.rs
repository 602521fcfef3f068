//! `conf_add to=X` with no conference yet: the call we are in and X make
//! the conference once X answers (two SIPp peers, each answering and then
//! taking nothing but the BYE of our `hangup`).

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::callctl::{dial_active, wait_state};
use support::phone::call_id_of;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

fn members(st: &Value) -> Vec<String> {
    st["conference"]["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn conf_add_without_a_conference_joins_the_current_call() {
    let t = TestDir::new("conf-from-call");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let first = Sipp::new("uas_answer", &t.sub("first")).timeout(30).spawn();
    let a = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));
    let second = Sipp::new("uas_answer", &t.sub("second"))
        .timeout(30)
        .spawn();
    let b = call_id_of(&p.ok(json!({
        "cmd": "conf_add",
        "to": format!("sip:uas@{}", second.addr()),
    })));
    let st = p.wait_status(Duration::from_secs(15), |st| {
        let m = members(st);
        m.len() == 2 && m.contains(&a) && m.contains(&b)
    });
    assert!(
        st.is_some(),
        "conf_add did not make a conference of {a} and {b}: {}\n{}",
        p.status(),
        p.log_tail()
    );
    p.ok(json!({"cmd": "hangup"}));
    wait_state(&mut p, &a, "ended", 10);
    wait_state(&mut p, &b, "ended", 10);
    for (name, run) in [("first", first), ("second", second)] {
        let r = run.wait(Duration::from_secs(15));
        assert!(r.success(), "{name}: {}\n{}", r.describe(), p.log_tail());
    }
}

/// Two targets ring at once (`conf_add` twice with no conference yet) and
/// the first fails (486): the call we are in still waits for the second,
/// and when that answers the conference is the call and the second. The
/// failure is an event; a later `conf_add` whose target fails again leaves
/// the conference as it is.
#[test]
fn conf_add_target_that_fails_leaves_the_others_waiting_and_the_conference_as_it_was() {
    let t = TestDir::new("conf-add-fails");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let first = Sipp::new("uas_answer", &t.sub("first")).timeout(30).spawn();
    let a = dial_active(&mut p, &format!("sip:uas@{}", first.addr()));
    let late = Sipp::new("uas_answer_late", &t.sub("late"))
        .timeout(30)
        .spawn();
    let busy = Sipp::new("uas_486", &t.sub("busy"))
        .calls(2)
        .timeout(30)
        .spawn();
    let busy_uri = format!("sip:busy@{}", busy.addr());
    let b = call_id_of(&p.ok(json!({
        "cmd": "conf_add",
        "to": format!("sip:uas@{}", late.addr()),
    })));
    let x = call_id_of(&p.ok(json!({"cmd": "conf_add", "to": busy_uri})));
    let failed = p
        .wait_event(Duration::from_secs(10), |e| {
            e["event"] == "conf_add_failed" && e["call"] == x.as_str()
        })
        .unwrap_or_else(|| panic!("no conf_add_failed for {x}: {:?}", p.events()));
    assert!(
        failed["reason"].as_str().unwrap_or("").starts_with("486"),
        "{failed}"
    );
    // The call we are in still waits for the second target: not released.
    assert_eq!(failed["released"], json!([]), "{failed}");
    assert_eq!(wait_state(&mut p, &a, "active", 5)["conference"], false);
    let st = p.wait_status(Duration::from_secs(15), |st| {
        let m = members(st);
        m.len() == 2 && m.contains(&a) && m.contains(&b)
    });
    assert!(
        st.is_some(),
        "the conference is not {a} and {b} after {x} failed: {}\n{}",
        p.status(),
        p.log_tail()
    );

    // A target that fails now: the conference stays as it was.
    let y = call_id_of(&p.ok(json!({"cmd": "conf_add", "to": busy_uri})));
    p.wait_event(Duration::from_secs(10), |e| {
        e["event"] == "conf_add_failed" && e["call"] == y.as_str()
    })
    .unwrap_or_else(|| panic!("no conf_add_failed for {y}: {:?}", p.events()));
    let m = members(&p.status());
    assert!(m.len() == 2 && m.contains(&a) && m.contains(&b), "{m:?}");

    p.ok(json!({"cmd": "hangup"}));
    wait_state(&mut p, &a, "ended", 10);
    wait_state(&mut p, &b, "ended", 10);
    for (name, run) in [("first", first), ("late", late), ("busy", busy)] {
        let r = run.wait(Duration::from_secs(15));
        assert!(r.success(), "{name}: {}\n{}", r.describe(), p.log_tail());
    }
}
