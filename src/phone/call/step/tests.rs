//! Table tests of the call's decisions.

use super::*;

use super::invite::Cancel;
use crate::media::Tone;
use crate::phone::event::CallState;
use crate::sip::message as m;
use crate::sip::transport::{Peer, Protocol};

/// A request as sent, for the sub-structs that keep one in flight.
fn sent(method: Method) -> Sent {
    Sent {
        request: m::request(method, "sip:bob@example.com").unwrap(),
        peer: Peer {
            protocol: Protocol::Udp,
            addr: "127.0.0.1:5060".parse().unwrap(),
        },
    }
}

/// An outgoing set-up whose INVITE went out (`provisional`: a 1xx came).
fn setup(provisional: bool, cancel: Cancel) -> OutgoingSetup {
    OutgoingSetup {
        invite: Some(SentInvite {
            sent: sent(Method::Invite),
            provisional,
        }),
        cancel,
        early_media: false,
        auth_attempts: 0,
        alternates: Vec::new(),
        redirects: Default::default(),
    }
}

/// Dialing, the INVITE out, nothing heard yet.
fn dialing() -> OutgoingSetup {
    setup(false, Cancel::NotWanted)
}

fn resp(code: u16, status: &str, has_sdp: bool) -> InviteResponse<'_> {
    InviteResponse {
        code,
        status,
        has_sdp,
    }
}

fn end(reason: &str, tone: Option<Tone>) -> InviteStep {
    InviteStep::End {
        reason: reason.to_string(),
        tone,
    }
}

#[test]
fn provisional_responses() {
    use CallState::{Alerting, Dialing};
    let early = || OutgoingSetup {
        early_media: true,
        ..dialing()
    };
    let hung_up = || setup(false, Cancel::Wanted);
    let cancelled = || setup(false, Cancel::Sent);
    let progress = |send_cancel, early_media, ringback, alerting| InviteStep::Progress {
        send_cancel,
        early_media,
        ringback,
        alerting,
    };
    let table = [
        (
            dialing(),
            Dialing,
            resp(100, "100 Trying", false),
            InviteStep::Nothing,
        ),
        (
            dialing(),
            Dialing,
            resp(180, "180 Ringing", false),
            progress(false, false, true, true),
        ),
        (
            dialing(),
            Alerting,
            resp(180, "180 Ringing", false),
            progress(false, false, true, false),
        ),
        (
            dialing(),
            Dialing,
            resp(183, "183 Session Progress", true),
            progress(false, true, false, true),
        ),
        (
            dialing(),
            Dialing,
            resp(183, "183 Session Progress", false),
            progress(false, false, true, true),
        ),
        (
            dialing(),
            Dialing,
            resp(181, "181 Call Is Being Forwarded", false),
            progress(false, false, true, true),
        ),
        (
            dialing(),
            Alerting,
            resp(182, "182 Queued", false),
            progress(false, false, true, false),
        ),
        // Not a call-progress code: no tone.
        (
            dialing(),
            Dialing,
            resp(199, "199 Early Dialog Terminated", false),
            progress(false, false, false, true),
        ),
        (
            early(),
            Alerting,
            resp(183, "183 Session Progress", false),
            progress(false, false, false, false),
        ),
        // Ringing after early media: the peer's audio stays, no local ringback.
        (
            early(),
            Alerting,
            resp(180, "180 Ringing", false),
            progress(false, false, false, false),
        ),
        // A hang-up while dialing sends its CANCEL with the first 1xx, once.
        (
            hung_up(),
            Dialing,
            resp(180, "180 Ringing", false),
            progress(true, false, true, true),
        ),
        (
            cancelled(),
            Dialing,
            resp(180, "180 Ringing", false),
            progress(false, false, true, true),
        ),
    ];
    for (mut call, state, r, want) in table {
        let before = format!("{call:?} {state:?} {r:?}");
        let was_early = call.early_media;
        assert_eq!(invite_step(&mut call, state, true, &r), want, "{before}");
        if r.code > 100 {
            // The set-up remembers the 1xx (a CANCEL may go now), the CANCEL
            // it sent and the early media it plays.
            let invite = call.invite.as_ref().unwrap();
            assert!(invite.provisional, "{before}");
            assert_ne!(call.cancel, Cancel::Wanted, "{before}");
            assert_eq!(call.early_media, was_early || r.has_sdp, "{before}");
        }
    }
    // The CANCEL goes once: the next 1xx sends none.
    let mut call = hung_up();
    let ringing = resp(180, "180 Ringing", false);
    assert_eq!(
        invite_step(&mut call, Dialing, true, &ringing),
        progress(true, false, true, true)
    );
    assert_eq!(call.cancel, Cancel::Sent);
    assert_eq!(
        invite_step(&mut call, Alerting, true, &ringing),
        progress(false, false, true, false)
    );
}

#[test]
fn answers() {
    let hung_up = || setup(true, Cancel::Sent);
    let ok = resp(200, "200 OK", true);
    let table = [
        (dialing(), CallState::Dialing, Answered::Connect),
        (dialing(), CallState::Active, Answered::AckOnly),
        (dialing(), CallState::Ended, Answered::AckOnly),
        // The 200 crossed our CANCEL: the call is up, so BYE it.
        (hung_up(), CallState::Alerting, Answered::ByeCancelled),
    ];
    for (mut call, state, want) in table {
        assert_eq!(
            invite_step(&mut call, state, true, &ok),
            InviteStep::Answered(want),
            "{call:?} {state:?}"
        );
    }
}

#[test]
fn challenges() {
    let dialing_state = CallState::Dialing;
    let r401 = resp(401, "401 Unauthorized", false);
    let r407 = resp(407, "407 Proxy Authentication Required", false);
    let mut call = dialing();
    assert_eq!(
        invite_step(&mut call, dialing_state, true, &r401),
        InviteStep::Authenticate
    );
    assert_eq!(call.auth_attempts, 1);
    assert_eq!(
        invite_step(&mut call, dialing_state, true, &r407),
        InviteStep::Authenticate
    );
    assert_eq!(call.auth_attempts, 2);
    assert_eq!(
        invite_step(&mut call, dialing_state, true, &r401),
        end("401 Unauthorized wrong password", None)
    );
    assert_eq!(
        invite_step(&mut dialing(), dialing_state, false, &r407),
        end(
            "407 Proxy Authentication Required no password configured",
            None
        )
    );
    // After a hang-up a challenge is not answered.
    let mut hung_up = setup(false, Cancel::Wanted);
    assert_eq!(
        invite_step(&mut hung_up, dialing_state, true, &r401),
        end("401 Unauthorized", None)
    );
}

#[test]
fn failures_end_with_the_right_tone() {
    let table = [
        (486, "486 Busy Here", Some(Tone::Busy)),
        (600, "600 Busy Everywhere", Some(Tone::Busy)),
        (603, "603 Decline", Some(Tone::Congestion)),
        (404, "404 Not Found", Some(Tone::Congestion)),
        (503, "503 Service Unavailable", Some(Tone::Congestion)),
        (408, "408 Request Timeout", Some(Tone::Congestion)),
        (302, "302 Moved Temporarily", Some(Tone::Congestion)),
    ];
    for (code, status, tone) in table {
        assert_eq!(
            invite_step(
                &mut dialing(),
                CallState::Dialing,
                true,
                &resp(code, status, false)
            ),
            end(status, tone),
            "{code}"
        );
    }
}

#[test]
fn failures_after_a_hang_up_end_quietly() {
    let hung_up = || setup(true, Cancel::Sent);
    assert_eq!(
        invite_step(
            &mut hung_up(),
            CallState::Alerting,
            true,
            &resp(487, "487 Request Terminated", false)
        ),
        end("cancelled", None)
    );
    assert_eq!(
        invite_step(
            &mut hung_up(),
            CallState::Alerting,
            true,
            &resp(486, "486 Busy Here", false)
        ),
        end("486 Busy Here", None)
    );
}

#[test]
fn hang_up_in_each_state() {
    use CallState::{Active, Alerting, Dialing, Ended, Held, Ringing};
    let not_sent = || OutgoingSetup::default();
    let cancel = |send_now, end_now| HangupStep::Cancel { send_now, end_now };
    // (set-up, state, has dialog, echo, step, cancel afterwards)
    let table = [
        (
            dialing(),
            Dialing,
            false,
            false,
            cancel(false, false),
            Cancel::Wanted,
        ),
        // INVITE not out yet (still resolving the next hop): end now.
        (
            not_sent(),
            Dialing,
            false,
            false,
            cancel(false, true),
            Cancel::Wanted,
        ),
        (
            setup(true, Cancel::NotWanted),
            Alerting,
            false,
            false,
            cancel(true, false),
            Cancel::Sent,
        ),
        (
            setup(true, Cancel::Sent),
            Alerting,
            false,
            false,
            cancel(false, false),
            Cancel::Sent,
        ),
        // A 2xx made the dialog: the call is up, BYE it.
        (
            dialing(),
            Dialing,
            true,
            false,
            HangupStep::Bye,
            Cancel::NotWanted,
        ),
        (
            dialing(),
            Dialing,
            false,
            true,
            HangupStep::Bye,
            Cancel::NotWanted,
        ),
        (
            not_sent(),
            Ringing,
            false,
            false,
            HangupStep::Reject,
            Cancel::NotWanted,
        ),
        (
            dialing(),
            Active,
            true,
            false,
            HangupStep::Bye,
            Cancel::NotWanted,
        ),
        (
            dialing(),
            Held,
            true,
            false,
            HangupStep::Bye,
            Cancel::NotWanted,
        ),
        (
            dialing(),
            Ended,
            false,
            false,
            HangupStep::Nothing,
            Cancel::NotWanted,
        ),
    ];
    for (mut call, state, has_dialog, echo, want, cancel_after) in table {
        let before = format!("{call:?} {state:?} dialog={has_dialog} echo={echo}");
        assert_eq!(
            hangup_step(&mut call, state, has_dialog, echo),
            want,
            "{before}"
        );
        assert_eq!(call.cancel, cancel_after, "{before}");
    }
}

/// Our re-INVITEs: `pending` in flight or waiting, hold not wanted.
fn reinvite(pending: Pending) -> Reinvite {
    Reinvite {
        want_held: false,
        pending,
        replies: Vec::new(),
    }
}

fn in_flight() -> Pending {
    Pending::InFlight(Box::new(sent(Method::Invite)))
}

fn glare() -> Pending {
    Pending::Glare(tokio::time::Instant::now())
}

#[test]
fn hold_and_resume_by_state() {
    use CallState::{Active, Alerting, Ended, Held, Ringing};
    let queue = |send_now| HoldStep::Queue { send_now };
    // (re-INVITEs, state, has dialog, held, hold wanted, step)
    let table = [
        (Pending::Idle, Active, true, false, true, queue(true)),
        (Pending::Idle, Active, true, false, false, HoldStep::Done),
        (Pending::Idle, Held, true, true, false, queue(true)),
        (Pending::Idle, Held, true, true, true, HoldStep::Done),
        // A re-INVITE in flight carries the newest wish when it is retried
        // or answered; a second one is not sent alongside.
        (in_flight(), Active, true, false, true, queue(false)),
        (in_flight(), Active, true, false, false, queue(false)),
        (glare(), Active, true, false, true, queue(false)),
        (Pending::Idle, Ringing, false, false, true, HoldStep::Refuse),
        (
            Pending::Idle,
            Alerting,
            false,
            false,
            true,
            HoldStep::Refuse,
        ),
        (Pending::Idle, Ended, true, false, false, HoldStep::Refuse),
        (Pending::Idle, Active, false, false, true, HoldStep::Refuse),
    ];
    for (pending, state, has_dialog, held, want_held, want) in table {
        let call = reinvite(pending);
        assert_eq!(
            hold_step(&call, state, has_dialog, held, want_held),
            want,
            "{call:?} {state:?} dialog={has_dialog} held={held} hold={want_held}"
        );
    }
}

#[test]
fn reinvite_responses() {
    let refused = |end_dialog| ReinviteStep::Refused { end_dialog };
    let table = [
        (100, ReinviteStep::Wait),
        (183, ReinviteStep::Wait),
        (200, ReinviteStep::Accepted),
        (401, ReinviteStep::Challenge),
        (407, ReinviteStep::Challenge),
        (491, ReinviteStep::Glare),
        (488, refused(false)),
        (500, refused(false)),
        (603, refused(false)),
        (481, refused(true)),
        (408, refused(true)),
    ];
    for (code, want) in table {
        assert_eq!(reinvite_step(code), want, "{code}");
    }
}

#[test]
fn dtmf_in_sip_info() {
    let relay = "application/dtmf-relay";
    let table = [
        (relay, "Signal=5\r\nDuration=160\r\n", Some('5')),
        (relay, "Duration=160\r\nsignal = #\r\n", Some('#')),
        ("Application/DTMF-Relay; charset=x", "Signal=*", Some('*')),
        (relay, "Signal=a", Some('A')),
        (relay, "Signal=X", None),
        (relay, "Duration=160", None),
        (relay, "", None),
        ("application/dtmf", " 7 ", Some('7')),
        ("application/dtmf", "", None),
        ("text/plain", "Signal=5", None),
        ("", "5", None),
    ];
    for (ct, body, want) in table {
        assert_eq!(info_dtmf(ct, body), want, "{ct:?} {body:?}");
    }
}

#[test]
fn transfers_start_by_state() {
    use CallState::{Active, Held, Ringing, Transferring};
    let idle = Transfer::default;
    let referring = || Transfer {
        ours: OurTransfer::Referring {
            refer_to: "sip:carol@example.com".into(),
            held_before: false,
            refer: Some(Box::new(sent(Method::Refer))),
            reply: None,
        },
        referred: false,
    };
    let hold_first = |send_now| TransferStep::HoldFirst { send_now };
    // (transfer, re-INVITEs, state, has dialog, held, step)
    let table = [
        (idle(), Pending::Idle, Active, true, false, hold_first(true)),
        (idle(), in_flight(), Active, true, false, hold_first(false)),
        (idle(), glare(), Active, true, false, hold_first(false)),
        (idle(), Pending::Idle, Held, true, true, TransferStep::Refer),
        (
            referring(),
            Pending::Idle,
            Active,
            true,
            false,
            TransferStep::Busy,
        ),
        (
            idle(),
            Pending::Idle,
            Transferring,
            true,
            false,
            TransferStep::Refuse,
        ),
        (
            idle(),
            Pending::Idle,
            Ringing,
            false,
            false,
            TransferStep::Refuse,
        ),
        (
            idle(),
            Pending::Idle,
            Active,
            false,
            false,
            TransferStep::Refuse,
        ),
    ];
    for (transfer, pending, state, has_dialog, held, want) in table {
        let ours = reinvite(pending);
        assert_eq!(
            transfer_step(&transfer, &ours, state, has_dialog, held),
            want,
            "{transfer:?} {ours:?} {state:?} dialog={has_dialog} held={held}"
        );
    }
}

#[test]
fn a_transfer_waiting_for_its_hold_is_taken_out_once() {
    let (reply, _rx) = tokio::sync::oneshot::channel();
    let mut ours = OurTransfer::AwaitingHold {
        refer_to: "sip:carol@example.com".into(),
        reply,
    };
    let taken = ours.take_awaiting_hold().map(|(to, _)| to);
    assert_eq!(taken.as_deref(), Some("sip:carol@example.com"));
    assert!(matches!(ours, OurTransfer::Idle));
    assert!(ours.take_awaiting_hold().is_none());
    let mut referring = OurTransfer::Referring {
        refer_to: "sip:carol@example.com".into(),
        held_before: true,
        refer: None,
        reply: None,
    };
    assert!(referring.take_awaiting_hold().is_none());
    assert!(matches!(referring, OurTransfer::Referring { .. }));
}

#[test]
fn refer_responses_and_progress() {
    let table = [
        (100, ReferStep::Wait),
        (200, ReferStep::Accepted),
        (202, ReferStep::Accepted),
        (401, ReferStep::Challenge),
        (407, ReferStep::Challenge),
        (403, ReferStep::Refused),
        (405, ReferStep::Refused),
        (501, ReferStep::Refused),
    ];
    for (code, want) in table {
        assert_eq!(refer_step(code), want, "{code}");
    }
    let table = [
        (100, TransferProgress::Trying),
        (180, TransferProgress::Trying),
        (200, TransferProgress::Done),
        (486, TransferProgress::Failed),
        (603, TransferProgress::Failed),
        (503, TransferProgress::Failed),
    ];
    for (code, want) in table {
        assert_eq!(transfer_progress(code), want, "{code}");
    }
}

#[test]
fn requests_from_the_peer() {
    use Pending::Idle;
    let table = [
        (Method::Bye, None, Idle, RequestStep::Reply(481)),
        (Method::Invite, None, Idle, RequestStep::Reply(481)),
        (Method::Bye, Some(false), Idle, RequestStep::Reply(500)),
        (Method::Bye, Some(true), Idle, RequestStep::Bye),
        (Method::Bye, Some(true), in_flight(), RequestStep::Bye),
        (Method::Invite, Some(true), Idle, RequestStep::Reinvite),
        // Both sides re-INVITE at once: ours is pending, theirs gets 491.
        (
            Method::Invite,
            Some(true),
            in_flight(),
            RequestStep::Reply(491),
        ),
        // Ours waits out a 491 back-off: nothing is pending, theirs goes on.
        (Method::Invite, Some(true), glare(), RequestStep::Reinvite),
        (Method::Info, Some(true), Idle, RequestStep::Info),
        (Method::Notify, Some(true), Idle, RequestStep::Notify),
        (Method::Refer, Some(true), Idle, RequestStep::Refer),
        (Method::Options, Some(true), Idle, RequestStep::Options),
        (Method::Message, Some(true), Idle, RequestStep::Reply(405)),
        (Method::Subscribe, Some(true), Idle, RequestStep::Reply(405)),
        (Method::Update, Some(true), Idle, RequestStep::Reply(405)),
    ];
    for (method, in_order, ours, want) in table {
        assert_eq!(
            request_step(&method, in_order, &ours),
            want,
            "{method} {in_order:?} {ours:?}"
        );
    }
}
