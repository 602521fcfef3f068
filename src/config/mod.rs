//! Configuration: the TOML file (docs/control.md keys), XDG paths via
//! `directories`, accounts and their secrets (`password_cmd`). A leaf: it
//! depends on no other module of the crate; the `[audio]` settings
//! (`audio.rs`) are defined here and read by `media`.
//!
//! [`Config::load`] parses the file into the raw serde structs of `raw.rs`
//! (unknown keys are errors), then resolves them into the typed [`Config`]:
//! relative paths against the file's directory, `password_cmd` run once,
//! addresses and proxy URIs checked. Every error names the file, the line,
//! the column and the key.

mod audio;
mod codecs;
pub mod dial_plan;
mod file_mode;
mod limits;
mod media_encryption;
mod paths;
pub mod pbx;
pub mod pbx_ambiguity;
mod proxy;
mod raw;
mod secret;

pub use audio::{AudioConfig, BackendKind, RoomEcho, Switch, VoiceProcessing};
pub use codecs::AudioCodec;
pub use dial_plan::{DialPlan, DialPlanError, Normalized, Rule};
pub use limits::SipLimits;
pub use media_encryption::MediaEncryption;
pub use pbx::{user_host, FeatureCodes, InternalKind, InternalPattern, NumberRange, PbxConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration error: names the file, the line and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// `[sip]`
#[derive(Debug, Clone, PartialEq)]
pub struct SipConfig {
    /// Listen address for UDP and TCP ("127.0.0.1:0" = any free port).
    pub listen: SocketAddr,
    /// Name servers for SIP's DNS look-ups (`ip:port`); empty: the
    /// system's (`/etc/resolv.conf`).
    pub dns_servers: Vec<SocketAddr>,
    /// STUN server (`host:port`) asked for the public RTP address of a call
    /// whose SIP path shows a NAT; `None`: the SDP names the local address.
    pub stun_server: Option<String>,
    /// Connection and request limits against floods.
    pub limits: SipLimits,
    /// CA certificates (PEM) trusted for TLS besides the system's roots.
    pub tls_ca_file: Option<PathBuf>,
}

/// One `[[account]]`.
#[derive(Clone, PartialEq)]
pub struct Account {
    pub name: String,
    pub user: String,
    pub domain: String,
    pub display_name: Option<String>,
    /// Outbound proxy / registrar (`sip:host:port`), if any.
    pub proxy: Option<String>,
    /// Resolved password (from `password` or by running `password_cmd`).
    pub password: Option<String>,
    /// Digest user name when it differs from `user`.
    pub auth_user: Option<String>,
    pub register: bool,
    /// Requested registration lifetime in seconds.
    pub expires: u32,
    /// Voicemail number or URI to dial for this account (else the PBX profile's).
    pub voicemail: Option<String>,
    /// Subscribe to message-summary (MWI) for this account.
    pub mwi: bool,
    /// Client certificate and key (PEM files) shown to the account's
    /// server over TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The digest realms our credentials answer (`realm`); empty: the
    /// first realm the account's proxy or domain challenges with.
    pub realms: Vec<String>,
    /// Seconds between keep-alives to the registrar while a NAT is seen
    /// (0: none).
    pub keepalive_s: u32,
    /// Whether the identity the account's PBX asserts for a caller
    /// (P-Asserted-Identity, RFC 3325) is believed over the From header
    /// when deciding who calls (`trust_asserted_identity`).
    pub trust_asserted_identity: bool,
    /// Plain RTP, SRTP only, or SRTP when the peer takes it
    /// (`media_encryption`). Calls to a dialed SIP URI and incoming calls
    /// that name no account's user take the first account's.
    pub media_encryption: MediaEncryption,
    /// The audio codecs its calls offer and accept, first preferred
    /// (`codecs`; [`AudioCodec::DEFAULT`] when not set).
    pub codecs: Vec<AudioCodec>,
    /// Whether its calls offer RFC 2198 redundancy (RED) and use it when
    /// the peer accepts it (`red`; off by default: a PBX may mishandle a
    /// payload type it does not know).
    pub red: bool,
    /// What typed numbers become before they are dialled; `None` (no dial
    /// plan key set): dialled as typed.
    pub dial_plan: Option<DialPlan>,
}

impl Drop for Account {
    /// The password does not outlive the account in memory.
    fn drop(&mut self) {
        if let Some(password) = self.password.as_mut() {
            zeroize::Zeroize::zeroize(password);
        }
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("proxy", &self.proxy)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("register", &self.register)
            .field("display_name", &self.display_name)
            .field("auth_user", &self.auth_user)
            .field("expires", &self.expires)
            .field("voicemail", &self.voicemail)
            .field("mwi", &self.mwi)
            .field("realms", &self.realms)
            .field("keepalive_s", &self.keepalive_s)
            .field("trust_asserted_identity", &self.trust_asserted_identity)
            .field("tls_cert", &self.tls_cert)
            .field("media_encryption", &self.media_encryption)
            .field("codecs", &self.codecs)
            .field("red", &self.red)
            .field("dial_plan", &self.dial_plan)
            .finish()
    }
}

/// `[phone]`
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneConfig {
    pub call_waiting: bool,
    pub dnd: bool,
    pub auto_answer: bool,
    pub max_calls: usize,
    pub ring_timeout_s: u64,
    /// Response code for calls rejected by Do Not Disturb (486 default, 4xx–6xx).
    pub dnd_code: u16,
    /// Callers (numbers or SIP URIs) that ring even in Do Not Disturb.
    pub dnd_allow: Vec<String>,
    /// Who keeps callers out while DND is on the line (`dnd_via`).
    pub dnd_via: LineDnd,
    /// Which callers are internal, for forwarding rules with a scope
    /// (`internal_pattern = "3-5"` extension lengths, or domains).
    pub internal_pattern: InternalPattern,
    /// What hanging up ourselves does to a local conference
    /// (`conference_hangup`, or `conference_leave` which overrides it).
    pub conference_hangup: ConferenceHangup,
    /// What `answer` does to a call already connected (on this line or
    /// another account's): hold it (default) or hang it up.
    pub on_answer_other: OnAnswerOther,
    /// Session timers (RFC 4028): the session interval we ask for, in
    /// seconds; 0 turns them off.
    pub session_expires_s: u32,
    /// The smallest session interval we accept (`Min-SE`), in seconds.
    pub min_se_s: u32,
    /// Symmetric RTP (RFC 4961): latch media onto the source the peer's
    /// first valid packet came from and send there (on by default: peers
    /// behind a NAT need it). Off: media only from and to the SDP address.
    pub symmetric_rtp: bool,
    /// A connected call not on hold that receives no RTP or RTCP this many
    /// seconds is ended with BYE (the peer died); 0 turns the check off.
    pub rtp_timeout_s: u64,
    /// How long a pending `callback when=free` waits for the target to be
    /// free before it is dropped, in seconds (default 1800).
    pub callback_expiry_s: u64,
    /// When a watched callback target is free: dial at once instead of
    /// ringing here first and waiting for `callback_accept`.
    pub callback_auto_dial: bool,
}

/// `[phone] dnd_via`: who keeps callers out while Do Not Disturb is on
/// the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineDnd {
    /// This phone answers callers with `dnd_code`, and the allow list rings
    /// through (default). The PBX is not told.
    #[default]
    Line,
    /// The PBX, by its DND feature code (`[pbx]` profile); callers never
    /// reach this phone, so the allow list is the PBX's business.
    FeatureCode,
    /// Both: the PBX's code is dialled and this phone turns callers away
    /// too (the PBX then blocks the allow list before we see it).
    Both,
}

/// `[phone] conference_leave` (or the older `conference_hangup`, which
/// knows only `end` and `transfer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConferenceHangup {
    /// Every leg ends (default).
    #[default]
    End,
    /// With two members left, they are transferred to each other (REFER
    /// with Replaces) and keep talking; with more, every leg ends.
    Transfer,
    /// The members keep talking, mixed here without our microphone and
    /// speaker, until fewer than two remain.
    Keep,
    /// Two members are transferred to each other, three or more are kept
    /// mixing without us.
    Auto,
}

impl ConferenceHangup {
    /// What leaving a conference of `members` calls does.
    pub fn on_leave(self, members: usize) -> ConferenceLeave {
        match (self, members) {
            (Self::Transfer | Self::Auto, 2) => ConferenceLeave::Transfer,
            (Self::Keep, n) | (Self::Auto, n) if n >= 2 => ConferenceLeave::Keep,
            _ => ConferenceLeave::End,
        }
    }
}

/// What happens to the members when we leave a conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConferenceLeave {
    /// Every leg ends.
    End,
    /// The two members are connected to each other by REFER.
    Transfer,
    /// The mix goes on without us.
    Keep,
}

/// `[phone] on_answer_other`: what answering a waiting call does to the
/// call that is connected (call waiting, on the same line or another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnAnswerOther {
    /// The connected call goes on hold (re-INVITE `sendonly`), default.
    #[default]
    Hold,
    /// The connected call is ended (BYE) before the new one is answered.
    Hangup,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            call_waiting: true,
            dnd: false,
            auto_answer: false,
            max_calls: 8,
            ring_timeout_s: 60,
            dnd_code: 486,
            conference_hangup: ConferenceHangup::End,
            on_answer_other: OnAnswerOther::Hold,
            dnd_via: LineDnd::Line,
            dnd_allow: Vec::new(),
            internal_pattern: InternalPattern::default(),
            session_expires_s: 1800,
            min_se_s: 90,
            symmetric_rtp: true,
            rtp_timeout_s: 30,
            callback_expiry_s: 1800,
            callback_auto_dial: false,
        }
    }
}

/// One `[[blf]]` busy lamp field target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlfTarget {
    /// A number (in the account's domain) or a SIP URI.
    pub target: String,
    /// What to show instead of the target, if set.
    pub label: Option<String>,
    /// Also watch the target's presence (RFC 3856) where the server offers
    /// it: do-not-disturb, busy and offline refine the dialog lamp.
    pub presence: bool,
}

/// `[ui]`: settings of the terminal interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    /// Theme name: `default`, `light`, `high-contrast` or a file
    /// `themes/<name>.toml` in the config dir.
    pub theme: String,
    /// Ring the terminal bell on an incoming call.
    pub bell: bool,
    /// Send an OSC 777/9 desktop notification on an incoming call.
    pub notify: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            theme: "default".to_string(),
            bell: true,
            notify: false,
        }
    }
}

/// The whole, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where this config came from (None: built-in defaults).
    pub path: Option<PathBuf>,
    pub control: Option<PathBuf>,
    pub sip: SipConfig,
    pub accounts: Vec<Account>,
    pub audio: AudioConfig,
    pub phone: PhoneConfig,
    /// Where call history lives (default: XDG data dir `termphone/history.db`).
    pub history_path: PathBuf,
    /// `[[blf]]` targets, in file order.
    pub blf: Vec<BlfTarget>,
    /// `[ui]` settings of the terminal interface.
    pub ui: UiConfig,
    /// `[pbx]`: profile and feature codes.
    pub pbx: PbxConfig,
    /// `[[directory]]` sources `search` looks in, in file order.
    pub directories: Vec<DirectoryConfig>,
}

/// One `[[directory]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryConfig {
    /// `kind = "vcard"`: a `.vcf` file, or a folder of them (a CardDAV sync folder).
    Vcard { path: PathBuf },
    /// `kind = "ldap"`: an LDAP server or Active Directory, searched when asked.
    Ldap(LdapDirectory),
}

/// A `[[directory]]` of `kind = "ldap"`, with the defaults filled in.
#[derive(Clone, PartialEq, Eq)]
pub struct LdapDirectory {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// The search base (`dc=example,dc=com`).
    pub base: String,
    /// Simple bind as this DN; anonymous without it.
    pub bind_dn: Option<String>,
    /// The bind password (from `password` or by running `password_cmd`).
    pub password: Option<String>,
    /// The search filter; `{q}` stands for the escaped query.
    pub filter: String,
    /// Attributes holding the name, the first present wins.
    pub name_attributes: Vec<String>,
    /// Attributes holding numbers, each value one entry.
    pub number_attributes: Vec<String>,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.url)
            .field("base", &self.base)
            .field("bind_dn", &self.bind_dn)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("filter", &self.filter)
            .field("name_attributes", &self.name_attributes)
            .field("number_attributes", &self.number_attributes)
            .finish()
    }
}

impl LdapDirectory {
    /// The default `filter`: a name or a number containing the query, in
    /// attributes both Active Directory and OpenLDAP have.
    pub const DEFAULT_FILTER: &'static str =
        "(|(cn=*{q}*)(displayName=*{q}*)(telephoneNumber=*{q}*)(mobile=*{q}*))";
    /// The default `name_attributes`.
    pub const DEFAULT_NAME_ATTRIBUTES: [&'static str; 2] = ["displayName", "cn"];
    /// The default `number_attributes`.
    pub const DEFAULT_NUMBER_ATTRIBUTES: [&'static str; 4] =
        ["telephoneNumber", "mobile", "ipPhone", "homePhone"];
}

impl Config {
    /// Loads and validates `path`.
    ///
    /// A file without any `[[account]]` gets the direct-IP account of
    /// [`Config::direct_ip_default`].
    /// A file that holds a `password` or `password_cmd` and that its group
    /// or everyone may write is refused, saying why and what to do.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            ConfigError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?);
        file_mode::check(path, &text).map_err(|message| ConfigError::Io {
            path: path.to_path_buf(),
            message,
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text as if read from `path` (used for error messages and
    /// to resolve relative paths).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        raw::parse(text, path)
    }

    /// Reads only the `control` key of a config file (resolved against the
    /// file's directory), without running any `password_cmd`: what `ctl`
    /// needs to find the socket.
    pub fn load_control_path(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        raw::control_only(&text, path)
    }

    /// The default config file path (XDG config dir, `termphone/config.toml`).
    pub fn default_path() -> Option<PathBuf> {
        paths::default_config_path()
    }

    /// The control socket path when the config sets none:
    /// `$XDG_RUNTIME_DIR/termphone/control.sock`, else `<tmp>/termphone-<uid>/control.sock`.
    pub fn default_control_path() -> PathBuf {
        paths::default_control_path()
    }

    /// No config file: a direct-IP account on 127.0.0.1, any free port.
    pub fn direct_ip_default() -> Config {
        Config {
            path: None,
            control: None,
            sip: SipConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                dns_servers: Vec::new(),
                stun_server: None,
                limits: SipLimits::default(),
                tls_ca_file: None,
            },
            accounts: vec![Account::direct()],
            audio: AudioConfig {
                backend: BackendKind::Cpal,
                ..AudioConfig::default()
            },
            phone: PhoneConfig::default(),
            history_path: paths::default_history_path(),
            blf: Vec::new(),
            ui: UiConfig::default(),
            pbx: PbxConfig::default(),
            directories: Vec::new(),
        }
    }

    /// The control socket path: config, else `$XDG_RUNTIME_DIR/termphone/control.sock`,
    /// else a private dir under the temp dir.
    pub fn control_path(&self) -> PathBuf {
        match &self.control {
            Some(p) => p.clone(),
            None => paths::default_control_path(),
        }
    }
}

impl Account {
    /// The direct-IP account: `sip:<$USER>@127.0.0.1`, no proxy, no registration.
    pub fn direct() -> Account {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| {
                !u.is_empty()
                    && u.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c))
            })
            .unwrap_or_else(|| "termphone".to_string());
        Account {
            name: "direct".to_string(),
            user,
            domain: "127.0.0.1".to_string(),
            display_name: None,
            proxy: None,
            password: None,
            auth_user: None,
            register: false,
            expires: raw::DEFAULT_EXPIRES,
            voicemail: None,
            mwi: false,
            realms: Vec::new(),
            keepalive_s: raw::DEFAULT_KEEPALIVE_S,
            trust_asserted_identity: false,
            tls_cert: None,
            tls_key: None,
            media_encryption: MediaEncryption::None,
            codecs: AudioCodec::DEFAULT.to_vec(),
            red: false,
            dial_plan: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
