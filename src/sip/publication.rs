//! PUBLISH client (RFC 3903) for our own presence: one task per account
//! that publishes a PIDF document (open/closed, a note such as "Do Not
//! Disturb", an RPID busy activity), answers digest challenges, refreshes
//! with `SIP-If-Match` before expiry, publishes afresh after 412, and
//! removes the state (Expires: 0) when cleared or cancelled.

use super::auth::{Credentials, DigestState};
use super::message::{self as m, add_header, set_body};
use super::msg::{Method, Request, Response};
use super::registration::{backoff, refresh_after, AUTH_FAILURE_RETRY};
use super::subscription::pidf;
use super::transaction::Endpoint;
use super::transport::Peer;
use crate::timer::sleep_opt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Who publishes, where.
#[derive(Debug, Clone)]
pub struct PublicationConfig {
    pub account: String,
    /// Our address of record (Request-URI, From, To, PIDF entity).
    pub aor: String,
    pub peer: Peer,
    /// The outbound proxy URI, put in a `Route` header ([`super::route`]).
    pub proxy: Option<String>,
    pub credentials: Option<Credentials>,
    pub expires: u32,
}

/// The presence we publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceDoc {
    /// Basic status open (reachable) or closed.
    pub open: bool,
    pub note: Option<String>,
    /// Adds the RPID `busy` activity.
    pub busy: bool,
}

impl PresenceDoc {
    /// Available: open, no note.
    pub fn available() -> PresenceDoc {
        PresenceDoc {
            open: true,
            note: None,
            busy: false,
        }
    }

    /// Do not disturb: closed, busy, note "Do Not Disturb".
    pub fn do_not_disturb() -> PresenceDoc {
        PresenceDoc {
            open: false,
            note: Some("Do Not Disturb".into()),
            busy: true,
        }
    }

    /// The PIDF body for `entity`.
    pub fn to_pidf(&self, entity: &str) -> String {
        pidf::build(entity, self.open, self.note.as_deref(), self.busy)
    }
}

/// What the task reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationStatus {
    /// The server holds our state for `expires` seconds under `etag`.
    Published { expires: u32, etag: String },
    /// Our state was removed (cleared or shutting down); a failed removal is `Failed`
    /// with a reason starting "removal:" (the server drops the state at expiry).
    Removed,
    /// The PUBLISH failed ("489 Bad Event", "no answer", …); retried with back-off.
    Failed { reason: String },
}

/// A status report of one account's publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicationEvent {
    pub account: String,
    pub status: PublicationStatus,
}

/// Changes what a running publication task publishes.
#[derive(Debug, Clone)]
pub struct PublicationHandle {
    tx: mpsc::UnboundedSender<Option<PresenceDoc>>,
}

impl PublicationHandle {
    /// Publishes `doc` (replacing the previous one). False when the task has ended.
    pub fn set(&self, doc: PresenceDoc) -> bool {
        self.tx.send(Some(doc)).is_ok()
    }

    /// Removes our published state (Expires: 0). False when the task has ended.
    pub fn clear(&self) -> bool {
        self.tx.send(None).is_ok()
    }
}

/// Starts the publication task with `initial` published at once (`None`: nothing yet).
pub fn spawn(
    endpoint: Endpoint,
    cfg: PublicationConfig,
    initial: Option<PresenceDoc>,
    events: mpsc::UnboundedSender<PublicationEvent>,
    cancel: CancellationToken,
) -> (PublicationHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    if let Some(doc) = initial {
        let _ = tx.send(Some(doc));
    }
    let p = Publisher {
        endpoint,
        call_id: m::new_call_id(),
        from_tag: m::new_tag(),
        cseq: 0,
        digest: DigestState::default(),
        etag: None,
        doc: None,
        events,
        cfg,
    };
    (PublicationHandle { tx }, tokio::spawn(p.run(rx, cancel)))
}

struct Publisher {
    endpoint: Endpoint,
    cfg: PublicationConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestState,
    etag: Option<String>,
    doc: Option<PresenceDoc>,
    events: mpsc::UnboundedSender<PublicationEvent>,
}

enum Done {
    Published(u32),
    Failed(String, Option<Duration>),
}

impl Publisher {
    fn build(
        &mut self,
        expires: u32,
        body: Option<&PresenceDoc>,
    ) -> Result<Request, super::SipError> {
        self.cseq += 1;
        let local = self.endpoint.transport().local_addr_for(self.cfg.peer.addr);
        let ids = m::OutOfDialog {
            uri: &self.cfg.aor,
            from: &self.cfg.aor,
            from_tag: &self.from_tag,
            to: &self.cfg.aor,
            call_id: &self.call_id,
            cseq: self.cseq,
        };
        let mut req = m::out_of_dialog(Method::Publish, ids, local, self.cfg.peer.protocol)?;
        let h = &mut req.headers;
        super::route::add_proxy_route(h, self.cfg.proxy.as_deref());
        add_header(h, "Event", "presence");
        add_header(h, "Expires", expires.to_string());
        if let Some(etag) = &self.etag {
            add_header(h, "SIP-If-Match", etag.clone());
        }
        match body {
            Some(doc) => set_body(
                h,
                &mut req.body,
                Some("application/pidf+xml"),
                doc.to_pidf(&self.cfg.aor).into_bytes(),
            ),
            None => set_body(h, &mut req.body, None, Vec::new()),
        }
        Ok(req)
    }

    async fn send(&self, req: Request) -> Option<Response> {
        let mut tx = self.endpoint.send_request(req, self.cfg.peer).await.ok()?;
        while let Some(r) = tx.next_response().await {
            if m::code(&r) >= 200 {
                return Some(r);
            }
        }
        None
    }

    /// One PUBLISH exchange: with the document when `with_body`, else a refresh.
    async fn publish(&mut self, expires: u32, with_body: bool) -> Done {
        let doc = if with_body { self.doc.clone() } else { None };
        let mut req = match self.build(expires, doc.as_ref()) {
            Ok(r) => r,
            Err(e) => return Done::Failed(e.to_string(), Some(AUTH_FAILURE_RETRY)),
        };
        let mut challenged = 0;
        let mut fresh = false;
        loop {
            let Some(resp) = self.send(req.clone()).await else {
                return Done::Failed("no answer".into(), None);
            };
            let code = m::code(&resp);
            match code {
                200..=299 => {
                    self.etag = m::header(&resp.headers, "SIP-ETag").map(|s| s.trim().to_string());
                    let granted = m::header(&resp.headers, "Expires")
                        .and_then(|e| e.trim().parse().ok())
                        .unwrap_or(expires);
                    return Done::Published(granted);
                }
                401 | 407 => {
                    challenged += 1;
                    let Some(creds) = self.cfg.credentials.clone() else {
                        return Done::Failed(
                            format!("{code} authentication required, no password configured"),
                            Some(AUTH_FAILURE_RETRY),
                        );
                    };
                    if challenged > 2 {
                        return Done::Failed(
                            format!("{code} wrong password"),
                            Some(AUTH_FAILURE_RETRY),
                        );
                    }
                    match self.digest.authorize(&req, &resp, &creds) {
                        Ok(r) => {
                            if let Ok((n, _)) = m::cseq(&r.headers) {
                                self.cseq = n;
                            }
                            req = r;
                        }
                        Err(e) => return Done::Failed(e.to_string(), Some(AUTH_FAILURE_RETRY)),
                    }
                }
                412 if !fresh && expires > 0 => {
                    // The server lost our entity tag: publish the whole document again.
                    fresh = true;
                    self.etag = None;
                    let doc = self.doc.clone();
                    match self.build(expires, doc.as_ref()) {
                        Ok(r) => req = r,
                        Err(e) => return Done::Failed(e.to_string(), None),
                    }
                }
                _ => return Done::Failed(m::status_text(&resp), None),
            }
        }
    }

    fn report(&self, status: PublicationStatus) {
        let _ = self.events.send(PublicationEvent {
            account: self.cfg.account.clone(),
            status,
        });
    }

    async fn remove(&mut self) {
        if self.etag.is_none() {
            return;
        }
        let done = tokio::time::timeout(Duration::from_secs(3), self.publish(0, false)).await;
        self.etag = None;
        match done {
            Ok(Done::Published(_)) => self.report(PublicationStatus::Removed),
            Ok(Done::Failed(reason, _)) => self.report(PublicationStatus::Failed {
                reason: format!("removal: {reason}"),
            }),
            Err(_) => self.report(PublicationStatus::Failed {
                reason: "removal: no answer".into(),
            }),
        }
    }

    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Option<PresenceDoc>>,
        cancel: CancellationToken,
    ) {
        let mut wait: Option<Duration> = None;
        let mut failures = 0u32;
        // Whether the next PUBLISH must carry the document (new state or failure).
        let mut dirty = false;
        loop {
            let sleep = sleep_opt(wait.map(|d| tokio::time::Instant::now() + d));
            tokio::select! {
                _ = cancel.cancelled() => break,
                cmd = rx.recv() => match cmd {
                    Some(Some(doc)) => {
                        self.doc = Some(doc);
                        dirty = true;
                    }
                    Some(None) => {
                        self.doc = None;
                        self.remove().await;
                        wait = None;
                        continue;
                    }
                    None => break,
                },
                _ = sleep => {}
            }
            if self.doc.is_none() {
                wait = None;
                continue;
            }
            let with_body = dirty || self.etag.is_none();
            let expires = self.cfg.expires;
            match self.publish(expires, with_body).await {
                Done::Published(granted) => {
                    failures = 0;
                    dirty = false;
                    self.report(PublicationStatus::Published {
                        expires: granted,
                        etag: self.etag.clone().unwrap_or_default(),
                    });
                    wait = Some(refresh_after(granted));
                }
                Done::Failed(reason, retry) => {
                    failures += 1;
                    dirty = true;
                    self.etag = None;
                    let d = retry.unwrap_or_else(|| backoff(failures));
                    tracing::warn!(account = %self.cfg.account, "PUBLISH failed: {reason}; retry in {}s", d.as_secs());
                    self.report(PublicationStatus::Failed { reason });
                    wait = Some(d);
                }
            }
        }
        self.remove().await;
    }
}

#[cfg(test)]
mod tests;
