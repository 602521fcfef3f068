//! Binding the RTP/RTCP socket pair: an even RTP port with RTCP on the port
//! above it (RFC 3550 11), retried until a free pair is found.

use super::{MediaError, Result};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::UdpSocket;

/// Attempts before giving up on finding a free even/odd pair.
const ATTEMPTS: usize = 64;

/// Binds a socket pair `(rtp, rtcp)` on `ip`, RTP even, RTCP = RTP + 1.
pub async fn bind_pair(ip: IpAddr) -> Result<(UdpSocket, UdpSocket)> {
    for _ in 0..ATTEMPTS {
        let first = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let port = first.local_addr()?.port();
        if port % 2 == 0 {
            if port == u16::MAX - 1 {
                continue;
            }
            if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
                return Ok((first, rtcp));
            }
        } else if let Ok(rtp) = UdpSocket::bind(SocketAddr::new(ip, port - 1)).await {
            return Ok((rtp, first));
        }
    }
    Err(MediaError::Io(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free even/odd RTP/RTCP port pair",
    )))
}

/// The RTCP address that goes with an RTP address (port + 1).
pub fn rtcp_of(rtp: SocketAddr) -> SocketAddr {
    SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pairs_are_even_and_adjacent() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut keep = Vec::new();
        for _ in 0..5 {
            let (rtp, rtcp) = bind_pair(ip).await.unwrap();
            let p = rtp.local_addr().unwrap().port();
            assert_eq!(p % 2, 0);
            assert_eq!(rtcp.local_addr().unwrap().port(), p + 1);
            keep.push((rtp, rtcp));
        }
        assert_eq!(
            rtcp_of("127.0.0.1:4000".parse().unwrap()),
            "127.0.0.1:4001".parse::<SocketAddr>().unwrap()
        );
    }
}
