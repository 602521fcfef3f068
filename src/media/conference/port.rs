//! [`MemberPort`]: a member session's connection to a conference's
//! [`Mixer`]. The session's task calls [`MemberPort::exchange`] once per
//! tick, never across an `.await`; dropping the port takes the member out
//! of the mix.
//!
//! This is the one place where a member's audio meets the mix, so it is the
//! resampling boundary: [`MemberPort::exchange_at`] takes and gives 20 ms
//! at the member's codec clock rate (Opus 48 kHz, G.722 16 kHz once
//! negotiated) through a [`RateAdapter`], and the mixer keeps working on
//! [`MIX_RATE`] frames. Today every codec is 8 kHz
//! ([`crate::media::Codec::clock_rate`]), so sessions use
//! [`MemberPort::exchange`] and frames pass straight through.

use super::mixer::{Mixer, MIX_RATE};
use super::rate::RateAdapter;
use super::MemberId;
use crate::media::jitter::FRAME;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A member's place in a conference mix.
#[derive(Debug)]
pub struct MemberPort {
    mixer: Arc<Mutex<Mixer>>,
    id: MemberId,
    /// Converter for a member not at [`MIX_RATE`].
    adapter: Option<Box<RateAdapter>>,
}

/// Locks the mixer: critical sections are one synchronous mix step, so a
/// poisoned lock (a panic inside one) still holds consistent state.
pub(super) fn lock(mixer: &Mutex<Mixer>) -> MutexGuard<'_, Mixer> {
    mixer.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemberPort {
    /// The port of member `id` (already added to `mixer`).
    pub(super) fn new(mixer: Arc<Mutex<Mixer>>, id: MemberId) -> MemberPort {
        MemberPort {
            mixer,
            id,
            adapter: None,
        }
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
        lock(&self.mixer).exchange(self.id.0, received, receiving, send)
    }

    /// [`MemberPort::exchange`] for a member at `rate` Hz: `received` and
    /// `send` hold its 20 ms at that rate (`rate / 50` samples; other
    /// lengths work too). The converter is made on first use and remade
    /// when the rate changes; at [`MIX_RATE`] this is a plain exchange.
    pub fn exchange_at(
        &mut self,
        rate: u32,
        received: &[i16],
        receiving: bool,
        send: &mut [i16],
    ) -> bool {
        if rate == MIX_RATE && received.len() == FRAME && send.len() == FRAME {
            self.adapter = None;
            let mut inp = [0i16; FRAME];
            inp.copy_from_slice(received);
            let mut out = [0i16; FRAME];
            let ok = self.exchange(&inp, receiving, &mut out);
            send.copy_from_slice(&out);
            return ok;
        }
        let adapter = match &mut self.adapter {
            Some(a) if a.rate() == rate => a,
            slot => slot.insert(Box::new(RateAdapter::new(rate))),
        };
        let mut inp = [0i16; FRAME];
        adapter.to_mix(received, &mut inp);
        let mut out = [0i16; FRAME];
        let ok = lock(&self.mixer).exchange(self.id.0, &inp, receiving, &mut out);
        adapter.from_mix(&out, send);
        ok
    }
}

impl Drop for MemberPort {
    fn drop(&mut self) {
        lock(&self.mixer).remove(self.id.0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::mixer::LOCAL;
    use super::*;
    use crate::media::tone::{goertzel_power, sine};

    #[test]
    fn a_16_khz_member_mixes_with_8_khz_and_dropping_the_port_removes_it() {
        let mixer = Arc::new(Mutex::new(Mixer::new()));
        lock(&mixer).add(1);
        let mut port = MemberPort::new(Arc::clone(&mixer), MemberId(1));
        assert_eq!(port.id(), MemberId(1));
        let member_tone = sine(1000.0, 1.0, 16_000);
        let local_tone = sine(600.0, 1.0, MIX_RATE);
        let (mut heard_by_member, mut heard_by_us) = (Vec::new(), Vec::new());
        for n in 0..50 {
            let mut send = [0i16; 320];
            let rx = &member_tone[n * 320..(n + 1) * 320];
            assert!(port.exchange_at(16_000, rx, true, &mut send));
            heard_by_member.extend_from_slice(&send);
            let mut mic = [0i16; FRAME];
            mic.copy_from_slice(&local_tone[n * FRAME..(n + 1) * FRAME]);
            let mut spk = [0i16; FRAME];
            lock(&mixer).exchange(LOCAL, &mic, true, &mut spk);
            heard_by_us.extend_from_slice(&spk);
        }
        let m = &heard_by_member[320 * 5..];
        assert!(goertzel_power(m, 16_000, 600.0) > 0.1);
        assert!(goertzel_power(m, 16_000, 1000.0) < 1e-5);
        let us = &heard_by_us[FRAME * 5..];
        assert!(goertzel_power(us, MIX_RATE, 1000.0) > 0.1);
        assert!(goertzel_power(us, MIX_RATE, 600.0) < 1e-5);
        // Back at 8 kHz: plain frames again.
        let mut send = [0i16; FRAME];
        assert!(port.exchange_at(MIX_RATE, &[0; FRAME], true, &mut send));
        assert!(port.adapter.is_none());
        drop(port);
        assert!(lock(&mixer).members().is_empty());
    }
}
