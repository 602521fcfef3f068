//! Symmetric RTP across a real NAT, on a test bed of hosts in network
//! namespaces (needs root, as .ci/run gives it). A baresip on the `home`
//! host (192.0.2.10, private) sits behind a `router` that masquerades it
//! (nftables) as 203.0.113.1; termphone on the `office` host (203.0.113.20)
//! has no route to the private network. baresip calls termphone directly;
//! its SDP names 192.0.2.10, its RTP arrives from the router's address.
//! With `symmetric_rtp` (the default) termphone latches onto that source
//! and sends there: audio both ways. Without it termphone takes media only
//! from the SDP's address and sends there: nothing either way, which is
//! why the default is on.

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::baresip::{Baresip, BaresipOpts};
use support::config::{Account, Audio, Config};
use support::netns::{Bed, Netns, Place};
use support::phone::recorded_wav;
use support::phone::Phone;
use support::router::Router;
use support::{tone, TestDir};

const HOME: &str = "192.0.2.10";
const OFFICE: &str = "203.0.113.20";

/// home ── router (NAT) ── office; the router masquerades the home network.
fn nat_bed(dir: &std::path::Path) -> (Bed, Netns, Netns) {
    let mut bed = Bed::new();
    let home = bed.host("home");
    let router = bed.host("router");
    let office = bed.host("office");
    bed.link(&home, "192.0.2.10/24", &router, "192.0.2.1/24");
    bed.link(&router, "203.0.113.1/24", &office, "203.0.113.20/24");
    home.ip(&["route", "add", "default", "via", "192.0.2.1"]);
    // The router's eth0 is the home cable, its eth1 the office side.
    Router::masquerade(&router, "192.0.2.0/24", "eth1", dir);
    (bed, home, office)
}

/// baresip at home, playing 600 Hz, calls termphone at the office
/// (`symmetric_rtp` as given; it plays 1000 Hz and records what it hears)
/// and hangs up after 3 s. The phone's recording, baresip's recording and
/// the call's `rx_packets`.
fn call_across_the_nat(
    t: &TestDir,
    symmetric: bool,
) -> (std::path::PathBuf, Option<std::path::PathBuf>, u64) {
    let (_bed, home, office) = nat_bed(t.path());
    let b_src = t.path().join("home-600.wav");
    tone::write_sine_wav(&b_src, 600.0, 8000, 30.0);
    let mut b = Baresip::start_in(
        &t.sub("baresip"),
        BaresipOpts {
            user: "1002".into(),
            registrar: None,
            password: None,
            source_wav: b_src,
            auto_answer: false,
            mediaenc: None,
            wideband: None,
        },
        &Place::on(&home, HOME),
    );
    let p_src = t.path().join("office-1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 30.0);
    let rec = t.sub("office-rec");
    let config = Config::new()
        .account(Account::direct("direct", "1001"))
        .audio(Audio::file(&p_src, &rec))
        .phone("auto_answer", true)
        .phone("symmetric_rtp", symmetric);
    let listen: SocketAddr = format!("{OFFICE}:5060").parse().expect("listen address");
    let mut p = Phone::start_in(
        &t.sub("office"),
        &config,
        &Place::on(&office, OFFICE),
        listen,
    );
    let r = b.dial(&format!("sip:1001@{OFFICE}:5060"));
    assert_eq!(r["ok"], true, "{r}");
    let active = p.wait_any_call_state("active", Duration::from_secs(15));
    assert!(
        active.is_some(),
        "the call across the NAT was not answered: {:?}\n{}\n{}",
        p.events(),
        p.log_tail(),
        b.log()
    );
    let call = active.unwrap_or_default();
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_secs(3));
    let id = call["id"].as_str().unwrap_or_default().to_string();
    let rx = p
        .call(&id)
        .and_then(|c| c["stats"]["rx_packets"].as_u64())
        .unwrap_or(0);
    b.hangup();
    let ended = p.wait_call_state(&id, "ended", Duration::from_secs(10));
    assert!(ended.is_some(), "call did not end: {:?}", p.events());
    b.stop();
    let heard = recorded_wav(&rec, &call, 2.0);
    let got = b.received_wavs();
    (heard, got.into_iter().next(), rx)
}

#[test]
fn symmetric_rtp_carries_audio_both_ways_across_a_nat() {
    let t = TestDir::new("net-symmetric");
    let (heard, baresip_heard, rx) = call_across_the_nat(&t, true);
    assert!(
        rx > 50,
        "termphone counted {rx} packets from behind the NAT"
    );
    tone::assert_tone(&heard, 600.0, 1000.0);
    let Some(baresip_heard) = baresip_heard else {
        panic!("baresip recorded nothing");
    };
    tone::assert_tone(&baresip_heard, 1000.0, 600.0);
}

#[test]
fn without_symmetric_rtp_a_peer_behind_a_nat_gets_no_audio() {
    let t = TestDir::new("net-asymmetric");
    let (heard, baresip_heard, rx) = call_across_the_nat(&t, false);
    assert_eq!(rx, 0, "RTP from the NAT's address was taken");
    // Silent, or at least without the other side's tone.
    let r = tone::analyze(&heard, &[600.0]);
    assert!(
        r.rms < 0.01 || r.share(600.0) < 0.05,
        "termphone heard the peer: {r:?}"
    );
    if let Some(wav) = baresip_heard {
        let r = tone::analyze(&wav, &[1000.0]);
        assert!(
            r.rms < 0.01 || r.share(1000.0) < 0.05,
            "baresip heard termphone: {r:?}"
        );
    }
}
