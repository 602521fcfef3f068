//! Admission of new server transactions: a cap on how many may be live at
//! once and on how many new requests one source address may start per
//! second, so that a flood cannot grow memory without bound (a non-INVITE
//! server transaction over UDP lives 32 s after its answer). Pure decision
//! and its per-second counters; the dispatcher acts on the answer. Knows
//! nothing of sockets or dialogs; retransmissions of a live transaction never
//! come here.

use crate::sip::msg::Method;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

/// The caps (config `[sip] max_transactions`, `max_requests_per_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Server transactions live at once, from everyone.
    pub max_live: usize,
    /// New requests one IP address may send per second.
    pub per_source_per_s: u32,
}

impl Default for ServerLimits {
    /// What a phone's own PBX sends stays far below both: a busy trunk
    /// carries a few calls a second, and a PBX restart that re-sends the
    /// state of a hundred BLF keys and a voicemail box at once is a few
    /// hundred requests. 500 a second from one address leaves that
    /// untouched, and 4000 live transactions (each at most a few KB, for
    /// 32 s) keep a flood within a few tens of MB.
    fn default() -> Self {
        ServerLimits {
            max_live: 4000,
            per_source_per_s: 500,
        }
    }
}

/// What to do with a request that would start a server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Start the transaction.
    Yes,
    /// Answer `503 Service Unavailable` with `Retry-After` (INVITE: the
    /// caller should learn the call did not go through), statelessly.
    Busy,
    /// Drop it silently (the sender retransmits or gives up).
    Drop,
}

/// Seconds a refused caller is told to wait (`Retry-After`).
pub const RETRY_AFTER_S: u32 = 5;

/// Sources counted in one second at most; beyond, further new sources in
/// that second are refused (spoofed UDP source addresses cannot grow the
/// table).
const MAX_SOURCES: usize = 8192;

/// The per-second counters of new requests by source.
#[derive(Debug)]
pub struct Admission {
    limits: ServerLimits,
    window: Instant,
    counts: HashMap<IpAddr, u32>,
}

impl Admission {
    pub fn new(limits: ServerLimits) -> Self {
        Admission {
            limits,
            window: Instant::now(),
            counts: HashMap::new(),
        }
    }

    /// Decides on a new `method` request from `source` at `now` while `live`
    /// server transactions exist; counts it when admitted.
    pub fn check(&mut self, now: Instant, source: IpAddr, method: &Method, live: usize) -> Admit {
        if now.saturating_duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.counts.clear();
            if self.counts.capacity() > 1024 {
                self.counts.shrink_to(64);
            }
        }
        let refused = if matches!(method, Method::Invite) {
            Admit::Busy
        } else {
            Admit::Drop
        };
        if live >= self.limits.max_live {
            return refused;
        }
        let known = self.counts.len();
        let count = match self.counts.get_mut(&source) {
            Some(count) => count,
            None if known >= MAX_SOURCES => return refused,
            None => self.counts.entry(source).or_insert(0),
        };
        if *count >= self.limits.per_source_per_s {
            return refused;
        }
        *count += 1;
        Admit::Yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn live_cap_refuses_invite_with_503_and_drops_the_rest() {
        let mut a = Admission::new(ServerLimits {
            max_live: 10,
            per_source_per_s: 100,
        });
        let now = Instant::now();
        let src = ip("192.0.2.1");
        for (method, live, want) in [
            (Method::Options, 9, Admit::Yes),
            (Method::Invite, 9, Admit::Yes),
            (Method::Options, 10, Admit::Drop),
            (Method::Invite, 10, Admit::Busy),
            (Method::Notify, 11, Admit::Drop),
        ] {
            assert_eq!(a.check(now, src, &method, live), want, "{method} {live}");
        }
    }

    #[test]
    fn per_source_rate_is_per_second_and_per_address() {
        let mut a = Admission::new(ServerLimits {
            max_live: 1000,
            per_source_per_s: 3,
        });
        let t0 = Instant::now();
        let (x, y) = (ip("192.0.2.1"), ip("2001:db8::1"));
        for _ in 0..3 {
            assert_eq!(a.check(t0, x, &Method::Options, 0), Admit::Yes);
        }
        assert_eq!(a.check(t0, x, &Method::Options, 0), Admit::Drop);
        assert_eq!(a.check(t0, x, &Method::Invite, 0), Admit::Busy);
        // Another address is not affected.
        assert_eq!(a.check(t0, y, &Method::Invite, 0), Admit::Yes);
        // The next second starts afresh.
        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(a.check(t1, x, &Method::Options, 0), Admit::Yes);
    }

    #[test]
    fn spoofed_sources_cannot_grow_the_table() {
        let mut a = Admission::new(ServerLimits::default());
        let now = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 100) {
            let source = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            a.check(now, source, &Method::Options, 0);
        }
        assert_eq!(a.counts.len(), MAX_SOURCES);
    }
}
