mod support;
use serde_json::json;
use std::time::Duration;
use support::callctl::*;
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn scratch_echo_hold() {
    std::env::set_var("TERMPHONE_TEST_KEEP", "1");
    let t = TestDir::new("scratch-echo");
    let mut p = direct_phone(&t, true, "");
    let sipp = Sipp::new("uas_hold", &t.sub("sipp"))
        .arg("-rtp_echo")
        .timeout(25)
        .spawn();
    let id = dial_active(&mut p, &format!("sip:uas@{}", sipp.addr()));
    std::thread::sleep(Duration::from_millis(1500));
    p.ok(json!({"cmd": "hold", "call": id}));
    std::thread::sleep(Duration::from_millis(1500));
    p.ok(json!({"cmd": "resume", "call": id}));
    std::thread::sleep(Duration::from_millis(1500));
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(15));
    println!("{}", r.messages);
}
