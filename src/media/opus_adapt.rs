//! How hard the Opus encoder plans for loss: the peer's RTCP receiver
//! reports say what fraction of our packets it lost; this turns them into
//! the encoder's expected packet loss (how much in-band FEC it spends)
//! and its bitrate (room for that FEC), with hysteresis so one report
//! does not flip it back and forth. Pure: no RTCP parsing, no libopus;
//! the session feeds it reports and applies what it returns.
//!
//! The rates: a step's FEC is paid out of its bitrate, and calls used to
//! start at 32 kbit/s with 10 % FEC, which cost a clean line much of its
//! quality (`bench/quality.sh`, seed 1, PESQ-WB: 3.68 clean; baresip
//! hearing termphone 3.63 where termphone heard baresip at 4.40). One
//! step up, starting at 40 kbit/s, scores 3.96 clean and 3.66 under 5 %
//! random loss (a run on an idle machine; 3.92 and 3.26 on a busy one,
//! where 32 kbit/s had scored 3.34 under loss). Starting at 48 kbit/s
//! scored 4.10 clean but 2.39 under 5 % loss (busy machine), so the start
//! stays at 40. The peer's SDP sets no cap here (`maxaveragebitrate` is
//! not read).

/// One step of protection: the encoder's expected loss and bitrate, and
/// the reported loss (percent) above which the next step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// `OPUS_SET_PACKET_LOSS_PERC`, percent.
    pub loss_perc: i32,
    /// Bits per second.
    pub bitrate: i32,
}

/// The steps, least protection first, with the loss above which the next
/// is taken. Step 1 is what a call starts with (before any report).
const STEPS: [(Tuning, u32); 4] = [
    (
        Tuning {
            loss_perc: 3,
            bitrate: 32_000,
        },
        3,
    ),
    (
        Tuning {
            loss_perc: 10,
            bitrate: 40_000,
        },
        10,
    ),
    (
        Tuning {
            loss_perc: 20,
            bitrate: 48_000,
        },
        20,
    ),
    (
        Tuning {
            loss_perc: 35,
            bitrate: 56_000,
        },
        u32::MAX,
    ),
];
/// The step a call starts at.
const START: usize = 1;
/// Reports in a row low enough before stepping down.
const CALM_REPORTS: u32 = 3;

/// The adaptation state of one encoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossAdapter {
    step: usize,
    calm: u32,
}

impl Default for LossAdapter {
    fn default() -> Self {
        LossAdapter {
            step: START,
            calm: 0,
        }
    }
}

impl LossAdapter {
    /// What the encoder starts with.
    pub fn initial() -> Tuning {
        STEPS[START].0
    }

    /// The current tuning.
    pub fn tuning(&self) -> Tuning {
        STEPS[self.step].0
    }

    /// Takes a report's fraction lost (RTCP's 8-bit fraction, /256).
    /// Steps up at once to the step that covers the loss; steps down one
    /// step only after [`CALM_REPORTS`] reports in a row at no more than
    /// half the lower step's limit. The new tuning when it changed.
    pub fn on_report(&mut self, fraction_lost: u8) -> Option<Tuning> {
        let pct = (u32::from(fraction_lost) * 100).div_ceil(256);
        let covering = STEPS
            .iter()
            .position(|&(_, up_at)| pct <= up_at)
            .unwrap_or(STEPS.len() - 1);
        let before = self.step;
        if covering > self.step {
            self.step = covering;
            self.calm = 0;
        } else if self.step > 0 && pct * 2 <= STEPS[self.step - 1].1 {
            self.calm += 1;
            if self.calm >= CALM_REPORTS {
                self.step -= 1;
                self.calm = 0;
            }
        } else {
            self.calm = 0;
        }
        (self.step != before).then(|| self.tuning())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RTCP's fraction for a loss in percent.
    fn frac(pct: u32) -> u8 {
        (pct * 256 / 100).min(255) as u8
    }

    #[test]
    fn reports_step_up_at_once_and_down_after_calm() {
        // (reported loss %, (expected loss %, bitrate) after it)
        let table: &[(u32, (i32, i32))] = &[
            (0, (10, 40_000)),  // calm 1
            (0, (10, 40_000)),  // calm 2
            (0, (3, 32_000)),   // calm 3: down one step
            (2, (3, 32_000)),   // covered
            (5, (10, 40_000)),  // up at once
            (15, (20, 48_000)), // up at once
            (12, (20, 48_000)), // not low enough to count as calm
            (4, (20, 48_000)),  // calm 1 (<= 10 / 2)
            (12, (20, 48_000)), // resets the calm
            (4, (20, 48_000)),
            (4, (20, 48_000)),
            (4, (10, 40_000)),  // three calm in a row: down one step only
            (50, (35, 56_000)), // straight to the top
            (100, (35, 56_000)),
        ];
        let mut a = LossAdapter::default();
        assert_eq!(a.tuning(), LossAdapter::initial());
        for (i, &(pct, (perc, rate))) in table.iter().enumerate() {
            let before = a.tuning();
            let changed = a.on_report(frac(pct));
            let now = a.tuning();
            assert_eq!(
                (now.loss_perc, now.bitrate),
                (perc, rate),
                "report {i}: {pct}%"
            );
            assert_eq!(changed, (now != before).then_some(now), "report {i}");
        }
    }

    #[test]
    fn the_start_is_what_calls_had_before_reports() {
        assert_eq!(
            LossAdapter::initial(),
            Tuning {
                loss_perc: 10,
                bitrate: 40_000
            }
        );
    }
}
