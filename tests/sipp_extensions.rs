//! SIPp calls termphone with what real PBXs send: an INVITE or re-INVITE
//! requiring an extension we lack (420 with Unsupported; the call goes on), an offer of audio and video
//! (video refused with port 0, the call up with RTP), and an offer naming
//! its RTCP port with `a=rtcp` (RFC 3605: our RTCP goes there), and offers
//! whose `c=` is a host name (resolved and answered; 488 when it does not
//! resolve).

mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

#[test]
fn invite_requiring_an_unknown_extension_gets_420_unsupported() {
    let t = TestDir::new("sipp-420");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let r = Sipp::new("uac_require_420", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(15)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let rang = p.events().iter().any(|e| e["call"]["state"] == "ringing");
    assert!(!rang, "a refused INVITE must not ring: {:?}", p.events());
}

#[test]
fn reinvite_requiring_an_unknown_extension_gets_420_and_the_call_goes_on() {
    let t = TestDir::new("sipp-reinvite-420");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true)).phone;
    let r = Sipp::new("uac_reinvite_require_420", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(20)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let held = p.events().iter().any(|e| e["call"]["remote_held"] == true);
    assert!(
        !held,
        "the refused re-INVITE must change nothing: {:?}",
        p.events()
    );
}

#[test]
fn audio_and_video_offer_is_answered_with_video_refused_and_audio_flowing() {
    let t = TestDir::new("sipp-av");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true)).phone;
    let sipp = Sipp::new("uac_audio_video", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(30)
        .spawn();
    let active = p.wait_any_call_state("active", Duration::from_secs(10));
    assert!(
        active.is_some(),
        "not answered: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    let id = active.unwrap_or_default()["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut rx = 0;
    while Instant::now() < deadline && rx == 0 {
        std::thread::sleep(Duration::from_millis(300));
        rx = p
            .call(&id)
            .and_then(|c| c["stats"]["rx_packets"].as_u64())
            .unwrap_or(0);
    }
    assert!(
        rx > 0,
        "no RTP received on the audio line: {:?}",
        p.call(&id)
    );
    let r = sipp.wait(Duration::from_secs(40));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn rtcp_goes_to_the_port_of_a_rtcp() {
    let t = TestDir::new("sipp-rtcp");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true)).phone;
    let listener = UdpSocket::bind("127.0.0.1:0").expect("bind the RTCP listener");
    let port = listener.local_addr().expect("listener address").port();
    listener
        .set_read_timeout(Some(Duration::from_secs(12)))
        .expect("read timeout");
    let sipp = Sipp::new("uac_rtcp_attr", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .key("rtcp_port", &port.to_string())
        .timeout(40)
        .spawn();
    let mut buf = [0u8; 1500];
    let got = listener.recv_from(&mut buf);
    let (n, from) = match got {
        Ok(ok) => ok,
        Err(e) => panic!(
            "no RTCP on the a=rtcp port {port}: {e}\n{:?}\n{}",
            p.events(),
            p.log_tail()
        ),
    };
    assert!(n >= 8, "short packet from {from}: {:?}", &buf[..n]);
    assert_eq!(buf[0] >> 6, 2, "not RTP version 2: {:?}", &buf[..n]);
    assert!(
        (200..=204).contains(&buf[1]),
        "not an RTCP packet type: {}",
        buf[1]
    );
    let r = sipp.wait(Duration::from_secs(40));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn c_host_name_is_resolved_and_answered() {
    let t = TestDir::new("sipp-sdp-host");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true)).phone;
    let sipp = Sipp::new("uac_sdp_host", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .key("sdp_host", "localhost")
        .timeout(30)
        .spawn();
    let active = p.wait_any_call_state("active", Duration::from_secs(10));
    assert!(
        active.is_some(),
        "not answered: {:?}\n{}",
        p.events(),
        p.log_tail()
    );
    let r = sipp.wait(Duration::from_secs(40));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
}

#[test]
fn c_host_name_that_does_not_resolve_gets_488() {
    let t = TestDir::new("sipp-sdp-host-488");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let r = Sipp::new("uac_sdp_host_488", &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .key("sdp_host", "no-such-host.invalid")
        .timeout(30)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let ended = p.wait_any_call_state("ended", Duration::from_secs(5));
    let reason = ended.unwrap_or_default()["end_reason"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        reason.contains("488") && reason.contains("no-such-host.invalid"),
        "the call should end naming the host: {reason:?} {:?}",
        p.events()
    );
}
