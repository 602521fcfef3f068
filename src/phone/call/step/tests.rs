//! Table tests of the call's decisions.

use super::*;

const DIALING: InviteView = InviteView {
    state: CallState::Dialing,
    done: false,
    cancel_requested: false,
    cancel_sent: false,
    early_media: false,
    auth_attempts: 0,
    has_credentials: true,
};

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
    let alerting = InviteView {
        state: CallState::Alerting,
        ..DIALING
    };
    let early = InviteView {
        early_media: true,
        ..alerting
    };
    let hung_up = InviteView {
        cancel_requested: true,
        ..DIALING
    };
    let cancelled = InviteView {
        cancel_sent: true,
        ..hung_up
    };
    let progress = |send_cancel, early_media, ringback, alerting| InviteStep::Progress {
        send_cancel,
        early_media,
        ringback,
        alerting,
    };
    let table = [
        (DIALING, resp(100, "100 Trying", false), InviteStep::Nothing),
        (
            DIALING,
            resp(180, "180 Ringing", false),
            progress(false, false, true, true),
        ),
        (
            alerting,
            resp(180, "180 Ringing", false),
            progress(false, false, true, false),
        ),
        (
            DIALING,
            resp(183, "183 Session Progress", true),
            progress(false, true, false, true),
        ),
        (
            DIALING,
            resp(183, "183 Session Progress", false),
            progress(false, false, false, true),
        ),
        // Ringing after early media: the peer's audio stays, no local ringback.
        (
            early,
            resp(180, "180 Ringing", false),
            progress(false, false, false, false),
        ),
        // A hang-up while dialing sends its CANCEL with the first 1xx, once.
        (
            hung_up,
            resp(180, "180 Ringing", false),
            progress(true, false, true, true),
        ),
        (
            cancelled,
            resp(180, "180 Ringing", false),
            progress(false, false, true, true),
        ),
    ];
    for (call, r, want) in table {
        assert_eq!(invite_step(&call, &r), want, "{call:?} {r:?}");
    }
}

#[test]
fn answers() {
    let active = InviteView {
        state: CallState::Active,
        ..DIALING
    };
    let ended = InviteView {
        done: true,
        ..DIALING
    };
    let hung_up = InviteView {
        state: CallState::Alerting,
        cancel_requested: true,
        cancel_sent: true,
        ..DIALING
    };
    let ok = resp(200, "200 OK", true);
    let table = [
        (DIALING, Answered::Connect),
        (active, Answered::AckOnly),
        (ended, Answered::AckOnly),
        // The 200 crossed our CANCEL: the call is up, so BYE it.
        (hung_up, Answered::ByeCancelled),
    ];
    for (call, want) in table {
        assert_eq!(
            invite_step(&call, &ok),
            InviteStep::Answered(want),
            "{call:?}"
        );
    }
}

#[test]
fn challenges() {
    let r401 = resp(401, "401 Unauthorized", false);
    let r407 = resp(407, "407 Proxy Authentication Required", false);
    assert_eq!(invite_step(&DIALING, &r401), InviteStep::Authenticate);
    let second = InviteView {
        auth_attempts: 1,
        ..DIALING
    };
    assert_eq!(invite_step(&second, &r407), InviteStep::Authenticate);
    let third = InviteView {
        auth_attempts: 2,
        ..DIALING
    };
    assert_eq!(
        invite_step(&third, &r401),
        end("401 Unauthorized wrong password", None)
    );
    let no_password = InviteView {
        has_credentials: false,
        ..DIALING
    };
    assert_eq!(
        invite_step(&no_password, &r407),
        end(
            "407 Proxy Authentication Required no password configured",
            None
        )
    );
    // After a hang-up a challenge is not answered.
    let hung_up = InviteView {
        cancel_requested: true,
        ..DIALING
    };
    assert_eq!(invite_step(&hung_up, &r401), end("401 Unauthorized", None));
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
            invite_step(&DIALING, &resp(code, status, false)),
            end(status, tone),
            "{code}"
        );
    }
}

#[test]
fn failures_after_a_hang_up_end_quietly() {
    let hung_up = InviteView {
        state: CallState::Alerting,
        cancel_requested: true,
        cancel_sent: true,
        ..DIALING
    };
    assert_eq!(
        invite_step(&hung_up, &resp(487, "487 Request Terminated", false)),
        end("cancelled", None)
    );
    assert_eq!(
        invite_step(&hung_up, &resp(486, "486 Busy Here", false)),
        end("486 Busy Here", None)
    );
}

#[test]
fn hang_up_in_each_state() {
    let dialing = HangupView {
        state: CallState::Dialing,
        has_dialog: false,
        echo: false,
        invite_sent: true,
        got_provisional: false,
        cancel_sent: false,
    };
    let cancel = |send_now, end_now| HangupStep::Cancel { send_now, end_now };
    let table = [
        (dialing, cancel(false, false)),
        // INVITE not out yet (still resolving the next hop): end now.
        (
            HangupView {
                invite_sent: false,
                ..dialing
            },
            cancel(false, true),
        ),
        (
            HangupView {
                state: CallState::Alerting,
                got_provisional: true,
                ..dialing
            },
            cancel(true, false),
        ),
        (
            HangupView {
                state: CallState::Alerting,
                got_provisional: true,
                cancel_sent: true,
                ..dialing
            },
            cancel(false, false),
        ),
        // A 2xx made the dialog: the call is up, BYE it.
        (
            HangupView {
                has_dialog: true,
                ..dialing
            },
            HangupStep::Bye,
        ),
        (
            HangupView {
                echo: true,
                ..dialing
            },
            HangupStep::Bye,
        ),
        (
            HangupView {
                state: CallState::Ringing,
                ..dialing
            },
            HangupStep::Reject,
        ),
        (
            HangupView {
                state: CallState::Active,
                has_dialog: true,
                ..dialing
            },
            HangupStep::Bye,
        ),
        (
            HangupView {
                state: CallState::Held,
                has_dialog: true,
                ..dialing
            },
            HangupStep::Bye,
        ),
        (
            HangupView {
                state: CallState::Ended,
                ..dialing
            },
            HangupStep::Nothing,
        ),
    ];
    for (call, want) in table {
        assert_eq!(hangup_step(&call), want, "{call:?}");
    }
}

#[test]
fn hold_and_resume_by_state() {
    let active = HoldView {
        state: CallState::Active,
        has_dialog: true,
        held: false,
        reinvite_pending: false,
        glare_pending: false,
    };
    let held = HoldView {
        state: CallState::Held,
        held: true,
        ..active
    };
    let queue = |send_now| HoldStep::Queue { send_now };
    let table = [
        (active, true, queue(true)),
        (active, false, HoldStep::Done),
        (held, false, queue(true)),
        (held, true, HoldStep::Done),
        // A re-INVITE in flight carries the newest wish when it is retried
        // or answered; a second one is not sent alongside.
        (
            HoldView {
                reinvite_pending: true,
                ..active
            },
            true,
            queue(false),
        ),
        (
            HoldView {
                reinvite_pending: true,
                ..active
            },
            false,
            queue(false),
        ),
        (
            HoldView {
                glare_pending: true,
                ..active
            },
            true,
            queue(false),
        ),
        (
            HoldView {
                state: CallState::Ringing,
                has_dialog: false,
                ..active
            },
            true,
            HoldStep::Refuse,
        ),
        (
            HoldView {
                state: CallState::Alerting,
                has_dialog: false,
                ..active
            },
            true,
            HoldStep::Refuse,
        ),
        (
            HoldView {
                state: CallState::Ended,
                ..active
            },
            false,
            HoldStep::Refuse,
        ),
        (
            HoldView {
                has_dialog: false,
                ..active
            },
            true,
            HoldStep::Refuse,
        ),
    ];
    for (call, want_held, want) in table {
        assert_eq!(
            hold_step(&call, want_held),
            want,
            "{call:?} hold={want_held}"
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
    let active = TransferView {
        state: CallState::Active,
        has_dialog: true,
        transferring: false,
        held: false,
        reinvite_pending: false,
        glare_pending: false,
    };
    let hold_first = |send_now| TransferStep::HoldFirst { send_now };
    let table = [
        (active, hold_first(true)),
        (
            TransferView {
                reinvite_pending: true,
                ..active
            },
            hold_first(false),
        ),
        (
            TransferView {
                glare_pending: true,
                ..active
            },
            hold_first(false),
        ),
        (
            TransferView {
                state: CallState::Held,
                held: true,
                ..active
            },
            TransferStep::Refer,
        ),
        (
            TransferView {
                transferring: true,
                ..active
            },
            TransferStep::Busy,
        ),
        (
            TransferView {
                state: CallState::Transferring,
                ..active
            },
            TransferStep::Refuse,
        ),
        (
            TransferView {
                state: CallState::Ringing,
                has_dialog: false,
                ..active
            },
            TransferStep::Refuse,
        ),
        (
            TransferView {
                has_dialog: false,
                ..active
            },
            TransferStep::Refuse,
        ),
    ];
    for (call, want) in table {
        assert_eq!(transfer_step(&call), want, "{call:?}");
    }
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
    let table = [
        (Method::Bye, None, false, RequestStep::Reply(481)),
        (Method::Invite, None, false, RequestStep::Reply(481)),
        (Method::Bye, Some(false), false, RequestStep::Reply(500)),
        (Method::Bye, Some(true), false, RequestStep::Bye),
        (Method::Bye, Some(true), true, RequestStep::Bye),
        (Method::Invite, Some(true), false, RequestStep::Reinvite),
        // Both sides re-INVITE at once: ours is pending, theirs gets 491.
        (Method::Invite, Some(true), true, RequestStep::Reply(491)),
        (Method::Info, Some(true), false, RequestStep::Info),
        (Method::Notify, Some(true), false, RequestStep::Notify),
        (Method::Refer, Some(true), false, RequestStep::Refer),
        (Method::Options, Some(true), false, RequestStep::Options),
        (Method::Message, Some(true), false, RequestStep::Reply(405)),
        (
            Method::Subscribe,
            Some(true),
            false,
            RequestStep::Reply(405),
        ),
        (Method::Update, Some(true), false, RequestStep::Reply(405)),
    ];
    for (method, in_order, reinvite_pending, want) in table {
        assert_eq!(
            request_step(&method, in_order, reinvite_pending),
            want,
            "{method} {in_order:?} {reinvite_pending}"
        );
    }
}
