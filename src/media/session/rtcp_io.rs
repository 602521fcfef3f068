//! Building and reading RTCP compounds for a session: SR or RR with one
//! reception report, SDES CNAME, BYE; reading the peer's SR/RR for LSR and
//! round-trip time.

use crate::media::rtcp_stats::{ntp_mid, ntp_now, rtt_ms, ReceiverStats};
use bytes::Bytes;
use rtcp::goodbye::Goodbye;
use rtcp::packet::Packet;
use rtcp::receiver_report::ReceiverReport;
use rtcp::reception_report::ReceptionReport;
use rtcp::sender_report::SenderReport;
use rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};
use std::time::Instant;

type Boxed = Box<dyn Packet + Send + Sync>;

/// Our side's RTCP bookkeeping.
#[derive(Debug, Default)]
pub struct RtcpState {
    /// Middle 32 bits of the last SR received and when it arrived.
    pub last_sr: Option<(u32, Instant)>,
    pub rtt_ms: Option<f64>,
    /// Packets and payload octets sent so far.
    pub packets_sent: u32,
    pub octets_sent: u32,
    /// Whether we sent RTP since the last report (SR instead of RR).
    pub sent_since_report: bool,
    /// The fraction (/256) of our packets the peer's latest report about
    /// us says it lost, until taken.
    pub peer_fraction_lost: Option<u8>,
}

/// What we know of the stream we receive.
pub struct Reception<'a> {
    pub ssrc: Option<u32>,
    pub stats: &'a mut ReceiverStats,
}

impl RtcpState {
    /// A compound report: SR (if we sent since the last one) or RR, plus
    /// SDES CNAME; with BYE appended when `bye`.
    pub fn report(
        &mut self,
        ssrc: u32,
        rtp_time: u32,
        rx: Reception<'_>,
        bye: bool,
    ) -> Option<Bytes> {
        let mut reports = Vec::new();
        if let Some(remote) = rx.ssrc.filter(|_| rx.stats.received() > 0) {
            let (lsr, dlsr) = match self.last_sr {
                Some((lsr, at)) => {
                    let held = at.elapsed().as_secs_f64() * 65536.0;
                    (lsr, held.min(f64::from(u32::MAX)) as u32)
                }
                None => (0, 0),
            };
            reports.push(ReceptionReport {
                ssrc: remote,
                fraction_lost: rx.stats.take_fraction_lost(),
                total_lost: rx.stats.cumulative_lost().min(0x7F_FFFF) as u32,
                last_sequence_number: rx.stats.extended_max(),
                jitter: rx.stats.jitter_units(),
                last_sender_report: lsr,
                delay: dlsr,
            });
        }
        let mut packets: Vec<Boxed> = Vec::new();
        if self.sent_since_report {
            packets.push(Box::new(SenderReport {
                ssrc,
                ntp_time: ntp_now(),
                rtp_time,
                packet_count: self.packets_sent,
                octet_count: self.octets_sent,
                reports,
                profile_extensions: Bytes::new(),
            }));
        } else {
            packets.push(Box::new(ReceiverReport {
                ssrc,
                reports,
                profile_extensions: Bytes::new(),
            }));
        }
        self.sent_since_report = false;
        packets.push(Box::new(SourceDescription {
            chunks: vec![SourceDescriptionChunk {
                source: ssrc,
                items: vec![SourceDescriptionItem {
                    sdes_type: SdesType::SdesCname,
                    text: Bytes::from(format!("termphone-{ssrc:08x}")),
                }],
            }],
        }));
        if bye {
            packets.push(Box::new(Goodbye {
                sources: vec![ssrc],
                reason: Bytes::new(),
            }));
        }
        match rtcp::packet::marshal(&packets) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::debug!("building RTCP: {e}");
                None
            }
        }
    }

    /// Reads a received RTCP datagram (checked, then parsed: see
    /// [`crate::media::inbound::rtcp_summary`]); updates LSR and RTT.
    /// Returns true when it carried a BYE.
    pub fn on_datagram(&mut self, our_ssrc: u32, data: &[u8]) -> bool {
        let Ok(summary) = crate::media::inbound::rtcp_summary(data) else {
            return false;
        };
        if let Some(ntp) = summary.sender_ntp {
            self.last_sr = Some((ntp_mid(ntp), Instant::now()));
        }
        let now = ntp_mid(ntp_now());
        for r in summary.reports.iter().filter(|r| r.ssrc == our_ssrc) {
            self.peer_fraction_lost = Some(r.fraction_lost);
            if let Some(rtt) = rtt_ms(now, r.last_sender_report, r.delay) {
                self.rtt_ms = Some(rtt);
            }
        }
        summary.bye
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sr_round_trip_gives_rtt() {
        // A sends an SR; B receives it and answers with an RR about A.
        let mut a = RtcpState {
            sent_since_report: true,
            packets_sent: 10,
            octets_sent: 1600,
            ..RtcpState::default()
        };
        let mut a_rx = ReceiverStats::default();
        let sr = a
            .report(
                0xA,
                1234,
                Reception {
                    ssrc: None,
                    stats: &mut a_rx,
                },
                false,
            )
            .unwrap_or_default();
        let mut b = RtcpState::default();
        assert!(!b.on_datagram(0xB, &sr));
        assert!(b.last_sr.is_some());
        let mut b_rx = ReceiverStats::default();
        b_rx.on_packet(1, 0, 0);
        b_rx.on_packet(3, 320, 320);
        std::thread::sleep(std::time::Duration::from_millis(30));
        let rr = b
            .report(
                0xB,
                0,
                Reception {
                    ssrc: Some(0xA),
                    stats: &mut b_rx,
                },
                true,
            )
            .unwrap_or_default();
        // B's report carries a BYE.
        assert!(a.on_datagram(0xA, &rr));
        let rtt = a.rtt_ms.unwrap_or(-1.0);
        // Held 30 ms at B, all else immediate: RTT close to 0.
        assert!((0.0..20.0).contains(&rtt), "{rtt}");
        // B lost one of A's three packets, and says so (for the encoder).
        assert_eq!(a.peer_fraction_lost, Some(85)); // 256 / 3
                                                    // Garbage is ignored.
        assert!(!a.on_datagram(0xA, &[0x80, 1, 2]));
    }
}
