//! How the Opus encoder is set up for its peer and how hard it plans for
//! loss. The peer's SDP says what it receives (RFC 7587 §6.1,
//! [`OpusPeerParams`]): [`peer_setup`] turns that into the encoder's fixed
//! settings (in-band FEC only when the peer's decoder uses it,
//! `useinbandfec=1`, else the whole rate goes to audio; the audio band no
//! wider than its `maxplaybackrate` plays; constant bitrate for `cbr=1`).
//! DTX stays off even when the peer allows it (`usedtx=1` permits, never
//! requires it). The peer's RTCP receiver reports say what fraction of
//! our packets it lost; [`LossAdapter`] turns them into the encoder's
//! expected packet loss (how much in-band FEC it spends) and its bitrate
//! (room for that FEC), with hysteresis so one report does not flip it
//! back and forth, every step's bitrate capped at the peer's
//! `maxaveragebitrate` ([`for_peer`]). Without FEC there is nothing to
//! plan for: the rate stays at the start's, capped. Pure: no SDP or RTCP
//! parsing, no libopus; the session feeds it and applies what it returns.
//!
//! The rates: a step's FEC is paid out of its bitrate, and calls used to
//! start at 32 kbit/s with 10 % FEC, which cost a clean line much of its
//! quality (`bench/quality.sh`, seed 1, PESQ-WB: 3.68 clean; baresip
//! hearing termphone 3.63 where termphone heard baresip at 4.40). One
//! step up, starting at 40 kbit/s, scores 3.96 clean and 3.66 under 5 %
//! random loss (a run on an idle machine; 3.92 and 3.26 on a busy one,
//! where 32 kbit/s had scored 3.34 under loss). Starting at 48 kbit/s
//! scored 4.10 clean but 2.39 under 5 % loss (busy machine), so the start
//! stays at 40 (or the peer's `maxaveragebitrate`, when lower).

use crate::rtp_types::OpusPeerParams;

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

/// The widest audio band the encoder may code (`OPUS_SET_MAX_BANDWIDTH`),
/// by the audio rate it needs (RFC 7587 §3.1.1's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MaxBand {
    /// 8 kHz audio.
    Narrow,
    /// 12 kHz.
    Medium,
    /// 16 kHz.
    Wide,
    /// 24 kHz.
    SuperWide,
    /// 48 kHz.
    Full,
}

impl MaxBand {
    /// The widest band whose audio rate the peer plays out
    /// (`maxplaybackrate`): 8000 narrowband, 16000 wideband; a rate
    /// between two bands gets the narrower.
    pub fn for_playback_rate(rate: u32) -> MaxBand {
        match rate {
            ..12_000 => MaxBand::Narrow,
            12_000..16_000 => MaxBand::Medium,
            16_000..24_000 => MaxBand::Wide,
            24_000..48_000 => MaxBand::SuperWide,
            _ => MaxBand::Full,
        }
    }
}

/// The encoder's settings the peer's receive parameters fix for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSetup {
    /// `OPUS_SET_INBAND_FEC`: only for a peer with `useinbandfec=1`.
    pub fec: bool,
    /// `OPUS_SET_MAX_BANDWIDTH`, from `maxplaybackrate`.
    pub max_band: MaxBand,
    /// `OPUS_SET_VBR`: off for a peer with `cbr=1`.
    pub vbr: bool,
}

/// What the peer's parameters fix in the encoder (DTX stays off).
pub fn peer_setup(peer: &OpusPeerParams) -> PeerSetup {
    PeerSetup {
        fec: peer.inband_fec,
        max_band: MaxBand::for_playback_rate(peer.max_playback_rate),
        vbr: !peer.cbr,
    }
}

/// A step's tuning as the peer takes it: the bitrate no higher than its
/// `maxaveragebitrate`, and no loss planned for (no FEC) unless its
/// decoder uses in-band FEC.
pub fn for_peer(t: Tuning, peer: &OpusPeerParams) -> Tuning {
    let cap = peer
        .max_average_bitrate
        .map_or(i32::MAX, |c| i32::try_from(c).unwrap_or(i32::MAX));
    Tuning {
        loss_perc: if peer.inband_fec { t.loss_perc } else { 0 },
        bitrate: t.bitrate.min(cap),
    }
}

/// The adaptation state of one encoder, for one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossAdapter {
    step: usize,
    calm: u32,
    peer: OpusPeerParams,
}

impl LossAdapter {
    /// A call's start, for a peer with these receive parameters.
    pub fn new(peer: OpusPeerParams) -> LossAdapter {
        LossAdapter {
            step: START,
            calm: 0,
            peer,
        }
    }

    /// What an encoder starts with before it knows its peer.
    pub fn initial() -> Tuning {
        STEPS[START].0
    }

    /// The peer's receive parameters it plans for.
    pub fn peer(&self) -> &OpusPeerParams {
        &self.peer
    }

    /// The current tuning (for the peer).
    pub fn tuning(&self) -> Tuning {
        for_peer(STEPS[self.step].0, &self.peer)
    }

    /// Takes a report's fraction lost (RTCP's 8-bit fraction, /256).
    /// Steps up at once to the step that covers the loss; steps down one
    /// step only after [`CALM_REPORTS`] reports in a row at no more than
    /// half the lower step's limit. The new tuning when it changed. A
    /// peer without in-band FEC keeps the start: no steps.
    pub fn on_report(&mut self, fraction_lost: u8) -> Option<Tuning> {
        if !self.peer.inband_fec {
            return None;
        }
        let pct = (u32::from(fraction_lost) * 100).div_ceil(256);
        let covering = STEPS
            .iter()
            .position(|&(_, up_at)| pct <= up_at)
            .unwrap_or(STEPS.len() - 1);
        let before = self.tuning();
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
        let now = self.tuning();
        (now != before).then_some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that asked for in-band FEC and set no cap.
    fn fec_peer() -> OpusPeerParams {
        OpusPeerParams {
            inband_fec: true,
            ..Default::default()
        }
    }

    /// RTCP's fraction for a loss in percent.
    fn frac(pct: u32) -> u8 {
        (pct * 256 / 100).min(255) as u8
    }

    /// Feeds one report of `pct` % loss and checks the tuning after it
    /// is `(loss_perc, bitrate)` and that a change was reported exactly
    /// when there was one; the tuning.
    fn report(a: &mut LossAdapter, pct: u32, (perc, rate): (i32, i32), what: &str) -> Tuning {
        let before = a.tuning();
        let changed = a.on_report(frac(pct));
        let now = a.tuning();
        assert_eq!((now.loss_perc, now.bitrate), (perc, rate), "{what}: {pct}%");
        assert_eq!(changed, (now != before).then_some(now), "{what}: {pct}%");
        now
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
        let mut a = LossAdapter::new(fec_peer());
        assert_eq!(a.tuning(), LossAdapter::initial());
        for (i, &(pct, want)) in table.iter().enumerate() {
            report(&mut a, pct, want, &format!("report {i}"));
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

    #[test]
    fn every_step_is_capped_at_the_peers_maxaveragebitrate() {
        // (cap, fec, reported loss % in turn, (loss_perc, bitrate) after each)
        type Case = (Option<u32>, bool, &'static [(u32, (i32, i32))]);
        let cases: &[Case] = &[
            // A cap below every step: the rate stays at it, FEC still planned.
            (
                Some(12_000),
                true,
                &[(0, (10, 12_000)), (15, (20, 12_000)), (50, (35, 12_000))],
            ),
            // A cap between the steps: the higher steps stop at it.
            (
                Some(44_000),
                true,
                &[(5, (10, 40_000)), (15, (20, 44_000)), (50, (35, 44_000))],
            ),
            // A cap above them all changes nothing.
            (
                Some(510_000),
                true,
                &[(15, (20, 48_000)), (50, (35, 56_000))],
            ),
            // No FEC wanted: no loss planned for, the start's rate, capped,
            // whatever the reports say.
            (None, false, &[(0, (0, 40_000)), (50, (0, 40_000))]),
            (Some(12_000), false, &[(0, (0, 12_000)), (50, (0, 12_000))]),
        ];
        for (i, &(cap, fec, reports)) in cases.iter().enumerate() {
            let peer = OpusPeerParams {
                max_average_bitrate: cap,
                inband_fec: fec,
                ..Default::default()
            };
            let mut a = LossAdapter::new(peer);
            for &(pct, want) in reports {
                let now = report(&mut a, pct, want, &format!("case {i}"));
                assert!(cap.is_none_or(|c| now.bitrate as u32 <= c), "case {i}");
            }
        }
    }

    #[test]
    fn playback_rate_bounds_the_band_and_cbr_turns_vbr_off() {
        let band: &[(u32, MaxBand)] = &[
            (8000, MaxBand::Narrow),
            (11_999, MaxBand::Narrow),
            (12_000, MaxBand::Medium),
            (16_000, MaxBand::Wide),
            (22_050, MaxBand::Wide),
            (24_000, MaxBand::SuperWide),
            (44_100, MaxBand::SuperWide),
            (48_000, MaxBand::Full),
        ];
        for &(rate, want) in band {
            assert_eq!(MaxBand::for_playback_rate(rate), want, "{rate} Hz");
        }
        let d = OpusPeerParams::default();
        assert_eq!(
            peer_setup(&d),
            PeerSetup {
                fec: false,
                max_band: MaxBand::Full,
                vbr: true
            }
        );
        let peer = OpusPeerParams {
            max_playback_rate: 16_000,
            inband_fec: true,
            cbr: true,
            dtx: true,
            ..d
        };
        assert_eq!(
            peer_setup(&peer),
            PeerSetup {
                fec: true,
                max_band: MaxBand::Wide,
                vbr: false
            }
        );
    }
}
