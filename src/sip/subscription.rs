//! SUBSCRIBE client (RFC 6665): one task per watched resource and event
//! package (dialog for the busy lamp field, message-summary for MWI,
//! presence, call-completion for callbacks). It subscribes with Event/Accept/Expires, answers digest
//! challenges, refreshes before expiry, subscribes anew after 481, a
//! timeout or a terminating NOTIFY, answers and parses the NOTIFYs routed
//! to it, reports state and bodies on a channel, and unsubscribes
//! (Expires: 0) when cancelled.
//!
//! NOTIFY routing: the subscription keeps one Call-ID for its whole life
//! ([`SubscriptionHandle::call_id`]). The phone's manager, on an
//! `Incoming::Request` NOTIFY whose Call-ID is a handle's, passes the
//! server transaction to [`SubscriptionHandle::notify`]; the task answers
//! it (200, or 481 for a dialog it no longer has). When `notify` gives the
//! transaction back, the task has ended: answer 481 yourself.

mod addr_watch;
pub mod call_completion;
pub mod dialog_info;
pub mod message_summary;
pub mod pidf;
mod task;
pub mod xml;

use super::auth::Credentials;
use super::message as m;
use super::msg::{Method, Request};
use super::registration::AUTH_FAILURE_RETRY;
use super::transaction::{Endpoint, ServerTransaction};
use super::transport::Peer;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use dialog_info::{DialogInfo, Lamp, LampState, PickupTarget};
pub use message_summary::MessageSummary;
pub use pidf::{Availability, Presence};

/// The event packages we subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventPackage {
    /// RFC 4235 `dialog` (busy lamp field, pickup).
    Dialog,
    /// RFC 3842 `message-summary` (message waiting indication).
    MessageSummary,
    /// RFC 3856 `presence` (PIDF).
    Presence,
    /// RFC 6910 `call-completion` (callback when free).
    CallCompletion,
}

impl EventPackage {
    /// The Event header value.
    pub fn event(self) -> &'static str {
        match self {
            EventPackage::Dialog => "dialog",
            EventPackage::MessageSummary => "message-summary",
            EventPackage::Presence => "presence",
            EventPackage::CallCompletion => "call-completion",
        }
    }

    /// The Accept header value.
    pub fn accept(self) -> &'static str {
        match self {
            EventPackage::Dialog => "application/dialog-info+xml",
            EventPackage::MessageSummary => "application/simple-message-summary",
            EventPackage::Presence => "application/pidf+xml",
            EventPackage::CallCompletion => call_completion::CONTENT_TYPE,
        }
    }
}

/// What one subscription watches.
#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// Account name (for the reports).
    pub account: String,
    pub package: EventPackage,
    /// The watched resource's URI (Request-URI and To), e.g. `sip:1002@test.local`;
    /// our own AOR for message-summary.
    pub target: String,
    /// Our address of record (From).
    pub aor: String,
    /// Where requests go (outbound proxy or the notifier).
    pub peer: Peer,
    /// The outbound proxy URI, put in a `Route` header ([`super::route`]).
    pub proxy: Option<String>,
    pub credentials: Option<Credentials>,
    /// Requested lifetime in seconds.
    pub expires: u32,
}

/// The state of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Accepted, waiting for the notifier's authorization.
    Pending,
    /// Active for `expires` seconds.
    Active { expires: u32 },
    /// The notifier ended it (reason from Subscription-State); a new one follows
    /// unless the reason says it cannot succeed (rejected, noresource: retried after 10 minutes).
    Terminated { reason: String },
    /// The SUBSCRIBE failed (e.g. "404 Not Found", "no answer"); retried with back-off.
    Failed { reason: String },
}

/// A NOTIFY body, parsed by its Content-Type.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The watched entity's dialogs, partial updates already merged into the
    /// full state: call [`DialogInfo::lamp`].
    DialogInfo(DialogInfo),
    MessageSummary(MessageSummary),
    Presence(Presence),
    CallCompletion(call_completion::CallCompletion),
}

/// What the task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionEvent {
    State {
        account: String,
        target: String,
        package: EventPackage,
        state: SubscriptionState,
    },
    Notify {
        account: String,
        target: String,
        package: EventPackage,
        payload: Payload,
    },
}

/// Controls a running subscription task. Dropping it does not stop the task:
/// cancel the token given to [`spawn`].
#[derive(Debug)]
pub struct SubscriptionHandle {
    call_id: String,
    notify: mpsc::UnboundedSender<ServerTransaction>,
    task: tokio::task::JoinHandle<()>,
}

impl SubscriptionHandle {
    /// The Call-ID of every SUBSCRIBE and NOTIFY of this subscription.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Whether `request` is a NOTIFY for this subscription (by Call-ID).
    pub fn matches(&self, request: &Request) -> bool {
        request.method == Method::Notify
            && m::call_id(&request.headers).is_ok_and(|c| c == self.call_id)
    }

    /// Hands a NOTIFY to the task, which answers it. Gives it back when the
    /// task has ended (the caller should answer 481).
    pub fn notify(&self, tx: ServerTransaction) -> Result<(), Box<ServerTransaction>> {
        self.notify.send(tx).map_err(|e| Box::new(e.0))
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the task to end (after cancelling its token).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// The URI of a watched target: a SIP URI as given, else `sip:<target>@<domain>`
/// (a `[[blf]]` number in the account's domain).
pub fn target_uri(target: &str, domain: &str) -> String {
    let t = target.trim();
    if super::uri::has_sip_scheme(t) {
        t.to_string()
    } else {
        format!("sip:{t}@{domain}")
    }
}

/// Starts a subscription task.
pub fn spawn(
    endpoint: Endpoint,
    cfg: SubscriptionConfig,
    events: mpsc::UnboundedSender<SubscriptionEvent>,
    cancel: CancellationToken,
) -> SubscriptionHandle {
    let call_id = m::new_call_id();
    let (tx, rx) = mpsc::unbounded_channel();
    let sub = task::Subscriber::new(endpoint, cfg, call_id.clone(), events, rx);
    SubscriptionHandle {
        call_id,
        notify: tx,
        task: tokio::spawn(sub.run(cancel)),
    }
}

/// `Subscription-State` parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubState {
    /// `active`, `pending`, `terminated` (lower case).
    pub value: String,
    pub expires: Option<u32>,
    pub reason: Option<String>,
    pub retry_after: Option<u32>,
}

/// Parses a Subscription-State header value.
pub fn parse_sub_state(value: &str) -> SubState {
    let mut parts = value.split(';');
    let state = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let mut out = SubState {
        value: state,
        expires: None,
        reason: None,
        retry_after: None,
    };
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let v = v.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "expires" => out.expires = v.parse().ok(),
            "reason" => out.reason = Some(v.to_ascii_lowercase()),
            "retry-after" => out.retry_after = v.parse().ok(),
            _ => {}
        }
    }
    out
}

/// What to do after a terminating NOTIFY with `reason` (RFC 6665 §4.1.3).
pub fn retry_after_termination(reason: Option<&str>, retry_after: Option<u32>) -> Duration {
    match reason {
        Some("rejected") | Some("noresource") | Some("invariant") => AUTH_FAILURE_RETRY,
        Some("probation") | Some("giveup") => {
            Duration::from_secs(retry_after.map(u64::from).unwrap_or(30).clamp(1, 3600))
        }
        _ => Duration::from_millis(retry_after.map(|s| u64::from(s) * 1000).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests;
