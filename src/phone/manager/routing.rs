//! SIP from the transaction layer: requests, ACKs, CANCELs and responses
//! routed to the call whose dialog they belong to; what belongs to no call
//! answered here (OPTIONS, 481, 482, 405); and a new incoming call with its
//! policy: forwarding and DND, `max_calls`, call waiting, auto answer and
//! forward on no answer. The call's own SIP is its actor's.

use super::calls::dial_uri;
use super::CallManager;
use crate::config::Account;
use crate::phone::call::{CallActor, CallHandle, Replaces, SipInput};
use crate::phone::diversion::{self, DiversionReason};
use crate::phone::policy::Decision;
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::{Headers, Method};
use crate::sip::transaction::{Incoming, ServerTransaction};
use std::time::Duration;

/// A delayed forward: the target URI and the seconds of ringing first.
type ForwardAfter = Option<(String, u32)>;

impl CallManager {
    pub(super) fn on_incoming(&mut self, inc: Incoming) {
        match inc {
            Incoming::Request(tx) => self.on_request(tx),
            Incoming::Ack { request, .. } => {
                if let Some(h) = self.call_of(&request.headers) {
                    h.sip(SipInput::Ack(request));
                }
            }
            Incoming::Cancel { request, .. } => {
                if let Some(h) = self.call_of(&request.headers) {
                    let sip_cause = m::header(&request.headers, "Reason")
                        .and_then(crate::sip::reason::sip_cause);
                    h.sip(SipInput::Cancel { sip_cause });
                }
            }
            Incoming::Response { response, .. } => {
                if let Some(h) = self.call_of(&response.headers) {
                    h.sip(SipInput::Response(response));
                }
            }
            Incoming::AckTimeout { call_id } => {
                if let Some(h) = self.call_for(&call_id) {
                    h.sip(SipInput::AckTimeout);
                }
            }
        }
    }

    /// The call of a message by its Call-ID header.
    fn call_of(&self, headers: &Headers) -> Option<&CallHandle> {
        m::call_id(headers).ok().and_then(|c| self.call_for(&c))
    }

    fn on_request(&mut self, tx: ServerTransaction) {
        // RFC 3261 §8.2.2.3: an extension we lack is refused before anything
        // else, in or out of a dialog (every request comes through here).
        let unsupported = crate::sip::require::unsupported(&tx.request.method, &tx.request.headers);
        if !unsupported.is_empty() {
            reply(&tx, 420, &[("Unsupported", &unsupported.join(", "))]);
            return;
        }
        let tx = if tx.request.method == Method::Notify {
            match self
                .pbx
                .route_notify(tx)
                .and_then(|tx| self.callbacks.route_notify(tx))
            {
                Some(tx) => tx,
                None => return,
            }
        } else {
            tx
        };
        let req = &tx.request;
        let call_id = m::call_id(&req.headers).unwrap_or_default();
        let has_to_tag = m::to_tag(req).is_some();
        if let Some(h) = self.call_for(&call_id) {
            if has_to_tag {
                // The call checks both tags (RFC 3261 §12.2.2; 481 if not its dialog).
                h.sip(SipInput::Request(Box::new(tx)));
                return;
            }
            if req.method == Method::Invite {
                // A second INVITE for a call we already have: a loop or fork.
                reply(&tx, 482, &[]);
                return;
            }
            // No To tag: not in any dialog, taken as out of one below.
        }
        match req.method {
            Method::Invite if !has_to_tag => self.new_incoming(tx),
            Method::Options => reply(
                &tx,
                200,
                &[
                    ("Allow", crate::sip::ALLOW),
                    ("Accept", crate::sip::ACCEPT),
                    ("Supported", crate::sip::SUPPORTED),
                ],
            ),
            Method::Ack => {}
            _ if has_to_tag => reply(&tx, 481, &[]),
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::PRack => {
                reply(&tx, 481, &[])
            }
            _ => reply(&tx, 405, &[("Allow", crate::sip::ALLOW)]),
        }
    }

    /// An INVITE outside any dialog: a new call, unless the policy or the
    /// number of calls refuses it.
    fn new_incoming(&mut self, tx: ServerTransaction) {
        let Some(account) = self.incoming_account(&tx) else {
            reply(&tx, 404, &[]);
            return;
        };
        let replaces = match self.incoming_replaces(&tx) {
            Ok(r) => r,
            Err(code) => {
                reply(&tx, code, &[]);
                return;
            }
        };
        // Forwarding and DND first (an INVITE with Replaces takes over a call
        // we already have: no policy applies).
        let (tx, forward_after) = if replaces.is_some() {
            (tx, None)
        } else {
            match self.apply_policy(tx, &account) {
                Some(decided) => decided,
                None => return,
            }
        };
        if replaces.is_none() {
            if let Some(why) = self.busy_reason() {
                tracing::info!("incoming call refused with 486: {why}");
                reply(&tx, 486, &[]);
                let from = m::header(&tx.request.headers, "From")
                    .map(m::uri_of)
                    .unwrap_or_default();
                self.record_unanswered(&account, &from, &format!("busy (486): {why}"), true);
                return;
            }
        }
        let auto_answer = self.config.phone.auto_answer && replaces.is_none();
        let id = self.new_id();
        if let Some(asserted) = asserted_caller(&tx.request.headers, &account) {
            self.asserted_callers.insert(id.clone(), asserted);
        }
        let (handle, info) = CallActor::incoming(self.env.clone(), id, account, tx, replaces);
        if auto_answer {
            let h = handle.clone();
            tokio::spawn(async move {
                if let Err(e) = h.answer().await {
                    tracing::warn!(call = %h.id, "auto answer failed: {e}");
                }
            });
        } else if let Some((to, after_s)) = forward_after {
            // Forward on no answer: 302 after the delay if it still rings.
            let h = handle.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(after_s.into())).await;
                if h.divert(to, DiversionReason::NoAnswer).await.is_ok() {
                    tracing::info!(call = %h.id, "forwarded on no answer");
                }
            });
        }
        self.insert_call(handle, info);
    }

    /// The account a new call is for: by the Request-URI's user, else the first.
    fn incoming_account(&self, tx: &ServerTransaction) -> Option<Account> {
        let uri = tx.request.uri.to_string();
        let user = m::uri_user(&uri);
        self.accounts
            .iter()
            .find(|a| Some(a.account.user.as_str()) == user)
            .or_else(|| self.accounts.first())
            .map(|a| a.account.clone())
    }

    /// The call an INVITE's Replaces header takes over; `Err` is the code
    /// to refuse it with (400 unreadable, 481 no such call).
    fn incoming_replaces(&self, tx: &ServerTransaction) -> Result<Option<Replaces>, u16> {
        match m::header(&tx.request.headers, "Replaces").map(Replaces::parse) {
            None => Ok(None),
            Some(None) => Err(400),
            Some(Some(r)) => match self.call_for(&r.call_id) {
                Some(call) => Ok(Some(Replaces {
                    call: call.clone(),
                    to_tag: r.to_tag,
                    from_tag: r.from_tag,
                    early_only: r.early_only,
                })),
                None => Err(481),
            },
        }
    }

    /// Why a new call cannot ring now (`max_calls`, call waiting off).
    fn busy_reason(&self) -> Option<&'static str> {
        let live = self.live_calls();
        let policy = &self.config.phone;
        if live >= policy.max_calls {
            Some("max_calls reached")
        } else if !policy.call_waiting && live > 0 {
            Some("call waiting is off")
        } else {
            None
        }
    }

    /// The policy's verdict on a new incoming call, acted on. Returns the
    /// transaction when the call should ring, with a delayed forward if any.
    fn apply_policy(
        &mut self,
        tx: ServerTransaction,
        account: &Account,
    ) -> Option<(ServerTransaction, ForwardAfter)> {
        let from = m::header(&tx.request.headers, "From")
            .map(m::uri_of)
            .unwrap_or_default();
        let caller = asserted_caller(&tx.request.headers, account).unwrap_or_else(|| from.clone());
        let busy = self.live_calls() > 0;
        match self
            .pbx
            .policy
            .decide(&caller, busy, &self.config.phone.internal_pattern)
        {
            Decision::Ring | Decision::RingThroughDnd => Some((tx, None)),
            Decision::Dnd { code } => {
                reply(&tx, code, &[]);
                self.record_unanswered(account, &from, &format!("do not disturb ({code})"), true);
                None
            }
            Decision::Forward { to } => match dial_uri(&to, account) {
                Ok(uri) => {
                    let contact = format!("<{uri}>");
                    let reason = diversion::forward_reason(
                        &self.pbx.policy,
                        &from,
                        busy,
                        &self.config.phone.internal_pattern,
                    );
                    let diversion = diversion::header_value(&account.user, &account.domain, reason);
                    reply(
                        &tx,
                        302,
                        &[
                            ("Contact", contact.as_str()),
                            ("Diversion", diversion.as_str()),
                        ],
                    );
                    self.record_unanswered(account, &from, &format!("forwarded to {uri}"), false);
                    None
                }
                Err(e) => {
                    tracing::warn!("forwarding rule with a bad target: {e}");
                    Some((tx, None))
                }
            },
            Decision::ForwardAfter { to, after_s } => match dial_uri(&to, account) {
                Ok(uri) => Some((tx, Some((uri, after_s)))),
                Err(_) => Some((tx, None)),
            },
        }
    }
}

/// A response from the manager itself (no call owns the request).
pub(super) fn reply(tx: &ServerTransaction, code: u16, extra: &[(&str, &str)]) {
    let to_tag = (code >= 200 && m::to_tag(&tx.request).is_none()).then(m::new_tag);
    let mut resp = m::response(&tx.request, code, to_tag.as_deref());
    for (name, value) in extra {
        add_header(&mut resp.headers, name, *value);
    }
    set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
    if let Err(e) = tx.handle.respond(resp) {
        tracing::debug!("response {code} not sent: {e}");
    }
}

/// The caller as the account's PBX asserts it (the first
/// P-Asserted-Identity), when the account trusts it
/// (`trust_asserted_identity`); `None` otherwise or without one.
fn asserted_caller(headers: &Headers, account: &Account) -> Option<String> {
    if !account.trust_asserted_identity {
        return None;
    }
    let value = m::header(headers, "P-Asserted-Identity")?;
    // The first identity: the first <...> (a display name may hold a
    // comma), else up to the first comma.
    let uri = if value.contains('<') {
        m::uri_of(value)
    } else {
        m::uri_of(value.split(',').next()?)
    };
    (!uri.is_empty()).then_some(uri)
}
