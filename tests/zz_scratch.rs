mod support;
use std::time::Duration;
use support::callctl::*;
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn scratch_refer_with_baresip() {
    let t = TestDir::new("scratch");
    let mut b = baresip(&t, "1002", A_HZ, None);
    let c = Sipp::new("uas_replaces_target", &t.sub("c"))
        .timeout(20)
        .spawn();
    let tr = Sipp::new("uac_refer", &t.sub("a"))
        .target(b.sip_addr())
        .service("1002")
        .key(
            "refer_to",
            &format!(
                "sip:c@{}?Replaces=abc%40host%3Bto-tag%3Dtt1%3Bfrom-tag%3Dff1",
                c.addr()
            ),
        )
        .timeout(15)
        .spawn();
    let r = tr.wait(Duration::from_secs(20));
    println!("TRANSFEROR: {}", r.describe());
    std::thread::sleep(Duration::from_secs(1));
    b.hangup();
    let r = c.wait(Duration::from_secs(10));
    println!("TARGET: {}", r.describe());
    println!("EVENTS {:?}", b.events());
    println!("{}", b.full_log());
}
