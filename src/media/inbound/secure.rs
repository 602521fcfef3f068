//! The checks an SRTP or SRTCP datagram gets before it is decrypted: only
//! its clear part can be read (RFC 3711 §3.1, §3.4), so [`srtp`] checks the
//! RTP header (version, CSRCs, header extension) and that the payload and
//! authentication tag fit after it, and [`srtcp`] the first RTCP header,
//! the SRTCP index and the tag. The padding and everything else are
//! checked again on the decrypted packet ([`super::rtp`], [`super::rtcp`]).
//! Pure functions on byte slices, like the rest of `inbound`.

use super::{rtp_header_len, Malformed};

/// The fixed RTCP header plus the sender's SSRC: in the clear in SRTCP.
const RTCP_CLEAR: usize = 8;
/// The E flag and SRTCP index after the encrypted part.
const SRTCP_INDEX: usize = 4;

/// Checks `data` as an SRTP packet whose authentication tag is `tag_len`
/// bytes long.
pub fn srtp(data: &[u8], tag_len: usize) -> Result<(), Malformed> {
    let header = rtp_header_len(data)?;
    if header + tag_len > data.len() {
        return Err(Malformed::Short);
    }
    Ok(())
}

/// Checks `data` as an SRTCP packet whose authentication tag is `tag_len`
/// bytes long: version 2, an RTCP packet type, the first packet's length
/// inside what precedes the index and the tag.
pub fn srtcp(data: &[u8], tag_len: usize) -> Result<(), Malformed> {
    let Some(compound) = data.len().checked_sub(SRTCP_INDEX + tag_len) else {
        return Err(Malformed::Short);
    };
    if compound < RTCP_CLEAR {
        return Err(Malformed::Short);
    }
    if data[0] >> 6 != 2 {
        return Err(Malformed::Version);
    }
    if !(200..=207).contains(&data[1]) {
        return Err(Malformed::Rejected);
    }
    let first = 4 * (usize::from(u16::from_be_bytes([data[2], data[3]])) + 1);
    if first > compound {
        return Err(Malformed::Length);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first: u8) -> Vec<u8> {
        let mut p = vec![first, 0, 0, 1, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78];
        p.extend_from_slice(&[0xAA; 160]);
        p
    }

    #[test]
    fn srtp_table() {
        let mut tagged = header(0x80);
        tagged.extend_from_slice(&[0; 10]);
        let mut padded = header(0xA0);
        padded.extend_from_slice(&[0; 10]);
        // A one-byte extension element running past its block.
        let mut bad_ext = vec![0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1];
        bad_ext.extend_from_slice(&[0x1F, 0, 0, 0]);
        bad_ext.extend_from_slice(&[0; 10]);
        let cases: [(&[u8], usize, Result<(), Malformed>); 6] = [
            (&tagged, 10, Ok(())),
            // Padding is encrypted: its bit alone is no reason to drop.
            (&padded, 10, Ok(())),
            (&tagged[..12], 10, Err(Malformed::Short)),
            (&[0x40; 40], 10, Err(Malformed::Version)),
            (&[0x8F; 30], 4, Err(Malformed::Csrc)),
            (&bad_ext, 10, Err(Malformed::ExtensionElement)),
        ];
        for (data, tag, want) in cases {
            assert_eq!(srtp(data, tag), want, "{:02x?}", &data[..4]);
        }
    }

    #[test]
    fn srtcp_table() {
        // An RR without blocks (8 bytes), the index and a 10-byte tag.
        let mut rr = vec![0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78];
        rr.extend_from_slice(&[0x80, 0, 0, 1]);
        rr.extend_from_slice(&[0; 10]);
        let mut long = rr.clone();
        long[3] = 9;
        let mut not_rtcp = rr.clone();
        not_rtcp[1] = 96;
        let cases: [(&[u8], Result<(), Malformed>); 5] = [
            (&rr, Ok(())),
            (&rr[..20], Err(Malformed::Short)),
            (&long, Err(Malformed::Length)),
            (&not_rtcp, Err(Malformed::Rejected)),
            (&[0x40; 22], Err(Malformed::Version)),
        ];
        for (data, want) in cases {
            assert_eq!(srtcp(data, 10), want, "{data:02x?}");
        }
    }
}
