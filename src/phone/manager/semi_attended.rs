//! Transfer in the ringing phase (semi-attended): `connect` while the
//! consultation call still rings at the target cannot replace a dialog
//! that is not confirmed, so the consultation is CANCELled and the held
//! party is transferred blind (REFER) to the target it was ringing at.
//! [`ringing_target`] decides from the consultation's info; the manager's
//! `connect` (`transfer.rs`) carries it out. Pure.

use crate::phone::event::{CallDirection, CallInfo, CallState};

/// The target to transfer the held party to when `consult` is our call
/// still ringing there (the target a redirect led to, if one did); `None`
/// when the consultation is connected (an attended transfer) or is not
/// ours ringing.
pub(super) fn ringing_target(consult: &CallInfo) -> Option<String> {
    let ringing = matches!(consult.state, CallState::Dialing | CallState::Alerting);
    if consult.direction != CallDirection::Out || !ringing || consult.remote == "echo" {
        return None;
    }
    Some(
        consult
            .redirected_to
            .clone()
            .unwrap_or_else(|| consult.remote.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(direction: CallDirection, state: CallState, redirected: Option<&str>) -> CallInfo {
        let mut call: CallInfo = serde_json::from_value(serde_json::json!({
            "id": "c2", "account": "a", "direction": "out", "remote": "sip:1003@h",
            "state": "alerting", "held": false, "remote_held": false, "muted": false,
            "conference": false, "started_at": "t", "sip_call_id": "x@h"
        }))
        .unwrap();
        call.direction = direction;
        call.state = state;
        call.redirected_to = redirected.map(str::to_string);
        call
    }

    #[test]
    fn only_our_ringing_consultation_is_transferred_blind() {
        use CallDirection::{In, Out};
        use CallState::*;
        let target = |t: &str| Some(t.to_string());
        let cases = [
            (info(Out, Alerting, None), target("sip:1003@h")),
            (info(Out, Dialing, None), target("sip:1003@h")),
            (
                info(Out, Alerting, Some("sip:1004@h")),
                target("sip:1004@h"),
            ),
            (info(Out, Active, None), None),
            (info(Out, Held, None), None),
            (info(Out, Ended, None), None),
            (info(In, Ringing, None), None),
        ];
        for (i, (call, want)) in cases.into_iter().enumerate() {
            assert_eq!(ringing_target(&call), want, "case {i}");
        }
        let mut echo = info(Out, Dialing, None);
        echo.remote = "echo".into();
        assert_eq!(ringing_target(&echo), None);
    }
}
