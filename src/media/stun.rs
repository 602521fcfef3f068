//! STUN Binding (RFC 5389) from an RTP socket: where a NAT maps that
//! socket, so the SDP can name the public media address. The pure part
//! builds a Binding request and reads a Binding success response
//! (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS) of our transaction; the IO
//! part ([`mapped_address`]) asks a server with retransmissions, before
//! the socket becomes a media session's (the session's receive path is
//! not touched). Knows nothing of SIP or SDP.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

/// The magic cookie of every RFC 5389 message.
const MAGIC_COOKIE: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const MAPPED_ADDRESS: u16 = 0x0001;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
const HEADER_LEN: usize = 20;

/// A transaction id: 96 random bits.
pub type TransactionId = [u8; 12];

/// A Binding request without attributes.
pub fn binding_request(id: &TransactionId) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(id);
    out
}

/// The address a Binding success response for transaction `id` reports
/// (XOR-MAPPED-ADDRESS preferred). `None` for anything else: another
/// message or transaction, an error response, or a malformed packet.
pub fn mapped_from_response(packet: &[u8], id: &TransactionId) -> Option<SocketAddr> {
    let header = packet.get(..HEADER_LEN)?;
    let kind = u16::from_be_bytes([header[0], header[1]]);
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let cookie = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if kind != BINDING_SUCCESS || cookie != MAGIC_COOKIE || &header[8..20] != id {
        return None;
    }
    let body = packet.get(HEADER_LEN..HEADER_LEN + len)?;
    let mut plain = None;
    let mut rest = body;
    while rest.len() >= 4 {
        let attr = u16::from_be_bytes([rest[0], rest[1]]);
        let alen = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + alen)?;
        match attr {
            XOR_MAPPED_ADDRESS => return address(value, Some(id)),
            MAPPED_ADDRESS => plain = plain.or_else(|| address(value, None)),
            _ => {}
        }
        // Attributes are padded to a multiple of 4 bytes.
        let padded = (4 + alen).div_ceil(4) * 4;
        rest = rest.get(padded..).unwrap_or(&[]);
    }
    plain
}

/// A (XOR-)MAPPED-ADDRESS value; `xor` with the transaction id for the
/// XOR form.
fn address(value: &[u8], xor: Option<&TransactionId>) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let raw_port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = match xor {
        Some(_) => raw_port ^ (MAGIC_COOKIE >> 16) as u16,
        None => raw_port,
    };
    let ip = match family {
        0x01 => {
            let mut o: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            if xor.is_some() {
                for (b, k) in o.iter_mut().zip(cookie) {
                    *b ^= k;
                }
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        0x02 => {
            let mut o: [u8; 16] = value.get(4..20)?.try_into().ok()?;
            if let Some(id) = xor {
                let key = cookie.iter().chain(id.iter());
                for (b, k) in o.iter_mut().zip(key) {
                    *b ^= k;
                }
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// How long to wait for an answer after each send (RFC 5389 §7.2.1
/// doubles the wait; three tries are enough before a call is set up).
const WAITS: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// Asks the STUN server `server` from `socket` where a NAT maps it.
/// `None` when no matching answer comes (the call then goes on with the
/// local address). Packets that are not the answer are dropped: the
/// socket carries no media yet.
pub async fn mapped_address(socket: &UdpSocket, server: SocketAddr) -> Option<SocketAddr> {
    let id: TransactionId = rand::random();
    let request = binding_request(&id);
    // An IPv6 (dual-stack) socket reaches an IPv4 server at its mapped
    // address, and sees the answer come from there.
    let server = match (socket.local_addr(), server) {
        (Ok(local), SocketAddr::V4(v4)) if local.is_ipv6() => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        _ => server,
    };
    let mut buf = [0u8; 1500];
    for wait in WAITS {
        if let Err(e) = socket.send_to(&request, server).await {
            tracing::debug!(%server, error = %e, "STUN request not sent");
            return None;
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let got = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
            match got {
                Err(_) => break,
                Ok(Err(e)) => {
                    tracing::debug!(%server, error = %e, "STUN receive error");
                    break;
                }
                Ok(Ok((n, from))) => {
                    if from != server {
                        continue;
                    }
                    if let Some(mapped) = buf.get(..n).and_then(|p| mapped_from_response(p, &id)) {
                        return Some(mapped);
                    }
                }
            }
        }
    }
    tracing::info!(%server, "no answer from the STUN server");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: TransactionId = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    fn response(kind: u16, id: &TransactionId, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, v) in attrs {
            body.extend_from_slice(&t.to_be_bytes());
            body.extend_from_slice(&(v.len() as u16).to_be_bytes());
            body.extend_from_slice(v);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&body);
        out
    }

    fn xor_v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let c = MAGIC_COOKIE.to_be_bytes();
        let p = port ^ 0x2112;
        let mut v = vec![0, 1];
        v.extend_from_slice(&p.to_be_bytes());
        v.extend(ip.iter().zip(c).map(|(a, b)| a ^ b));
        v
    }

    fn plain_v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut v = vec![0, 1];
        v.extend_from_slice(&port.to_be_bytes());
        v.extend_from_slice(&ip);
        v
    }

    #[test]
    fn binding_request_is_a_bare_header() {
        let r = binding_request(&ID);
        assert_eq!(r.len(), 20);
        assert_eq!(&r[..8], &[0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42]);
        assert_eq!(&r[8..], &ID);
    }

    #[test]
    fn mapped_address_from_responses() {
        let public = "198.51.100.1:40000".parse::<SocketAddr>().unwrap();
        let other_id = [9u8; 12];
        let software = (0x8022, b"Coturn-4.6.1".to_vec());
        // The RFC 5769 §2.3 IPv6 vector's address, XORed with our id.
        let v6: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
            .parse()
            .unwrap();
        let xor_v6 = {
            let IpAddr::V6(ip) = v6.ip() else {
                unreachable!()
            };
            let key: Vec<u8> = MAGIC_COOKIE
                .to_be_bytes()
                .iter()
                .chain(ID.iter())
                .copied()
                .collect();
            let mut v = vec![0, 2];
            v.extend_from_slice(&(v6.port() ^ 0x2112).to_be_bytes());
            v.extend(ip.octets().iter().zip(key).map(|(a, b)| a ^ b));
            v
        };
        // (packet, expected)
        let table: Vec<(Vec<u8>, Option<SocketAddr>)> = vec![
            (
                response(
                    BINDING_SUCCESS,
                    &ID,
                    &[
                        (MAPPED_ADDRESS, plain_v4([203, 0, 113, 10], 1)),
                        (XOR_MAPPED_ADDRESS, xor_v4([198, 51, 100, 1], 40000)),
                        software.clone(),
                    ],
                ),
                Some(public),
            ),
            // An old server: MAPPED-ADDRESS only.
            (
                response(
                    BINDING_SUCCESS,
                    &ID,
                    &[
                        software.clone(),
                        (MAPPED_ADDRESS, plain_v4([198, 51, 100, 1], 40000)),
                    ],
                ),
                Some(public),
            ),
            (
                response(BINDING_SUCCESS, &ID, &[(XOR_MAPPED_ADDRESS, xor_v6)]),
                Some(v6),
            ),
            // Another transaction, an error response, no address.
            (
                response(
                    BINDING_SUCCESS,
                    &other_id,
                    &[(XOR_MAPPED_ADDRESS, xor_v4([198, 51, 100, 1], 40000))],
                ),
                None,
            ),
            (
                response(
                    0x0111,
                    &ID,
                    &[(XOR_MAPPED_ADDRESS, xor_v4([198, 51, 100, 1], 40000))],
                ),
                None,
            ),
            (response(BINDING_SUCCESS, &ID, &[software]), None),
            // Truncated and garbage packets.
            (
                response(
                    BINDING_SUCCESS,
                    &ID,
                    &[(XOR_MAPPED_ADDRESS, xor_v4([198, 51, 100, 1], 40000))],
                )[..26]
                    .to_vec(),
                None,
            ),
            (
                response(BINDING_SUCCESS, &ID, &[(XOR_MAPPED_ADDRESS, vec![0, 1, 0])]),
                None,
            ),
            (
                response(
                    BINDING_SUCCESS,
                    &ID,
                    &[(XOR_MAPPED_ADDRESS, vec![0, 7, 0, 0, 1, 2, 3, 4])],
                ),
                None,
            ),
            (vec![0x80, 0, 0, 0], None),
            (Vec::new(), None),
        ];
        for (i, (packet, want)) in table.iter().enumerate() {
            assert_eq!(mapped_from_response(packet, &ID), *want, "case {i}");
        }
    }

    #[tokio::test]
    async fn asks_a_server_and_ignores_strangers() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let client_addr = client.local_addr().unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answer = tokio::spawn(async move {
            let mut buf = [0u8; 100];
            // Drop the first request: the client retransmits.
            let _ = server.recv_from(&mut buf).await.unwrap();
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(n, 20);
            let id: TransactionId = buf[8..20].try_into().unwrap();
            // A stranger's packet first, then the answer.
            stranger.send_to(b"not stun", from).await.unwrap();
            let IpAddr::V4(ip) = from.ip() else {
                unreachable!()
            };
            let r = response(
                BINDING_SUCCESS,
                &id,
                &[(XOR_MAPPED_ADDRESS, xor_v4(ip.octets(), from.port()))],
            );
            server.send_to(&r, from).await.unwrap();
        });
        assert_eq!(
            mapped_address(&client, server_addr).await,
            Some(client_addr)
        );
        answer.await.unwrap();
        // A dual-stack socket asks an IPv4 server.
        let dual = UdpSocket::bind("[::]:0").await.unwrap();
        let dual_port = dual.local_addr().unwrap().port();
        let v4_server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let v4_addr = v4_server.local_addr().unwrap();
        let answer = tokio::spawn(async move {
            let mut buf = [0u8; 100];
            let (_, from) = v4_server.recv_from(&mut buf).await.unwrap();
            let id: TransactionId = buf[8..20].try_into().unwrap();
            let r = response(
                BINDING_SUCCESS,
                &id,
                &[(XOR_MAPPED_ADDRESS, xor_v4([127, 0, 0, 1], from.port()))],
            );
            v4_server.send_to(&r, from).await.unwrap();
        });
        assert_eq!(
            mapped_address(&dual, v4_addr).await,
            Some(SocketAddr::from(([127, 0, 0, 1], dual_port)))
        );
        answer.await.unwrap();
        // Nobody answers: None after the retransmissions.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        assert_eq!(mapped_address(&client, silent_addr).await, None);
    }
}
