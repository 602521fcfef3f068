//! Unit tests of the subscription helpers (the task itself is tested
//! against kamailio in `tests/presence_server.rs`).

use super::*;

#[test]
fn subscription_state_header() {
    let s = parse_sub_state("active;expires=3599");
    assert_eq!(s.value, "active");
    assert_eq!(s.expires, Some(3599));
    let t = parse_sub_state("Terminated; reason=Timeout ;retry-after=20");
    assert_eq!(t.value, "terminated");
    assert_eq!(t.reason.as_deref(), Some("timeout"));
    assert_eq!(t.retry_after, Some(20));
    let junk = parse_sub_state(";;=;expires=x");
    assert_eq!(junk.value, "");
    assert_eq!(junk.expires, None);
}

#[test]
fn termination_reasons_decide_the_retry() {
    assert_eq!(
        retry_after_termination(Some("timeout"), None),
        Duration::ZERO
    );
    assert_eq!(retry_after_termination(None, None), Duration::ZERO);
    assert_eq!(
        retry_after_termination(Some("deactivated"), Some(2)),
        Duration::from_secs(2)
    );
    assert_eq!(
        retry_after_termination(Some("rejected"), None),
        AUTH_FAILURE_RETRY
    );
    assert_eq!(
        retry_after_termination(Some("noresource"), Some(1)),
        AUTH_FAILURE_RETRY
    );
    assert_eq!(
        retry_after_termination(Some("probation"), None),
        Duration::from_secs(30)
    );
    assert_eq!(
        retry_after_termination(Some("giveup"), Some(7)),
        Duration::from_secs(7)
    );
}

#[test]
fn packages_name_their_headers() {
    assert_eq!(EventPackage::Dialog.event(), "dialog");
    assert_eq!(EventPackage::Dialog.accept(), "application/dialog-info+xml");
    assert_eq!(EventPackage::MessageSummary.event(), "message-summary");
    assert_eq!(EventPackage::Presence.accept(), "application/pidf+xml");
}
