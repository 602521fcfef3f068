//! Whether a call counts as missed in the history (what `callback` with no
//! entry dials back): an incoming call nobody here answered, unless the
//! user rejected it or it was answered elsewhere (the caller's CANCEL
//! said so, RFC 3326 `Reason: SIP;cause=200`). A caller who hung up while
//! it rang, one turned away busy and one that rang out are missed. Pure;
//! the end reasons it reads are the calls' own.

use super::event::CallDirection;

/// The end reason of an incoming call another phone answered (a CANCEL
/// with `Reason: SIP;cause=200`, as a forking PBX sends to the others).
pub const ANSWERED_ELSEWHERE: &str = "answered elsewhere";

/// The end reason of an incoming call whose caller CANCELled it.
pub const CALLER_CANCELLED: &str = "caller cancelled";

/// The end reason of a call a CANCEL with SIP cause `cause` ended.
pub fn cancelled_reason(cause: Option<u16>) -> &'static str {
    match cause {
        Some(200) => ANSWERED_ELSEWHERE,
        _ => CALLER_CANCELLED,
    }
}

/// Whether a call that ended with `reason` was missed.
pub fn is_missed(direction: CallDirection, answered: bool, reason: &str) -> bool {
    direction == CallDirection::In
        && !answered
        && !reason.starts_with("rejected")
        && reason != ANSWERED_ELSEWHERE
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallDirection::{In, Out};

    #[test]
    fn only_unanswered_incoming_calls_nobody_took_are_missed() {
        let cases = [
            (In, false, CALLER_CANCELLED, true),
            (In, false, "no answer", true),
            (In, false, "busy (486): max_calls reached", true),
            (In, false, "do not disturb (486)", true),
            (In, false, ANSWERED_ELSEWHERE, false),
            (In, false, "rejected 486", false),
            (In, false, "rejected 603", false),
            (In, true, "remote hangup", false),
            (Out, false, "486 Busy Here", false),
            (Out, false, "cancelled", false),
        ];
        for (dir, answered, reason, want) in cases {
            assert_eq!(
                is_missed(dir, answered, reason),
                want,
                "{dir:?} {answered} {reason}"
            );
        }
    }

    #[test]
    fn a_cancel_with_cause_200_was_answered_elsewhere() {
        assert_eq!(cancelled_reason(Some(200)), ANSWERED_ELSEWHERE);
        assert_eq!(cancelled_reason(Some(600)), CALLER_CANCELLED);
        assert_eq!(cancelled_reason(None), CALLER_CANCELLED);
    }
}
