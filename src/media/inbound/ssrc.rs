//! Which synchronisation source (SSRC) the session plays: the first one
//! taken, until another has sent [`SSRC_PROBATION`] packets in a row with
//! consecutive sequence numbers while the current one was silent. A few
//! stray packets with a new SSRC never take over what the user hears.
//! Pure bookkeeping; the session holds the probation packets back and
//! takes them all when the new SSRC wins (no audio lost on a real change).

/// Consecutive in-order packets a new SSRC needs before it takes over.
pub const SSRC_PROBATION: u32 = 4;

/// What to do with a packet of some SSRC (its source already accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsrcVerdict {
    /// The SSRC being played (or the first one seen).
    Accept,
    /// A new SSRC on probation: hold the packet back. `restart`: the run
    /// of this candidate (or a different one) starts again here, so the
    /// packets held so far are dropped.
    Probation { restart: bool },
    /// The candidate passed probation: it is played from now on, the
    /// packets held for it first.
    Switch,
}

/// The SSRC being played and the one on probation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SsrcLock {
    current: Option<u32>,
    /// A new SSRC: its last sequence number and how many in a row.
    candidate: Option<(u32, u16, u32)>,
}

impl SsrcLock {
    /// The SSRC being played.
    pub fn current(&self) -> Option<u32> {
        self.current
    }

    /// Decides on a packet with `ssrc` and sequence number `seq`.
    pub fn step(&mut self, ssrc: u32, seq: u16) -> SsrcVerdict {
        match self.current {
            None => {
                self.current = Some(ssrc);
                SsrcVerdict::Accept
            }
            Some(s) if s == ssrc => {
                // The current source still sends: no takeover.
                self.candidate = None;
                SsrcVerdict::Accept
            }
            Some(_) => {
                let run = match self.candidate {
                    Some((c, last, n)) if c == ssrc && seq == last.wrapping_add(1) => n + 1,
                    _ => 1,
                };
                if run >= SSRC_PROBATION {
                    self.current = Some(ssrc);
                    self.candidate = None;
                    SsrcVerdict::Switch
                } else {
                    self.candidate = Some((ssrc, seq, run));
                    SsrcVerdict::Probation { restart: run == 1 }
                }
            }
        }
    }
}
