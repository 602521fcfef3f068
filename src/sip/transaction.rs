//! The RFC 3261 §17 transaction layer (with RFC 6026's Accepted state):
//! INVITE and non-INVITE client and server transactions, timers A–K,
//! retransmission absorption, ACK for non-2xx, 2xx retransmission until ACK,
//! CANCEL matching. Runs one task per transaction; knows nothing of dialogs.
//!
//! Use: bind a [`Transport`], hand it and its inbound stream to
//! [`Endpoint::start`], then read [`Incoming`] events. New requests arrive as
//! [`Incoming::Request`] with a [`ServerTxHandle`] to answer through (the
//! layer already sent `100 Trying` for an INVITE; responses go back to the
//! source address and port, RFC 3581). Send requests with
//! [`Endpoint::send_request`] (top Via with a fresh branch, e.g.
//! `transport.via_to(&peer, &new_branch())`) and read the responses from the
//! [`ClientTransaction`]. The ACK for a 2xx is the dialog's business: send it
//! with [`Endpoint::send_stateless`]. An ACK that matches no transaction
//! (including late ones) is passed up as [`Incoming::Ack`]. New requests
//! beyond the [`ServerLimits`] (live transactions, requests per source per
//! second) are dropped, or for an INVITE answered 503 with Retry-After.

pub mod admission;
mod client;
mod dispatch;
mod key;
mod server;

use super::msg::{Request, Response, SipMessage};
use super::transport::{Inbound, Peer, Transport};
use super::{Result, SipError};
pub use admission::ServerLimits;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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
pub struct ServerTxHandle {
    tx: mpsc::UnboundedSender<Box<Reply>>,
}

/// A response from the transaction user to its server transaction, and
/// who waits to hear that it has been handed to the transport.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) response: Response,
    pub(crate) sent: Option<oneshot::Sender<()>>,
}

impl ServerTxHandle {
    /// Sends a response (provisional or final) through the transaction.
    /// Errors with [`SipError::Closed`] once the transaction has ended.
    /// When every handle is dropped before a final response, the layer
    /// answers `500` itself.
    pub fn respond(&self, response: Response) -> Result<()> {
        self.tx
            .send(Box::new(Reply {
                response,
                sent: None,
            }))
            .map_err(|_| SipError::Closed)
    }

    /// [`ServerTxHandle::respond`], resolving once the transaction has
    /// handed the response to the transport: a response of another
    /// transaction sent after this returns leaves after it (each
    /// transaction is a task of its own, so two responses given one after
    /// the other may otherwise leave in either order). Errors with
    /// [`SipError::Closed`] when the transaction ended without sending it.
    pub async fn respond_in_order(&self, response: Response) -> Result<()> {
        let (sent, done) = oneshot::channel();
        self.tx
            .send(Box::new(Reply {
                response,
                sent: Some(sent),
            }))
            .map_err(|_| SipError::Closed)?;
        done.await.map_err(|_| SipError::Closed)
    }

    /// Whether the transaction has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A client transaction: yields the responses to one request.
#[derive(Debug)]
pub struct ClientTransaction {
    rx: mpsc::UnboundedReceiver<Box<Response>>,
}

impl ClientTransaction {
    /// Next response (provisional or final). Timer B/F firing yields a
    /// synthesized 408, a transport error a synthesized 503. `None` after the final.
    /// (After a 2xx to an INVITE, retransmitted 2xx keep coming for 64*T1.)
    pub async fn next_response(&mut self) -> Option<Response> {
        self.rx.recv().await.map(|r| *r)
    }
}

/// Handle to the transaction layer (cheap to clone).
#[derive(Clone, Debug)]
pub struct Endpoint {
    inner: Arc<EndpointInner>,
}

#[derive(Debug)]
struct EndpointInner {
    transport: Transport,
    timers: Timers,
    cmd: mpsc::UnboundedSender<dispatch::Cmd>,
}

impl Endpoint {
    /// Starts the layer over a bound transport and its inbound stream, with
    /// the default [`ServerLimits`].
    pub fn start(
        transport: Transport,
        inbound: mpsc::UnboundedReceiver<Inbound>,
        timers: Timers,
    ) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
        Self::start_with(transport, inbound, timers, ServerLimits::default())
    }

    /// Starts the layer; new requests beyond `limits` are dropped (INVITE:
    /// answered 503 with Retry-After).
    pub fn start_with(
        transport: Transport,
        inbound: mpsc::UnboundedReceiver<Inbound>,
        timers: Timers,
        limits: ServerLimits,
    ) -> (Endpoint, mpsc::UnboundedReceiver<Incoming>) {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        let dispatcher =
            dispatch::Dispatcher::new(transport.clone(), timers, cmd_tx.downgrade(), up_tx, limits);
        tokio::spawn(dispatcher.run(cmd_rx, inbound));
        let inner = EndpointInner {
            transport,
            timers,
            cmd: cmd_tx,
        };
        (
            Endpoint {
                inner: Arc::new(inner),
            },
            up_rx,
        )
    }

    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The timer values in use.
    pub fn timers(&self) -> Timers {
        self.inner.timers
    }

    /// Sends `request` (top Via with branch already set by the caller) in a
    /// new client transaction.
    pub async fn send_request(&self, request: Request, peer: Peer) -> Result<ClientTransaction> {
        if request.method == super::msg::Method::Ack {
            return Err(SipError::Parse(
                "an ACK has no client transaction: use send_stateless".into(),
            ));
        }
        let key = key::ClientKey::of_request(&request)?;
        let (net_tx, net_rx) = mpsc::unbounded_channel();
        let (tu_tx, tu_rx) = mpsc::unbounded_channel();
        let id = dispatch::next_id();
        // Registered before the request leaves, so no response can miss it.
        self.inner
            .cmd
            .send(dispatch::Cmd::Client {
                key: key.clone(),
                id,
                tx: net_tx,
            })
            .map_err(|_| SipError::Closed)?;
        let ctx = client::ClientCtx {
            transport: self.inner.transport.clone(),
            timers: self.inner.timers,
            request,
            peer,
            tu: Some(tu_tx),
            net: net_rx,
            cmd: self.inner.cmd.clone(),
            key,
            id,
        };
        tokio::spawn(ctx.run());
        Ok(ClientTransaction { rx: tu_rx })
    }

    /// Sends a message outside any transaction (ACK for 2xx, stateless replies).
    pub async fn send_stateless(&self, message: SipMessage, peer: &Peer) -> Result<()> {
        self.inner.transport.send(&message, peer).await
    }
}

#[cfg(test)]
mod admission_tests;
#[cfg(test)]
mod net_tests;
#[cfg(test)]
mod tests;
