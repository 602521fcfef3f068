//! [`MemberPort`]: a member session's connection to a conference's
//! [`Mixer`]. The session's task calls [`MemberPort::exchange`] once per
//! tick, never across an `.await`; dropping the port takes the member out
//! of the mix.
//!
//! This is the one place where a member's audio meets the mix, so it is the
//! resampling boundary: [`MemberPort::exchange_at`] takes and gives 20 ms
//! at the member's audio rate (the codec's sample rate: 8 kHz G.711,
//! 16 kHz G.722, 48 kHz Opus) through a [`RateAdapter`], and the mixer
//! works on [`MIX_RATE`] frames only. A member already at the mix rate
//! (Opus) passes straight through.

use super::mixer::{Mixer, MIX_FRAME, MIX_RATE};
use super::rate::RateAdapter;
use super::MemberId;
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
        received: &[i16; MIX_FRAME],
        receiving: bool,
        send: &mut [i16; MIX_FRAME],
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
        if rate == MIX_RATE && received.len() == MIX_FRAME && send.len() == MIX_FRAME {
            self.adapter = None;
            let mut inp = [0i16; MIX_FRAME];
            inp.copy_from_slice(received);
            let mut out = [0i16; MIX_FRAME];
            let ok = self.exchange(&inp, receiving, &mut out);
            send.copy_from_slice(&out);
            return ok;
        }
        let adapter = match &mut self.adapter {
            Some(a) if a.rate() == rate => a,
            slot => slot.insert(Box::new(RateAdapter::between(rate, MIX_RATE))),
        };
        let mut inp = [0i16; MIX_FRAME];
        adapter.to_mix(received, &mut inp);
        let mut out = [0i16; MIX_FRAME];
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
    fn members_at_8_16_and_48_khz_mix_wideband_and_dropping_the_port_removes_it() {
        let mixer = Arc::new(Mutex::new(Mixer::new()));
        let rates = [8000u32, 16_000, 48_000];
        let mut ports: Vec<MemberPort> = (1..=3u64)
            .map(|id| {
                lock(&mixer).add(id);
                MemberPort::new(Arc::clone(&mixer), MemberId(id))
            })
            .collect();
        assert_eq!(ports[0].id(), MemberId(1));
        // The 16 kHz member sends 6 kHz (wideband only), the 48 kHz one
        // 11 kHz (Opus full band), the 8 kHz one 1 kHz; we send 600 Hz.
        let tones = [1000.0, 6000.0, 11_000.0];
        // A third of half full scale each: four never clip.
        let quiet =
            |f: f64, r: u32| -> Vec<i16> { sine(f, 1.0, r).iter().map(|s| s / 3).collect() };
        let sent: Vec<Vec<i16>> = rates.iter().zip(tones).map(|(&r, f)| quiet(f, r)).collect();
        let local_tone = quiet(600.0, MIX_RATE);
        let mut heard: Vec<Vec<i16>> = vec![Vec::new(); 3];
        let mut heard_by_us = Vec::new();
        for n in 0..50 {
            for (k, port) in ports.iter_mut().enumerate() {
                let per = rates[k] as usize / 50;
                let mut send = vec![0i16; per];
                assert!(port.exchange_at(
                    rates[k],
                    &sent[k][n * per..(n + 1) * per],
                    true,
                    &mut send
                ));
                heard[k].extend_from_slice(&send);
            }
            let mut mic = [0i16; MIX_FRAME];
            mic.copy_from_slice(&local_tone[n * MIX_FRAME..(n + 1) * MIX_FRAME]);
            let mut spk = [0i16; MIX_FRAME];
            lock(&mixer).exchange(LOCAL, &mic, true, &mut spk);
            heard_by_us.extend_from_slice(&spk);
        }
        let tail = |k: usize| &heard[k][rates[k] as usize / 50 * 5..];
        let p = |k: usize, f: f64| goertzel_power(tail(k), rates[k], f);
        // Narrowband member: hears us; of the others only what fits under
        // 4 kHz (none of their tones); never its own 1 kHz.
        assert!(p(0, 600.0) > 0.01);
        assert!(p(0, 1000.0) < 1e-6);
        assert!(p(0, 2000.0) < 1e-6 && p(0, 3000.0) < 1e-6, "no aliases");
        // G.722 member: its 6 kHz is not sent back; it hears us and the
        // narrowband member; 11 kHz is above its band.
        assert!(p(1, 600.0) > 0.01 && p(1, 1000.0) > 0.01);
        assert!(p(1, 6000.0) < 1e-6);
        assert!(p(1, 7000.0) < 1e-6, "no image of the narrowband 1 kHz");
        // Opus member hears the G.722 member's 6 kHz.
        assert!(p(2, 6000.0) > 0.01, "{}", p(2, 6000.0));
        assert!(p(2, 10_000.0) < 1e-6, "no image of the 6 kHz");
        assert!(p(2, 11_000.0) < 1e-6);
        // We hear everybody at the mix rate, 11 kHz included.
        let us = &heard_by_us[MIX_FRAME * 5..];
        for f in tones {
            assert!(goertzel_power(us, MIX_RATE, f) > 0.01, "{f}");
        }
        assert!(goertzel_power(us, MIX_RATE, 600.0) < 1e-5);
        // At the mix rate: plain frames, no converter.
        assert!(ports[2].adapter.is_none());
        let mut send = [0i16; MIX_FRAME];
        assert!(ports[0].exchange_at(MIX_RATE, &[0; MIX_FRAME], true, &mut send));
        assert!(ports[0].adapter.is_none());
        ports.clear();
        assert!(lock(&mixer).members().is_empty());
    }
}
