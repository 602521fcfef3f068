//! A STUN Binding asked on a running session's RTP socket: where a NAT
//! maps that socket now (after the host's address moved, the mapping is a
//! new one). The session sends the request on its 20 ms clock and hands
//! every datagram from the server to [`StunProbe::answer`] before its RTP
//! checks; the pure part here decides when to send again and what counts
//! as the answer (over [`crate::media::stun`]). Must not touch the RTP
//! receive path, latching or statistics: a datagram that is the answer
//! never reaches them, every other one does.

use crate::media::stun::{self, TransactionId};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// When each try is sent, after the question came (three tries, the
/// waits of [`stun::mapped_address`]: 0.25, 0.5, 1 s), and when it gives up.
const SEND_AT: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(250),
    Duration::from_millis(750),
];
const GIVE_UP: Duration = Duration::from_millis(1750);

/// What the probe wants at a tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// Send this request to the server.
    Send(Vec<u8>, SocketAddr),
    /// Nothing now.
    Wait,
    /// No answer came: tell the asker `None`.
    GaveUp,
}

/// One question to a STUN server, asked from the session's RTP socket.
pub struct StunProbe {
    server: SocketAddr,
    id: TransactionId,
    asked: Instant,
    sent: usize,
    reply: oneshot::Sender<Option<SocketAddr>>,
}

impl StunProbe {
    /// A question to `server` from a socket bound on `local` (an IPv4
    /// server seen through a dual-stack socket is its mapped address).
    pub fn new(
        server: SocketAddr,
        local: Option<SocketAddr>,
        reply: oneshot::Sender<Option<SocketAddr>>,
        now: Instant,
    ) -> StunProbe {
        let server = match (local, server) {
            (Some(l), SocketAddr::V4(v4)) if l.is_ipv6() => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            _ => server,
        };
        StunProbe {
            server,
            id: rand::random(),
            asked: now,
            sent: 0,
            reply,
        }
    }

    /// What to do at `now`.
    pub fn due(&mut self, now: Instant) -> Due {
        let since = now.saturating_duration_since(self.asked);
        match SEND_AT.get(self.sent) {
            Some(at) if since >= *at => {
                self.sent += 1;
                Due::Send(stun::binding_request(&self.id), self.server)
            }
            None if since >= GIVE_UP => Due::GaveUp,
            _ => Due::Wait,
        }
    }

    /// The mapped address when `packet` from `from` is the answer.
    pub fn answer(&self, packet: &[u8], from: SocketAddr) -> Option<SocketAddr> {
        if from != self.server {
            return None;
        }
        stun::mapped_from_response(packet, &self.id)
    }

    /// Tells the asker (`None`: no answer).
    pub fn finish(self, mapped: Option<SocketAddr>) {
        let _ = self.reply.send(mapped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn three_tries_then_it_gives_up() {
        let (tx, _rx) = oneshot::channel();
        let t0 = Instant::now();
        let server = sa("198.51.100.10:3478");
        let mut p = StunProbe::new(server, Some(sa("0.0.0.0:4000")), tx, t0);
        // (ms after the question, what is due)
        let table: &[(u64, &str)] = &[
            (0, "send"),
            (20, "wait"),
            (240, "wait"),
            (260, "send"),
            (500, "wait"),
            (760, "send"),
            (1000, "wait"),
            (1760, "gave up"),
        ];
        for (ms, want) in table {
            let got = match p.due(t0 + Duration::from_millis(*ms)) {
                Due::Send(req, to) => {
                    assert_eq!(to, server);
                    assert_eq!(req.len(), 20);
                    "send"
                }
                Due::Wait => "wait",
                Due::GaveUp => "gave up",
            };
            assert_eq!(got, *want, "at {ms} ms");
        }
    }

    #[test]
    fn only_the_servers_answer_to_our_transaction_counts() {
        let (tx, _rx) = oneshot::channel();
        let server = sa("198.51.100.10:3478");
        let p = StunProbe::new(server, Some(sa("0.0.0.0:4000")), tx, Instant::now());
        // A Binding success with XOR-MAPPED-ADDRESS 198.51.100.1:4000.
        let cookie = 0x2112_A442u32.to_be_bytes();
        let mut value = vec![0, 1];
        value.extend_from_slice(&(4000u16 ^ 0x2112).to_be_bytes());
        for (b, k) in [198u8, 51, 100, 1].iter().zip(cookie) {
            value.push(b ^ k);
        }
        let mut answer = vec![0x01, 0x01, 0, 12];
        answer.extend_from_slice(&cookie);
        answer.extend_from_slice(&p.id);
        answer.extend_from_slice(&[0x00, 0x20, 0, 8]);
        answer.extend_from_slice(&value);
        assert_eq!(p.answer(&answer, server), Some(sa("198.51.100.1:4000")));
        // From elsewhere, another transaction, or RTP: not the answer.
        assert_eq!(p.answer(&answer, sa("198.51.100.99:3478")), None);
        let mut other = answer.clone();
        other[8] ^= 0xff;
        assert_eq!(p.answer(&other, server), None);
        assert_eq!(p.answer(&[0x80, 0, 0, 1, 0, 0, 0, 0], server), None);
    }

    #[test]
    fn an_ipv4_server_from_a_dual_stack_socket_is_its_mapped_address() {
        let (tx, _rx) = oneshot::channel();
        let mut p = StunProbe::new(
            sa("198.51.100.10:3478"),
            Some(sa("[::]:4000")),
            tx,
            Instant::now(),
        );
        match p.due(Instant::now()) {
            Due::Send(_, to) => assert_eq!(to, sa("[::ffff:198.51.100.10]:3478")),
            other => panic!("{other:?}"),
        }
    }
}
