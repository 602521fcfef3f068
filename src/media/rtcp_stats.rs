//! Reception statistics for RTCP (RFC 3550 appendix A): extended highest
//! sequence, cumulative and fractional loss (A.3), interarrival jitter (A.8),
//! the LSR/DLSR bookkeeping for round-trip time, and a MOS estimate from a
//! simplified ITU-T G.107 E-model.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds between 1900 (NTP era) and 1970 (Unix epoch).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The current wall clock as a 64-bit NTP timestamp.
pub fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp (units of 1/65536 s).
pub fn ntp_mid(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Per-source reception state.
#[derive(Debug, Clone, Default)]
pub struct ReceiverStats {
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    transit: Option<i64>,
    /// Interarrival jitter in timestamp units (scaled as in A.8).
    jitter: f64,
}

impl ReceiverStats {
    /// Records one packet. `arrival` is the arrival time in RTP timestamp
    /// units of the same clock as `timestamp`.
    pub fn on_packet(&mut self, seq: u16, timestamp: u32, arrival: u32) {
        if !self.started {
            self.started = true;
            self.base_seq = u32::from(seq);
            self.max_seq = seq;
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta != 0 && delta < 0x8000 {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            }
        }
        self.received += 1;
        // A.8: D(i-1, i) = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16.
        let transit = i64::from(arrival.wrapping_sub(timestamp) as i32);
        if let Some(prev) = self.transit {
            let d = (transit - prev).abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }

    /// Resets for a new source (SSRC change).
    pub fn reset(&mut self) {
        *self = ReceiverStats::default();
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number received.
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    fn expected(&self) -> u64 {
        if !self.started {
            return 0;
        }
        u64::from(self.extended_max())
            .wrapping_sub(u64::from(self.base_seq))
            .wrapping_add(1)
    }

    /// Cumulative packets lost (A.3): expected minus received, never negative.
    pub fn cumulative_lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    /// Fraction lost since the previous call, as the 8-bit RTCP fraction;
    /// moves the "prior" counters on.
    pub fn take_fraction_lost(&mut self) -> u8 {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost = expected_interval.saturating_sub(received_interval);
        if expected_interval == 0 || lost == 0 {
            0
        } else {
            ((lost << 8) / expected_interval).min(255) as u8
        }
    }

    /// Jitter in timestamp units as carried in a reception report.
    pub fn jitter_units(&self) -> u32 {
        self.jitter as u32
    }

    /// Jitter in milliseconds for a `clock_rate` Hz clock.
    pub fn jitter_ms(&self, clock_rate: u32) -> f64 {
        self.jitter * 1000.0 / f64::from(clock_rate.max(1))
    }
}

/// Round-trip time from a reception report about our stream (RFC 3550
/// 6.4.1): `now - LSR - DLSR`, all in 1/65536 s. None when the peer has not
/// seen a sender report of ours yet (LSR 0).
pub fn rtt_ms(now_mid: u32, lsr: u32, dlsr: u32) -> Option<f64> {
    if lsr == 0 {
        return None;
    }
    let rtt = now_mid.wrapping_sub(lsr).wrapping_sub(dlsr);
    // A negative result (clock trouble) shows up as a huge value: ignore it.
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(f64::from(rtt) * 1000.0 / 65536.0)
}

/// MOS estimate from a simplified E-model (ITU-T G.107, Cole & Rosenbluth):
///
/// - one-way delay `d` = RTT/2 (0 when unknown) + jitter buffer delay + 20 ms
///   packetisation;
/// - delay impairment `Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)`;
/// - loss impairment for G.711 with concealment (`Ie = 0`, `Bpl = 25.1`):
///   `Ie_eff = 95 · Ppl / (Ppl + 25.1)`, `Ppl` the loss in percent;
/// - `R = 93.2 − Id − Ie_eff`;
/// - `MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R)`, clamped to 1..4.5.
pub fn mos(loss_fraction: f64, rtt_ms: Option<f64>, buffer_ms: f64) -> f64 {
    let d = rtt_ms.unwrap_or(0.0) / 2.0 + buffer_ms + 20.0;
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = (loss_fraction * 100.0).clamp(0.0, 100.0);
    let ie_eff = 95.0 * ppl / (ppl + 25.1);
    let r = 93.2 - id - ie_eff;
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_counts_missing_packets_across_wrap() {
        let mut s = ReceiverStats::default();
        let mut ts = 0u32;
        for seq in [65530u16, 65531, 65533, 65535, 0, 1, 4, 5] {
            s.on_packet(seq, ts, ts);
            ts += 160;
        }
        // Expected 65530..=65541 (12), received 8.
        assert_eq!(s.extended_max(), 65536 + 5);
        assert_eq!(s.cumulative_lost(), 4);
        assert_eq!(s.take_fraction_lost(), (4 * 256 / 12) as u8);
        // Nothing new: fraction 0.
        assert_eq!(s.take_fraction_lost(), 0);
    }

    #[test]
    fn duplicates_do_not_hide_loss_below_zero() {
        let mut s = ReceiverStats::default();
        for _ in 0..3 {
            s.on_packet(7, 0, 0);
        }
        assert_eq!(s.cumulative_lost(), 0);
        assert_eq!(s.take_fraction_lost(), 0);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let mut s = ReceiverStats::default();
        // Perfectly paced: no jitter.
        for i in 0..50u32 {
            s.on_packet(i as u16, i * 160, 1000 + i * 160);
        }
        assert_eq!(s.jitter_units(), 0);
        // Alternate 80 units late / on time: |D| = 80 each time, J -> 80 units = 10 ms.
        let mut s = ReceiverStats::default();
        for i in 0..400u32 {
            let wobble = if i % 2 == 0 { 80 } else { 0 };
            s.on_packet(i as u16, i * 160, 1000 + i * 160 + wobble);
        }
        assert!(
            (s.jitter_ms(8000) - 10.0).abs() < 0.1,
            "{}",
            s.jitter_ms(8000)
        );
        // One step of the recurrence, by hand.
        let mut s = ReceiverStats::default();
        s.on_packet(0, 0, 0);
        s.on_packet(1, 160, 320);
        assert!((s.jitter - 10.0).abs() < 1e-9);
    }

    #[test]
    fn rtt_from_lsr_and_dlsr() {
        // LSR at 10 s, peer held it 0.5 s, now 10.75 s: RTT 250 ms.
        let now = 10 * 65536 + 3 * 65536 / 4;
        let rtt = rtt_ms(now, 10 * 65536, 65536 / 2);
        assert_eq!(rtt, Some(250.0));
        assert_eq!(rtt_ms(now, 0, 0), None);
        assert_eq!(rtt_ms(5, 10, 0), None);
        let a = ntp_now();
        assert!(ntp_mid(a) > 0);
    }

    #[test]
    fn mos_drops_with_loss_and_delay() {
        let clean = mos(0.0, Some(20.0), 40.0);
        assert!(clean > 4.3 && clean <= 4.5, "{clean}");
        let lossy = mos(0.05, Some(20.0), 40.0);
        assert!(lossy < clean - 0.5, "{lossy}");
        let slow = mos(0.0, Some(600.0), 120.0);
        assert!(slow < clean - 0.3, "{slow}");
        assert!(mos(1.0, None, 0.0) < 1.5);
        assert_eq!(mos(0.0, Some(10_000.0), 0.0), 1.0);
    }
}
