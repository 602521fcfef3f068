//! [`MemberPort`]: a member session's connection to a conference's
//! [`Mixer`]. The session's task calls [`MemberPort::exchange`] once per
//! tick, never across an `.await`; dropping the port takes the member out
//! of the mix.
//!
//! This is the one place where a member's audio meets the mix, so it is the
//! resampling boundary: a member whose codec runs at another clock rate
//! than [`MIX_RATE`] (Opus 48 kHz, G.722 16 kHz once negotiated) gets its
//! converter here, and the mixer keeps working on 8 kHz frames. Today every
//! codec is 8 kHz ([`crate::media::Codec::clock_rate`]), so frames pass
//! straight through.

use super::mixer::{Mixer, MIX_RATE};
use super::MemberId;
use crate::media::jitter::FRAME;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A member's place in a conference mix.
#[derive(Debug)]
pub struct MemberPort {
    mixer: Arc<Mutex<Mixer>>,
    id: MemberId,
}

/// Locks the mixer: critical sections are one synchronous mix step, so a
/// poisoned lock (a panic inside one) still holds consistent state.
pub(super) fn lock(mixer: &Mutex<Mixer>) -> MutexGuard<'_, Mixer> {
    mixer.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemberPort {
    /// The port of member `id` (already added to `mixer`).
    pub(super) fn new(mixer: Arc<Mutex<Mixer>>, id: MemberId) -> MemberPort {
        MemberPort { mixer, id }
    }

    pub fn id(&self) -> MemberId {
        self.id
    }

    /// One tick: `received` is what the member's session got this tick
    /// (after its jitter buffer and concealment; `receiving` false while
    /// the direction does not receive, e.g. on hold, so it fades out of the
    /// mix), `send` becomes what the session sends (us and the others it
    /// hears). `false` once the member has been removed from the
    /// conference: the session then goes back to its own audio.
    pub fn exchange(
        &self,
        received: &[i16; FRAME],
        receiving: bool,
        send: &mut [i16; FRAME],
    ) -> bool {
        const _: () = assert!(MIX_RATE == 8000, "member ports convert to MIX_RATE");
        lock(&self.mixer).exchange(self.id.0, received, receiving, send)
    }
}

impl Drop for MemberPort {
    fn drop(&mut self) {
        lock(&self.mixer).remove(self.id.0);
    }
}
