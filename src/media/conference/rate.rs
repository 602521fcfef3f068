//! [`RateAdapter`]: converts one member's audio between its codec's clock
//! rate and the mix rate ([`MIX_RATE`]), at the member's port. Frames of
//! 20 ms go in and out on both sides; small FIFOs absorb the resampler's
//! output count varying by a sample from call to call (they start with a
//! few samples of silence and are kept under two frames).

use super::mixer::MIX_RATE;
use crate::media::audio::resample::Resampler;
use crate::media::jitter::FRAME;
use std::collections::VecDeque;

/// FIFO depth beyond which the oldest samples are dropped.
const MAX_QUEUE: usize = 2;

/// One member's converter to and from the mix rate.
#[derive(Debug, Clone)]
pub struct RateAdapter {
    rate: u32,
    down: Resampler,
    up: Resampler,
    to_mix: VecDeque<i16>,
    from_mix: VecDeque<i16>,
    scratch_in: Vec<f32>,
    scratch_out: Vec<f32>,
}

impl RateAdapter {
    /// A converter for a member at `rate` Hz.
    pub fn new(rate: u32) -> RateAdapter {
        let rate = rate.max(1);
        RateAdapter {
            rate,
            down: Resampler::new(rate, MIX_RATE),
            up: Resampler::new(MIX_RATE, rate),
            to_mix: VecDeque::with_capacity(MAX_QUEUE * FRAME + FRAME),
            from_mix: VecDeque::new(),
            scratch_in: Vec::new(),
            scratch_out: Vec::new(),
        }
    }

    /// The member's rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The member's samples (any count, normally 20 ms at its rate) in, one
    /// mix frame out (silence where the converter has nothing yet).
    pub fn to_mix(&mut self, member: &[i16], frame: &mut [i16; FRAME]) {
        convert(
            &mut self.down,
            member,
            &mut self.to_mix,
            &mut self.scratch_in,
            &mut self.scratch_out,
            MAX_QUEUE * FRAME,
        );
        pop_into(&mut self.to_mix, frame);
    }

    /// One mix frame in, `member.len()` samples at the member's rate out.
    pub fn from_mix(&mut self, frame: &[i16; FRAME], member: &mut [i16]) {
        let limit = MAX_QUEUE * member.len().max(1);
        convert(
            &mut self.up,
            frame,
            &mut self.from_mix,
            &mut self.scratch_in,
            &mut self.scratch_out,
            limit,
        );
        pop_into(&mut self.from_mix, member);
    }
}

fn convert(
    r: &mut Resampler,
    input: &[i16],
    queue: &mut VecDeque<i16>,
    scratch_in: &mut Vec<f32>,
    scratch_out: &mut Vec<f32>,
    limit: usize,
) {
    scratch_in.clear();
    scratch_in.extend(input.iter().map(|&s| f32::from(s)));
    scratch_out.clear();
    r.process(scratch_in, scratch_out);
    queue.extend(
        scratch_out
            .iter()
            .map(|&x| x.round().clamp(-32768.0, 32767.0) as i16),
    );
    if queue.len() > limit {
        let excess = queue.len() - limit;
        queue.drain(..excess);
    }
}

/// Fills `out` from the front of `queue`: silence first if it is short
/// (only while the converter starts).
fn pop_into(queue: &mut VecDeque<i16>, out: &mut [i16]) {
    let missing = out.len().saturating_sub(queue.len());
    let take = out.len() - missing;
    out[..missing].fill(0);
    for (o, s) in out[missing..].iter_mut().zip(queue.drain(..take)) {
        *o = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::tone::goertzel_power;

    fn sine(freq: f64, rate: u32, from: usize, n: usize) -> Vec<i16> {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        (from..from + n)
            .map(|i| ((w * i as f64).sin() * 8000.0).round() as i16)
            .collect()
    }

    #[test]
    fn converts_both_ways_at_16_and_48_khz() {
        for rate in [16_000u32, 48_000] {
            let per_frame = rate as usize / 50;
            let mut a = RateAdapter::new(rate);
            assert_eq!(a.rate(), rate);
            let mut mixed = Vec::new();
            let mut member = Vec::new();
            for n in 0..50 {
                let mut frame = [0i16; FRAME];
                a.to_mix(&sine(1000.0, rate, n * per_frame, per_frame), &mut frame);
                mixed.extend_from_slice(&frame);
                let mut out = vec![0i16; per_frame];
                let mix = sine(600.0, MIX_RATE, n * FRAME, FRAME);
                let mix: [i16; FRAME] = mix.try_into().unwrap_or([0; FRAME]);
                a.from_mix(&mix, &mut out);
                member.extend_from_slice(&out);
            }
            assert_eq!(mixed.len(), 50 * FRAME);
            assert_eq!(member.len(), 50 * per_frame);
            // 8000 of full scale: a sine's power is about 0.03.
            let p = goertzel_power(&mixed[FRAME * 5..], MIX_RATE, 1000.0);
            assert!(p > 0.025, "{rate}: to mix {p}");
            let p = goertzel_power(&member[per_frame * 5..], rate, 600.0);
            assert!(p > 0.025, "{rate}: from mix {p}");
            // No gaps once running: every frame carries the tone.
            for f in mixed.chunks(FRAME).skip(2) {
                assert!(goertzel_power(f, MIX_RATE, 1000.0) > 0.02, "{rate}");
            }
        }
    }

    #[test]
    fn odd_frame_sizes_stay_bounded() {
        let mut a = RateAdapter::new(44_100);
        let mut frame = [0i16; FRAME];
        for _ in 0..100 {
            a.to_mix(&[100; 2000], &mut frame);
        }
        assert!(a.to_mix.len() <= MAX_QUEUE * FRAME);
        let mut out = [0i16; 3];
        a.from_mix(&frame, &mut out);
        assert!(a.from_mix.len() <= MAX_QUEUE * 3);
        let mut a = RateAdapter::new(0);
        a.to_mix(&[], &mut frame);
        assert!(frame.iter().all(|&s| s == 0));
    }
}
