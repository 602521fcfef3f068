//! A local conference of calls with different codecs and rates, against
//! baresip 1.0: one member on G.722 (16 kHz), one on Opus (48 kHz), one on
//! PCMU (8 kHz), all dialled by termphone directly by IP (each from an
//! account offering only that codec: baresip answers with the first codec
//! of the offer it has loaded) and conferenced.
//! The mix runs at 48 kHz, so a tone above 4 kHz (which narrowband cannot
//! carry) crosses between the wideband members and reaches our conference
//! recording (the file backend's `conference-*.wav`, at 48 kHz), while the
//! PCMU member still hears the narrowband part (our microphone's tone and
//! the other PCMU-range tones) and no alias of the wideband tones.

mod support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::baresip::Baresip;
use support::config::Account;
use support::phone::{call_id_of, conference_wav};
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::{tone, wait_for, TestDir};

/// Our microphone's tone (narrowband).
const OURS: f64 = 700.0;
/// The G.722 member's tone: above 4 kHz.
const G722_HZ: f64 = 6000.0;
/// The Opus member's tone: above 4 kHz, within G.722's band.
const OPUS_HZ: f64 = 5000.0;
/// The PCMU member's tone.
const PCMU_HZ: f64 = 1200.0;
/// Where the wideband tones would fold to in an 8 kHz stream that was not
/// low-passed first.
const ALIASES: [f64; 2] = [8000.0 - G722_HZ, 8000.0 - OPUS_HZ];

fn members_of(st: &Value) -> Vec<String> {
    st["conference"]["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Samples (and rate) a growing WAV holds now.
fn read_now(path: &Path) -> (Vec<f64>, u32) {
    wait_for(Duration::from_secs(2), || tone::read_mono_growing(path))
        .unwrap_or_else(|| panic!("{} is not a readable WAV", path.display()))
}

/// One listener: where it records, from which sample on the window starts.
struct Listener {
    who: &'static str,
    path: PathBuf,
    from: usize,
    hears: Vec<f64>,
    not: Vec<f64>,
}

impl Listener {
    fn new(who: &'static str, path: PathBuf, hears: &[f64], not: &[f64]) -> Listener {
        let from = read_now(&path).0.len();
        Listener {
            who,
            path,
            from,
            hears: hears.to_vec(),
            not: not.to_vec(),
        }
    }

    /// The failures in what was recorded since `from`, and its rate.
    fn check(&self) -> (Vec<String>, u32) {
        let (s, rate) = read_now(&self.path);
        let w = &s[self.from.min(s.len())..];
        let mut failures = Vec::new();
        let secs = w.len() as f64 / f64::from(rate.max(1));
        if secs < 1.5 {
            failures.push(format!("{}: only {secs:.2} s recorded", self.who));
        }
        for &f in &self.hears {
            let share = tone::tone_share(w, rate, f);
            if share < 0.08 {
                failures.push(format!("{} ({rate} Hz) lacks {f} Hz: {share:.4}", self.who));
            }
        }
        for &f in &self.not {
            let share = tone::tone_share(w, rate, f);
            if share > 0.02 {
                failures.push(format!(
                    "{} ({rate} Hz) carries {f} Hz: {share:.4}",
                    self.who
                ));
            }
        }
        (failures, rate)
    }
}

fn received(b: &Baresip) -> PathBuf {
    wait_for(Duration::from_secs(5), || {
        b.received_wavs().into_iter().last()
    })
    .unwrap_or_else(|| panic!("baresip {} records nothing:\n{}", b.user, b.log()))
}

#[test]
fn conference_of_g722_opus_and_pcmu_calls_mixes_wideband() {
    let t = TestDir::new("conference-wideband");
    let g722 = baresip(&t, "1002", PeerOpts::tone(G722_HZ).wideband("G722", 16_000));
    let opus = baresip(&t, "1003", PeerOpts::tone(OPUS_HZ).wideband("opus", 48_000));
    let pcmu = baresip(&t, "1004", PeerOpts::tone(PCMU_HZ));
    let account = |name: &str, codec: &str| {
        let mut a = Account::direct(name, "1001");
        a.codecs = Some(vec![codec.to_string()]);
        a
    };
    let mut p = direct_phone(
        &t,
        PhoneOpts::new()
            .tone(OURS)
            .codecs(&["G722"], 8000)
            .account(account("opus", "opus"))
            .account(account("pcmu", "PCMU")),
    );
    let mut ids = Vec::new();
    for (b, codec, via) in [
        (&g722, "G722", "direct"),
        (&opus, "opus", "opus"),
        (&pcmu, "PCMU", "pcmu"),
    ] {
        let dial = json!({"cmd": "dial", "to": b.direct_uri(), "account": via});
        let id = call_id_of(&p.ok(dial));
        let active = p
            .wait_call_state(&id, "active", Duration::from_secs(15))
            .unwrap_or_else(|| {
                panic!(
                    "call to {} not active: {:?}\n{}",
                    b.user,
                    p.events(),
                    b.log()
                )
            });
        assert_eq!(active["codec"], codec, "{active}");
        ids.push(id);
    }
    p.ok(json!({"cmd": "conference", "calls": ids}));
    let st = p.wait_status(Duration::from_secs(10), |st| members_of(st).len() == 3);
    assert!(
        st.is_some(),
        "not conferenced: {}\n{}",
        p.status(),
        p.log_tail()
    );
    let conf = wait_for(Duration::from_secs(5), || conference_wav(&p.rec))
        .unwrap_or_else(|| panic!("no conference recording in {}", p.rec.display()));

    // Let the mix settle, then listen for 2.5 s.
    std::thread::sleep(Duration::from_millis(700));
    let listeners = [
        Listener::new(
            "G.722 member",
            received(&g722),
            &[OURS, OPUS_HZ, PCMU_HZ],
            &[G722_HZ],
        ),
        Listener::new(
            "Opus member",
            received(&opus),
            &[OURS, G722_HZ, PCMU_HZ],
            &[OPUS_HZ],
        ),
        Listener::new(
            "PCMU member",
            received(&pcmu),
            &[OURS],
            &[PCMU_HZ, ALIASES[0], ALIASES[1]],
        ),
        Listener::new(
            "our conference recording",
            conf.clone(),
            &[G722_HZ, OPUS_HZ, PCMU_HZ],
            &[OURS],
        ),
    ];
    std::thread::sleep(Duration::from_millis(2500));
    let mut failures = Vec::new();
    let mut rates = Vec::new();
    for l in &listeners {
        let (f, rate) = l.check();
        failures.extend(f);
        rates.push(rate);
    }
    assert_eq!(
        rates[3],
        48_000,
        "{} is not at the mix rate",
        conf.display()
    );
    assert_eq!(rates[0], 16_000, "baresip's G.722 recording rate");
    for id in &ids {
        p.hang_up(id);
    }
    assert!(failures.is_empty(), "{failures:#?}\n{}", p.log_tail());
}
