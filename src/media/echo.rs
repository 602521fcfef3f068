//! The echo reflector: the far end of the built-in `echo` target. Every RTP
//! packet goes back to where it came from, and RTCP likewise on port + 1.
//! The task ends when the reflector is dropped.

use super::sockets::bind_pair;
use super::Result;
use std::net::SocketAddr;
use tokio::net::UdpSocket;
use tokio::task::AbortHandle;

/// A running reflector; dropping it stops it.
#[derive(Debug)]
pub struct Reflector {
    addr: SocketAddr,
    task: AbortHandle,
}

impl Reflector {
    pub async fn start(ip: std::net::IpAddr) -> Result<Reflector> {
        let (rtp, rtcp) = bind_pair(ip).await?;
        let addr = rtp.local_addr()?;
        let task = tokio::spawn(reflect(rtp, rtcp)).abort_handle();
        Ok(Reflector { addr, task })
    }

    pub fn rtp_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn reflect(rtp: UdpSocket, rtcp: UdpSocket) {
    let mut a = vec![0u8; 2048];
    let mut b = vec![0u8; 2048];
    loop {
        tokio::select! {
            r = rtp.recv_from(&mut a) => {
                if let Ok((n, from)) = r {
                    let _ = rtp.send_to(&a[..n], from).await;
                }
            }
            r = rtcp.recv_from(&mut b) => {
                if let Ok((n, from)) = r {
                    let _ = rtcp.send_to(&b[..n], from).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reflects_and_stops_when_dropped() {
        let ip = "127.0.0.1".parse().unwrap();
        let r = Reflector::start(ip).await.unwrap();
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.send_to(b"hello", r.rtp_addr()).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) =
            tokio::time::timeout(std::time::Duration::from_secs(2), s.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from, r.rtp_addr());
        let addr = r.rtp_addr();
        drop(r);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // The port is free again once the task is gone.
        assert!(UdpSocket::bind(addr).await.is_ok());
    }
}
