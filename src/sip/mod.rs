//! SIP user-agent layers over the `rsipstack::sip` message codec (an rsip
//! fork that parses compact headers and knows Replaces/Refer-To): transport,
//! RFC 3261 §17 transactions, dialogs, digest auth, registration, SDP, and the
//! parts of SIP URIs.
//! Owns nothing about calls, audio or the user interface.

pub use rsipstack::sip as msg;

pub mod address;
pub mod auth;
pub mod headers;
pub mod transaction;
pub mod transport;

/// Errors of the SIP layers.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed SIP message: {0}")]
    Parse(String),
    #[error("missing or invalid header {0}")]
    Header(&'static str),
    #[error("authentication: {0}")]
    Auth(String),
    #[error("the SIP endpoint is shut down")]
    Closed,
    #[error(transparent)]
    Dns(#[from] dns::DnsError),
    /// A TLS connection could not be made: the reason in words.
    #[error("TLS: {0}")]
    Tls(String),
}

pub type Result<T, E = SipError> = std::result::Result<T, E>;

pub mod contact_list;
pub mod dialog;
pub mod dns;
pub mod message;
pub mod publication;
pub mod reason;
pub mod registration;
pub mod reliable;
pub mod replaces;
pub mod require;
pub mod route;
pub mod sdp;
pub mod sdp_crypto;
pub mod sdp_opus;
pub mod sdp_red;
pub mod session_timer;
pub mod subscription;
pub mod trace;
pub mod uri;

/// Our User-Agent / Server header value.
pub const USER_AGENT: &str = concat!("termphone/", env!("CARGO_PKG_VERSION"));

/// Methods we accept (Allow header).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE, PRACK";
/// Bodies we accept (Accept header).
pub const ACCEPT: &str = "application/sdp, message/sipfrag, application/dtmf-relay";
/// Extensions we support (Supported header): the one list of option tags;
/// a `Require` naming any other gets 420 ([`require::unsupported`]).
pub const SUPPORTED: &str = "replaces, 100rel, timer";
