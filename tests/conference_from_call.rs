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
