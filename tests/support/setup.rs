//! The set-up of the parties of a test, one helper each: [`direct_phone`]
//! (termphone with an account called directly by IP), [`registered_phone`]
//! (termphone started, then waited for until every account is registered)
//! and [`baresip`] (a baresip peer, registered when given a registrar).
//! What varies between tests is a [`PhoneOpts`] or a [`PeerOpts`].

use super::baresip::{Baresip, BaresipOpts};
use super::config::{Account, Audio, Config};
use super::kamailio::Kamailio;
use super::phone::Phone;
use super::{tone, TestDir};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Value;

/// A termphone with its recordings directory (empty path unless it plays a tone).
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

/// How to set up a test phone.
#[derive(Debug, Clone)]
pub struct PhoneOpts {
    /// Subdirectory of the test dir for the phone's files (default "phone").
    pub dir: String,
    /// User of [`direct_phone`]'s account (default "1001").
    pub user: String,
    /// A sine of this frequency played as microphone (8 kHz WAV), calls
    /// recorded to [`TestPhone::rec`]; `None` keeps `config.audio`.
    pub tone_hz: Option<f64>,
    /// The rest of the config.
    pub config: Config,
    /// `media_encryption` of [`direct_phone`]'s account.
    pub media_encryption: Option<String>,
    /// `codecs` of [`direct_phone`]'s account and the rate of the tone's
    /// WAV (8000 unless set).
    pub codecs: Option<Vec<String>>,
    pub tone_rate: u32,
}

impl Default for PhoneOpts {
    fn default() -> Self {
        PhoneOpts {
            dir: "phone".into(),
            user: "1001".into(),
            tone_hz: None,
            config: Config::default(),
            media_encryption: None,
            codecs: None,
            tone_rate: 8000,
        }
    }
}

impl PhoneOpts {
    pub fn new() -> PhoneOpts {
        PhoneOpts::default()
    }
    pub fn dir(mut self, dir: &str) -> PhoneOpts {
        self.dir = dir.into();
        self
    }
    pub fn user(mut self, user: &str) -> PhoneOpts {
        self.user = user.into();
        self
    }
    pub fn tone(mut self, hz: f64) -> PhoneOpts {
        self.tone_hz = Some(hz);
        self
    }
    /// Only `codecs` for [`direct_phone`]'s account, the tone's WAV at
    /// `rate` Hz.
    pub fn codecs(mut self, codecs: &[&str], rate: u32) -> PhoneOpts {
        self.codecs = Some(codecs.iter().map(|c| c.to_string()).collect());
        self.tone_rate = rate;
        self
    }
    /// `media_encryption` (`none`, `srtp`, `srtp-optional`) of
    /// [`direct_phone`]'s account.
    pub fn media_encryption(mut self, policy: &str) -> PhoneOpts {
        self.media_encryption = Some(policy.into());
        self
    }
    /// See [`Config::account`].
    pub fn account(mut self, account: Account) -> PhoneOpts {
        self.config = self.config.account(account);
        self
    }
    /// See [`Config::audio`].
    pub fn audio(mut self, audio: Audio) -> PhoneOpts {
        self.config = self.config.audio(audio);
        self
    }
    /// See [`Config::phone`].
    pub fn phone(mut self, key: &str, value: impl Into<Value>) -> PhoneOpts {
        self.config = self.config.phone(key, value);
        self
    }
    /// See [`Config::blf`].
    pub fn blf(mut self, target: &str, label: Option<&str>) -> PhoneOpts {
        self.config = self.config.blf(target, label);
        self
    }
    /// See [`Config::sip`].
    pub fn sip(mut self, key: &str, value: impl Into<Value>) -> PhoneOpts {
        self.config = self.config.sip(key, value);
        self
    }
    /// See [`Config::pbx`].
    pub fn pbx(mut self, key: &str, value: impl Into<Value>) -> PhoneOpts {
        self.config = self.config.pbx(key, value);
        self
    }

    /// Starts the phone in `t/<dir>` with `config`, after writing its tone.
    fn start(self, t: &TestDir) -> TestPhone {
        let mut config = self.config;
        let mut rec = PathBuf::new();
        if let Some(hz) = self.tone_hz {
            let src = t.path().join(format!("{}-{hz}.wav", self.dir));
            tone::write_sine_wav(&src, hz, self.tone_rate, 30.0);
            rec = t.sub(&format!("{}-rec", self.dir));
            config.audio = Audio::file(&src, &rec);
        }
        TestPhone {
            phone: Phone::start(&t.sub(&self.dir), &config),
            rec,
        }
    }
}

/// termphone as `sip:<user>@127.0.0.1` (no registration), that account
/// first, then those of `opts.config`.
pub fn direct_phone(t: &TestDir, mut opts: PhoneOpts) -> TestPhone {
    let mut account = Account::direct("direct", &opts.user);
    account.media_encryption = opts.media_encryption.clone();
    account.codecs = opts.codecs.clone();
    opts.config.accounts.insert(0, account);
    opts.start(t)
}

/// termphone with the accounts of `opts.config`; waits until every account
/// in `status` is registered.
pub fn registered_phone(t: &TestDir, opts: PhoneOpts) -> TestPhone {
    let mut p = opts.start(t);
    let st = p.wait_status(Duration::from_secs(10), |s| {
        s["accounts"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["registered"] == true))
    });
    assert!(
        st.is_some(),
        "phone not registered: {}\n{}",
        p.status(),
        p.log_tail()
    );
    p
}

/// What a baresip peer plays.
#[derive(Debug, Clone)]
pub enum PeerSound {
    /// A 60 s, 8 kHz sine of this frequency, written for the peer.
    Tone(f64),
    /// This WAV file.
    Wav(PathBuf),
}

/// How to set up a baresip peer.
#[derive(Clone)]
pub struct PeerOpts<'a> {
    pub sound: PeerSound,
    /// Registered to this kamailio (waited for); `None`: reached by IP only.
    pub registrar: Option<&'a Kamailio>,
    pub auto_answer: bool,
    /// baresip's `mediaenc` (`srtp`, `srtp-mand`); `None`: plain RTP.
    pub mediaenc: Option<String>,
    /// baresip's `audio_codecs` and audio rate (see `BaresipOpts`).
    pub wideband: Option<(String, u32)>,
}

impl<'a> PeerOpts<'a> {
    /// Playing a `hz` tone, answering by itself, not registered.
    pub fn tone(hz: f64) -> PeerOpts<'a> {
        PeerOpts {
            sound: PeerSound::Tone(hz),
            registrar: None,
            auto_answer: true,
            mediaenc: None,
            wideband: None,
        }
    }
    /// Playing `wav`, not answering by itself, not registered.
    pub fn wav(wav: &Path) -> PeerOpts<'a> {
        PeerOpts {
            sound: PeerSound::Wav(wav.to_path_buf()),
            registrar: None,
            auto_answer: false,
            mediaenc: None,
            wideband: None,
        }
    }
    pub fn registered(mut self, k: &'a Kamailio) -> PeerOpts<'a> {
        self.registrar = Some(k);
        self
    }
    pub fn auto_answer(mut self, on: bool) -> PeerOpts<'a> {
        self.auto_answer = on;
        self
    }
    /// Only the wideband codec `codecs` (`G722`, `opus`), its audio at
    /// `rate` Hz; the tone it plays is written at that rate.
    pub fn wideband(mut self, codecs: &str, rate: u32) -> PeerOpts<'a> {
        self.wideband = Some((codecs.into(), rate));
        self
    }
    /// baresip's `mediaenc` account parameter (`srtp`, `srtp-mand`).
    pub fn mediaenc(mut self, enc: &str) -> PeerOpts<'a> {
        self.mediaenc = Some(enc.into());
        self
    }
}

/// baresip as `user` in `t/baresip-<user>`; when registered, waits for
/// the registration.
pub fn baresip(t: &TestDir, user: &str, opts: PeerOpts) -> Baresip {
    let source_wav = match opts.sound {
        PeerSound::Wav(wav) => wav,
        PeerSound::Tone(hz) => {
            let src = t.path().join(format!("baresip-{user}.wav"));
            let rate = opts.wideband.as_ref().map_or(8000, |(_, r)| *r);
            tone::write_sine_wav(&src, hz, rate, 60.0);
            src
        }
    };
    let mut b = Baresip::start(
        &t.sub(&format!("baresip-{user}")),
        BaresipOpts {
            user: user.into(),
            registrar: opts.registrar.map(Kamailio::addr),
            password: None,
            source_wav,
            auto_answer: opts.auto_answer,
            mediaenc: opts.mediaenc,
            wideband: opts.wideband,
        },
    );
    if opts.registrar.is_some() {
        assert!(
            b.wait_registered(Duration::from_secs(10)),
            "baresip {user} not registered:\n{}",
            b.log()
        );
    }
    b
}

/// A direct phone that answers by itself, called as 1001 by the SIPp
/// scenario `scenario` (SIPp gives up after `timeout_s`); returns once
/// the scenario has ended, having asserted it succeeded.
pub fn called_by_sipp_auto_answered(
    t: &TestDir,
    scenario: &str,
    timeout_s: u64,
) -> (TestPhone, super::sipp::SippResult) {
    let p = direct_phone(t, PhoneOpts::new().phone("auto_answer", true));
    let sipp = super::sipp::Sipp::new(scenario, &t.sub("sipp"))
        .target(p.sip_addr())
        .service("1001")
        .timeout(timeout_s)
        .spawn();
    let r = sipp.wait(Duration::from_secs(timeout_s + 10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    (p, r)
}

/// The updates of the first call to end (within 5 s), in order.
pub fn ended_call_updates(p: &mut Phone) -> Vec<serde_json::Value> {
    let call = p
        .wait_any_call_state("ended", Duration::from_secs(5))
        .unwrap_or_default();
    let id = call["id"].as_str().unwrap_or_default().to_string();
    p.call_updates(&id)
}
