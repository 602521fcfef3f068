//! The subscription task itself: the SUBSCRIBE / NOTIFY state machine
//! behind [`super::spawn`] (one SUBSCRIBE in flight at a time, NOTIFYs
//! answered as they come, a timer for refresh and retries).

use super::addr_watch::{self, Named};
use super::{
    call_completion, dialog_info, message_summary, parse_sub_state, pidf, retry_after_termination,
    DialogInfo, EventPackage, Payload, SubscriptionConfig, SubscriptionEvent, SubscriptionState,
};
use crate::sip::auth::DigestState;
use crate::sip::dialog::{Dialog, Role};
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::{Method, Request, Response};
use crate::sip::registration::{backoff, contact_for, refresh_after, AUTH_FAILURE_RETRY};
use crate::sip::transaction::{Endpoint, ServerTransaction};
use crate::sip::transport::Peer;
use crate::timer::sleep_opt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

type Pending = Pin<Box<dyn Future<Output = Option<Response>> + Send>>;

/// The final response to `req`, `None` when it could not be sent.
fn transact(endpoint: Endpoint, req: Request, peer: Peer) -> Pending {
    Box::pin(async move {
        let mut tx = endpoint.send_request(req, peer).await.ok()?;
        while let Some(r) = tx.next_response().await {
            if m::code(&r) >= 200 {
                return Some(r);
            }
        }
        None
    })
}

pub(super) struct Subscriber {
    endpoint: Endpoint,
    cfg: SubscriptionConfig,
    /// Current requested lifetime (raised by 423).
    expires: u32,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestState,
    events: mpsc::UnboundedSender<SubscriptionEvent>,
    notify_rx: mpsc::UnboundedReceiver<ServerTransaction>,
    dialog: Option<Dialog>,
    info: Option<DialogInfo>,
    last_state: Option<SubscriptionState>,
    /// Where our last SUBSCRIBE said we are ([`addr_watch`]).
    named: Option<Named>,
}

/// What a NOTIFY or response asks the main loop to do.
enum Next {
    /// Nothing changes.
    Stay,
    /// Send a SUBSCRIBE (refresh or new) after this long.
    SubscribeIn(Duration),
}

impl Subscriber {
    pub(super) fn new(
        endpoint: Endpoint,
        cfg: SubscriptionConfig,
        call_id: String,
        events: mpsc::UnboundedSender<SubscriptionEvent>,
        notify_rx: mpsc::UnboundedReceiver<ServerTransaction>,
    ) -> Subscriber {
        Subscriber {
            endpoint,
            expires: cfg.expires,
            cfg,
            call_id,
            from_tag: m::new_tag(),
            cseq: 0,
            digest: DigestState::default(),
            events,
            notify_rx,
            dialog: None,
            info: None,
            last_state: None,
            named: None,
        }
    }

    /// Whether our address toward the notifier moved since the last
    /// SUBSCRIBE of the established subscription ([`addr_watch::refresh_now`]).
    fn address_moved(&self) -> bool {
        let transport = self.endpoint.transport();
        let sent = self.named.filter(|_| self.dialog.is_some());
        addr_watch::refresh_now(
            self.cfg.peer.addr,
            sent,
            transport.local_addr_for(self.cfg.peer.addr),
            transport.contact_addr_for(&self.cfg.peer),
        )
    }

    fn local_contact(&self) -> String {
        contact_for(
            &self.cfg.aor,
            self.endpoint.transport().contact_addr_for(&self.cfg.peer),
            self.cfg.peer.protocol,
        )
    }

    fn via(&self) -> String {
        m::via(
            self.endpoint.transport().local_addr_for(self.cfg.peer.addr),
            self.cfg.peer.protocol,
            &m::new_branch(),
        )
    }

    /// A SUBSCRIBE: in the dialog when there is one, else a new one.
    fn build(&mut self, expires: u32) -> Result<Request, crate::sip::SipError> {
        let transport = self.endpoint.transport();
        self.named = Some(Named {
            local: transport.local_addr_for(self.cfg.peer.addr),
            contact: transport.contact_addr_for(&self.cfg.peer),
        });
        let via = self.via();
        let contact = self.local_contact();
        let mut req = match self.dialog.as_mut() {
            Some(d) => {
                // A refresh names where we are now (a NAT's new mapping).
                d.local_contact = contact;
                d.local_cseq = self.cseq;
                let r = d.request(Method::Subscribe, &via)?;
                self.cseq = d.local_cseq;
                r
            }
            None => {
                self.cseq += 1;
                let ids = m::OutOfDialog {
                    uri: &self.cfg.target,
                    from: &self.cfg.aor,
                    from_tag: &self.from_tag,
                    to: &self.cfg.target,
                    call_id: &self.call_id,
                    cseq: self.cseq,
                };
                let local = self.endpoint.transport().local_addr_for(self.cfg.peer.addr);
                let mut req =
                    m::out_of_dialog(Method::Subscribe, ids, local, self.cfg.peer.protocol)?;
                crate::sip::route::add_proxy_route(&mut req.headers, self.cfg.proxy.as_deref());
                add_header(&mut req.headers, "Contact", self.local_contact());
                req
            }
        };
        let h = &mut req.headers;
        add_header(h, "Event", self.cfg.package.event());
        add_header(h, "Accept", self.cfg.package.accept());
        add_header(h, "Expires", expires.to_string());
        add_header(h, "Allow", crate::sip::ALLOW);
        set_body(h, &mut req.body, None, Vec::new());
        Ok(req)
    }

    fn report(&mut self, state: SubscriptionState) {
        if self.last_state.as_ref() == Some(&state) {
            return;
        }
        self.last_state = Some(state.clone());
        let _ = self.events.send(SubscriptionEvent::State {
            account: self.cfg.account.clone(),
            target: self.cfg.target.clone(),
            package: self.cfg.package,
            state,
        });
    }

    fn new_dialog_identity(&mut self) {
        self.dialog = None;
        self.info = None;
        self.from_tag = m::new_tag();
    }

    /// Answers and interprets one NOTIFY.
    fn on_notify(&mut self, st: ServerTransaction) -> Next {
        let req = &st.request;
        let to_tag = m::to_tag(&req);
        let from_tag = m::from_tag(&req);
        let stale = to_tag.as_deref() != Some(self.from_tag.as_str())
            || match (&self.dialog, &from_tag) {
                (Some(d), Some(f)) => &d.remote_tag != f,
                (_, None) => true,
                (None, Some(_)) => false,
            };
        if stale {
            let _ = st.handle.respond(m::response(req, 481, None));
            return Next::Stay;
        }
        if let Some(d) = self.dialog.as_mut() {
            if !d.accept_remote_cseq(req) {
                let _ = st.handle.respond(m::response(req, 500, None));
                return Next::Stay;
            }
            d.refresh_target(&req.headers);
        } else if let Some(d) = self.dialog_from_notify(req) {
            self.dialog = Some(d);
        }
        let _ = st.handle.respond(m::response(req, 200, None));
        let sub = parse_sub_state(m::header(&req.headers, "Subscription-State").unwrap_or(""));
        let expires = sub.expires.unwrap_or(self.expires);
        // The state first, then what the body says.
        match sub.value.as_str() {
            "active" => self.report(SubscriptionState::Active { expires }),
            "pending" => self.report(SubscriptionState::Pending),
            _ => {}
        }
        self.take_body(req);
        match sub.value.as_str() {
            "active" | "pending" => Next::SubscribeIn(refresh_after(expires)),
            "terminated" => {
                let reason = sub.reason.clone().unwrap_or_else(|| "terminated".into());
                self.report(SubscriptionState::Terminated { reason });
                self.new_dialog_identity();
                Next::SubscribeIn(retry_after_termination(
                    sub.reason.as_deref(),
                    sub.retry_after,
                ))
            }
            _ => Next::Stay,
        }
    }

    fn dialog_from_notify(&self, req: &Request) -> Option<Dialog> {
        let from = m::header(&req.headers, "From")?;
        let mut d = Dialog {
            role: Role::Uac,
            call_id: self.call_id.clone(),
            local_tag: self.from_tag.clone(),
            remote_tag: m::tag(from)?,
            local_party: format!("<{}>", self.cfg.aor),
            remote_party: format!("<{}>", self.cfg.target),
            remote_target: m::header(&req.headers, "Contact")
                .map(m::uri_of)
                .unwrap_or_else(|| self.cfg.target.clone()),
            route_set: m::headers_all(&req.headers, "Record-Route")
                .into_iter()
                .map(str::to_string)
                .collect(),
            local_cseq: self.cseq,
            remote_cseq: None,
            local_contact: self.local_contact(),
        };
        d.accept_remote_cseq(req);
        Some(d)
    }

    fn take_body(&mut self, req: &Request) {
        if req.body.is_empty() {
            return;
        }
        let ct = m::header(&req.headers, "Content-Type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let body = String::from_utf8_lossy(&req.body);
        let payload = match ct.as_str() {
            "application/dialog-info+xml" => match dialog_info::parse(&body) {
                Ok(update) => {
                    let merged = match self.info.take() {
                        Some(mut prev) => {
                            prev.merge(update);
                            prev
                        }
                        None => update,
                    };
                    self.info = Some(merged.clone());
                    Some(Payload::DialogInfo(merged))
                }
                Err(e) => {
                    tracing::debug!(target = %self.cfg.target, "bad dialog-info: {e}");
                    None
                }
            },
            "application/simple-message-summary" => {
                message_summary::parse(&body).map(Payload::MessageSummary)
            }
            "application/pidf+xml" => match pidf::parse(&body) {
                Ok(p) => Some(Payload::Presence(p)),
                Err(e) => {
                    tracing::debug!(target = %self.cfg.target, "bad PIDF: {e}");
                    None
                }
            },
            call_completion::CONTENT_TYPE => {
                call_completion::parse(&body).map(Payload::CallCompletion)
            }
            other => {
                tracing::debug!(target = %self.cfg.target, "NOTIFY body {other} ignored");
                None
            }
        };
        if let Some(payload) = payload {
            let _ = self.events.send(SubscriptionEvent::Notify {
                account: self.cfg.account.clone(),
                target: self.cfg.target.clone(),
                package: self.cfg.package,
                payload,
            });
        }
    }

    /// Interprets the final response to `req`; may return a request to send at once.
    fn on_response(
        &mut self,
        req: &Request,
        resp: Option<Response>,
        attempts: &mut u32,
        failures: &mut u32,
    ) -> (Option<Request>, Next) {
        if m::from_tag(&req).as_deref() != Some(&self.from_tag) {
            // Answer to a request of a dialog ended meanwhile: start the new one.
            return (None, Next::SubscribeIn(Duration::ZERO));
        }
        let Some(resp) = resp else {
            return self.failed("no answer".into(), None, failures);
        };
        let code = m::code(&resp);
        match code {
            200..=299 => {
                *attempts = 0;
                *failures = 0;
                if self.dialog.is_none() {
                    if let Ok(d) = Dialog::from_uac(req, &resp) {
                        self.dialog = Some(d);
                    }
                }
                if let Some(d) = self.dialog.as_mut() {
                    d.local_cseq = self.cseq;
                }
                let expires = m::header(&resp.headers, "Expires")
                    .and_then(|e| e.trim().parse::<u32>().ok())
                    .unwrap_or(self.expires);
                if expires == 0 {
                    return (None, Next::SubscribeIn(Duration::from_secs(1)));
                }
                if !matches!(self.last_state, Some(SubscriptionState::Active { .. })) {
                    self.report(SubscriptionState::Pending);
                }
                (None, Next::SubscribeIn(refresh_after(expires)))
            }
            401 | 407 => {
                *attempts += 1;
                let Some(creds) = self.cfg.credentials.clone() else {
                    return self.failed(
                        format!("{code} authentication required, no password configured"),
                        Some(AUTH_FAILURE_RETRY),
                        failures,
                    );
                };
                if *attempts > 2 {
                    return self.failed(
                        format!("{code} wrong password"),
                        Some(AUTH_FAILURE_RETRY),
                        failures,
                    );
                }
                match self.digest.authorize(req, &resp, &creds) {
                    Ok(r) => {
                        if let Ok((n, _)) = m::cseq(&r.headers) {
                            self.cseq = n;
                        }
                        (Some(r), Next::Stay)
                    }
                    Err(e) => self.failed(e.to_string(), Some(AUTH_FAILURE_RETRY), failures),
                }
            }
            423 => {
                let min = m::header(&resp.headers, "Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .unwrap_or(self.expires.saturating_mul(2));
                if min <= self.expires || *attempts > 3 {
                    return self.failed(m::status_text(&resp), None, failures);
                }
                *attempts += 1;
                self.expires = min;
                match self.build(min) {
                    Ok(r) => (Some(r), Next::Stay),
                    Err(e) => self.failed(e.to_string(), None, failures),
                }
            }
            481 => {
                // The notifier forgot us: a new subscription at once.
                self.new_dialog_identity();
                *attempts = 0;
                (None, Next::SubscribeIn(Duration::ZERO))
            }
            403 | 404 | 405 | 489 | 501 | 603 => {
                // Presence is optional (the busy lamp uses it where the
                // server offers it): a server without it is not an error.
                let not_offered =
                    self.cfg.package == EventPackage::Presence && matches!(code, 405 | 489 | 501);
                let reason = m::status_text(&resp);
                if not_offered {
                    tracing::info!(account = %self.cfg.account, target = %self.cfg.target,
                        "the server offers no presence ({reason})");
                }
                self.failed_as(reason, Some(AUTH_FAILURE_RETRY), failures, !not_offered)
            }
            _ => {
                let retry = m::header(&resp.headers, "Retry-After")
                    .and_then(|v| v.split(';').next()?.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s.clamp(1, 3600)));
                self.failed(m::status_text(&resp), retry, failures)
            }
        }
    }

    fn failed(
        &mut self,
        reason: String,
        retry: Option<Duration>,
        failures: &mut u32,
    ) -> (Option<Request>, Next) {
        self.failed_as(reason, retry, failures, true)
    }

    /// [`Self::failed`], with a warning in the log only when `warn`.
    fn failed_as(
        &mut self,
        reason: String,
        retry: Option<Duration>,
        failures: &mut u32,
        warn: bool,
    ) -> (Option<Request>, Next) {
        *failures += 1;
        let wait = retry.unwrap_or_else(|| backoff(*failures));
        if warn {
            tracing::warn!(account = %self.cfg.account, target = %self.cfg.target,
                event = self.cfg.package.event(), "subscription failed: {reason}; retry in {}s", wait.as_secs());
        }
        self.report(SubscriptionState::Failed { reason });
        self.new_dialog_identity();
        (None, Next::SubscribeIn(wait))
    }

    pub(super) async fn run(mut self, cancel: CancellationToken) {
        let mut inflight: Option<(Request, Pending)> = None;
        let mut wake: Option<Instant> = Some(Instant::now());
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut poll = tokio::time::interval(crate::sip::address::change::POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            enum Ev {
                Cancel,
                Notify(ServerTransaction),
                Response(Option<Response>),
                Wake,
                Poll,
            }
            let idle = inflight.is_none();
            let ev = tokio::select! {
                _ = cancel.cancelled() => Ev::Cancel,
                Some(st) = self.notify_rx.recv() => Ev::Notify(st),
                r = async {
                    match inflight.as_mut() {
                        Some((_, f)) => f.await,
                        None => std::future::pending().await,
                    }
                } => Ev::Response(r),
                _ = sleep_opt(wake.filter(|_| idle)) => Ev::Wake,
                _ = poll.tick(), if idle => Ev::Poll,
            };
            let next = match ev {
                Ev::Cancel => break,
                Ev::Notify(st) => self.on_notify(st),
                Ev::Response(resp) => {
                    let Some((req, _)) = inflight.take() else {
                        continue;
                    };
                    let (again, next) = self.on_response(&req, resp, &mut attempts, &mut failures);
                    if let Some(r) = again {
                        inflight =
                            Some((r.clone(), transact(self.endpoint.clone(), r, self.cfg.peer)));
                    }
                    next
                }
                Ev::Poll if self.address_moved() => {
                    tracing::info!(account = %self.cfg.account, target = %self.cfg.target,
                        event = self.cfg.package.event(), "our address changed; subscribing again");
                    Next::SubscribeIn(Duration::ZERO)
                }
                Ev::Poll => Next::Stay,
                Ev::Wake => {
                    wake = None;
                    match self.build(self.expires) {
                        Ok(r) => {
                            attempts = 0;
                            inflight = Some((
                                r.clone(),
                                transact(self.endpoint.clone(), r, self.cfg.peer),
                            ));
                            Next::Stay
                        }
                        Err(e) => {
                            let (_, n) = self.failed(e.to_string(), None, &mut failures);
                            n
                        }
                    }
                }
            };
            if let Next::SubscribeIn(d) = next {
                wake = Some(Instant::now() + d);
            }
        }
        drop(inflight);
        self.unsubscribe().await;
    }

    /// Expires: 0 in the dialog, then answers NOTIFYs until the terminating one
    /// (at most a few seconds, so shutdown never hangs on a dead notifier).
    async fn unsubscribe(&mut self) {
        if self.dialog.is_none() {
            self.report(SubscriptionState::Terminated {
                reason: "unsubscribed".into(),
            });
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        if let Ok(req) = self.build(0) {
            let mut req = req;
            for _ in 0..2 {
                let resp = tokio::time::timeout_at(
                    deadline,
                    transact(self.endpoint.clone(), req.clone(), self.cfg.peer),
                )
                .await
                .ok()
                .flatten();
                let (Some(resp), Some(creds)) = (resp, self.cfg.credentials.clone()) else {
                    break;
                };
                if !matches!(m::code(&resp), 401 | 407) {
                    break;
                }
                match self.digest.authorize(&req, &resp, &creds) {
                    Ok(r) => req = r,
                    Err(_) => break,
                }
            }
        }
        while let Ok(Some(st)) = tokio::time::timeout_at(deadline, self.notify_rx.recv()).await {
            let terminated = m::header(&st.request.headers, "Subscription-State")
                .is_some_and(|v| parse_sub_state(v).value == "terminated");
            let _ = st.handle.respond(m::response(&st.request, 200, None));
            if terminated {
                break;
            }
        }
        self.dialog = None;
        self.report(SubscriptionState::Terminated {
            reason: "unsubscribed".into(),
        });
    }
}
