//! Reading a checked RTCP compound into what the session uses of it: the
//! NTP time of a sender report (for LSR/DLSR), the reception report blocks
//! (for the round-trip time) and whether it says BYE. The datagram has
//! passed [`super::rtcp`] before the `rtcp` crate parses it.

use super::{rtcp, Malformed};
use rtcp::compound_packet::CompoundPacket;
use rtcp::goodbye::Goodbye;
use rtcp::packet::Packet;
use rtcp::receiver_report::ReceiverReport;
use rtcp::reception_report::ReceptionReport;
use rtcp::sender_report::SenderReport;

/// What one RTCP compound tells the session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtcpSummary {
    /// The NTP timestamp of the (last) sender report in it.
    pub sender_ntp: Option<u64>,
    /// Every reception report block, of SRs and RRs alike.
    pub reports: Vec<ReceptionReport>,
    /// It carried a BYE.
    pub bye: bool,
}

/// Checks `data` as RTCP ([`super::rtcp`]), then parses and reads it.
pub fn rtcp_summary(data: &[u8]) -> Result<RtcpSummary, Malformed> {
    rtcp(data)?;
    let packets = rtcp::packet::unmarshal(&mut &data[..]).map_err(|_| Malformed::Rejected)?;
    let mut summary = RtcpSummary::default();
    for p in &packets {
        read(p.as_ref(), &mut summary);
    }
    Ok(summary)
}

fn read(p: &(dyn Packet + Send + Sync), into: &mut RtcpSummary) {
    let any = p.as_any();
    if let Some(sr) = any.downcast_ref::<SenderReport>() {
        into.sender_ntp = Some(sr.ntp_time);
        into.reports.extend_from_slice(&sr.reports);
    } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
        into.reports.extend_from_slice(&rr.reports);
    } else if let Some(c) = any.downcast_ref::<CompoundPacket>() {
        for inner in &c.0 {
            read(inner.as_ref(), into);
        }
    } else if any.downcast_ref::<Goodbye>().is_some() {
        into.bye = true;
    }
}
