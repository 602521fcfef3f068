mod support;
use std::time::Duration;
use support::callctl::*;
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn scratch_uas_hold_with_baresip() {
    let t = TestDir::new("scratch");
    let mut b = baresip(&t, "1002", A_HZ, None);
    for sc in ["uas_hold", "uas_glare"] {
    let sipp = Sipp::new(sc, &t.sub(sc)).timeout(20).spawn();
    b.clear_events();
    b.dial(&format!("sip:uas@{}", sipp.addr()));
    assert!(b.wait_event("CALL_ESTABLISHED", Duration::from_secs(5)).is_some());
    std::thread::sleep(Duration::from_millis(500));
    println!("hold: {}", b.command("hold", ""));
    std::thread::sleep(Duration::from_millis(if sc == "uas_glare" { 5000 } else { 1000 }));
    if sc == "uas_hold" { println!("resume: {}", b.command("resume", "")); }
    std::thread::sleep(Duration::from_millis(1000));
    b.hangup();
    let r = sipp.wait(Duration::from_secs(10));
    println!("{sc}: {}", r.describe());
    }
    println!("{}", b.log());
}
