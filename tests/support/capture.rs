//! A capture of the UDP datagrams that cross the host's interfaces (an
//! `AF_PACKET` socket, so root, as the CI has), for checking what media
//! went over the wire: [`Capture::start`] before the call, [`Capture::stop`]
//! after it; [`rtp_of`] picks one direction of a call's RTP, and
//! [`pcmu_tone_share`] reads the payloads as G.711 µ-law audio. Only IPv4
//! UDP is kept. Each capture reads in a thread of its own.

use super::tone::tone_share;
use rustix::net::{eth, recv, socket, AddressFamily, RecvFlags, SocketType};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// At most this many datagrams are kept (the host may carry other traffic).
const MAX_KEPT: usize = 200_000;

/// One captured UDP datagram.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: Vec<u8>,
}

/// A running capture.
pub struct Capture {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Datagram>>,
}

impl Capture {
    /// Starts capturing. Panics with the reason when the packet socket
    /// cannot be opened (not root).
    pub fn start() -> Capture {
        let fd =
            socket(AddressFamily::PACKET, SocketType::DGRAM, Some(eth::IP)).unwrap_or_else(|e| {
                panic!("cannot open a packet socket to capture RTP (needs root, as in CI): {e}")
            });
        rustix::net::sockopt::set_socket_timeout(
            &fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(Duration::from_millis(100)),
        )
        .expect("SO_RCVTIMEO on the packet socket");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = vec![0u8; 65536];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((n, _)) = recv(&fd, &mut buf, RecvFlags::empty()) else {
                    continue;
                };
                if let Some(d) = udp_of(&buf[..n]) {
                    if kept.len() < MAX_KEPT {
                        kept.push(d);
                    }
                }
            }
            kept
        });
        Capture { stop, thread }
    }

    /// Stops capturing; what was captured, in order.
    pub fn stop(self) -> Vec<Datagram> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("capture thread")
    }
}

/// The UDP datagram in an IPv4 packet.
fn udp_of(ip: &[u8]) -> Option<Datagram> {
    if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0F) * 4;
    let udp = ip.get(ihl..)?;
    if udp.len() < 8 {
        return None;
    }
    let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let port = |at: usize| u16::from_be_bytes([udp[at], udp[at + 1]]);
    let len = usize::from(port(4)).clamp(8, udp.len());
    Some(Datagram {
        src: SocketAddr::V4(SocketAddrV4::new(addr(12), port(0))),
        dst: SocketAddr::V4(SocketAddrV4::new(addr(16), port(2))),
        payload: udp[8..len].to_vec(),
    })
}

/// The RTP datagrams (version 2, not RTCP) sent from `from` (when
/// `Some`) to `to` (when `Some`), each once (loopback shows a datagram as
/// sent and as received).
pub fn rtp_of(
    captured: &[Datagram],
    from: Option<SocketAddr>,
    to: Option<SocketAddr>,
) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for d in captured {
        let p = &d.payload;
        let rtp = p.len() >= 12 && p[0] >> 6 == 2 && !(200..=207).contains(&p[1]);
        let ends = from.is_none_or(|a| d.src == a) && to.is_none_or(|a| d.dst == a);
        if ends && rtp && out.last() != Some(p) {
            out.push(p.clone());
        }
    }
    out
}

/// µ-law to linear (G.711).
fn ulaw_to_linear(u: u8) -> f64 {
    let u = !u;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    f64::from(if sign != 0 { -magnitude } else { magnitude }) / 32768.0
}

/// The share of `freq` in the packets' payloads (after the 12-byte header)
/// read as µ-law audio in a row: near 1 for plain PCMU RTP of that tone,
/// near 0 for encrypted payloads.
pub fn pcmu_tone_share(packets: &[Vec<u8>], freq: f64) -> f64 {
    let samples: Vec<f64> = packets
        .iter()
        .flat_map(|p| p[12.min(p.len())..].iter().map(|b| ulaw_to_linear(*b)))
        .collect();
    tone_share(&samples, 8000, freq)
}
