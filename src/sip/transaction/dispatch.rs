//! The endpoint task: owns the maps from transaction keys to transaction
//! tasks, dispatches inbound messages to them, starts server transactions,
//! matches CANCEL and ACK-for-2xx, and sends unmatched messages up. New
//! requests pass [`admission`](super::admission) first.

use super::admission::{Admission, Admit, ServerLimits, RETRY_AFTER_S};
use super::key::{AckKey, ClientKey, ServerKey};
use super::server::{self, ServerCtx, ServerNet};
use super::{Inbound, Incoming, ServerTransaction, Timers};
use crate::sip::headers;
use crate::sip::msg::{Method, Request, Response, SipMessage, StatusCode};
use crate::sip::transport::{Peer, Transport};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique transaction id (tells a finished transaction from a
/// newer one with the same key).
pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Requests from handles and transaction tasks to the endpoint task.
#[derive(Debug)]
pub enum Cmd {
    Client {
        key: ClientKey,
        id: u64,
        tx: mpsc::UnboundedSender<Box<Response>>,
    },
    ClientDone {
        key: ClientKey,
        id: u64,
    },
    ServerDone {
        key: ServerKey,
        id: u64,
    },
    ExpectAck {
        key: AckKey,
        id: u64,
        tx: mpsc::UnboundedSender<ServerNet>,
    },
    AckDone {
        key: AckKey,
        id: u64,
    },
}

pub struct Dispatcher {
    transport: Transport,
    timers: Timers,
    cmd: mpsc::WeakUnboundedSender<Cmd>,
    up: mpsc::UnboundedSender<Incoming>,
    clients: HashMap<ClientKey, (u64, mpsc::UnboundedSender<Box<Response>>)>,
    servers: HashMap<ServerKey, (u64, mpsc::UnboundedSender<ServerNet>)>,
    acks: HashMap<AckKey, (u64, mpsc::UnboundedSender<ServerNet>)>,
    admission: Admission,
}

impl Dispatcher {
    pub fn new(
        transport: Transport,
        timers: Timers,
        cmd: mpsc::WeakUnboundedSender<Cmd>,
        up: mpsc::UnboundedSender<Incoming>,
        limits: ServerLimits,
    ) -> Self {
        Dispatcher {
            admission: Admission::new(limits),
            transport,
            timers,
            cmd,
            up,
            clients: HashMap::new(),
            servers: HashMap::new(),
            acks: HashMap::new(),
        }
    }

    /// Runs until every handle and transaction is gone.
    pub async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut inbound: mpsc::UnboundedReceiver<Inbound>,
    ) {
        let mut inbound_open = true;
        loop {
            tokio::select! {
                // Commands first: a client transaction is registered before
                // its request is sent, so before any response to it arrives.
                biased;
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                msg = inbound.recv(), if inbound_open => match msg {
                    Some(Inbound { message, peer }) => self.inbound(message, peer),
                    None => inbound_open = false,
                },
            }
        }
        tracing::debug!("transaction layer stopped");
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Client { key, id, tx } => {
                self.clients.insert(key, (id, tx));
            }
            Cmd::ClientDone { key, id } => remove_if(&mut self.clients, &key, id),
            Cmd::ServerDone { key, id } => remove_if(&mut self.servers, &key, id),
            Cmd::ExpectAck { key, id, tx } => {
                self.acks.insert(key, (id, tx));
            }
            Cmd::AckDone { key, id } => remove_if(&mut self.acks, &key, id),
        }
    }

    fn inbound(&mut self, message: SipMessage, peer: Peer) {
        match message {
            SipMessage::Response(response) => self.response(response, peer),
            SipMessage::Request(request) => match request.method {
                Method::Ack => self.ack(request, peer),
                Method::Cancel => self.cancel(request, peer),
                _ => self.request(request, peer),
            },
        }
    }

    fn response(&mut self, response: Response, peer: Peer) {
        if let Ok(key) = ClientKey::of_response(&response) {
            if let Some((_, tx)) = self.clients.get(&key) {
                match tx.send(Box::new(response)) {
                    Ok(()) => return,
                    Err(e) => {
                        self.clients.remove(&key);
                        let _ = self.up.send(Incoming::Response {
                            response: *e.0,
                            peer,
                        });
                        return;
                    }
                }
            }
        }
        let _ = self.up.send(Incoming::Response { response, peer });
    }

    fn ack(&mut self, request: Request, peer: Peer) {
        let Some(req) = self.forward_to_server(&request, None, request.clone()) else {
            return;
        };
        if let Ok(key) = AckKey::of(&req) {
            if let Some((_, tx)) = self.acks.get(&key) {
                if tx.send(ServerNet::Request(Box::new(req.clone()))).is_ok() {
                    return;
                }
                self.acks.remove(&key);
            }
        }
        let _ = self.up.send(Incoming::Ack { request: req, peer });
    }

    /// Sends `request` to the server transaction with its key; gives it back
    /// when there is none (or it has ended).
    fn forward_to_server(
        &mut self,
        request: &Request,
        as_method: Option<Method>,
        payload: Request,
    ) -> Option<Request> {
        let Ok(key) = ServerKey::of_request(request, as_method) else {
            return Some(payload);
        };
        match self.servers.get(&key) {
            Some((_, tx)) => match tx.send(ServerNet::Request(Box::new(payload))) {
                Ok(()) => None,
                Err(e) => {
                    self.servers.remove(&key);
                    match e.0 {
                        ServerNet::Request(r) => Some(*r),
                        ServerNet::Cancel { request, .. } => Some(*request),
                    }
                }
            },
            None => Some(payload),
        }
    }

    fn cancel(&mut self, request: Request, peer: Peer) {
        // A retransmitted CANCEL goes to the CANCEL's own transaction.
        let Some(request) = self.forward_to_server(&request, None, request.clone()) else {
            return;
        };
        let invite_key = match ServerKey::of_request(&request, Some(Method::Invite)) {
            Ok(key) => key,
            Err(_) => return,
        };
        let invite_tx = self.servers.get(&invite_key).map(|(_, tx)| tx.clone());
        match invite_tx {
            Some(invite_tx) => {
                let Some(handle) = self.spawn_server(request.clone(), peer) else {
                    return;
                };
                if let Err(e) = invite_tx.send(ServerNet::Cancel {
                    request: Box::new(request.clone()),
                    cancel: handle.clone(),
                }) {
                    drop(e);
                    self.servers.remove(&invite_key);
                    let resp = headers::response_to(
                        &request,
                        StatusCode::CallTransactionDoesNotExist,
                        Some(&headers::new_tag()),
                    );
                    let _ = handle.respond(resp);
                }
            }
            None => {
                let resp = headers::response_to(
                    &request,
                    StatusCode::CallTransactionDoesNotExist,
                    Some(&headers::new_tag()),
                );
                let transport = self.transport.clone();
                tokio::spawn(async move {
                    if let Err(e) = transport.send(&SipMessage::Response(resp), &peer).await {
                        tracing::debug!(error = %e, "sending 481 to CANCEL failed");
                    }
                });
            }
        }
    }

    fn request(&mut self, request: Request, peer: Peer) {
        let Some(request) = self.forward_to_server(&request, None, request.clone()) else {
            return;
        };
        let now = tokio::time::Instant::now();
        match self
            .admission
            .check(now, peer.addr.ip(), &request.method, self.servers.len())
        {
            Admit::Yes => {}
            Admit::Drop => {
                tracing::trace!(from = %peer.addr, method = %request.method, "request dropped: over the limits");
                return;
            }
            Admit::Busy => {
                tracing::trace!(from = %peer.addr, method = %request.method, "request refused with 503: over the limits");
                let mut resp = headers::response_to(
                    &request,
                    StatusCode::ServiceUnavailable,
                    Some(&headers::new_tag()),
                );
                headers::set_header(&mut resp.headers, "Retry-After", RETRY_AFTER_S.to_string());
                let transport = self.transport.clone();
                tokio::spawn(async move {
                    if let Err(e) = transport.send(&SipMessage::Response(resp), &peer).await {
                        tracing::debug!(error = %e, "sending 503 failed");
                    }
                });
                return;
            }
        }
        let Some(handle) = self.spawn_server(request.clone(), peer) else {
            return;
        };
        let _ = self.up.send(Incoming::Request(ServerTransaction {
            request,
            peer,
            handle,
        }));
    }

    /// Starts a server transaction for `request` and registers it.
    fn spawn_server(&mut self, request: Request, peer: Peer) -> Option<super::ServerTxHandle> {
        let key = ServerKey::of_request(&request, None).ok()?;
        let cmd = self.cmd.upgrade()?;
        let id = next_id();
        let (net_tx, net_rx) = mpsc::unbounded_channel();
        let (resp_tx, resp_rx) = mpsc::unbounded_channel();
        let handle = super::ServerTxHandle { tx: resp_tx };
        let ctx = ServerCtx {
            transport: self.transport.clone(),
            timers: self.timers,
            request,
            peer,
            up: self.up.clone(),
            cmd,
            key: key.clone(),
            id,
            net: net_rx,
            net_tx: net_tx.clone(),
            responses: resp_rx,
            handle: handle.tx.downgrade(),
        };
        self.servers.insert(key, (id, net_tx));
        tokio::spawn(server::run(ctx));
        Some(handle)
    }
}

/// Removes transaction `id` from `map`. A map that a burst of calls grew
/// (13 000 transactions live after 400 calls/s) gives its table back once
/// it is down to a quarter: hash tables never shrink by themselves.
fn remove_if<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, (u64, V)>, key: &K, id: u64) {
    if map.get(key).is_some_and(|(i, _)| *i == id) {
        map.remove(key);
        if map.capacity() > MIN_SHRINK_CAPACITY && map.len() * 4 < map.capacity() {
            map.shrink_to(map.len() * 2);
        }
    }
}

/// Below this many slots a table is not worth shrinking.
const MIN_SHRINK_CAPACITY: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_grown_by_a_burst_shrinks_as_it_empties() {
        let mut map: HashMap<u32, (u64, ())> = HashMap::new();
        for k in 0..10_000 {
            map.insert(k, (u64::from(k), ()));
        }
        let grown = map.capacity();
        remove_if(&mut map, &5, 99); // another transaction's id: stays
        assert!(map.contains_key(&5));
        for k in 10..10_000 {
            remove_if(&mut map, &k, u64::from(k));
        }
        assert_eq!(map.len(), 10);
        assert!(
            map.capacity() <= MIN_SHRINK_CAPACITY,
            "{} of {grown}",
            map.capacity()
        );
        for k in 0..10 {
            assert_eq!(map.get(&k), Some(&(u64::from(k), ())));
        }
    }
}
