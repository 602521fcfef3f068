//! Which source address a stream (RTP or RTCP) is taken from: the one the
//! peer's SDP negotiated, or, with symmetric RTP, the first source a valid
//! packet came from, latched and then pinned. Pure decisions on addresses;
//! the session owns the [`Latch`] and sends to [`Latch::target`].

use std::net::SocketAddr;

/// Where a stream's packets have been seen coming from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latch {
    /// Nothing accepted yet (or the negotiated address changed).
    #[default]
    Open,
    /// Packets are taken from this source only.
    Pinned(SocketAddr),
}

/// What to do with a packet from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceVerdict {
    /// From the pinned (or, without symmetric RTP, the negotiated) source.
    Accept,
    /// Take it and pin the stream to this source from now on.
    Latch(SocketAddr),
    /// From anywhere else: drop it unread.
    Drop,
}

/// IPv4-mapped IPv6 sources (a dual-stack socket) compare as IPv4.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// Whether `addr` names somewhere (not `0.0.0.0:0`, the "not known yet" of
/// a session started before the SDP answer).
fn known(addr: SocketAddr) -> bool {
    !addr.ip().is_unspecified() && addr.port() != 0
}

/// Decides on a packet from `from` for a stream whose SDP names
/// `negotiated`. Without `symmetric`, only `negotiated` is taken. With it,
/// the first packet latches its source, which is then pinned; a later
/// packet from exactly `negotiated` moves a latch that went elsewhere back
/// to it (a source the peer's own SDP names always wins, so a stranger who
/// got in first cannot keep the stream). Nothing is taken before an address
/// is negotiated.
pub fn source_verdict(
    latch: Latch,
    negotiated: SocketAddr,
    from: SocketAddr,
    symmetric: bool,
) -> SourceVerdict {
    if !known(negotiated) {
        return SourceVerdict::Drop;
    }
    let (negotiated, from) = (canonical(negotiated), canonical(from));
    if !symmetric {
        return if from == negotiated {
            SourceVerdict::Accept
        } else {
            SourceVerdict::Drop
        };
    }
    match latch {
        Latch::Open => SourceVerdict::Latch(from),
        Latch::Pinned(p) if canonical(p) == from => SourceVerdict::Accept,
        Latch::Pinned(_) if from == negotiated => SourceVerdict::Latch(from),
        Latch::Pinned(_) => SourceVerdict::Drop,
    }
}

impl Latch {
    /// Applies a verdict; returns whether the packet is taken.
    pub fn apply(&mut self, verdict: SourceVerdict) -> bool {
        match verdict {
            SourceVerdict::Accept => true,
            SourceVerdict::Latch(addr) => {
                *self = Latch::Pinned(addr);
                true
            }
            SourceVerdict::Drop => false,
        }
    }

    /// Where to send: the pinned source with symmetric RTP (RFC 4961: the
    /// peer behind a NAT receives where it sends from), else `negotiated`.
    pub fn target(self, negotiated: SocketAddr, symmetric: bool) -> SocketAddr {
        match self {
            Latch::Pinned(addr) if symmetric => addr,
            _ => negotiated,
        }
    }
}
