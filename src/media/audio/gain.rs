//! Per-call microphone and speaker gain (`gain`): the pure steps from a
//! change (`up`, `down`, or a level in dB) to the new level, clamped, and
//! the factor a level multiplies samples by. The cpal pump applies them;
//! nothing here touches audio.

/// Lowest and highest gain in dB.
pub const MIN_DB: i32 = -30;
pub const MAX_DB: i32 = 20;
/// What one `up` / `down` moves.
pub const STEP_DB: i32 = 3;

/// A change of one gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GainChange {
    Up,
    Down,
    /// Set to this many dB.
    Db(i32),
}

impl GainChange {
    /// `up`, `down`, or whole dB such as `-6` / `+3` / `0`.
    pub fn parse(word: &str) -> Option<GainChange> {
        match word.trim() {
            "up" => Some(GainChange::Up),
            "down" => Some(GainChange::Down),
            w => w
                .strip_prefix('+')
                .unwrap_or(w)
                .parse::<i32>()
                .ok()
                .filter(|db| (MIN_DB..=MAX_DB).contains(db))
                .map(GainChange::Db),
        }
    }

    /// The level after this change from `db`, within the limits.
    pub fn apply(self, db: i32) -> i32 {
        let next = match self {
            GainChange::Up => db + STEP_DB,
            GainChange::Down => db - STEP_DB,
            GainChange::Db(d) => d,
        };
        next.clamp(MIN_DB, MAX_DB)
    }
}

/// The linear factor of `db`.
pub fn factor(db: i32) -> f32 {
    10f32.powf(db as f32 / 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_step_set_and_stay_within_limits() {
        let cases = [
            ("up", 0, 3),
            ("down", 0, -3),
            ("up", 19, 20),
            ("down", -29, -30),
            ("-6", 9, -6),
            ("+3", -9, 3),
            ("0", 12, 0),
        ];
        for (word, from, to) in cases {
            let change = GainChange::parse(word).unwrap();
            assert_eq!(change.apply(from), to, "{word} from {from}");
        }
        for bad in ["loud", "21", "-31", "", "3.5"] {
            assert_eq!(GainChange::parse(bad), None, "{bad}");
        }
        assert!((factor(0) - 1.0).abs() < 1e-6);
        assert!((factor(-6) - 0.501).abs() < 1e-3);
        assert!((factor(20) - 10.0).abs() < 1e-4);
    }
}
