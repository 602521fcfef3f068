//! REGISTER client (RFC 3261 §10): one task per account that registers,
//! answers digest challenges, refreshes before expiry, honours 423
//! Interval Too Brief, backs off after failures, does not loop on a wrong
//! password, and unregisters when cancelled. Reports its status on a channel.
//! Each REGISTER (first and refresh) resolves the next hop afresh
//! (RFC 3263, [`super::dns`]) and moves to the next target when one does not
//! answer; a DNS failure is a failure like any other, retried with back-off.
//!
//! Behind a NAT (RFC 3581): each answer's top Via tells the address the
//! registrar saw us at ([`super::address::nat`]); when that is a public address other
//! than ours, or it changes, the task remembers it in the transport, at once
//! registers again with a Contact naming it and removes the binding of the
//! old Contact. While a NAT is seen it sends keep-alives (`keepalive.rs`) that
//! hold the NAT's binding open and notice a new mapping. When the host's own
//! address toward the registrar changes (`addr_watch.rs`), it registers
//! again from the new one at once, removing the old Contact's binding.

mod addr_watch;
mod keepalive;

use super::address::nat;
use super::auth::{Credentials, DigestState};
use super::dns::{self, Resolver};
use super::message::{self as m, add_header, set_body};
use super::msg::{Method, Request, Response};
use super::transaction::Endpoint;
use super::transport::Peer;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What one account registers.
#[derive(Debug, Clone)]
pub struct RegistrationConfig {
    /// Account name (for the status reports).
    pub account: String,
    /// Address of record, e.g. `sip:1001@test.local`.
    pub aor: String,
    /// Request-URI of the REGISTER, e.g. `sip:test.local`.
    pub registrar_uri: String,
    /// Where to send it (outbound proxy or the registrar itself), as a SIP
    /// URI resolved before each REGISTER.
    pub next_hop: String,
    pub resolver: Resolver,
    /// The outbound proxy URI, put in a `Route` header ([`super::route`]).
    pub proxy: Option<String>,
    pub credentials: Option<Credentials>,
    pub expires: u32,
    /// Seconds between keep-alives while a NAT is seen (0: none).
    pub keepalive_s: u32,
}

/// The state of one registration.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationStatus {
    pub account: String,
    pub registered: bool,
    /// Granted lifetime in seconds (0 when not registered).
    pub expires: u32,
    /// Why it is not registered, in words (e.g. "401 wrong password").
    pub reason: Option<String>,
    /// The address our REGISTERs name (Via sent-by and Contact): the one
    /// that routes to the registrar when listening on the wildcard.
    pub local: std::net::SocketAddr,
    /// The public address (`received`/`rport`) the registrar sees us at,
    /// when that differs from `local` (we are behind a NAT): what our
    /// Contact names.
    pub public: Option<std::net::SocketAddr>,
}

/// Back-off after a failure: 2, 4, 8 … seconds, at most 5 minutes.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs((1u64 << failures.min(8)).clamp(2, 300))
}

/// Registrations again at once in a row for a changed address, at most.
const MAX_MOVES: u32 = 3;

/// After a rejected password, wait this long before trying again (no loop).
pub const AUTH_FAILURE_RETRY: Duration = Duration::from_secs(600);

/// When to refresh a registration granted for `expires` seconds.
pub fn refresh_after(expires: u32) -> Duration {
    let e = expires as u64;
    let secs = if e > 60 {
        e * 85 / 100
    } else {
        e.saturating_sub(5).max(e / 2)
    };
    Duration::from_secs(secs.max(1))
}

struct Registrar {
    endpoint: Endpoint,
    cfg: RegistrationConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestState,
    status: mpsc::UnboundedSender<RegistrationStatus>,
    /// The target the current exchange goes to.
    peer: Option<Peer>,
    /// A Contact address registered before the NAT's mapping was learned or
    /// changed: the next REGISTER removes its binding.
    stale_contact: Option<std::net::SocketAddr>,
}

enum Outcome {
    Registered(u32),
    /// Registered, but the registrar sees us at another address than the
    /// Contact named: register again at once with the new one.
    Moved,
    /// Try again after the given time.
    Failed(String, Option<Duration>),
    /// The target did not answer (timeout or transport error): try the next.
    NoAnswer,
}

impl Registrar {
    fn build(&mut self, expires: u32, peer: Peer) -> Result<Request, super::SipError> {
        self.cseq += 1;
        let transport = self.endpoint.transport();
        let local = transport.local_addr_for(peer.addr);
        let contact = transport.contact_addr_for(&peer);
        let ids = m::OutOfDialog {
            uri: &self.cfg.registrar_uri,
            from: &self.cfg.aor,
            from_tag: &self.from_tag,
            to: &self.cfg.aor,
            call_id: &self.call_id,
            cseq: self.cseq,
        };
        let mut req = m::out_of_dialog(Method::Register, ids, local, peer.protocol)?;
        let h = &mut req.headers;
        super::route::add_proxy_route(h, self.cfg.proxy.as_deref());
        add_header(
            h,
            "Contact",
            contact_for(&self.cfg.aor, contact, peer.protocol),
        );
        if let Some(old) = self.stale_contact.filter(|old| *old != contact) {
            let old = contact_for(&self.cfg.aor, old, peer.protocol);
            add_header(h, "Contact", format!("{old};expires=0"));
        }
        add_header(h, "Expires", expires.to_string());
        add_header(h, "Allow", super::ALLOW);
        set_body(h, &mut req.body, None, Vec::new());
        Ok(req)
    }

    /// One REGISTER: the next hop resolved, then its targets in order until
    /// one answers.
    async fn register(&mut self, expires: u32) -> Outcome {
        let targets = match self.cfg.resolver.resolve(&self.cfg.next_hop).await {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(e.to_string(), None),
        };
        let mut tls_failure = None;
        for peer in targets {
            match self.exchange(expires, peer).await {
                Outcome::NoAnswer => {
                    tracing::info!(account = %self.cfg.account, peer = %peer.addr, "registrar did not answer; trying the next target");
                    let tls = self.endpoint.transport().tls();
                    // The last target's reason: it was tried after the others failed.
                    if let Some(reason) = tls.and_then(|t| t.failure(peer.addr)) {
                        tls_failure = Some(reason);
                    }
                }
                outcome => return outcome,
            }
        }
        Outcome::Failed(
            tls_failure.unwrap_or_else(|| "registrar did not answer".into()),
            None,
        )
    }

    /// Unregisters where the last registration went.
    async fn unregister(&mut self) -> Outcome {
        match self.peer {
            Some(peer) => self.exchange(0, peer).await,
            None => Outcome::NoAnswer,
        }
    }

    /// One REGISTER exchange with `peer` including digest challenges and 423.
    async fn exchange(&mut self, mut expires: u32, peer: Peer) -> Outcome {
        self.peer = Some(peer);
        let mut req = match self.build(expires, peer) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(e.to_string(), Some(AUTH_FAILURE_RETRY)),
        };
        let mut challenged = 0;
        let mut brief = 0;
        loop {
            let resp = match self.send(req.clone(), peer).await {
                Some(r) if !dns::fails_over(&r) => r,
                _ => return Outcome::NoAnswer,
            };
            let code = m::code(&resp);
            match code {
                200..=299 => {
                    if expires > 0 {
                        self.stale_contact = None;
                        if self.learn(&resp, peer) {
                            return Outcome::Moved;
                        }
                    }
                    return Outcome::Registered(granted(&resp, expires));
                }
                401 | 407 => {
                    let Some(creds) = self.cfg.credentials.clone() else {
                        return Outcome::Failed(
                            format!("{code} authentication required, no password configured"),
                            Some(AUTH_FAILURE_RETRY),
                        );
                    };
                    let stale = m::header(&resp.headers, "WWW-Authenticate")
                        .or_else(|| m::header(&resp.headers, "Proxy-Authenticate"))
                        .and_then(|v| m::param(&format!(";{}", v.replace(',', ";")), "stale"))
                        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
                    challenged += 1;
                    if challenged > 1 && !stale || challenged > 3 {
                        return Outcome::Failed(
                            format!("{code} wrong password"),
                            Some(AUTH_FAILURE_RETRY),
                        );
                    }
                    match self.digest.authorize(&req, &resp, &creds) {
                        Ok(r) => {
                            req = r;
                            self.cseq = m::cseq(&req.headers)
                                .map(|(n, _)| n)
                                .unwrap_or(self.cseq + 1);
                        }
                        Err(e) => return Outcome::Failed(e.to_string(), Some(AUTH_FAILURE_RETRY)),
                    }
                }
                423 if brief < 2 => {
                    brief += 1;
                    let min = m::header(&resp.headers, "Min-Expires")
                        .and_then(|v| v.trim().parse::<u32>().ok())
                        .unwrap_or(expires.saturating_mul(2));
                    expires = min.max(expires);
                    self.cfg.expires = expires;
                    // Keep the credentials: rebuild and re-authorize on the next challenge.
                    let auth_headers: Vec<_> = req
                        .headers
                        .iter()
                        .filter(|h| {
                            m::is_header(h, "Authorization")
                                || m::is_header(h, "Proxy-Authorization")
                        })
                        .cloned()
                        .collect();
                    match self.build(expires, peer) {
                        Ok(mut r) => {
                            for h in auth_headers {
                                r.headers.push(h);
                            }
                            req = r;
                        }
                        Err(e) => return Outcome::Failed(e.to_string(), None),
                    }
                }
                403 => {
                    return Outcome::Failed(
                        format!("{} (wrong user or password)", m::status_text(&resp)),
                        Some(AUTH_FAILURE_RETRY),
                    )
                }
                _ => return Outcome::Failed(m::status_text(&resp), None),
            }
        }
    }

    async fn send(&mut self, req: Request, peer: Peer) -> Option<Response> {
        let mut tx = match self.endpoint.send_request(req, peer).await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::debug!(account = %self.cfg.account, "REGISTER not sent: {e}");
                return None;
            }
        };
        while let Some(resp) = tx.next_response().await {
            if m::code(&resp) >= 200 {
                return Some(resp);
            }
        }
        None
    }

    /// Reads what `resp` (from `peer`) says about a NAT on the way and
    /// remembers it in the transport. True when the Contact must change:
    /// the one just registered then goes as stale.
    fn learn(&mut self, resp: &Response, peer: Peer) -> bool {
        let transport = self.endpoint.transport();
        // Over TCP the server sees our connection's end, not our listener.
        let local = match peer.protocol {
            super::transport::Protocol::Tcp => match transport.connection_local_addr(&peer) {
                Some(end) => end,
                None => return false,
            },
            _ => transport.local_addr_for(peer.addr),
        };
        let registered = transport.contact_addr_for(&peer);
        let public = transport.public_addr(&peer);
        let seen = nat::top_via(&resp.headers).and_then(nat::observed);
        let addr = match nat::learn(local, public, seen, peer.protocol) {
            nat::Learned::Same => return false,
            nat::Learned::NoNat => None,
            nat::Learned::Public { addr, .. } => Some(addr),
        };
        tracing::info!(account = %self.cfg.account, %local, public = ?addr, before = ?public, "registrar sees us at a new address; registering again");
        self.stale_contact = Some(registered);
        transport.set_public_addr(&peer, addr);
        true
    }

    fn report(&self, registered: bool, expires: u32, reason: Option<String>) {
        let transport = self.endpoint.transport();
        let _ = self.status.send(RegistrationStatus {
            account: self.cfg.account.clone(),
            registered,
            expires,
            reason,
            local: match &self.peer {
                Some(p) => transport.local_addr_for(p.addr),
                None => transport.local_addr(),
            },
            public: self.peer.and_then(|p| transport.public_addr(&p)),
        });
    }

    /// After the `losses`-th closing in a row of the connection to the
    /// registrar: waits its back-off before registering on a new one.
    /// False when cancelled meanwhile.
    async fn pause_after_loss(&self, losses: u32, cancel: &CancellationToken) -> bool {
        let pause = backoff(losses);
        tracing::info!(account = %self.cfg.account, "connection to the registrar closed; registering again in {}s", pause.as_secs());
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }

    async fn run(mut self, cancel: CancellationToken) {
        let mut failures = 0u32;
        let mut moves = 0u32;
        let mut last_reported: Option<(bool, Option<String>)> = None;
        let mut closed = self.endpoint.transport().tls().map(|t| t.closed());
        let mut losses = 0u32;
        loop {
            let outcome = tokio::select! {
                _ = cancel.cancelled() => break,
                o = self.register(self.cfg.expires) => o,
            };
            let outcome = match outcome {
                // A registrar that sees a new address at every answer is
                // not followed for ever.
                Outcome::Moved if moves >= MAX_MOVES => Outcome::Registered(self.cfg.expires),
                o => o,
            };
            let wait = match outcome {
                Outcome::Moved => {
                    moves += 1;
                    continue;
                }
                Outcome::Registered(expires) => {
                    failures = 0;
                    moves = 0;
                    tracing::info!(account = %self.cfg.account, expires, "registered");
                    self.report(true, expires, None);
                    last_reported = Some((true, None));
                    let wait = refresh_after(expires);
                    // Keep-alives until the refresh; a new mapping, a
                    // silent registrar or a new address of ours brings the
                    // refresh forward.
                    // A closed TLS connection to the registrar, too: the
                    // server reaches us only over one we opened.
                    let moved = self.address_moved();
                    let peer = self.peer;
                    let lost = tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = self.keep_alive(wait) => false,
                        old = moved => {
                            self.stale_contact = Some(old);
                            false
                        }
                        _ = connection_lost(&mut closed, peer) => true,
                    };
                    if !lost {
                        losses = 0;
                    } else {
                        losses += 1;
                        if !self.pause_after_loss(losses, &cancel).await {
                            break;
                        }
                    }
                    continue;
                }
                failed => {
                    let (reason, retry) = match failed {
                        Outcome::Failed(reason, retry) => (reason, retry),
                        _ => ("registrar did not answer".to_string(), None),
                    };
                    failures += 1;
                    let wait = retry.unwrap_or_else(|| backoff(failures));
                    let state = (false, Some(reason.clone()));
                    if last_reported.as_ref() != Some(&state) {
                        tracing::warn!(account = %self.cfg.account, "registration failed: {reason}; retry in {}s", wait.as_secs());
                        self.report(false, 0, Some(reason));
                        last_reported = Some(state);
                    }
                    wait
                }
            };
            let lost = tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => false,
                _ = connection_lost(&mut closed, self.peer) => true,
            };
            if !lost {
                losses = 0;
                continue;
            }
            // The server is reachable for incoming requests only over the
            // connection we opened: open one again and register on it soon.
            losses += 1;
            if !self.pause_after_loss(losses, &cancel).await {
                break;
            }
        }
        if matches!(last_reported, Some((true, _))) {
            // Unregister, but do not hang shutdown on a dead registrar.
            let _ = tokio::time::timeout(Duration::from_secs(3), self.unregister()).await;
            self.report(false, 0, Some("unregistered".into()));
        }
    }
}

/// Resolves when the TLS connection to `peer` closes; never for other
/// transports (their requests need no connection of ours).
async fn connection_lost(
    closed: &mut Option<tokio::sync::broadcast::Receiver<std::net::SocketAddr>>,
    peer: Option<Peer>,
) {
    match (closed, peer) {
        (Some(rx), Some(peer)) if peer.protocol == super::transport::Protocol::Tls => {
            super::transport::tls::closed_to(rx, peer.addr).await
        }
        _ => std::future::pending().await,
    }
}

/// Our Contact for an address of record.
pub fn contact_for(
    aor: &str,
    local: std::net::SocketAddr,
    protocol: super::transport::Protocol,
) -> String {
    let user = super::uri::user(aor).unwrap_or("termphone");
    let transport = match protocol {
        super::transport::Protocol::Udp => "",
        super::transport::Protocol::Tcp => ";transport=tcp",
        super::transport::Protocol::Tls => ";transport=tls",
    };
    format!("<sip:{user}@{local}{transport}>")
}

/// The lifetime the registrar granted: our Contact's `expires`, else the
/// Expires header, else what we asked for.
fn granted(resp: &Response, asked: u32) -> u32 {
    let from_contact = m::headers_all(&resp.headers, "Contact")
        .into_iter()
        .flat_map(|v| v.split(','))
        .find_map(|c| m::param(c, "expires").and_then(|e| e.parse::<u32>().ok()));
    from_contact
        .or_else(|| m::header(&resp.headers, "Expires").and_then(|e| e.trim().parse().ok()))
        .unwrap_or(asked)
}

/// Starts the registration task for one account.
pub fn spawn(
    endpoint: Endpoint,
    cfg: RegistrationConfig,
    status: mpsc::UnboundedSender<RegistrationStatus>,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let reg = Registrar {
        endpoint,
        call_id: m::new_call_id(),
        from_tag: m::new_tag(),
        cseq: 0,
        digest: DigestState::default(),
        status,
        peer: None,
        stale_contact: None,
        cfg,
    };
    tokio::spawn(reg.run(cancel))
}

#[cfg(test)]
mod nat_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_and_backoff() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3060));
        assert_eq!(refresh_after(60), Duration::from_secs(55));
        assert_eq!(refresh_after(10), Duration::from_secs(5));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(30), Duration::from_secs(256));
    }
}
