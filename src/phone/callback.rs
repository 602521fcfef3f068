//! Callback when free ("Rückruf"), the decisions: which ended calls a
//! callback may follow (busy, or unanswered), which way a callback is
//! watched (RFC 6910 call completion where the server offered it, else the
//! PBX's callback code, else the target's dialog state, RFC 4235), when a
//! watched target counts as free, what happens then (ring here first, or
//! dial at once), and when a callback expires. Pure: no IO, no clock of its
//! own; the manager's `callback` module carries the decisions out.

use crate::phone::event::CallDirection;
use crate::sip::subscription::call_completion::CcState;
use crate::sip::subscription::LampState;

/// Why the call to the target did not get through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreached {
    /// 486 Busy Here, 600 Busy Everywhere.
    Busy,
    /// 480, 408, or rang without an answer until we gave up.
    NoAnswer,
}

impl Unreached {
    pub fn as_str(self) -> &'static str {
        match self {
            Unreached::Busy => "busy",
            Unreached::NoAnswer => "no_answer",
        }
    }
}

/// Whether an ended call is one a callback when free may follow: ours,
/// never answered, ended busy or unanswered. `alerted`: it rang at the
/// target (180/183) before it ended.
pub fn unreached(
    direction: CallDirection,
    answered: bool,
    end_reason: &str,
    alerted: bool,
) -> Option<Unreached> {
    if direction != CallDirection::Out || answered {
        return None;
    }
    let code = end_reason
        .split_whitespace()
        .next()
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(486 | 600) => Some(Unreached::Busy),
        Some(480 | 408) => Some(Unreached::NoAnswer),
        Some(_) => None,
        // We hung up while it rang there.
        None if alerted => Some(Unreached::NoAnswer),
        None => None,
    }
}

/// How a callback is watched, in the order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// RFC 6910: subscribe to the `call-completion` package at `monitor`.
    CallCompletion { monitor: String },
    /// The PBX's callback code, dialled as `number`; the PBX rings back.
    FeatureCode { number: String },
    /// Subscribe to the target's `dialog` state and see it go idle.
    Dialog,
}

impl Method {
    /// The `via` of status and events.
    pub fn via(&self) -> &'static str {
        match self {
            Method::CallCompletion { .. } => "call_completion",
            Method::FeatureCode { .. } => "feature_code",
            Method::Dialog => "dialog",
        }
    }
}

/// Why no callback can be armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoWay {
    #[error("the server offered no call completion, the PBX profile has no callback code, and no account has a server to watch the target's dialog state at")]
    NoServer,
}

/// The way to watch: call completion when the server offered a monitor
/// (for this target's busy or unanswered call), else the PBX code (the
/// digits to dial, if the profile has one), else the dialog state, which
/// needs an account with a server to subscribe at.
pub fn method(
    monitor: Option<&str>,
    code: Option<String>,
    has_server: bool,
) -> Result<Method, NoWay> {
    if let Some(m) = monitor.filter(|m| !m.trim().is_empty()) {
        return Ok(Method::CallCompletion {
            monitor: m.trim().to_string(),
        });
    }
    if let Some(number) = code {
        return Ok(Method::FeatureCode { number });
    }
    if has_server {
        return Ok(Method::Dialog);
    }
    Err(NoWay::NoServer)
}

/// What the target's dialog state has shown so far, for [`dialog_free`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// The target was in a call (busy) since the watch began.
    pub busy: bool,
}

/// Whether a dialog-state report `lamp` makes the target free, and what
/// the watch has seen after it. A busy target is free once it is idle; a
/// target that did not answer is free once it has been in a call and is
/// idle again (someone is at the phone). Offline and unknown targets are
/// not free.
pub fn dialog_free(why: Unreached, seen: Seen, lamp: LampState) -> (bool, Seen) {
    let seen = Seen {
        busy: seen.busy || lamp == LampState::Busy,
    };
    let free = lamp == LampState::Idle && (why == Unreached::Busy || seen.busy);
    (free, seen)
}

/// Whether a call-completion NOTIFY's state makes the target free.
pub fn cc_free(state: CcState) -> bool {
    state == CcState::Ready
}

/// What to do when the target is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFree {
    /// Ring here with the recall tone; dial when the user accepts.
    Ring,
    /// Dial the target at once (`[phone] callback_auto_dial`).
    Dial,
}

/// What a free target means here: with `auto_dial` dial at once; when a
/// call is already up, ring anyway (the user decides); else ring.
pub fn on_free(auto_dial: bool, calls_up: bool) -> OnFree {
    match (auto_dial, calls_up) {
        (true, false) => OnFree::Dial,
        _ => OnFree::Ring,
    }
}

/// Whether a callback armed at `armed_s` (seconds on the manager's clock)
/// has expired at `now_s` with `expiry_s`.
pub fn expired(armed_s: u64, now_s: u64, expiry_s: u64) -> bool {
    now_s.saturating_sub(armed_s) >= expiry_s
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallDirection::{In, Out};

    #[test]
    fn which_ended_calls_a_callback_follows() {
        use Unreached::*;
        let table = [
            (Out, false, "486 Busy Here", false, Some(Busy)),
            (Out, false, "600 Busy Everywhere", true, Some(Busy)),
            (
                Out,
                false,
                "480 Temporarily Unavailable",
                false,
                Some(NoAnswer),
            ),
            (Out, false, "408 Request Timeout", true, Some(NoAnswer)),
            (Out, false, "cancelled", true, Some(NoAnswer)),
            (Out, false, "cancelled", false, None),
            (Out, false, "404 Not Found", true, None),
            (Out, false, "503 Service Unavailable", false, None),
            (Out, true, "486 Busy Here", false, None),
            (Out, true, "hangup", true, None),
            (In, false, "486 Busy Here", false, None),
            (Out, false, "", false, None),
        ];
        for (i, (dir, answered, reason, alerted, want)) in table.into_iter().enumerate() {
            assert_eq!(unreached(dir, answered, reason, alerted), want, "row {i}");
        }
    }

    #[test]
    fn methods_in_order_of_preference() {
        let cc = |m: &str| Ok(Method::CallCompletion { monitor: m.into() });
        let code = |n: &str| Ok(Method::FeatureCode { number: n.into() });
        let table = [
            (Some("sip:cc@pbx"), Some("*371002"), true, cc("sip:cc@pbx")),
            (Some("sip:cc@pbx"), None, false, cc("sip:cc@pbx")),
            (Some(" "), Some("*371002"), true, code("*371002")),
            (None, Some("*371002"), false, code("*371002")),
            (None, None, true, Ok(Method::Dialog)),
            (None, None, false, Err(NoWay::NoServer)),
        ];
        for (i, (monitor, number, server, want)) in table.into_iter().enumerate() {
            let got = method(monitor, number.map(str::to_string), server);
            assert_eq!(got, want, "row {i}");
        }
        assert_eq!(Method::Dialog.via(), "dialog");
    }

    #[test]
    fn when_a_watched_target_is_free() {
        use LampState::{Busy as B, Idle, Offline, Ringing, Unknown};
        use Unreached::{Busy, NoAnswer};
        let no = Seen { busy: false };
        let yes = Seen { busy: true };
        let table = [
            // (why, seen before, report, free, seen after)
            (Busy, no, Idle, true, no),
            (Busy, no, B, false, yes),
            (Busy, yes, Idle, true, yes),
            (Busy, no, Ringing, false, no),
            (Busy, no, Offline, false, no),
            (Busy, no, Unknown, false, no),
            (NoAnswer, no, Idle, false, no),
            (NoAnswer, no, Ringing, false, no),
            (NoAnswer, no, B, false, yes),
            (NoAnswer, yes, Ringing, false, yes),
            (NoAnswer, yes, Idle, true, yes),
            (NoAnswer, yes, Offline, false, yes),
        ];
        for (i, (why, before, lamp, free, after)) in table.into_iter().enumerate() {
            assert_eq!(dialog_free(why, before, lamp), (free, after), "row {i}");
        }
        assert!(cc_free(CcState::Ready) && !cc_free(CcState::Queued));
    }

    #[test]
    fn ring_or_dial_and_expiry() {
        assert_eq!(on_free(false, false), OnFree::Ring);
        assert_eq!(on_free(true, false), OnFree::Dial);
        assert_eq!(on_free(true, true), OnFree::Ring);
        assert_eq!(on_free(false, true), OnFree::Ring);
        let table = [
            (100, 100, 1800, false),
            (100, 1899, 1800, false),
            (100, 1900, 1800, true),
            (100, 5000, 1800, true),
            (500, 100, 1800, false),
        ];
        for (armed, now, expiry, want) in table {
            assert_eq!(expired(armed, now, expiry), want, "{armed} {now} {expiry}");
        }
    }
}
