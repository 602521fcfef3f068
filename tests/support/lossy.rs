//! A call between two termphones under seeded, deterministic loss, shared
//! by the loss-recovery tests (Opus FEC, RFC 2198 RED). Both phones run on
//! the loopback of a test-bed host (a network namespace; needs root, as
//! .ci/run gives it): the caller on 127.0.0.1 playing [`CALLER_HZ`], the
//! callee on 127.0.0.2 playing [`CALLEE_HZ`] and answering by itself. An
//! nftables rule there drops every tenth RTP packet (even ports; SIP
//! listens on odd ones, RTCP is odd) sent to the callee, so each loss is a
//! single packet followed by one that arrives. The tests judge the
//! callee's `stats`; what each side's account negotiates (codecs, RED,
//! SRTP) is theirs to say.

use super::config::{Account, Audio, Config};
use super::netns::{Bed, Netns, Place};
use super::phone::{call_id_of, recorded_wav, Phone};
use super::{tone, wait_for, TestDir};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const CALLER_SIP: u16 = 5071;
pub const CALLEE_SIP: u16 = 5073;
/// Losses the callee must have seen before the call is judged.
pub const LOSSES: u64 = 20;
/// The caller's tone, which the callee must hear.
pub const CALLER_HZ: f64 = 1000.0;
/// The callee's own tone.
pub const CALLEE_HZ: f64 = 600.0;

/// One of the callee's `stats` counters (0 while left out).
pub fn stat(call: &Value, key: &str) -> u64 {
    call["stats"][key].as_u64().unwrap_or(0)
}

/// The two phones of an active call under loss. The phones are dropped
/// (stopped) before the test bed's namespace.
pub struct LossyCall {
    pub caller: Phone,
    pub callee: Phone,
    /// The caller's call id.
    pub id: String,
    /// The callee's call id.
    pub in_id: String,
    /// The callee's call once active.
    pub incoming: Value,
    /// Where the callee records its calls.
    pub callee_rec: PathBuf,
    ns: Netns,
    _bed: Bed,
}

fn phone(
    t: &TestDir,
    ns: &Netns,
    (name, user, ip, port): (&str, &str, &str, u16),
    (hz, rate): (f64, u32),
    account: &dyn Fn(Account) -> Account,
) -> Phone {
    let src = t.path().join(format!("{name}.wav"));
    tone::write_sine_wav(&src, hz, rate, 30.0);
    let config = Config::new()
        .account(account(Account::direct("direct", user)))
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

impl LossyCall {
    /// The caller dials the callee, both with the account `account` makes
    /// of a direct one, playing their tones at `rate` Hz; returns once the
    /// call is active on both sides.
    pub fn start(t: &TestDir, rate: u32, account: impl Fn(Account) -> Account) -> LossyCall {
        let mut bed = Bed::new();
        let ns = bed.host("lan");
        drop_every_tenth_rtp(t, &ns);
        let callee_side = ("callee", "1002", "127.0.0.2", CALLEE_SIP);
        let mut callee = phone(t, &ns, callee_side, (CALLEE_HZ, rate), &account);
        let caller_side = ("caller", "1001", "127.0.0.1", CALLER_SIP);
        let mut caller = phone(t, &ns, caller_side, (CALLER_HZ, rate), &account);
        let to = format!("sip:1002@127.0.0.2:{CALLEE_SIP}");
        let id = call_id_of(&caller.ok(json!({"cmd": "dial", "to": to})));
        caller
            .wait_call_state(&id, "active", Duration::from_secs(15))
            .unwrap_or_else(|| panic!("call not active: {}", caller.log_tail()));
        let incoming = callee
            .wait_any_call_state("active", Duration::from_secs(15))
            .unwrap_or_else(|| panic!("callee not active: {}", callee.log_tail()));
        let in_id = incoming["id"].as_str().unwrap_or_default().to_string();
        LossyCall {
            caller,
            callee,
            id,
            in_id,
            incoming,
            callee_rec: t.sub("callee-rec"),
            ns,
            _bed: bed,
        }
    }

    /// The callee's call once it has seen [`LOSSES`] losses and `done`
    /// holds of it (polled for up to 30 s); if that never came, the last
    /// call seen as the error.
    pub fn judge(&mut self, done: impl Fn(&Value) -> bool) -> Result<Value, Value> {
        let in_id = self.in_id.clone();
        let judged = wait_for(Duration::from_secs(30), || {
            let call = self.callee.call(&in_id)?;
            (stat(&call, "lost") >= LOSSES && done(&call)).then_some(call)
        });
        judged.ok_or_else(|| self.callee.call(&in_id).unwrap_or(Value::Null))
    }

    /// The callee's call once `recovered` (a `stats` counter) has filled
    /// every loss but the latest (whose next packet may be on its way)
    /// over [`LOSSES`] losses, counted after a first [`LOSSES`] in which
    /// the playout settles (a copy that came after its slot's turn on a
    /// loaded host raises the delay, as a late packet does); with the
    /// (lost, `recovered`) it settled at. If that never came, the last
    /// call seen as the error.
    pub fn judge_settled(&mut self, recovered: &str) -> Result<(Value, (u64, u64)), Value> {
        let counts = |c: &Value| (stat(c, "lost"), stat(c, recovered));
        let settled = counts(&self.judge(|_| true)?);
        let filled_since = |c: &Value| {
            let (lost, filled) = counts(c);
            let lost_since = lost.saturating_sub(settled.0);
            lost_since >= LOSSES && filled.saturating_sub(settled.1) + 1 >= lost_since
        };
        Ok((self.judge(filled_since)?, settled))
    }

    /// Hangs up from the caller.
    pub fn hang_up(&mut self) {
        let id = self.id.clone();
        self.caller.hang_up(&id);
    }

    /// The losses were ours (the nft counter), not the loopback's.
    pub fn assert_losses_were_ours(&self) {
        let rules = self.ns.run("nft", &["list", "table", "inet", "loss"]);
        assert!(rules.contains("counter packets"), "{rules}");
    }

    /// After the hang-up: the callee's recording (at least 2 s) carries
    /// the caller's tone and not its own.
    pub fn assert_callee_heard_the_caller(&self) {
        let wav = recorded_wav(&self.callee_rec, &self.incoming, 2.0);
        tone::assert_tone(&wav, CALLER_HZ, CALLEE_HZ);
    }
}
