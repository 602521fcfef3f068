//! The `[sip]` flood limits against the real binary: a thousand idle TCP
//! connections from one address leave the phone with at most
//! `tcp_max_connections_per_source` of them, and 20 000 OPTIONS and
//! INVITEs from SIPp at full speed keep its peak RSS under 64 MB; a real
//! call works after either.

mod support;

use serde_json::json;
use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;
use support::callctl::{dial_active, wait_state};
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::{wait_until, TestDir};

/// The default `tcp_max_connections_per_source` (docs/control.md).
const PER_SOURCE: usize = 32;

/// Whether the phone has closed `stream` (EOF or reset), without waiting.
fn closed(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match (&*stream).read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// A call out to a SIPp that answers, hung up by us: the phone still works.
fn real_call(t: &TestDir, p: &mut Phone, dir: &str) {
    let uas = Sipp::new("uas_answer", &t.sub(dir)).timeout(30).spawn();
    let id = dial_active(p, &format!("sip:uas@{}", uas.addr()));
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(p, &id, "ended", 5);
    let r = uas.wait(Duration::from_secs(15));
    assert!(r.success(), "real call: {}\n{}", r.describe(), p.log_tail());
}

/// `VmHWM` (peak resident set) of `pid` in kB.
fn peak_rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}

#[test]
fn a_thousand_idle_tcp_connections_are_capped_and_calls_still_work() {
    let t = TestDir::new("limits-tcp");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let mut flood = Vec::new();
    for i in 0..1000 {
        match TcpStream::connect_timeout(&p.sip_addr(), Duration::from_secs(2)) {
            Ok(s) => {
                s.set_nonblocking(true).expect("nonblocking");
                flood.push(s);
            }
            Err(e) => panic!("connection {i} not even accepted by the kernel: {e}"),
        }
    }
    let mut open = flood.len();
    let capped = wait_until(Duration::from_secs(20), || {
        open = flood.iter().filter(|s| !closed(s)).count();
        open <= PER_SOURCE
    });
    assert!(
        capped,
        "{open} of 1000 idle connections still open\n{}",
        p.log_tail()
    );
    assert_eq!(
        open, PER_SOURCE,
        "the phone keeps the connections it admitted"
    );
    real_call(&t, &mut p, "sipp-call");
    drop(flood);
}

#[test]
fn a_sipp_flood_keeps_memory_bounded_and_calls_still_work() {
    let t = TestDir::new("limits-flood");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let before = peak_rss_kb(p.pid());
    // 10 000 "calls" of one OPTIONS and one INVITE each.
    let flood = Sipp::new("flood", &t.sub("sipp-flood"))
        .target(p.sip_addr())
        .service("1001")
        .calls(10_000)
        .arg("-r")
        .arg("5000")
        .arg("-l")
        .arg("100000")
        .timeout(60)
        .stats()
        .spawn();
    let r = flood.wait(Duration::from_secs(90));
    assert_eq!(
        r.stat("SuccessfulCall(C)"),
        Some(10_000),
        "SIPp did not send the whole flood: {}",
        r.describe()
    );
    // The phone answers what it admitted; ringing calls from the flood end.
    let calls = p.status()["calls"].as_array().cloned().unwrap_or_default();
    for c in calls {
        if let Some(id) = c["id"].as_str() {
            p.cmd(json!({"cmd": "hangup", "call": id}));
            wait_state(&mut p, id, "ended", 10);
        }
    }
    let peak = peak_rss_kb(p.pid());
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} kB under the flood (before: {before} kB)\n{}",
        p.log_tail()
    );
    real_call(&t, &mut p, "sipp-call");
}
