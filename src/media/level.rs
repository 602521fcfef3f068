//! Speaking levels of a call for a meter: the pure level math. A
//! [`LevelMeter`] is fed one frame per tick (the audio sent, or the audio
//! played) and reads as dBFS of the frame's RMS, rising at once and
//! falling back slowly (a VU meter's ballistics), so a reading taken now
//! and then still shows recent speech. It owns nothing but that number;
//! it must not touch audio.

/// The reading for silence, in dBFS (the conference mixer's floor).
pub const SILENCE_DBFS: f64 = -96.0;
/// What a held level keeps of itself per 20 ms frame when the frame is
/// quieter: about -1.4 dB a frame, -70 dB a second.
const RELEASE: f64 = 0.85;

/// A smoothed RMS level.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LevelMeter {
    /// Linear RMS, full scale 1.0.
    level: f64,
}

impl LevelMeter {
    /// Takes one frame (any rate; empty reads as silence).
    pub fn feed(&mut self, frame: &[i16]) {
        let rms = rms(frame);
        self.level = if rms >= self.level {
            rms
        } else {
            (self.level * RELEASE).max(rms)
        };
    }

    /// The level in dBFS to one decimal, [`SILENCE_DBFS`] at least.
    pub fn dbfs(&self) -> f64 {
        dbfs(self.level)
    }
}

/// Root mean square of `frame`, full scale 1.0.
pub fn rms(frame: &[i16]) -> f64 {
    if frame.is_empty() {
        return 0.0;
    }
    let sum: f64 = frame
        .iter()
        .map(|&s| {
            let x = f64::from(s) / 32768.0;
            x * x
        })
        .sum();
    (sum / frame.len() as f64).sqrt()
}

/// A linear level in dBFS to one decimal, [`SILENCE_DBFS`] at least.
pub fn dbfs(level: f64) -> f64 {
    if level <= 0.0 {
        return SILENCE_DBFS;
    }
    ((20.0 * level.log10()).max(SILENCE_DBFS) * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full-scale square wave is 0 dBFS, half scale -6 dBFS, a sine
    /// -3 dBFS below its peak, silence the floor.
    #[test]
    fn levels_are_dbfs_of_the_rms() {
        let square: Vec<i16> = (0..160)
            .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
            .collect();
        assert_eq!(dbfs(rms(&square)), 0.0);
        let half: Vec<i16> = square.iter().map(|s| s / 2).collect();
        assert_eq!(dbfs(rms(&half)), -6.0);
        let sine: Vec<i16> = (0..320)
            .map(|i| (16384.0 * (i as f64 * std::f64::consts::TAU * 400.0 / 16000.0).sin()) as i16)
            .collect();
        assert_eq!(dbfs(rms(&sine)), -9.0);
        assert_eq!(dbfs(rms(&[0; 160])), SILENCE_DBFS);
        assert_eq!(dbfs(rms(&[])), SILENCE_DBFS);
        assert_eq!(dbfs(rms(&[1; 160])), -90.3);
    }

    /// Speech lifts the meter at once; after it the meter falls about
    /// 1.4 dB a frame, to the floor within two seconds.
    #[test]
    fn the_meter_rises_at_once_and_falls_slowly() {
        let mut m = LevelMeter::default();
        assert_eq!(m.dbfs(), SILENCE_DBFS);
        m.feed(&[8192; 160]);
        assert_eq!(m.dbfs(), -12.0);
        m.feed(&[0; 160]);
        assert_eq!(m.dbfs(), -13.5);
        for _ in 0..9 {
            m.feed(&[]);
        }
        assert_eq!(m.dbfs(), -26.2);
        m.feed(&[16384; 320]);
        assert_eq!(m.dbfs(), -6.0);
        for _ in 0..100 {
            m.feed(&[0; 320]);
        }
        assert_eq!(m.dbfs(), SILENCE_DBFS);
    }
}
