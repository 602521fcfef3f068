//! Building blocks of the call-control tests: a termphone with a direct-IP or
//! registered account playing a known tone, baresip peers playing their own
//! tones, and the checks that recur (a call reaching a state, the WAV a call
//! recorded).

use super::baresip::{Baresip, BaresipOpts};
use super::kamailio::Kamailio;
use super::pbx::kamailio_account;
use super::phone::{account_toml, audio_file_toml, audio_null_toml, call_id_of, wait_wav, Phone};
use super::sipp::Sipp;
use super::{tone, TestDir};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Tone played as termphone's microphone.
pub const PHONE_HZ: f64 = 1000.0;
/// Tone of the first baresip peer (A).
pub const A_HZ: f64 = 600.0;
/// Tone of the second baresip peer (C).
pub const C_HZ: f64 = 800.0;
/// Tone streamed by SIPp (`tone.ul`).
pub const SIPP_HZ: f64 = 700.0;
/// Ringback and busy tones (CEPT).
pub const RING_HZ: f64 = 425.0;

/// A termphone with its recordings directory (empty path when audio is off).
pub struct TestPhone {
    pub phone: Phone,
    pub rec: PathBuf,
}

impl std::ops::Deref for TestPhone {
    type Target = Phone;
    fn deref(&self) -> &Phone {
        &self.phone
    }
}

impl std::ops::DerefMut for TestPhone {
    fn deref_mut(&mut self) -> &mut Phone {
        &mut self.phone
    }
}

fn audio(t: &TestDir, with_audio: bool) -> (String, PathBuf) {
    if !with_audio {
        return (audio_null_toml(), PathBuf::new());
    }
    let src = t.path().join("phone-1000.wav");
    tone::write_sine_wav(&src, PHONE_HZ, 8000, 30.0);
    let rec = t.sub("rec");
    (audio_file_toml(&src, &rec), rec)
}

/// termphone as `sip:1001@127.0.0.1` (no registration). `phone_toml` is
/// added as is (e.g. "[phone]\nauto_answer = true\n").
pub fn direct_phone(t: &TestDir, with_audio: bool, phone_toml: &str) -> TestPhone {
    let (audio, rec) = audio(t, with_audio);
    let body = account_toml("direct", "1001", "127.0.0.1", None, None) + &audio + phone_toml;
    TestPhone {
        phone: Phone::start(&t.sub("phone"), &body),
        rec,
    }
}

/// termphone as 1001 registered at `k`, with file audio; waits for the registration.
pub fn registered_phone(t: &TestDir, k: &Kamailio, phone_toml: &str) -> TestPhone {
    let (audio, rec) = audio(t, true);
    let body = kamailio_account("office", "1001", k) + &audio + phone_toml;
    let phone = super::pbx::registered_phone(t, "phone", &body);
    TestPhone { phone, rec }
}

/// A baresip answering automatically and playing `hz`, registered at `k` when given.
pub fn baresip(t: &TestDir, user: &str, hz: f64, k: Option<&Kamailio>) -> Baresip {
    let src = t.path().join(format!("baresip-{user}.wav"));
    tone::write_sine_wav(&src, hz, 8000, 60.0);
    let mut b = Baresip::start(
        &t.sub(&format!("baresip-{user}")),
        BaresipOpts {
            user: user.into(),
            registrar: k.map(|k| k.addr()),
            password: None,
            source_wav: src,
            auto_answer: true,
        },
    );
    if k.is_some() {
        assert!(
            b.wait_registered(Duration::from_secs(10)),
            "baresip {user} not registered:\n{}",
            b.log()
        );
    }
    b
}

/// Dials `to` and waits for the call to be active; returns its id.
pub fn dial_active(p: &mut Phone, to: &str) -> String {
    let reply = p.ok(json!({"cmd": "dial", "to": to}));
    let id = call_id_of(&reply);
    wait_state(p, &id, "active", 15);
    id
}

/// A SIPp caller (`uac_expect_486`, in `t/<dir>`) calling `p` directly
/// must get 486 Busy Here without a 180 first.
pub fn expect_busy_without_ringing(t: &TestDir, p: &Phone, dir: &str) {
    let r = Sipp::new("uac_expect_486", &t.sub(dir))
        .target(p.sip_addr())
        .service("1001")
        .timeout(10)
        .spawn()
        .wait(Duration::from_secs(15));
    assert!(r.success(), "{dir}: {}\n{}", r.describe(), p.log_tail());
    assert!(
        !r.traced().iter().any(|m| m.is_response(180)),
        "the call from {dir} rang: {}",
        r.describe()
    );
}

/// Waits for call `id` to reach `state`; returns the Call object.
pub fn wait_state(p: &mut Phone, id: &str, state: &str, secs: u64) -> Value {
    match p.wait_call_state(id, state, Duration::from_secs(secs)) {
        Some(c) => c,
        None => panic!(
            "call {id} never {state}: {:?}\n{}",
            p.call_updates(id),
            p.log_tail()
        ),
    }
}

/// Waits until the latest update of call `id` satisfies `pred` (described by
/// `what`), i.e. the call is now in that condition; returns that Call object.
pub fn wait_next(
    p: &mut Phone,
    id: &str,
    what: &str,
    secs: u64,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let last = p.call_updates(id).pop();
        if let Some(c) = last.filter(|c| pred(c)) {
            return c;
        }
        if std::time::Instant::now() >= end {
            panic!(
                "call {id}: not {what}: {:?}\n{}",
                p.call_updates(id),
                p.log_tail()
            );
        }
        // Blocks until the next event (or 200 ms).
        let _ = p.wait_event(Duration::from_millis(200), |_| false);
    }
}

/// The id of the first incoming call that rings.
pub fn wait_ringing(p: &mut Phone, secs: u64) -> String {
    match p.wait_any_call_state("ringing", Duration::from_secs(secs)) {
        Some(c) => c["id"].as_str().unwrap_or_default().to_string(),
        None => panic!("no call rings: {:?}\n{}", p.events(), p.log_tail()),
    }
}

/// The id of a ringing call other than the ones in `not`.
pub fn wait_ringing_other(p: &mut Phone, not: &[&str], secs: u64) -> String {
    let found = p.wait_event(Duration::from_secs(secs), |e| {
        e["event"] == "call"
            && e["call"]["state"] == "ringing"
            && !not.iter().any(|n| e["call"]["id"] == *n)
    });
    match found {
        Some(e) => e["call"]["id"].as_str().unwrap_or_default().to_string(),
        None => panic!("no second call rings: {:?}\n{}", p.events(), p.log_tail()),
    }
}

/// The WAV termphone recorded for a call (file backend), once it holds `min_secs`.
pub fn call_wav(p: &mut TestPhone, call: &Value, min_secs: f64) -> PathBuf {
    let sip_call_id = call["sip_call_id"].as_str().unwrap_or_default();
    assert!(!sip_call_id.is_empty(), "no sip_call_id in {call}");
    let path = p.rec.join(format!("{sip_call_id}.wav"));
    assert!(
        wait_wav(&path, min_secs, Duration::from_secs(10)),
        "{} missing or shorter than {min_secs} s; rec/ holds {:?}",
        path.display(),
        super::phone::list_dir(&p.rec)
    );
    path
}

/// The last WAV of received audio baresip wrote (after `stop`).
pub fn last_received(b: &Baresip) -> PathBuf {
    let wavs = b.received_wavs();
    match wavs.last() {
        Some(p) => p.clone(),
        None => panic!("baresip recorded nothing:\n{}", b.log()),
    }
}

/// A header's value in the first message of a SIPp trace matching `pick`.
pub fn traced_header(
    msgs: &[super::sipp::TracedMessage],
    pick: impl Fn(&super::sipp::TracedMessage) -> bool,
    header: &str,
) -> Option<String> {
    msgs.iter()
        .find(|m| pick(m))
        .and_then(|m| m.header(header))
        .map(str::to_string)
}

/// The value of `;tag=` in a From/To header value.
pub fn tag_of(header_value: &str) -> Option<String> {
    header_value.split(';').find_map(|p| {
        p.trim()
            .strip_prefix("tag=")
            .map(|t| t.trim_end_matches('>').to_string())
    })
}
