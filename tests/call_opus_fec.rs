//! Opus in-band FEC between two termphones under seeded, deterministic
//! loss. Both phones run on the loopback of a test-bed host (a network
//! namespace; needs root, as .ci/run gives it): the caller on 127.0.0.1,
//! the callee on 127.0.0.2. An nftables rule there drops every tenth RTP
//! packet (even ports; SIP listens on odd ones, RTCP is odd) sent to the
//! callee, so each loss is a single packet followed by one that arrives,
//! which carries the lost frame's FEC. The callee's `stats` must count
//! the losses, recover (nearly) all of them by FEC and conceal far fewer
//! frames than were lost: without FEC every loss is a concealed frame.

mod support;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::config::{Account, Audio, Config};
use support::netns::{Bed, Netns, Place};
use support::phone::{call_id_of, Phone};
use support::{tone, wait_for, TestDir};

const CALLER_SIP: u16 = 5071;
const CALLEE_SIP: u16 = 5073;
/// Losses the callee must have seen before the call is judged.
const LOSSES: u64 = 20;

fn phone(t: &TestDir, ns: &Netns, name: &str, user: &str, ip: &str, port: u16) -> Phone {
    let src = t.path().join(format!("{name}.wav"));
    tone::write_sine_wav(&src, 1000.0, 48_000, 30.0);
    let config = Config::new()
        .account(Account::direct("direct", user).codecs(&["opus"]))
        .audio(Audio::file(&src, &t.sub(&format!("{name}-rec"))))
        .phone("auto_answer", name == "callee");
    let listen: SocketAddr = format!("{ip}:{port}").parse().expect("listen address");
    Phone::start_in(&t.sub(name), &config, &Place::on(ns, ip), listen)
}

/// Drops every tenth RTP packet to 127.0.0.2, counting them.
fn drop_every_tenth_rtp(t: &TestDir, ns: &Netns) {
    let rules = "table inet loss {\n\
        \tchain out {\n\
        \t\ttype filter hook output priority 0; policy accept;\n\
        \t\tip daddr 127.0.0.2 udp dport & 1 == 0 numgen inc mod 10 == 5 counter drop\n\
        \t}\n\
        }\n";
    let file = t.path().join("loss.nft");
    std::fs::write(&file, rules).expect("write the loss rules");
    ns.run("nft", &["-f", &file.display().to_string()]);
}

fn stats_of(call: &Value) -> (u64, u64, u64) {
    let n = |k: &str| call["stats"][k].as_u64().unwrap_or(0);
    (n("lost"), n("fec_recovered"), n("concealed_frames"))
}

#[test]
fn opus_fec_recovers_single_lost_packets_between_termphones() {
    let t = TestDir::new("opus-fec");
    let mut bed = Bed::new();
    let ns = bed.host("lan");
    drop_every_tenth_rtp(&t, &ns);
    let mut callee = phone(&t, &ns, "callee", "1002", "127.0.0.2", CALLEE_SIP);
    let mut caller = phone(&t, &ns, "caller", "1001", "127.0.0.1", CALLER_SIP);
    let to = format!("sip:1002@127.0.0.2:{CALLEE_SIP}");
    let id = call_id_of(&caller.ok(json!({"cmd": "dial", "to": to})));
    caller
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {}", caller.log_tail()));
    let incoming = callee
        .wait_any_call_state("active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("callee not active: {}", callee.log_tail()));
    assert_eq!(incoming["codec"], "opus", "{incoming}");
    let in_id = incoming["id"].as_str().unwrap_or_default().to_string();
    // Poll until enough losses were seen and the FEC of the latest has
    // had its packet (a loss is counted before the packet after it).
    let judged = wait_for(Duration::from_secs(30), || {
        let call = callee.call(&in_id)?;
        let (lost, fec, _) = stats_of(&call);
        (lost >= LOSSES && fec + 1 >= lost).then_some(call)
    });
    let call = callee.call(&in_id).unwrap_or(Value::Null);
    let call = judged.unwrap_or_else(|| panic!("FEC did not keep up: {call}"));
    let (lost, fec, concealed) = stats_of(&call);
    eprintln!("lost {lost}, recovered by FEC {fec}, concealed {concealed}");
    caller.hang_up(&id);
    // Every loss was a single packet with the next one arriving: FEC had
    // each lost frame (all but the one whose next packet may still be on
    // its way), and a frame FEC recovered in time is played, never
    // concealed. Without FEC each loss would be a concealed frame; with it
    // what is concealed is only the scheduling jitter of a loaded host
    // (a late packet, a frame of added delay), far fewer.
    assert!(fec > 0 && fec + 1 >= lost, "lost {lost}, fec {fec}: {call}");
    assert!(
        concealed < lost - fec + lost / 2,
        "concealed {concealed} frames where FEC had {fec} of {lost} losses: {call}"
    );
    // The losses were ours (the nft counter), not the loopback's.
    let rules = ns.run("nft", &["list", "table", "inet", "loss"]);
    assert!(rules.contains("counter packets"), "{rules}");
}
