//! [`RateAdapter`]: converts one stream of 20 ms frames between a party's
//! rate and a common one: a member's codec clock and the mix rate
//! ([`super::MIX_RATE`]) at the member's port ([`RateAdapter::between`]),
//! or a call's rate and the 8 kHz of a backend that speaks only that
//! ([`RateAdapter::new`], used by the session's `call_audio`). Frames of
//! 20 ms go in and out on both sides; small FIFOs absorb the resampler's
//! output count varying by a sample from call to call (they start with a
//! few samples of silence and are kept under two frames). Rates that
//! divide each other (all our codecs and the mix) go through
//! [`Polyphase::new`] (the conference's design); others (a device's
//! 44.1 kHz) through [`BandLimited`] (the sound card's design, any ratio):
//! both keep a wideband band clean, with no image or alias in it. It owns
//! no audio and knows no codecs.

use super::fir::Polyphase;
use crate::media::audio::resample::BandLimited;
use std::collections::VecDeque;

/// The rate [`RateAdapter::new`] converts to: what every backend speaks.
pub const BACKEND_RATE: u32 = 8000;

/// FIFO depth beyond which the oldest samples are dropped.
const MAX_QUEUE: usize = 2;

/// One party's converter to and from a common rate (the "mix" side).
#[derive(Debug, Clone)]
pub struct RateAdapter {
    rate: u32,
    mix_rate: u32,
    down: Converter,
    up: Converter,
    to_mix: VecDeque<i16>,
    from_mix: VecDeque<i16>,
    scratch_in: Vec<f32>,
    scratch_out: Vec<f32>,
}

impl RateAdapter {
    /// A converter between `rate` Hz and the backends' 8 kHz
    /// ([`BACKEND_RATE`]).
    pub fn new(rate: u32) -> RateAdapter {
        RateAdapter::between(rate, BACKEND_RATE)
    }

    /// A converter between a party at `rate` Hz and `mix_rate` Hz.
    pub fn between(rate: u32, mix_rate: u32) -> RateAdapter {
        let rate = rate.max(1);
        let mix_rate = mix_rate.max(1);
        let mix_frame = mix_rate as usize / 50;
        RateAdapter {
            rate,
            mix_rate,
            down: Converter::new(rate, mix_rate),
            up: Converter::new(mix_rate, rate),
            to_mix: VecDeque::with_capacity(MAX_QUEUE * mix_frame + mix_frame),
            from_mix: VecDeque::new(),
            scratch_in: Vec::new(),
            scratch_out: Vec::new(),
        }
    }

    /// The member's rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The common rate.
    pub fn mix_rate(&self) -> u32 {
        self.mix_rate
    }

    /// The party's samples (any count, normally 20 ms at its rate) in,
    /// `frame.len()` samples at the common rate out (normally 20 ms;
    /// silence where the converter has nothing yet).
    pub fn to_mix(&mut self, member: &[i16], frame: &mut [i16]) {
        convert(
            &mut self.down,
            member,
            &mut self.to_mix,
            &mut self.scratch_in,
            &mut self.scratch_out,
            MAX_QUEUE * frame.len().max(1),
        );
        pop_into(&mut self.to_mix, frame);
    }

    /// Samples at the common rate in, `member.len()` samples at the
    /// party's rate out.
    pub fn from_mix(&mut self, frame: &[i16], member: &mut [i16]) {
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

/// Whichever resampler fits the two rates.
#[derive(Debug, Clone)]
enum Converter {
    Whole(Polyphase),
    Any(BandLimited),
}

impl Converter {
    fn new(from: u32, to: u32) -> Converter {
        match Polyphase::new(from, to) {
            Some(r) => Converter::Whole(r),
            None => Converter::Any(BandLimited::new(from, to)),
        }
    }

    fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        match self {
            Converter::Whole(r) => r.process(input, out),
            Converter::Any(r) => r.process(input, out),
        }
    }
}

fn convert(
    r: &mut Converter,
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
    fn converts_both_ways_between_call_rates_and_a_common_rate() {
        // (party, common, tone sent by the party, tone from the common side)
        let cases = [
            (16_000u32, BACKEND_RATE, 1000.0, 600.0),
            (48_000, BACKEND_RATE, 1000.0, 600.0),
            (8000, 48_000, 1000.0, 600.0),
            // Wideband through a 48 kHz mix: 6 kHz both ways.
            (16_000, 48_000, 6000.0, 6500.0),
        ];
        for (rate, mix_rate, up_tone, down_tone) in cases {
            let per_frame = rate as usize / 50;
            let mix_frame = mix_rate as usize / 50;
            let mut a = if mix_rate == BACKEND_RATE {
                RateAdapter::new(rate)
            } else {
                RateAdapter::between(rate, mix_rate)
            };
            assert_eq!((a.rate(), a.mix_rate()), (rate, mix_rate));
            let mut mixed = Vec::new();
            let mut member = Vec::new();
            for n in 0..50 {
                let mut frame = vec![0i16; mix_frame];
                a.to_mix(&sine(up_tone, rate, n * per_frame, per_frame), &mut frame);
                mixed.extend_from_slice(&frame);
                let mut out = vec![0i16; per_frame];
                a.from_mix(
                    &sine(down_tone, mix_rate, n * mix_frame, mix_frame),
                    &mut out,
                );
                member.extend_from_slice(&out);
            }
            assert_eq!(mixed.len(), 50 * mix_frame);
            assert_eq!(member.len(), 50 * per_frame);
            // 8000 of full scale: a sine's power is about 0.03.
            let p = goertzel_power(&mixed[mix_frame * 5..], mix_rate, up_tone);
            assert!(p > 0.02, "{rate}->{mix_rate}: to mix {p}");
            let p = goertzel_power(&member[per_frame * 5..], rate, down_tone);
            assert!(p > 0.02, "{mix_rate}->{rate}: from mix {p}");
            // No gaps once running: every frame carries the tone.
            for f in mixed.chunks(mix_frame).skip(2) {
                assert!(goertzel_power(f, mix_rate, up_tone) > 0.015, "{rate}");
            }
        }
    }

    /// Rates that do not divide each other (a 44.1 kHz party, a 16 kHz
    /// common rate): 7 kHz arrives within 1 dB, with nothing folded beside
    /// it (a linear interpolator's 44.1 - 7 kHz lands at 5.1 kHz).
    #[test]
    fn rates_that_do_not_divide_keep_the_band_clean() {
        let mut a = RateAdapter::between(44_100, 16_000);
        let mut mixed = Vec::new();
        let mut party = sine(7000.0, 44_100, 0, 44_100);
        for n in 0..50 {
            let mut frame = vec![0i16; 320];
            let piece: Vec<i16> = party.drain(..882).collect();
            a.to_mix(&piece, &mut frame);
            assert!(n < 5 || frame.iter().any(|&s| s != 0), "frame {n}");
            mixed.extend_from_slice(&frame);
        }
        let steady = &mixed[1600..];
        // 8000 of full scale: a sine's power is about 0.0298.
        let tone = goertzel_power(steady, 16_000, 7000.0);
        let level = 10.0 * (tone / (0.5 * (8000.0f64 / 32768.0).powi(2))).log10();
        let alias =
            [3100.0, 5100.0].map(|f| 10.0 * (goertzel_power(steady, 16_000, f) / tone).log10());
        assert!(
            level.abs() < 1.0 && alias.iter().all(|&x| x < -40.0),
            "7 kHz at {level:.2} dB, 3.1 and 5.1 kHz at {alias:.1?} dB"
        );
    }

    #[test]
    fn odd_frame_sizes_stay_bounded() {
        let mut a = RateAdapter::new(44_100);
        let mut frame = [0i16; 160];
        for _ in 0..100 {
            a.to_mix(&[100; 2000], &mut frame);
        }
        assert!(a.to_mix.len() <= MAX_QUEUE * 160);
        let mut out = [0i16; 3];
        a.from_mix(&frame, &mut out);
        assert!(a.from_mix.len() <= MAX_QUEUE * 3);
        let mut a = RateAdapter::new(0);
        a.to_mix(&[], &mut frame);
        assert!(frame.iter().all(|&s| s == 0));
    }
}
