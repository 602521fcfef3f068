//! The built-in `echo` call holds and resumes like any call (a new user's
//! first try of `h`): `hold` puts it in the `held` state with `held` true,
//! `resume` brings it back, and the call stays up between the two; a
//! transfer, which needs a SIP peer, is refused saying so.

mod support;

use serde_json::json;
use std::time::Duration;
use support::phone::call_id_of;
use support::setup::{direct_phone, PhoneOpts};
use support::TestDir;

#[test]
fn the_echo_call_holds_and_resumes() {
    let t = TestDir::new("echo-hold");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "echo"})));
    p.wait_active(&id);

    let r = p.cmd(json!({"cmd": "hold", "call": id}));
    assert_eq!(r["ok"], true, "hold: {r}");
    let held = p.wait_call_state(&id, "held", Duration::from_secs(5));
    assert!(
        held.as_ref().is_some_and(|c| c["held"] == true),
        "{held:?}: {:?}",
        p.events()
    );
    // A second hold changes nothing and is fine.
    let again = p.cmd(json!({"cmd": "hold", "call": id}));
    assert_eq!(again["ok"], true, "{again}");

    let r = p.cmd(json!({"cmd": "resume", "call": id}));
    assert_eq!(r["ok"], true, "resume: {r}");
    let mut now = None;
    let resumed = support::wait_until(Duration::from_secs(5), || {
        now = p.call(&id);
        now.as_ref()
            .is_some_and(|c| c["state"] == "active" && c["held"] == false)
    });
    assert!(resumed, "{now:?}: {:?}", p.events());
    // A transfer needs a SIP peer: the error says the echo call has none.
    let r = p.cmd(json!({"cmd": "transfer", "call": id, "to": "sip:1003@127.0.0.1:9"}));
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["error"]["code"], "bad_state", "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("echo") && m.contains("no SIP peer")),
        "{r}"
    );
    p.hang_up(&id);
}
