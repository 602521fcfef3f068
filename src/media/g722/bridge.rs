//! Bridging a lost G.722 frame, in the spirit of ITU-T G.722 Appendices
//! III and IV: the decoder's ADPCM predictors and quantiser scales must
//! move on over a gap as the far encoder's did, or the frames after it
//! decode against a state 20 ms stale (a wrong scale and prediction that
//! take tens of milliseconds to wear off). So the decoder extends its own
//! output by pitch repetition (fading after 10 ms, silent at 60 ms, as
//! G.711 Appendix I does), feeds that estimate through a G.722 encoder
//! that starts from the decoder's own band state, and decodes the codes
//! it gets: afterwards the state is what the far encoder's would be had
//! it coded the estimate, at the right point in time.
//!
//! What a listener hears over the gap is not decided here: the session
//! leaves that to the playout's concealer and only calls
//! [`Decoder::bridge`] to keep the state in step. Owns the decoder's
//! output history; touches nothing outside the G.722 decoder.

use super::{Decoder, Encoder};

/// Output kept for the pitch search: the longest period plus the
/// correlation window (30 ms at 16 kHz), with room to spare.
const HISTORY: usize = 640;
/// Pitch period search range: 4 ms (250 Hz) .. 18 ms (55 Hz).
const PITCH_MIN: usize = 64;
const PITCH_MAX: usize = 288;
/// Correlation window (10 ms).
const CORR: usize = 160;
/// The codec's delay in samples (its two 24-tap QMFs): the last input
/// the encoder took shows in the decoder's output this much later.
const DELAY: usize = 22;
/// The continuation is at full level for 10 ms, then fades to silence at
/// 60 ms.
const FULL: usize = 160;
const SILENT: usize = 960;

impl Decoder {
    /// Keeps the tail of the decoder's output for [`Decoder::bridge`].
    pub(super) fn remember(&mut self, samples: &[i16]) {
        self.history.extend_from_slice(samples);
        let excess = self.history.len().saturating_sub(HISTORY);
        if excess > 0 {
            self.history.drain(..excess);
        }
    }

    /// Moves the decoder on over `samples` (an even count) of audio that
    /// never came, appending the estimate it decoded for them to `out`.
    /// Bridges in a row continue each other; the next [`Decoder::decode`]
    /// ends the stretch.
    pub fn bridge(&mut self, samples: usize, out: &mut Vec<i16>) {
        let samples = samples & !1;
        let continuation = self.continuation(DELAY + samples);
        // The encoder, where the far one stood after the last frame we
        // decoded: the same band state, and in its QMF delay line the
        // input it had then taken, which is our output DELAY samples on
        // (the end of what we played, then the estimate).
        let tail = &self.history[self.history.len().saturating_sub(24 - DELAY)..];
        let mut x = [0i32; 24];
        let primed = tail.iter().chain(&continuation[..DELAY]);
        for (slot, &s) in x[24 - tail.len() - DELAY..].iter_mut().zip(primed) {
            *slot = i32::from(s);
        }
        let mut encoder = Encoder {
            low: self.low.clone(),
            high: self.high.clone(),
            x,
        };
        let mut codes = Vec::with_capacity(samples / 2);
        encoder.encode(&continuation[DELAY..], &mut codes);
        self.decode_codes(&codes, out);
        self.bridged += samples;
    }

    /// `n` samples continuing the output: its last pitch period repeated,
    /// faded by how long the bridged stretch has lasted.
    fn continuation(&self, n: usize) -> Vec<i16> {
        let h = &self.history;
        let Some(period) = pitch(h) else {
            return vec![0; n];
        };
        let start = h.len() - period;
        (0..n)
            .map(|k| {
                let at = self.bridged + k;
                let gain = if at < FULL {
                    1.0
                } else {
                    (SILENT.saturating_sub(at)) as f32 / (SILENT - FULL) as f32
                };
                (f32::from(h[start + k % period]) * gain) as i16
            })
            .collect()
    }
}

/// The lag in `PITCH_MIN..=PITCH_MAX` whose shifted copy best matches the
/// last [`CORR`] samples (normalised cross-correlation); `None` while the
/// history is too short or silent.
fn pitch(h: &[i16]) -> Option<usize> {
    if h.len() < PITCH_MAX + CORR {
        return None;
    }
    let recent = &h[h.len() - CORR..];
    let dot = |a: &[i16], b: &[i16]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    };
    if dot(recent, recent) < 1.0 {
        return None;
    }
    (PITCH_MIN..=PITCH_MAX)
        .map(|lag| {
            let past = &h[h.len() - CORR - lag..h.len() - lag];
            let energy = dot(past, past).max(1.0);
            (lag, dot(recent, past) / energy.sqrt())
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(lag, _)| lag)
}
