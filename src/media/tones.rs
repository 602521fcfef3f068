//! Call-progress tones, the call-waiting beep and music on hold, generated
//! locally. Owns the tone plan (which frequencies and which cadence each
//! tone has) as a data table, and the generators the media task mixes into
//! a call's speaker or microphone path.
//!
//! The plan in use is [`TonePlan::ETSI`], the common European plan of
//! ETSI TR 101 041 / ITU-T E.180 (425 Hz single tones):
//!
//! | tone        | frequency | cadence                         |
//! |-------------|-----------|---------------------------------|
//! | ringback    | 425 Hz    | 1 s on, 4 s off                 |
//! | busy        | 425 Hz    | 0.5 s on, 0.5 s off             |
//! | congestion  | 425 Hz    | 0.25 s on, 0.25 s off           |
//! | waiting     | 425 Hz    | 0.2 s on, 2.8 s off (every 3 s) |
//!
//! Another national plan is one more [`TonePlan`] constant (a segment may
//! carry two frequencies, e.g. the North American 440 + 480 Hz ringback).
//! The hold melody ([`HOLD_MELODY`]) is not part of a national plan.
//!
//! - [`player`]: [`PatternPlayer`], one pattern rendered sample by sample
//!   with short ramps at every edge (no clicks) and a release ramp.
//! - [`layer`]: [`Layer`], how a pattern is put into a frame: replacing the
//!   audio with a crossfade (tones, hold music) or mixed on top (beep).

pub mod layer;
pub mod player;

pub use layer::{Layer, LayerMode};
pub use player::PatternPlayer;

/// Sample rate of everything generated here (the media layer's rate).
pub const RATE: u32 = 8000;

/// A call-progress tone the speaker can play instead of the received audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    /// The called party is being alerted (180 Ringing without early media).
    Ringback,
    /// The called party is busy (486, 600).
    Busy,
    /// The network cannot complete the call (503, 5xx, timeouts).
    Congestion,
    /// Our own ringtone for an incoming call ([`RINGTONE`]; not part of a
    /// national plan).
    Ring,
}

/// One step of a pattern: `freqs` (none = silence) for `ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Up to two frequencies in Hz, summed; empty for a pause.
    pub freqs: &'static [f64],
    pub ms: u32,
}

/// A repeating sequence of segments at one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pattern {
    pub segments: &'static [Segment],
    /// Peak amplitude as a fraction of full scale (shared by the
    /// frequencies of a segment).
    pub level: f32,
}

impl Pattern {
    /// Length of one cycle in samples at [`RATE`].
    pub fn period_samples(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| u64::from(s.ms) * u64::from(RATE) / 1000)
            .sum()
    }
}

/// A national tone plan: the pattern of every tone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TonePlan {
    pub name: &'static str,
    pub ringback: Pattern,
    pub busy: Pattern,
    pub congestion: Pattern,
    /// The call-waiting beep mixed over a call's audio.
    pub waiting: Pattern,
}

const F425: &[f64] = &[425.0];
const PAUSE: &[f64] = &[];
/// About -12 dBFS: clearly audible, well below a talker's peaks.
const TONE_LEVEL: f32 = 0.25;

const fn seg(freqs: &'static [f64], ms: u32) -> Segment {
    Segment { freqs, ms }
}

impl TonePlan {
    /// The European plan (ETSI TR 101 041, 425 Hz).
    pub const ETSI: TonePlan = TonePlan {
        name: "ETSI",
        ringback: Pattern {
            segments: &[seg(F425, 1000), seg(PAUSE, 4000)],
            level: TONE_LEVEL,
        },
        busy: Pattern {
            segments: &[seg(F425, 500), seg(PAUSE, 500)],
            level: TONE_LEVEL,
        },
        congestion: Pattern {
            segments: &[seg(F425, 250), seg(PAUSE, 250)],
            level: TONE_LEVEL,
        },
        waiting: Pattern {
            segments: &[seg(F425, 200), seg(PAUSE, 2800)],
            level: 0.2,
        },
    };

    /// The pattern of `tone` in this plan.
    pub fn pattern(&self, tone: Tone) -> Pattern {
        match tone {
            Tone::Ringback => self.ringback,
            Tone::Busy => self.busy,
            Tone::Congestion => self.congestion,
            Tone::Ring => RINGTONE,
        }
    }
}

const RING_HI: &[f64] = &[1250.0];
const RING_LO: &[f64] = &[1000.0];

/// The ringtone of an incoming call: a 1000/1250 Hz trill (50 ms steps) for
/// one second, then two seconds of silence.
#[rustfmt::skip]
pub const RINGTONE: Pattern = Pattern {
    segments: &[
        seg(RING_LO, 50), seg(RING_HI, 50), seg(RING_LO, 50), seg(RING_HI, 50),
        seg(RING_LO, 50), seg(RING_HI, 50), seg(RING_LO, 50), seg(RING_HI, 50),
        seg(RING_LO, 50), seg(RING_HI, 50), seg(RING_LO, 50), seg(RING_HI, 50),
        seg(RING_LO, 50), seg(RING_HI, 50), seg(RING_LO, 50), seg(RING_HI, 50),
        seg(RING_LO, 50), seg(RING_HI, 50), seg(RING_LO, 50), seg(RING_HI, 50),
        seg(PAUSE, 2000),
    ],
    level: TONE_LEVEL,
};

const RECALL_HI: &[f64] = &[1400.0];
const RECALL_LO: &[f64] = &[900.0];

/// The recall ring of a callback when free (the called party is free now):
/// three short rising 900/1400 Hz pairs, then two seconds of silence, so it
/// is not mistaken for an incoming call's [`RINGTONE`].
#[rustfmt::skip]
pub const RECALL: Pattern = Pattern {
    segments: &[
        seg(RECALL_LO, 120), seg(RECALL_HI, 120), seg(PAUSE, 120),
        seg(RECALL_LO, 120), seg(RECALL_HI, 120), seg(PAUSE, 120),
        seg(RECALL_LO, 120), seg(RECALL_HI, 120),
        seg(PAUSE, 2000),
    ],
    level: TONE_LEVEL,
};

/// Notes of the hold melody (C5, E5, G5, E5; then a rest): soft, slow,
/// repeating every 2 s.
pub const HOLD_NOTES: [f64; 3] = [523.25, 659.25, 783.99];

/// Music on hold: a gentle arpeggio at about -20 dBFS, sent to a held
/// peer instead of the microphone.
pub const HOLD_MELODY: Pattern = Pattern {
    segments: &[
        seg(&[HOLD_NOTES[0]], 350),
        seg(PAUSE, 50),
        seg(&[HOLD_NOTES[1]], 350),
        seg(PAUSE, 50),
        seg(&[HOLD_NOTES[2]], 350),
        seg(PAUSE, 50),
        seg(&[HOLD_NOTES[1]], 350),
        seg(PAUSE, 450),
    ],
    level: 0.1,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_cadences_are_the_documented_ones() {
        let p = TonePlan::ETSI;
        assert_eq!(p.pattern(Tone::Ringback).period_samples(), 5 * 8000);
        assert_eq!(p.pattern(Tone::Busy).period_samples(), 8000);
        assert_eq!(p.pattern(Tone::Congestion).period_samples(), 4000);
        assert_eq!(p.waiting.period_samples(), 3 * 8000);
        assert_eq!(HOLD_MELODY.period_samples(), 2 * 8000);
        for pat in [p.ringback, p.busy, p.congestion, p.waiting, HOLD_MELODY] {
            assert!(pat.segments.iter().all(|s| s.freqs.len() <= 2));
            assert!(pat.level > 0.0 && pat.level <= 0.5);
        }
        assert_eq!(p.ringback.segments[0].freqs, &[425.0]);
    }

    #[test]
    fn ringtone_trills_for_a_second_then_pauses() {
        let ring = TonePlan::ETSI.pattern(Tone::Ring);
        assert_eq!(ring.period_samples(), 3 * 8000);
        let mut player = PatternPlayer::new(ring);
        let mut out = vec![0.0f32; 3 * 8000];
        player.add_to(&mut out);
        let on = &out[..8000];
        let off = &out[8400..];
        // 1000 and 1250 Hz, half a second each: 2250 zero crossings a second.
        let crossings = on
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (2100..=2400).contains(&crossings),
            "{crossings} zero crossings"
        );
        let peak = on.iter().fold(0f32, |a, b| a.max(b.abs()));
        assert!(peak > 0.2 * 32767.0 && peak < 0.3 * 32767.0, "peak {peak}");
        assert!(off.iter().all(|x| x.abs() < 1.0), "the pause is silent");
    }
}
