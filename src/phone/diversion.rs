//! The `Diversion` header (RFC 5806) our 302s carry: who diverted the call
//! (the account's address of record) and why: `unconditional` (forward
//! always), `user-busy` (forward on busy), `no-answer` (forward after the
//! ring time) or `deflection` (the user's `deflect`). Which reason a
//! forwarding decision stands for is [`forward_reason`]. Pure: the
//! responses are built by the manager (`manager/routing.rs`) and the call
//! (`call/control.rs`).

use super::policy::{Decision, InternalPattern, Policy};

/// Why a call was diverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiversionReason {
    Unconditional,
    UserBusy,
    NoAnswer,
    Deflection,
}

impl DiversionReason {
    /// The `reason` parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            DiversionReason::Unconditional => "unconditional",
            DiversionReason::UserBusy => "user-busy",
            DiversionReason::NoAnswer => "no-answer",
            DiversionReason::Deflection => "deflection",
        }
    }
}

/// The header value naming `user@domain` as the diverting party.
pub fn header_value(user: &str, domain: &str, reason: DiversionReason) -> String {
    format!("<sip:{user}@{domain}>;reason={};counter=1", reason.as_str())
}

/// Why `policy` forwards a call from `caller` at once while we are `busy`:
/// a rule that forwards even when we are not busy is an `always` rule.
pub fn forward_reason(
    policy: &Policy,
    caller: &str,
    busy: bool,
    internal: &InternalPattern,
) -> DiversionReason {
    let when_free = policy.decide(caller, false, internal);
    if busy && !matches!(when_free, Decision::Forward { .. }) {
        DiversionReason::UserBusy
    } else {
        DiversionReason::Unconditional
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::policy::{ForwardRule, Scope, When};

    fn rule(when: When, to: &str) -> ForwardRule {
        ForwardRule {
            when,
            scope: Scope::All,
            to: to.into(),
            after_s: None,
        }
    }

    #[test]
    fn the_header_names_the_account_and_the_reason() {
        let cases = [
            (
                DiversionReason::Unconditional,
                "<sip:1001@pbx.test>;reason=unconditional;counter=1",
            ),
            (
                DiversionReason::UserBusy,
                "<sip:1001@pbx.test>;reason=user-busy;counter=1",
            ),
            (
                DiversionReason::NoAnswer,
                "<sip:1001@pbx.test>;reason=no-answer;counter=1",
            ),
            (
                DiversionReason::Deflection,
                "<sip:1001@pbx.test>;reason=deflection;counter=1",
            ),
        ];
        for (reason, want) in cases {
            assert_eq!(header_value("1001", "pbx.test", reason), want);
        }
    }

    #[test]
    fn an_always_rule_is_unconditional_even_when_busy() {
        let internal = InternalPattern::default();
        let always = Policy {
            forward: vec![rule(When::Always, "1005")],
            ..Policy::default()
        };
        let busy = Policy {
            forward: vec![rule(When::Busy, "1006")],
            ..Policy::default()
        };
        let both = Policy {
            forward: vec![rule(When::Busy, "1006"), rule(When::Always, "1005")],
            ..Policy::default()
        };
        let cases = [
            (&always, false, DiversionReason::Unconditional),
            (&always, true, DiversionReason::Unconditional),
            (&busy, true, DiversionReason::UserBusy),
            (&both, true, DiversionReason::Unconditional),
        ];
        for (i, (policy, is_busy, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                forward_reason(policy, "sip:1002@h", is_busy, &internal),
                want,
                "case {i}"
            );
        }
    }
}
