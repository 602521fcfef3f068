//! Table tests of the reliable-provisional and UPDATE decisions.

use super::*;
use crate::sip::msg::SipMessage;

const INVITE: &str = "INVITE sip:1002@test.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
From: <sip:1001@test.local>;tag=aaa\r\n\
To: <sip:1002@test.local>\r\n\
Call-ID: call-1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:1001@127.0.0.1:5062>\r\n\
Content-Length: 0\r\n\r\n";

fn response(code: u16, tag: &str) -> Response {
    let SipMessage::Request(invite) = SipMessage::try_from(INVITE).unwrap() else {
        panic!("not a request");
    };
    crate::sip::message::response(&invite, code, Some(tag))
}

fn early(tag: &str, rseq: u32) -> EarlyDialog {
    let SipMessage::Request(invite) = SipMessage::try_from(INVITE).unwrap() else {
        panic!("not a request");
    };
    EarlyDialog {
        dialog: Dialog::from_uac(&invite, &response(183, tag)).unwrap(),
        rseq,
        answered: true,
    }
}

#[test]
fn provisional_responses_to_prack() {
    use ProvisionalStep::*;
    let fresh = |rseq| Prack {
        rseq,
        new_dialog: true,
    };
    let next = |rseq| Prack {
        rseq,
        new_dialog: false,
    };
    type Row<'a> = (
        Option<EarlyDialog>,
        bool,
        Option<u32>,
        Option<&'a str>,
        ProvisionalStep,
    );
    let table: Vec<Row> = vec![
        // Not reliable: no Require: 100rel, or no readable RSeq, or no tag.
        (None, false, Some(1), Some("b"), Unreliable),
        (None, true, None, Some("b"), Unreliable),
        (None, true, Some(1), None, Unreliable),
        // The first reliable 1xx, whatever its RSeq.
        (None, true, Some(776656), Some("b"), fresh(776656)),
        // The next one in the same early dialog.
        (Some(early("b", 5)), true, Some(6), Some("b"), next(6)),
        // The same one again (a retransmission), an older one, a gap.
        (Some(early("b", 5)), true, Some(5), Some("b"), Ignore),
        (Some(early("b", 5)), true, Some(4), Some("b"), Ignore),
        (Some(early("b", 5)), true, Some(8), Some("b"), Ignore),
        // Another fork: its own early dialog.
        (Some(early("b", 5)), true, Some(1), Some("c"), fresh(1)),
        // No RSeq follows the top of the range.
        (Some(early("b", u32::MAX)), true, Some(1), Some("b"), Ignore),
    ];
    for (e, reliable, rseq, tag, want) in table {
        assert_eq!(
            provisional_step(e.as_ref(), reliable, rseq, tag),
            want,
            "{:?} {reliable} {rseq:?} {tag:?}",
            e.as_ref().map(|e| e.rseq)
        );
    }
}

#[test]
fn rings_reliably_only_when_required() {
    assert!(ring_reliably(true));
    assert!(!ring_reliably(false));
}

#[test]
fn retransmissions_double_then_give_up() {
    let start = Instant::now();
    let mut ours = OurProvisional::new(response(180, "t"), 1, 1, start);
    let at = |ms: u64| start + Duration::from_millis(ms);
    // Sent at 0; again at 500, 1500, 3500, 7500 …; given up at 32 s.
    let table = [
        (100, RetransmitStep::Wait),
        (500, RetransmitStep::Resend),
        (1400, RetransmitStep::Wait),
        (1500, RetransmitStep::Resend),
        (3500, RetransmitStep::Resend),
        (7000, RetransmitStep::Wait),
        (7500, RetransmitStep::Resend),
        (15500, RetransmitStep::Resend),
        (31500, RetransmitStep::Resend),
        (32000, RetransmitStep::GiveUp),
    ];
    for (ms, want) in table {
        assert_eq!(retransmit_step(&mut ours, at(ms)), want, "at {ms} ms");
    }
    let reliable = Reliable {
        ours: Some(OurProvisional::new(response(180, "t"), 1, 1, start)),
        ..Reliable::default()
    };
    assert_eq!(reliable.deadline(), Some(at(500)));
    assert_eq!(Reliable::default().deadline(), None);
}

#[test]
fn rseq_starts_in_range_then_counts_up() {
    let mut r = Reliable::default();
    for random in [0, 1, u32::MAX, 1 << 31] {
        r.last_rseq = 0;
        let first = r.next_rseq(random);
        assert!((1..=crate::sip::reliable::MAX_FIRST_RSEQ).contains(&first));
        assert_eq!(r.next_rseq(random), first + 1);
    }
}

#[test]
fn pracks_acknowledge_or_not() {
    let rack = |rseq, cseq, method| RAck { rseq, cseq, method };
    let outstanding = |waiting: bool| {
        let (tx, _rx) = tokio::sync::oneshot::channel();
        Reliable {
            ours: Some(OurProvisional::new(
                response(180, "t"),
                7,
                1,
                Instant::now(),
            )),
            last_rseq: 7,
            answer_waiting: if waiting { vec![tx] } else { Vec::new() },
            ..Reliable::default()
        }
    };
    use PrackStep::*;
    let table = [
        (outstanding(false), None, true, BadRequest),
        (
            outstanding(false),
            Some(rack(7, 1, Method::Invite)),
            true,
            Acknowledged { answer: false },
        ),
        (
            outstanding(true),
            Some(rack(7, 1, Method::Invite)),
            true,
            Acknowledged { answer: true },
        ),
        (
            outstanding(false),
            Some(rack(6, 1, Method::Invite)),
            true,
            NoMatch,
        ),
        (
            outstanding(false),
            Some(rack(7, 2, Method::Invite)),
            true,
            NoMatch,
        ),
        (
            outstanding(false),
            Some(rack(7, 1, Method::Bye)),
            true,
            NoMatch,
        ),
        (
            outstanding(false),
            Some(rack(7, 1, Method::Invite)),
            false,
            NoMatch,
        ),
        (
            Reliable::default(),
            Some(rack(7, 1, Method::Invite)),
            true,
            NoMatch,
        ),
    ];
    for (mut reliable, rack, tag, want) in table {
        let had_none = reliable.ours.is_none();
        let got = prack_step(&mut reliable, rack.as_ref(), tag);
        assert_eq!(got, want, "{rack:?} {tag}");
        // Only an acknowledgement takes our 1xx off the retransmission list.
        let acknowledged = matches!(got, Acknowledged { .. });
        assert_eq!(reliable.ours.is_none(), acknowledged || had_none);
    }
}

#[test]
fn answers_wait_for_the_prack() {
    let mut r = Reliable::default();
    assert_eq!(answer_step(&r), AnswerStep::Now);
    r.ours = Some(OurProvisional::new(
        response(180, "t"),
        1,
        1,
        Instant::now(),
    ));
    assert_eq!(answer_step(&r), AnswerStep::WaitForPrack);
}

#[test]
fn updates() {
    use DialogPhase::{Confirmed, Early};
    use UpdateStep::*;
    let table = [
        (DialogPhase::None, true, false, Reply(481)),
        (DialogPhase::None, true, true, Reply(481)),
        (Confirmed { offer_open: false }, false, false, Reply(500)),
        (Confirmed { offer_open: false }, true, false, Refresh),
        (Confirmed { offer_open: false }, true, true, Answer),
        // Our re-INVITE (or our offer in a 2xx) awaits its answer.
        (Confirmed { offer_open: true }, true, true, Reply(491)),
        (Confirmed { offer_open: true }, true, false, Refresh),
        // Early, as caller: our INVITE's offer was answered in a reliable 1xx.
        (
            Early {
                offer_open: false,
                ours: true,
            },
            true,
            true,
            Answer,
        ),
        (
            Early {
                offer_open: true,
                ours: true,
            },
            true,
            true,
            Reply(491),
        ),
        // Early, as callee: the INVITE's offer still awaits our answer.
        (
            Early {
                offer_open: true,
                ours: false,
            },
            true,
            true,
            RetryLater,
        ),
        (
            Early {
                offer_open: true,
                ours: false,
            },
            true,
            false,
            Refresh,
        ),
    ];
    for (phase, in_order, offer, want) in table {
        assert_eq!(
            update_step(phase, in_order, offer),
            want,
            "{phase:?} {in_order} {offer}"
        );
    }
    for random in [0, 5, 10, 11, u32::MAX] {
        assert!(retry_after(random) <= 10);
    }
}
