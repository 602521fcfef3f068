//! Limits on stream connections the network opens to us (TCP today; the TLS
//! listener takes the same [`ConnLimits`] and [`ConnTable`]): how many may be
//! open in total and from one source address, and how long one may stay
//! silent or take to deliver a message. Owns the count of live accepted
//! connections and the pure deadline rule; knows nothing of framing, SIP or
//! the sockets themselves.
//!
//! Connections we open ourselves (to a proxy, or to answer a peer) are not
//! counted and never time out for being idle: the phone chose to open them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// How many accepted connections may be open, and how long they may idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Accepted connections open at once, from everyone.
    pub max_total: usize,
    /// Accepted connections open at once from one IP address.
    pub max_per_source: usize,
    /// An accepted connection that sends nothing (not even a CRLF
    /// keep-alive) for this long is closed.
    pub idle_timeout: Duration,
    /// A message whose first byte arrived this long ago and that is still
    /// incomplete closes its connection (any connection, ours too).
    pub read_timeout: Duration,
}

impl Default for ConnLimits {
    /// A phone talks to one PBX or proxy, which needs one or a few
    /// connections; 128 in total and 32 from one address leave room for a
    /// PBX cluster behind one address while ~1000 idle sockets from a
    /// scanner cannot use up the process's descriptors. Idle 10 minutes is
    /// longer than any registration refresh or keep-alive interval in use;
    /// 30 s for one message is far beyond any real peer's.
    fn default() -> Self {
        ConnLimits {
            max_total: 128,
            max_per_source: 32,
            idle_timeout: Duration::from_secs(600),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// Why an accepted connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_total` connections are open.
    Total,
    /// `max_per_source` connections from this address are open.
    PerSource,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Total => "too many TCP connections",
            Refusal::PerSource => "too many TCP connections from this address",
        }
    }
}

/// The admission rule: may one more connection from a source with
/// `from_source` open connections join `total` open ones?
pub fn admit(limits: &ConnLimits, total: usize, from_source: usize) -> Result<(), Refusal> {
    if total >= limits.max_total {
        Err(Refusal::Total)
    } else if from_source >= limits.max_per_source {
        Err(Refusal::PerSource)
    } else {
        Ok(())
    }
}

/// When a connection's read must have produced bytes, or it is closed:
/// `read_timeout` after the first byte of a pending message; otherwise
/// `idle_timeout` after the last byte for an accepted connection; `None`
/// (no deadline) for an idle connection we opened.
pub fn read_deadline(
    limits: &ConnLimits,
    accepted: bool,
    last_activity: Instant,
    pending_since: Option<Instant>,
) -> Option<Instant> {
    match pending_since {
        Some(start) => Some(start + limits.read_timeout),
        None if accepted => Some(last_activity + limits.idle_timeout),
        None => None,
    }
}

/// Live accepted connections by source (cheap to clone; shared by the
/// accept loop and the connections' reader tasks of one listener).
#[derive(Debug, Clone)]
pub struct ConnTable {
    limits: ConnLimits,
    counts: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it (when the connection closes) frees
/// its place.
#[derive(Debug)]
pub struct Permit {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl ConnTable {
    pub fn new(limits: ConnLimits) -> Self {
        ConnTable {
            limits,
            counts: Arc::default(),
        }
    }

    pub fn limits(&self) -> &ConnLimits {
        &self.limits
    }

    /// Takes a place for a connection from `ip`, or says why there is none.
    pub fn admit(&self, ip: IpAddr) -> Result<Permit, Refusal> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let from_source = counts.by_source.get(&ip).copied().unwrap_or(0);
        admit(&self.limits, counts.total, from_source)?;
        counts.total += 1;
        *counts.by_source.entry(ip).or_insert(0) += 1;
        Ok(Permit {
            ip,
            counts: self.counts.clone(),
        })
    }

    /// Accepted connections open now.
    pub fn open(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_source.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.by_source.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnLimits {
        ConnLimits {
            max_total: 3,
            max_per_source: 2,
            idle_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn admission_rule() {
        let l = limits();
        for (total, from_source, want) in [
            (0, 0, Ok(())),
            (2, 1, Ok(())),
            (2, 2, Err(Refusal::PerSource)),
            (3, 0, Err(Refusal::Total)),
            (3, 2, Err(Refusal::Total)),
        ] {
            assert_eq!(admit(&l, total, from_source), want, "{total} {from_source}");
        }
    }

    #[test]
    fn deadlines() {
        let l = limits();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(read_deadline(&l, true, t0, None), Some(t0 + l.idle_timeout));
        assert_eq!(read_deadline(&l, false, t0, None), None);
        for accepted in [true, false] {
            assert_eq!(
                read_deadline(&l, accepted, t1, Some(t0)),
                Some(t0 + l.read_timeout),
                "a message must finish from its first byte on, whatever came since"
            );
        }
    }

    #[test]
    fn permits_count_per_source_and_free_their_place() {
        let table = ConnTable::new(limits());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = table.admit(a).unwrap();
        let _a2 = table.admit(a).unwrap();
        assert_eq!(table.admit(a).unwrap_err(), Refusal::PerSource);
        let _b1 = table.admit(b).unwrap();
        assert_eq!(table.admit(b).unwrap_err(), Refusal::Total);
        assert_eq!(table.open(), 3);
        drop(a1);
        assert_eq!(table.open(), 2);
        let _a3 = table.admit(a).unwrap();
    }
}
