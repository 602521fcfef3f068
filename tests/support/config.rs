//! termphone configs for the tests, built from typed values and rendered to
//! TOML here (never glued from strings in a test): accounts, audio, and the
//! `[phone]`, `[[blf]]`, `[pbx]` and `[ui]` settings a test needs. The
//! control socket and `[sip] listen` belong to whoever starts the phone
//! ([`super::phone::Phone`], or a test running the TUI) and are passed to
//! [`Config::render`].

use super::kamailio::{Kamailio, DOMAIN};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// One `[[account]]`.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub name: String,
    pub user: String,
    pub domain: String,
    /// Registrar / outbound proxy URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub register: bool,
    /// Subscribe to message-summary (MWI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mwi: Option<bool>,
    /// Voicemail number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voicemail: Option<String>,
    /// Registration lifetime asked for, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
    /// The digest realms the credentials answer (`realm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<Vec<String>>,
    /// Seconds between keep-alives while a NAT is seen (0: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive_s: Option<u32>,
    /// Client certificate and key (PEM files) for TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<String>,
    /// Believe the PBX's P-Asserted-Identity over From.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_asserted_identity: Option<bool>,
    /// `none`, `srtp` or `srtp-optional`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_encryption: Option<String>,
    /// Audio codecs, first preferred (`G722`, `PCMA`, `PCMU`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codecs: Option<Vec<String>>,
    /// RFC 2198 redundancy (`red`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub red: Option<bool>,
    /// Dial plan keys (`country_code`, `outside_line`, …), if any.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub dial_plan: Option<DialPlan>,
}

/// The dial plan keys of an `[[account]]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DialPlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub international_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_digits: Option<u32>,
}

impl Account {
    /// `sip:<user>@127.0.0.1`, calling and called directly by IP (no registration).
    pub fn direct(name: &str, user: &str) -> Account {
        Account {
            name: name.into(),
            user: user.into(),
            domain: "127.0.0.1".into(),
            proxy: None,
            password: None,
            register: false,
            mwi: None,
            voicemail: None,
            expires: None,
            realm: None,
            keepalive_s: None,
            tls_cert: None,
            tls_key: None,
            trust_asserted_identity: None,
            media_encryption: None,
            codecs: None,
            red: None,
            dial_plan: None,
        }
    }

    /// Extension `user` of [`DOMAIN`] registered to `k` (password `pw<user>`).
    pub fn registered(name: &str, user: &str, k: &Kamailio) -> Account {
        Account {
            proxy: Some(k.proxy_uri()),
            password: Some(format!("pw{user}")),
            register: true,
            domain: DOMAIN.into(),
            ..Account::direct(name, user)
        }
    }

    /// Extension `user` of [`DOMAIN`] sending everything to `proxy` (a SIP
    /// address) without registering.
    pub fn via(name: &str, user: &str, proxy: SocketAddr) -> Account {
        Account {
            proxy: Some(format!("sip:{proxy}")),
            domain: DOMAIN.into(),
            ..Account::direct(name, user)
        }
    }

    /// The same account with another password.
    pub fn password(mut self, password: &str) -> Account {
        self.password = Some(password.into());
        self
    }

    /// The same account answering only challenges of these realms.
    pub fn realm(mut self, realms: &[&str]) -> Account {
        self.realm = Some(realms.iter().map(|r| r.to_string()).collect());
        self
    }

    /// The same account subscribing to message-summary (MWI).
    /// `trust_asserted_identity = true`.
    pub fn trusting_asserted_identity(mut self) -> Account {
        self.trust_asserted_identity = Some(true);
        self
    }

    pub fn mwi(mut self) -> Account {
        self.mwi = Some(true);
        self
    }

    /// The same account showing a client certificate over TLS.
    pub fn tls_identity(mut self, cert: &Path, key: &Path) -> Account {
        self.tls_cert = Some(cert.display().to_string());
        self.tls_key = Some(key.display().to_string());
        self
    }

    /// The same account with the audio codecs `codecs`, first preferred.
    pub fn codecs(mut self, codecs: &[&str]) -> Account {
        self.codecs = Some(codecs.iter().map(|c| c.to_string()).collect());
        self
    }

    /// The same account with RFC 2198 redundancy (`red`) on or off.
    pub fn red(mut self, on: bool) -> Account {
        self.red = Some(on);
        self
    }

    /// The same account with `media_encryption` (`none`, `srtp`,
    /// `srtp-optional`).
    pub fn media_encryption(mut self, policy: &str) -> Account {
        self.media_encryption = Some(policy.into());
        self
    }

    /// The same account with a dial plan.
    pub fn dial_plan(mut self, plan: DialPlan) -> Account {
        self.dial_plan = Some(plan);
        self
    }

    /// The same account with a voicemail number.
    pub fn voicemail(mut self, number: &str) -> Account {
        self.voicemail = Some(number.into());
        self
    }
}

/// `[audio]`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum Audio {
    /// No sound at all.
    #[default]
    Null,
    /// `input` played as microphone, calls recorded to `output_dir`.
    File { input: PathBuf, output_dir: PathBuf },
    /// The sound card (falls back to null on a machine without one).
    Cpal,
    /// [`Audio::File`] in a simulated room (`room_echo_ms`, `room_echo_db`)
    /// with the voice processing switched (`"auto"`, `"on"`, `"off"`).
    #[serde(rename = "file")]
    Room {
        input: PathBuf,
        output_dir: PathBuf,
        room_echo_ms: u32,
        room_echo_db: f32,
        echo_cancel: String,
        noise_suppression: String,
        auto_gain: String,
    },
}

impl Audio {
    pub fn file(input: &Path, output_dir: &Path) -> Audio {
        Audio::File {
            input: input.to_path_buf(),
            output_dir: output_dir.to_path_buf(),
        }
    }
}

/// One `[[blf]]` lamp.
#[derive(Debug, Clone, Serialize)]
pub struct Blf {
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A whole config but for the control socket and the SIP listen address.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub accounts: Vec<Account>,
    pub audio: Audio,
    /// `[phone]` settings.
    pub phone: Table,
    pub blf: Vec<Blf>,
    /// `[pbx]` settings (feature codes …).
    pub pbx: Table,
    /// `[ui]` settings.
    pub ui: Table,
    /// `[sip]` settings besides `listen`.
    pub sip: Table,
    /// `[[directory]]` sources.
    pub directory: Vec<Directory>,
}

/// One `[[directory]]`: its keys as they are written.
pub type Directory = Table;

impl Config {
    pub fn new() -> Config {
        Config::default()
    }

    /// Adds an account (after those already there).
    pub fn account(mut self, account: Account) -> Config {
        self.accounts.push(account);
        self
    }

    pub fn audio(mut self, audio: Audio) -> Config {
        self.audio = audio;
        self
    }

    /// Sets `[phone] key = value`.
    pub fn phone(mut self, key: &str, value: impl Into<Value>) -> Config {
        self.phone.insert(key.into(), value.into());
        self
    }

    /// Adds a `[[blf]]` lamp for `target`.
    pub fn blf(mut self, target: &str, label: Option<&str>) -> Config {
        self.blf.push(Blf {
            target: target.into(),
            label: label.map(str::to_string),
        });
        self
    }

    /// Sets `[pbx] key = value`.
    pub fn pbx(mut self, key: &str, value: impl Into<Value>) -> Config {
        self.pbx.insert(key.into(), value.into());
        self
    }

    /// Adds a `[[directory]]` of vCards: a `.vcf` file or a folder of them.
    pub fn vcard_directory(mut self, path: &Path) -> Config {
        let mut d = Directory::new();
        d.insert("kind".into(), "vcard".into());
        d.insert("path".into(), path.display().to_string().into());
        self.directory.push(d);
        self
    }

    /// Adds a `[[directory]]` of `kind = "ldap"` with these keys besides
    /// `kind` (`url`, `base`, `bind_dn`, `password`, …).
    pub fn ldap_directory(mut self, keys: &[(&str, &str)]) -> Config {
        let mut d = Directory::new();
        d.insert("kind".into(), "ldap".into());
        for (k, v) in keys {
            d.insert((*k).into(), (*v).into());
        }
        self.directory.push(d);
        self
    }

    /// Sets `[sip] key = value` (not `listen`: see [`Config::render`]).
    pub fn sip(mut self, key: &str, value: impl Into<Value>) -> Config {
        self.sip.insert(key.into(), value.into());
        self
    }

    /// Sets `[ui] key = value`.
    pub fn ui(mut self, key: &str, value: impl Into<Value>) -> Config {
        self.ui.insert(key.into(), value.into());
        self
    }

    /// The TOML text, with the control socket at `control` and SIP on `listen`.
    pub fn render(&self, control: &Path, listen: SocketAddr) -> String {
        #[derive(Serialize)]
        struct Sip<'a> {
            listen: String,
            #[serde(flatten)]
            more: &'a Table,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            control: &'a Path,
            sip: Sip<'a>,
            account: &'a [Account],
            audio: &'a Audio,
            #[serde(skip_serializing_if = "Table::is_empty")]
            phone: &'a Table,
            #[serde(skip_serializing_if = "<[Blf]>::is_empty")]
            blf: &'a [Blf],
            #[serde(skip_serializing_if = "Table::is_empty")]
            pbx: &'a Table,
            #[serde(skip_serializing_if = "Table::is_empty")]
            ui: &'a Table,
            #[serde(skip_serializing_if = "<[Directory]>::is_empty")]
            directory: &'a [Directory],
        }
        toml::to_string(&Doc {
            control,
            sip: Sip {
                listen: listen.to_string(),
                more: &self.sip,
            },
            account: &self.accounts,
            audio: &self.audio,
            phone: &self.phone,
            blf: &self.blf,
            pbx: &self.pbx,
            ui: &self.ui,
            directory: &self.directory,
        })
        .expect("render the test config as TOML")
    }
}
