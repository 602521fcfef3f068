//! Callback when free, carried out: notes which outgoing calls met busy or
//! no answer (and the call-completion monitor their final response
//! offered), arms `callback when=free` the way [`crate::phone::callback`]
//! decides (an RFC 6910 `call-completion` subscription, the PBX's callback
//! code, or a `dialog` subscription to the target), and when the target is
//! free rings here with the recall tone ([`crate::media::ringer`]) until
//! `callback_accept`, or dials at once (`[phone] callback_auto_dial`).
//! Pending callbacks are listed in `status`, announced as `callback`
//! events, cancelled by `callback_cancel` and dropped after `[phone]
//! callback_expiry_s`. It owns its subscriptions and code calls; the
//! busy lamps, forwarding codes and the history's redial (`callback`
//! without `when`, in [`super::history`]) are not its business.

use super::accounts::credentials;
use super::commands::Reply;
use super::forward_code::{outcome, Outcome, WAIT};
use super::pbx::server_peer;
use super::routing::reply as answer;
use super::CallManager;
use crate::command::CommandError;
use crate::config::{Account, FeatureCodes};
use crate::media::ringer::Ringer;
use crate::media::tones::RECALL;
use crate::phone::callback::{self as decide, Method, OnFree, Seen, Unreached};
use crate::phone::event::{CallInfo, CallState, Event};
use crate::phone::status::CallbackStatus;
use crate::sip::message as m;
use crate::sip::subscription::{
    self, EventPackage, Payload, SubscriptionConfig, SubscriptionEvent, SubscriptionHandle,
    SubscriptionState,
};
use crate::sip::transaction::ServerTransaction;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after the "free" NOTIFY the watch unsubscribes.
const UNSUBSCRIBE_AFTER: Duration = Duration::from_millis(100);

/// The longest the recall rings before it goes quiet (the callback stays
/// `ringing` until accepted, cancelled or expired).
const RING_FOR: Duration = Duration::from_secs(60);

/// The phone's callbacks when free.
#[derive(Default)]
pub(super) struct Callbacks {
    pending: Vec<Pending>,
    next_id: u64,
    /// Outgoing calls that rang at the target (180/183).
    alerted: HashSet<String>,
    /// Call-completion monitors offered to calls not yet ended.
    offered: HashMap<String, String>,
    /// The last outgoing call that met busy or no answer.
    last: Option<Unreachable>,
    /// Calls of a PBX off code: released once the PBX confirms.
    releasing: HashSet<String>,
    /// The recall ring of the callback whose target is free.
    ringer: Option<Ringer>,
}

/// An outgoing call that did not get through.
#[derive(Debug, Clone)]
struct Unreachable {
    target: String,
    account: String,
    why: Unreached,
    monitor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Watching, or waiting for the PBX to confirm its code.
    Waiting,
    /// The PBX took the code; it rings back itself.
    Confirmed,
    /// The target is free: ringing here until accepted.
    Ringing,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Confirmed => "confirmed",
            State::Ringing => "ringing",
        }
    }
}

/// A subscription watching a callback's target.
struct Watch {
    /// The subscribed URI (what its events name as `target`).
    uri: String,
    package: EventPackage,
    handle: SubscriptionHandle,
    cancel: CancellationToken,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // Unsubscribes (Expires: 0) and ends the task.
        self.cancel.cancel();
    }
}

struct Pending {
    id: String,
    target: String,
    account: Option<String>,
    why: Unreached,
    method: Method,
    state: State,
    expires: Instant,
    expires_at: String,
    seen: Seen,
    watch: Option<Watch>,
    /// The PBX code call, until the PBX answers it.
    code_call: Option<String>,
    /// The command waiting for the PBX's answer to the code.
    reply: Option<oneshot::Sender<Result<CallbackStatus, String>>>,
    /// What to dial when free: the monitor's `cc-URI`, else the target.
    dial_to: String,
}

impl Pending {
    fn status(&self) -> CallbackStatus {
        CallbackStatus {
            id: self.id.clone(),
            target: self.target.clone(),
            via: self.method.via().to_string(),
            state: self.state.as_str().to_string(),
            reason: self.why.as_str().to_string(),
            expires_at: self.expires_at.clone(),
        }
    }

    fn event(&self, state: &str, call: Option<String>, error: Option<String>) -> Event {
        Event::Callback {
            id: self.id.clone(),
            target: self.target.clone(),
            via: self.method.via().to_string(),
            state: state.to_string(),
            call,
            error,
        }
    }
}

impl Callbacks {
    /// The `callbacks` of `status`.
    pub(super) fn status(&self) -> Vec<CallbackStatus> {
        self.pending.iter().map(Pending::status).collect()
    }

    /// When the next callback expires, for the run loop's timer.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.expires).min()
    }

    /// Hands a NOTIFY to the callback subscription it belongs to; gives it
    /// back if none.
    pub(super) fn route_notify(&self, tx: ServerTransaction) -> Option<ServerTransaction> {
        let Some(w) = self
            .pending
            .iter()
            .filter_map(|p| p.watch.as_ref())
            .find(|w| w.handle.matches(&tx.request))
        else {
            return Some(tx);
        };
        if let Err(tx) = w.handle.notify(tx) {
            answer(&tx, 481, &[]);
        }
        None
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.pending.iter().position(|p| p.id == id)
    }
}

/// The number of a SIP URI (its user part), or the input as it is.
fn number_of(target: &str) -> String {
    let uri = m::uri_of(target);
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))
        .unwrap_or(&uri);
    match rest.split_once('@') {
        Some((user, _)) => user.split(';').next().unwrap_or(user).to_string(),
        None => rest.to_string(),
    }
}

impl CallManager {
    /// Notes what a call's update means for callbacks: an outgoing call
    /// that rang, one that ended busy or unanswered, a PBX code call
    /// answered or refused.
    pub(super) fn callback_call_update(&mut self, info: &CallInfo) {
        let cb = &mut self.callbacks;
        if info.state == CallState::Alerting {
            cb.alerted.insert(info.id.clone());
        }
        if info.state == CallState::Ended {
            let alerted = cb.alerted.remove(&info.id);
            let monitor = cb.offered.remove(&info.id);
            let reason = info.end_reason.as_deref().unwrap_or("");
            if let Some(why) =
                decide::unreached(info.direction, info.answered_at.is_some(), reason, alerted)
            {
                cb.last = Some(Unreachable {
                    target: info.remote.clone(),
                    account: info.account.clone(),
                    why,
                    monitor,
                });
            }
        }
        if cb.releasing.contains(&info.id) {
            match outcome(info) {
                Outcome::Waiting => {}
                Outcome::Confirmed if info.state != CallState::Ended => {
                    cb.releasing.remove(&info.id);
                    self.release_call(&info.id);
                }
                _ => {
                    cb.releasing.remove(&info.id);
                }
            }
        }
        self.callback_code_update(info);
    }

    /// The final response to `call`'s INVITE offered call completion.
    pub(super) fn call_completion_offered(&mut self, call: String, monitor: String) {
        self.callbacks.offered.insert(call, monitor);
    }

    /// `callback when=free`: arms a callback for `to`, else the history
    /// entry's party, else the last call that met busy or no answer.
    pub(super) async fn cmd_callback_free(
        &mut self,
        entry: Option<i64>,
        to: Option<String>,
    ) -> Reply {
        match self.arm_callback(entry, to).await {
            Ok(Armed::Now(v)) => Reply::Now(Ok(v)),
            Ok(Armed::Code(rx, id)) => self.wait_for_code(rx, id),
            Err(e) => Reply::Now(Err(e)),
        }
    }

    async fn arm_callback(
        &mut self,
        entry: Option<i64>,
        to: Option<String>,
    ) -> Result<Armed, CommandError> {
        let last = self.callbacks.last.clone();
        let (target, account, why) = match (to, entry) {
            (Some(to), _) => {
                let same = last.as_ref().filter(|l| same_party(&l.target, &to));
                let why = same.map_or(Unreached::Busy, |l| l.why);
                (to, same.map(|l| l.account.clone()), why)
            }
            (None, Some(id)) => {
                let e = self
                    .history
                    .get(id)
                    .map_err(|e| CommandError::new("store_error", e.to_string()))?
                    .ok_or_else(|| {
                        CommandError::new("no_such_entry", format!("no history entry {id}"))
                    })?;
                let why = decide::unreached(
                    crate::phone::event::CallDirection::Out,
                    e.answered_at.is_some(),
                    e.end_reason.as_deref().unwrap_or(""),
                    true,
                )
                .unwrap_or(Unreached::Busy);
                (e.remote, Some(e.account), why)
            }
            (None, None) => {
                let l = last.clone().ok_or_else(|| {
                    CommandError::new(
                        "no_callback_target",
                        "no call met busy or no answer: say whom to call back (to=…)",
                    )
                })?;
                (l.target, Some(l.account), l.why)
            }
        };
        let account = self
            .account(account.as_deref())
            .or_else(|_| self.account(None))?
            .account
            .clone();
        let uri = super::calls::dial_uri(&target, &account)?;
        if let Some(p) = self
            .callbacks
            .pending
            .iter()
            .find(|p| same_party(&p.target, &target))
        {
            return Err(CommandError::new(
                "callback_pending",
                format!("callback {} to {} is already pending", p.id, p.target),
            ));
        }
        let monitor = last
            .as_ref()
            .filter(|l| same_party(&l.target, &uri) || same_party(&l.target, &target))
            .and_then(|l| l.monitor.clone());
        let code = FeatureCodes::dial(&self.config.pbx.codes.callback, Some(&number_of(&uri)));
        let server = self.watch_account(&account);
        let method = decide::method(monitor.as_deref(), code, server.is_some())
            .map_err(|e| CommandError::new("callback_unavailable", e.to_string()))?;
        self.callbacks.next_id += 1;
        let id = format!("cb{}", self.callbacks.next_id);
        let expiry = Duration::from_secs(self.config.phone.callback_expiry_s);
        let expires_at = crate::store::rfc3339_from_unix(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| (d + expiry).as_secs() as i64)
                .unwrap_or(0),
        );
        let mut pending = Pending {
            id: id.clone(),
            target: target.clone(),
            account: Some(account.name.clone()),
            why,
            method: method.clone(),
            state: State::Waiting,
            expires: Instant::now() + expiry,
            expires_at,
            seen: Seen::default(),
            watch: None,
            code_call: None,
            reply: None,
            dial_to: uri.clone(),
        };
        let mut code_rx = None;
        match &method {
            Method::CallCompletion { monitor } => {
                let watch = self
                    .watch(
                        &account,
                        EventPackage::CallCompletion,
                        monitor.clone(),
                        true,
                    )
                    .await?;
                pending.watch = Some(watch);
            }
            Method::Dialog => {
                let server = server.unwrap_or_else(|| account.clone());
                let watch = self
                    .watch(&server, EventPackage::Dialog, uri, false)
                    .await?;
                pending.watch = Some(watch);
            }
            Method::FeatureCode { number } => {
                let call = self.dial_with(number, Some(&account.name), Vec::new())?;
                let (tx, rx) = oneshot::channel();
                pending.code_call = Some(call);
                pending.reply = Some(tx);
                code_rx = Some(rx);
            }
        }
        let status = pending.status();
        let _ = self
            .events
            .send(Arc::new(pending.event("waiting", None, None)));
        self.callbacks.pending.push(pending);
        if let Some(rx) = code_rx {
            // The code call's first state may already be known.
            if let Some(info) = self
                .callbacks
                .pending
                .last()
                .and_then(|p| p.code_call.as_ref())
                .and_then(|c| self.calls.get(c))
                .map(|c| c.info.clone())
            {
                self.callback_code_update(&info);
            }
            return Ok(Armed::Code(rx, id));
        }
        Ok(Armed::Now(json!({ "callback": status })))
    }

    /// The account whose server can tell a target's dialog state: the
    /// callback's own if it has a server, else the first that has one.
    fn watch_account(&self, account: &Account) -> Option<Account> {
        let has_server = |a: &Account| a.register || a.proxy.is_some();
        if has_server(account) {
            return Some(account.clone());
        }
        self.accounts
            .iter()
            .map(|a| &a.account)
            .find(|a| has_server(a))
            .cloned()
    }

    /// Subscribes to `package` for `uri` through `account`'s server (or,
    /// with `direct` and no server, at the URI's own host).
    async fn watch(
        &self,
        account: &Account,
        package: EventPackage,
        uri: String,
        direct: bool,
    ) -> Result<Watch, CommandError> {
        let peer = match (account.register || account.proxy.is_some(), direct) {
            (false, true) => self
                .env
                .resolver
                .resolve(&uri)
                .await
                .ok()
                .and_then(|t| t.into_iter().next()),
            _ => server_peer(account, &self.env.resolver).await,
        }
        .ok_or_else(|| {
            CommandError::new(
                "callback_unavailable",
                format!("cannot locate where to subscribe to {uri}"),
            )
        })?;
        let cfg = SubscriptionConfig {
            account: account.name.clone(),
            package,
            target: uri.clone(),
            aor: format!("sip:{}@{}", account.user, account.domain),
            peer,
            proxy: account.proxy.clone(),
            credentials: credentials(account),
            expires: 600,
        };
        let cancel = self.pbx.cancel.child_token();
        let handle = subscription::spawn(
            self.env.endpoint.clone(),
            cfg,
            self.pbx.sub_tx.clone(),
            cancel.clone(),
        );
        Ok(Watch {
            uri,
            package,
            handle,
            cancel,
        })
    }

    /// Waits (at most [`WAIT`]) for the PBX's answer to a callback code.
    fn wait_for_code(
        &self,
        rx: oneshot::Receiver<Result<CallbackStatus, String>>,
        id: String,
    ) -> Reply {
        Reply::later(async move {
            match tokio::time::timeout(WAIT, rx).await {
                Ok(Ok(Ok(status))) => Ok(json!({ "callback": status })),
                Ok(Ok(Err(reason))) => Err(CommandError::new(
                    "feature_code_refused",
                    format!("the PBX refused the callback code: {reason}"),
                )),
                Ok(Err(_)) => Err(CommandError::new(
                    "feature_code_refused",
                    "the callback code call ended without an answer",
                )),
                Err(_) => Err(CommandError::new(
                    "timeout",
                    format!(
                        "the PBX did not confirm the callback code within {} s (callback {id} stays waiting)",
                        WAIT.as_secs()
                    ),
                )),
            }
        })
    }

    /// A PBX code call's new state settles its callback.
    fn callback_code_update(&mut self, info: &CallInfo) {
        let Some(i) = self
            .callbacks
            .pending
            .iter()
            .position(|p| p.code_call.as_deref() == Some(&info.id))
        else {
            return;
        };
        match outcome(info) {
            Outcome::Waiting => {}
            Outcome::Confirmed => {
                let p = &mut self.callbacks.pending[i];
                p.code_call = None;
                p.state = State::Confirmed;
                if let Some(r) = p.reply.take() {
                    let _ = r.send(Ok(p.status()));
                }
                let _ = self.events.send(Arc::new(p.event("confirmed", None, None)));
                if info.state != CallState::Ended {
                    self.release_call(&info.id);
                }
            }
            Outcome::Refused(reason) => {
                let mut p = self.callbacks.pending.remove(i);
                if let Some(r) = p.reply.take() {
                    let _ = r.send(Err(reason.clone()));
                }
                let _ = self
                    .events
                    .send(Arc::new(p.event("failed", None, Some(reason))));
            }
        }
    }

    /// Ends a code call the PBX has answered (BYE, or CANCEL in early media).
    fn release_call(&self, id: &str) {
        if let Some(h) = self.calls.get(id).map(|c| c.handle.clone()) {
            tokio::spawn(async move {
                let _ = h.hangup().await;
            });
        }
    }

    /// What a callback subscription reports.
    pub(super) fn callback_subscription(&mut self, ev: &SubscriptionEvent) {
        let (target, package) = match ev {
            SubscriptionEvent::State {
                target, package, ..
            }
            | SubscriptionEvent::Notify {
                target, package, ..
            } => (target, *package),
        };
        let Some(i) = self.callbacks.pending.iter().position(|p| {
            p.state == State::Waiting
                && p.watch
                    .as_ref()
                    .is_some_and(|w| w.uri == *target && w.package == package)
        }) else {
            return;
        };
        let ended = match ev {
            SubscriptionEvent::State {
                state: SubscriptionState::Failed { reason },
                ..
            } => Some(reason),
            // A call-completion monitor that ends the subscription has
            // given up; a dialog subscription is made anew by its task.
            SubscriptionEvent::State {
                state: SubscriptionState::Terminated { reason },
                ..
            } if package == EventPackage::CallCompletion => Some(reason),
            _ => None,
        };
        if let Some(reason) = ended {
            let p = self.callbacks.pending.remove(i);
            let error = format!("the watch of {} ended: {reason}", p.target);
            tracing::info!(id = %p.id, "{error}");
            let _ = self
                .events
                .send(Arc::new(p.event("failed", None, Some(error))));
            return;
        }
        match ev {
            SubscriptionEvent::State { .. } => {}
            SubscriptionEvent::Notify {
                payload: Payload::DialogInfo(info),
                ..
            } => {
                let p = &mut self.callbacks.pending[i];
                let (free, seen) = decide::dialog_free(p.why, p.seen, info.lamp().state);
                p.seen = seen;
                if free {
                    self.target_free(i);
                }
            }
            SubscriptionEvent::Notify {
                payload: Payload::CallCompletion(cc),
                ..
            } => {
                if decide::cc_free(cc.state) {
                    let p = &mut self.callbacks.pending[i];
                    if let Some(uri) = &cc.uri {
                        p.dial_to = uri.clone();
                    }
                    self.target_free(i);
                }
            }
            SubscriptionEvent::Notify { .. } => {}
        }
    }

    /// The target of callback `i` is free: stop watching, then ring here
    /// or dial.
    fn target_free(&mut self, i: usize) {
        let calls_up = self.live_calls() > 0;
        let step = decide::on_free(self.config.phone.callback_auto_dial, calls_up);
        let p = &mut self.callbacks.pending[i];
        if let Some(watch) = p.watch.take() {
            // Unsubscribed a moment later, so that our 200 to the NOTIFY
            // that said "free" leaves before the unsubscribing SUBSCRIBE
            // (two transactions with no order of their own).
            tokio::spawn(async move {
                tokio::time::sleep(UNSUBSCRIBE_AFTER).await;
                drop(watch);
            });
        }
        match step {
            OnFree::Dial => {
                let p = self.callbacks.pending.remove(i);
                // A failure is announced as the callback's `failed` event.
                let _ = self.dial_callback(p);
            }
            OnFree::Ring => {
                p.state = State::Ringing;
                let name = format!("callback-{}", p.id);
                let event = p.event("ringing", None, None);
                match Ringer::start(&self.env.audio, &name, RECALL, RING_FOR) {
                    Ok(r) => self.callbacks.ringer = Some(r),
                    Err(e) => tracing::warn!("callback ring: {e}"),
                }
                let _ = self.events.send(Arc::new(event));
            }
        }
    }

    /// Places the callback's call; the callback is done either way.
    fn dial_callback(&mut self, p: Pending) -> Result<String, CommandError> {
        let result = self.dial_with(&p.dial_to, p.account.as_deref(), Vec::new());
        let event = match &result {
            Ok(call) => p.event("dialed", Some(call.clone()), None),
            Err(e) => p.event("failed", None, Some(e.message.clone())),
        };
        let _ = self.events.send(Arc::new(event));
        result
    }

    /// `callback_accept`: dials the callback whose target is free.
    pub(super) fn cmd_callback_accept(&mut self, id: Option<&str>) -> Result<Value, CommandError> {
        let i = self
            .callbacks
            .pending
            .iter()
            .position(|p| p.state == State::Ringing && id.is_none_or(|id| p.id == id))
            .ok_or_else(|| match id {
                Some(id) if self.callbacks.position(id).is_some() => CommandError::new(
                    "bad_state",
                    format!("callback {id} is still waiting for its target to be free"),
                ),
                Some(id) => CommandError::new("no_such_callback", format!("no callback {id}")),
                None => CommandError::new("no_such_callback", "no callback is ringing"),
            })?;
        let p = self.callbacks.pending.remove(i);
        self.stop_ring_unless_ringing();
        self.dial_callback(p).map(|call| json!({ "call": call }))
    }

    /// `callback_cancel`: drops a pending callback.
    pub(super) fn cmd_callback_cancel(&mut self, id: &str) -> Result<Value, CommandError> {
        let i = self
            .callbacks
            .position(id)
            .ok_or_else(|| CommandError::new("no_such_callback", format!("no callback {id}")))?;
        let p = self.callbacks.pending.remove(i);
        self.drop_callback(p, "cancelled");
        Ok(json!({ "callbacks": self.callbacks.status() }))
    }

    /// Drops callbacks whose time is up.
    pub(super) fn expire_callbacks(&mut self) {
        let now = Instant::now();
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.callbacks.pending)
            .into_iter()
            .partition(|p| p.expires <= now);
        self.callbacks.pending = kept;
        for p in gone {
            self.drop_callback(p, "expired");
        }
    }

    /// Ends a callback that will not happen: its watch goes, a PBX callback
    /// is cancelled by the off code where there is one.
    fn drop_callback(&mut self, p: Pending, state: &str) {
        if let Some(call) = &p.code_call {
            self.release_call(call);
        }
        if matches!(p.method, Method::FeatureCode { .. }) && p.state == State::Confirmed {
            let off = FeatureCodes::dial(&self.config.pbx.codes.callback_off, None);
            if let Some(off) = off {
                match self.dial_with(&off, p.account.as_deref(), Vec::new()) {
                    Ok(call) => {
                        self.callbacks.releasing.insert(call);
                    }
                    Err(e) => tracing::warn!("callback off code not dialled: {}", e.message),
                }
            }
        }
        let _ = self.events.send(Arc::new(p.event(state, None, None)));
        drop(p);
        self.stop_ring_unless_ringing();
    }

    /// Stops the recall once no callback rings any more.
    fn stop_ring_unless_ringing(&mut self) {
        if !self
            .callbacks
            .pending
            .iter()
            .any(|p| p.state == State::Ringing)
        {
            self.callbacks.ringer = None;
        }
    }
}

/// What arming did: done, or a PBX code whose answer the command awaits.
enum Armed {
    Now(Value),
    Code(oneshot::Receiver<Result<CallbackStatus, String>>, String),
}

/// Whether two ways of writing a party name the same number or URI.
fn same_party(a: &str, b: &str) -> bool {
    a == b || number_of(a) == number_of(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_parties() {
        let table = [
            ("sip:1002@pbx.local", "1002"),
            ("<sip:1002@pbx.local;transport=tcp>", "1002"),
            ("sips:alice;x=1@host", "alice"),
            ("1002", "1002"),
        ];
        for (uri, want) in table {
            assert_eq!(number_of(uri), want, "{uri}");
        }
        assert!(same_party("sip:1002@a", "1002"));
        assert!(!same_party("sip:1002@a", "1003"));
    }
}
