//! What the media session takes from the network, checked before anything
//! reads it: a datagram on the RTP port is validated against its own length
//! (version, CSRC count, header extension and its RFC 8285 elements,
//! padding) and only then parsed into an [`RtpView`]; a datagram on the
//! RTCP port is walked packet by packet ([`rtcp()`]) before the `rtcp` crate
//! parses it ([`rtcp_summary`]: what the session reads of it). SRTP and
//! SRTCP datagrams get the checks their clear part allows before they are
//! decrypted (`inbound/secure.rs`). Whatever
//! fails a check is [`Malformed`] and dropped by the
//! session; no parser ever sees bytes that could make it index past the
//! datagram.
//!
//! Pure functions on byte slices: no sockets, no session state. Which
//! sources and SSRCs the session takes are decided in `inbound/source.rs`
//! ([`Latch`], [`source_verdict`]) and `inbound/ssrc.rs` ([`SsrcLock`]).

mod rtcp_read;
mod secure;
mod source;
mod ssrc;

pub use rtcp_read::{rtcp_summary, RtcpSummary};
pub use secure::{srtcp, srtp};
pub use source::{source_verdict, Latch, SourceVerdict};
pub use ssrc::{SsrcLock, SsrcVerdict, SSRC_PROBATION};

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("shorter than its header")]
    Short,
    #[error("not RTP/RTCP version 2")]
    Version,
    #[error("CSRC list runs past the datagram")]
    Csrc,
    #[error("header extension runs past the datagram")]
    Extension,
    #[error("header extension element runs past the extension")]
    ExtensionElement,
    #[error("padding longer than the payload")]
    Padding,
    #[error("RTCP length runs past the datagram")]
    Length,
    #[error("RTCP report count does not fit the packet")]
    Count,
    #[error("refused by the RTCP parser")]
    Rejected,
}

/// The fixed RTP header length.
const RTP_HEADER: usize = 12;
/// RFC 8285 one-byte header extensions.
const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 two-byte header extensions (the low 4 bits are app bits).
const TWO_BYTE_PROFILE: u16 = 0x1000;

/// A validated RTP packet: the header fields the session uses and the
/// payload without CSRCs, extension and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpView<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks `data` as one RTP packet (RFC 3550 5.1, RFC 8285) and reads it.
/// Every length is checked against the datagram before it is used.
pub fn rtp(data: &[u8]) -> Result<RtpView<'_>, Malformed> {
    let len = data.len();
    let at = rtp_header_len(data)?;
    let b0 = data[0];
    let padded = b0 & 0x20 != 0;
    let mut end = len;
    if padded {
        let pad = usize::from(data[len - 1]);
        if pad == 0 || pad > len - at {
            return Err(Malformed::Padding);
        }
        end -= pad;
    }
    Ok(RtpView {
        marker: data[1] & 0x80 != 0,
        payload_type: data[1] & 0x7F,
        sequence: be16(data, 2),
        timestamp: be32(data, 4),
        ssrc: be32(data, 8),
        payload: &data[at..end],
    })
}

/// The length of `data`'s RTP header (fixed part, CSRCs, extension), each
/// part checked against the datagram; the padding is not looked at (in
/// SRTP it is encrypted).
pub fn rtp_header_len(data: &[u8]) -> Result<usize, Malformed> {
    let len = data.len();
    if len < RTP_HEADER {
        return Err(Malformed::Short);
    }
    let b0 = data[0];
    if b0 >> 6 != 2 {
        return Err(Malformed::Version);
    }
    let extended = b0 & 0x10 != 0;
    let csrcs = usize::from(b0 & 0x0F);
    let mut at = RTP_HEADER + 4 * csrcs;
    if at > len {
        return Err(Malformed::Csrc);
    }
    if extended {
        if at + 4 > len {
            return Err(Malformed::Extension);
        }
        let profile = be16(data, at);
        let end = at + 4 + 4 * usize::from(be16(data, at + 2));
        if end > len {
            return Err(Malformed::Extension);
        }
        extension_elements(profile, &data[at + 4..end])?;
        at = end;
    }
    Ok(at)
}

/// Every RFC 8285 element ends inside the extension block (`ext`, after
/// the profile and length words). Other profiles are one opaque block.
fn extension_elements(profile: u16, ext: &[u8]) -> Result<(), Malformed> {
    let mut i = 0;
    if profile == ONE_BYTE_PROFILE {
        while i < ext.len() {
            let b = ext[i];
            if b == 0 {
                i += 1;
                continue;
            }
            if b >> 4 == 15 {
                // Reserved id: the rest of the block is not read.
                return Ok(());
            }
            i += 1 + usize::from(b & 0x0F) + 1;
            if i > ext.len() {
                return Err(Malformed::ExtensionElement);
            }
        }
    } else if profile & 0xFFF0 == TWO_BYTE_PROFILE {
        while i < ext.len() {
            if ext[i] == 0 {
                i += 1;
                continue;
            }
            if i + 1 >= ext.len() {
                return Err(Malformed::ExtensionElement);
            }
            i += 2 + usize::from(ext[i + 1]);
            if i > ext.len() {
                return Err(Malformed::ExtensionElement);
            }
        }
    }
    Ok(())
}

/// RTCP packet types whose report counts are checked here.
const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;
const BYE: u8 = 203;
const APP: u8 = 204;
/// One reception report block.
const REPORT_BLOCK: usize = 24;

/// Checks `data` as an RTCP compound (RFC 3550 6.1): every packet version 2,
/// its length inside the datagram, its padding inside the packet, and for
/// SR, RR, SDES, BYE and APP its count and items inside its length.
pub fn rtcp(data: &[u8]) -> Result<(), Malformed> {
    if data.len() < 4 {
        return Err(Malformed::Short);
    }
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        if rest.len() < 4 {
            return Err(Malformed::Short);
        }
        if rest[0] >> 6 != 2 {
            return Err(Malformed::Version);
        }
        let size = 4 * (usize::from(be16(rest, 2)) + 1);
        if size > rest.len() {
            return Err(Malformed::Length);
        }
        let mut body = &rest[4..size];
        if rest[0] & 0x20 != 0 {
            let pad = usize::from(rest[size - 1]);
            if pad == 0 || pad > body.len() {
                return Err(Malformed::Padding);
            }
            body = &body[..body.len() - pad];
        }
        rtcp_body(rest[1], usize::from(rest[0] & 0x1F), body)?;
        at += size;
    }
    Ok(())
}

/// One RTCP packet's body (after its 4-byte header) against its count.
fn rtcp_body(kind: u8, count: usize, body: &[u8]) -> Result<(), Malformed> {
    let fits = match kind {
        SR => body.len() >= 24 + count * REPORT_BLOCK,
        RR => body.len() >= 4 + count * REPORT_BLOCK,
        SDES => return sdes_chunks(count, body),
        BYE => {
            let ids = 4 * count;
            match body.get(ids) {
                // A reason: its length byte and text inside the packet.
                Some(&n) => ids + 1 + usize::from(n) <= body.len(),
                None => ids <= body.len(),
            }
        }
        APP => body.len() >= 8,
        _ => true,
    };
    if fits {
        Ok(())
    } else {
        Err(Malformed::Count)
    }
}

/// SDES: `count` chunks, each an SSRC, items (type, length, text) up to a
/// zero type, padded to 32 bits, all inside `body`.
fn sdes_chunks(count: usize, body: &[u8]) -> Result<(), Malformed> {
    let mut at = 0;
    for _ in 0..count {
        at += 4;
        if at > body.len() {
            return Err(Malformed::Count);
        }
        loop {
            match body.get(at) {
                None => return Err(Malformed::Count),
                Some(0) => {
                    at += 1;
                    break;
                }
                Some(_) => {
                    let Some(&n) = body.get(at + 1) else {
                        return Err(Malformed::Count);
                    };
                    at += 2 + usize::from(n);
                    if at > body.len() {
                        return Err(Malformed::Count);
                    }
                }
            }
        }
        at = at.next_multiple_of(4);
        if at > body.len() {
            return Err(Malformed::Count);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
