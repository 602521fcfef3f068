//! Configuration: the TOML file (CONTROL.md keys), XDG paths via
//! `directories`, accounts and their secrets (`password_cmd`). A leaf: it
//! depends on no other module of the crate except plain data types of `media`.

use crate::media::AudioConfig;
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
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            call_waiting: true,
            dnd: false,
            auto_answer: false,
            max_calls: 8,
            ring_timeout_s: 60,
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
}

impl Config {
    /// Loads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let _ = path;
        todo!()
    }
    /// The default config file path (XDG config dir, `termphone/config.toml`).
    pub fn default_path() -> Option<PathBuf> {
        todo!()
    }
    /// No config file: a direct-IP account on 127.0.0.1, any free port.
    pub fn direct_ip_default() -> Config {
        todo!()
    }
    /// The control socket path: config, else `$XDG_RUNTIME_DIR/termphone/control.sock`,
    /// else a private dir under the temp dir.
    pub fn control_path(&self) -> PathBuf {
        todo!()
    }
}
