//! SIP transport: UDP and TCP sockets bound on one address (IPv4 or IPv6),
//! TCP stream framing by Content-Length, CRLF keep-alive, and the answer 400 /
//! drop policy for malformed input. Knows nothing about transactions.

use super::msg::SipMessage;
use super::Result;
use std::net::SocketAddr;
use tokio::sync::mpsc;

/// Transport protocol of a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Udp,
    Tcp,
}

/// The far end of a hop: where a message came from or is to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub protocol: Protocol,
    pub addr: SocketAddr,
}

/// A message received from the network, already parsed.
#[derive(Debug)]
pub struct Inbound {
    pub message: SipMessage,
    pub peer: Peer,
}

/// Handle to the transport (cheap to clone).
#[derive(Clone, Debug)]
pub struct Transport {}

impl Transport {
    /// Binds UDP and TCP on `listen` (port 0: one free port that both get).
    pub async fn bind(listen: SocketAddr) -> Result<(Transport, mpsc::UnboundedReceiver<Inbound>)> {
        let _ = listen;
        todo!()
    }

    /// The bound address (same port for UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        todo!()
    }

    /// Sends a message to `peer` (TCP: reuses the connection it came on or
    /// opens one).
    pub async fn send(&self, message: &SipMessage, peer: &Peer) -> Result<()> {
        let _ = (message, peer);
        todo!()
    }
}
