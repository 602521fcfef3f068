//! `[sip]` limits against floods: TCP connections (in total, per source,
//! idle and read timeouts) and new server transactions (live at once, per
//! source per second). Plain numbers, resolved and checked here; the phone
//! hands them to the SIP layer. Touches nothing outside `config`.

use toml::Spanned;

/// The resolved limits (defaults: [`SipLimits::default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipLimits {
    /// `tcp_max_connections`: accepted TCP connections open at once.
    pub tcp_max_connections: usize,
    /// `tcp_max_connections_per_source`: accepted TCP connections open at
    /// once from one IP address.
    pub tcp_max_connections_per_source: usize,
    /// `tcp_idle_timeout_s`: an accepted connection silent this long closes.
    pub tcp_idle_timeout_s: u64,
    /// `tcp_read_timeout_s`: a message not complete this long after its
    /// first byte closes its connection.
    pub tcp_read_timeout_s: u64,
    /// `max_transactions`: server transactions live at once.
    pub max_transactions: usize,
    /// `max_requests_per_source`: new requests one IP address may send per
    /// second.
    pub max_requests_per_source: u32,
}

impl Default for SipLimits {
    /// Sized for a phone behind one PBX: far above what the PBX itself
    /// sends (a few calls a second; a burst of a few hundred NOTIFYs when
    /// it restarts with many BLF keys), far below what lets a flood grow
    /// memory or use up descriptors. See docs/control.md.
    fn default() -> Self {
        SipLimits {
            tcp_max_connections: 128,
            tcp_max_connections_per_source: 32,
            tcp_idle_timeout_s: 600,
            tcp_read_timeout_s: 30,
            max_transactions: 4000,
            max_requests_per_source: 500,
        }
    }
}

/// The keys as written in `[sip]` (the raw table moves them here).
#[derive(Default)]
pub(super) struct RawSipLimits {
    pub tcp_max_connections: Option<Spanned<usize>>,
    pub tcp_max_connections_per_source: Option<Spanned<usize>>,
    pub tcp_idle_timeout_s: Option<Spanned<u64>>,
    pub tcp_read_timeout_s: Option<Spanned<u64>>,
    pub max_transactions: Option<Spanned<usize>>,
    pub max_requests_per_source: Option<Spanned<u32>>,
}

/// A key set to 0: (its span, the message).
pub(super) type LimitError = (std::ops::Range<usize>, String);

fn positive<T: Copy + PartialEq + From<u8>>(
    key: &str,
    value: &Option<Spanned<T>>,
    default: T,
) -> Result<T, LimitError> {
    match value {
        None => Ok(default),
        Some(v) if *v.get_ref() == T::from(0) => {
            Err((v.span(), format!("key `sip.{key}` must be at least 1")))
        }
        Some(v) => Ok(*v.get_ref()),
    }
}

impl RawSipLimits {
    pub(super) fn resolve(&self) -> Result<SipLimits, LimitError> {
        let d = SipLimits::default();
        Ok(SipLimits {
            tcp_max_connections: positive(
                "tcp_max_connections",
                &self.tcp_max_connections,
                d.tcp_max_connections,
            )?,
            tcp_max_connections_per_source: positive(
                "tcp_max_connections_per_source",
                &self.tcp_max_connections_per_source,
                d.tcp_max_connections_per_source,
            )?,
            tcp_idle_timeout_s: positive(
                "tcp_idle_timeout_s",
                &self.tcp_idle_timeout_s,
                d.tcp_idle_timeout_s,
            )?,
            tcp_read_timeout_s: positive(
                "tcp_read_timeout_s",
                &self.tcp_read_timeout_s,
                d.tcp_read_timeout_s,
            )?,
            max_transactions: positive(
                "max_transactions",
                &self.max_transactions,
                d.max_transactions,
            )?,
            max_requests_per_source: positive(
                "max_requests_per_source",
                &self.max_requests_per_source,
                d.max_requests_per_source,
            )?,
        })
    }
}
