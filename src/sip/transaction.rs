//! The RFC 3261 §17 transaction layer (with RFC 6026's Accepted state):
//! INVITE and non-INVITE client and server transactions, timers A–K,
//! retransmission absorption, ACK for non-2xx, 2xx retransmission until ACK,
//! CANCEL matching. Runs one task per transaction; knows nothing of dialogs.

use super::msg::{Request, Response};
use super::transport::{Inbound, Peer, Transport};
use super::Result;
use std::time::Duration;
use tokio::sync::mpsc;

/// RFC 3261 timer base values.
#[derive(Debug, Clone, Copy)]
pub struct Timers {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// What the transaction layer hands up to the transaction user.
#[derive(Debug)]
pub enum Incoming {
    /// A new request (not ACK, retransmissions absorbed).
    Request(ServerTransaction),
    /// An ACK for a 2xx (end-to-end, no transaction).
    Ack { request: Request, peer: Peer },
    /// A CANCEL matched the INVITE server transaction `invite`; the layer
    /// already answered 200 to the CANCEL. The TU answers 487 to the INVITE.
    Cancel {
        request: Request,
        invite: ServerTxHandle,
    },
    /// A response that matches no client transaction (e.g. a 2xx retransmission).
    Response { response: Response, peer: Peer },
    /// A 2xx to an INVITE was never ACKed within 64*T1 (call id given).
    AckTimeout { call_id: String },
}

/// A server transaction: the request and the handle to answer it.
#[derive(Debug)]
pub struct ServerTransaction {
    pub request: Request,
    pub peer: Peer,
    pub handle: ServerTxHandle,
}

/// Answers a server transaction (cheap to clone).
#[derive(Debug, Clone)]
pub struct ServerTxHandle {}

impl ServerTxHandle {
    /// Sends a response (provisional or final) through the transaction.
    pub fn respond(&self, response: Response) -> Result<()> {
        let _ = response;
        todo!()
    }
}

/// A client transaction: yields the responses to one request.
#[derive(Debug)]
pub struct ClientTransaction {}

impl ClientTransaction {
    /// Next response (provisional or final). Timer B/F firing yields a
    /// synthesized 408, a transport error a synthesized 503. `None` after the final.
    pub async fn next_response(&mut self) -> Option<Response> {
        todo!()
    }
}

/// Handle to the transaction layer (cheap to clone).
#[derive(Clone, Debug)]
pub struct Endpoint {}

impl Endpoint {
    /// Starts the layer over a bound transport and its inbound stream.
    pub fn start(
        transport: Transport,
        inbound: mpsc::UnboundedReceiver<Inbound>,
        timers: Timers,
    ) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
        let _ = (transport, inbound, timers);
        todo!()
    }

    pub fn transport(&self) -> &Transport {
        todo!()
    }

    /// Sends `request` (top Via with branch already set by the caller) in a
    /// new client transaction.
    pub async fn send_request(&self, request: Request, peer: Peer) -> Result<ClientTransaction> {
        let _ = (request, peer);
        todo!()
    }

    /// Sends a message outside any transaction (ACK for 2xx, stateless replies).
    pub async fn send_stateless(&self, message: super::msg::SipMessage, peer: &Peer) -> Result<()> {
        let _ = (message, peer);
        todo!()
    }
}
