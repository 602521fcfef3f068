//! Which two calls `C` (`connect` without arguments) joins: the call held
//! for a consultation and the consultation itself, without asking. That
//! is the one held call and the newest other outgoing call not ended
//! (ringing there, answered or still dialing); with more than one held
//! call the pair is not clear, and the `:` line asks as before. Pure: it
//! reads the calls the TUI shows.

use crate::phone::{CallDirection, CallInfo, CallState};

/// `(call, consult)` for `connect`, when the calls make the pair clear.
pub(super) fn connect_pair(calls: &[CallInfo]) -> Option<(String, String)> {
    let mut held = calls.iter().filter(|c| c.state == CallState::Held);
    let first = held.next()?;
    if held.next().is_some() {
        return None;
    }
    let consult = calls.iter().rev().find(|c| {
        c.id != first.id
            && c.direction == CallDirection::Out
            && matches!(
                c.state,
                CallState::Dialing | CallState::Alerting | CallState::Active
            )
    })?;
    Some((first.id.clone(), consult.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::app::tests::call;
    use CallDirection::{In, Out};
    use CallState::*;

    #[test]
    fn the_held_call_pairs_with_the_newest_consultation() {
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        let cases = [
            (
                vec![call("c1", In, Held), call("c2", Out, Alerting)],
                pair("c1", "c2"),
            ),
            (
                vec![call("c1", Out, Held), call("c2", Out, Active)],
                pair("c1", "c2"),
            ),
            (
                vec![call("c1", Out, Held), call("c2", Out, Dialing)],
                pair("c1", "c2"),
            ),
            (
                vec![
                    call("c1", Out, Held),
                    call("c2", Out, Ended),
                    call("c3", Out, Alerting),
                ],
                pair("c1", "c3"),
            ),
            // No held call, two held calls, only an incoming other call.
            (
                vec![call("c1", Out, Active), call("c2", Out, Alerting)],
                None,
            ),
            (
                vec![
                    call("c1", Out, Held),
                    call("c2", Out, Held),
                    call("c3", Out, Alerting),
                ],
                None,
            ),
            (vec![call("c1", Out, Held), call("c2", In, Ringing)], None),
            (vec![call("c1", Out, Held)], None),
        ];
        for (i, (calls, want)) in cases.into_iter().enumerate() {
            assert_eq!(connect_pair(&calls), want, "case {i}");
        }
    }
}
