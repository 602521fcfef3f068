//! The call's decisions, made without IO: `(call state, input) -> step`.
//! What an outgoing call does with a response to its INVITE
//! ([`invite_step`]), how a hang-up ends a call in each state
//! ([`hangup_step`]), when hold and resume send a re-INVITE
//! ([`hold_step`]) and what its response leads to ([`reinvite_step`]), how
//! a transfer starts ([`transfer_step`]) and goes on ([`refer_step`],
//! [`transfer_progress`]), how a request from the peer in the dialog is
//! taken ([`request_step`]), and the key a SIP INFO carries ([`info_dtmf`]). The actor (`outgoing.rs`, `incoming.rs`) carries the
//! step out (responses, ACK, CANCEL, BYE, tones, media, state changes); the
//! rules live here and are table-tested.

use crate::media::Tone;
use crate::phone::event::CallState;
use crate::sip::msg::Method;

/// What the decision needs to know of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteView {
    pub state: CallState,
    /// The call has ended (a late 2xx is only ACKed).
    pub done: bool,
    /// The user hung up before the answer.
    pub cancel_requested: bool,
    pub cancel_sent: bool,
    /// Media already flows from a 183 with SDP (no local ringback then).
    pub early_media: bool,
    /// Challenges answered so far.
    pub auth_attempts: u32,
    pub has_credentials: bool,
}

/// The response, as far as the decision goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteResponse<'a> {
    pub code: u16,
    /// "486 Busy Here".
    pub status: &'a str,
    pub has_sdp: bool,
}

/// How the call reacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteStep {
    /// 100 Trying: nothing.
    Nothing,
    /// 1xx.
    Progress {
        /// Send the CANCEL held back until a provisional response came
        /// (RFC 3261 §9.1).
        send_cancel: bool,
        /// The response carries SDP: stop local tones, play the peer's
        /// early media.
        early_media: bool,
        /// Play local ringback (180 without early media).
        ringback: bool,
        /// The call moves from dialing to alerting.
        alerting: bool,
    },
    /// 2xx: ACK it, then `then`.
    Answered(Answered),
    /// 401/407: answer the challenge (attempt `auth_attempts + 1`).
    Authenticate,
    /// The call ends with this reason, with a busy or congestion tone first.
    End { reason: String, tone: Option<Tone> },
}

/// What follows the ACK of a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// A retransmission, or an answer after the call ended: nothing more.
    AckOnly,
    /// The user had hung up: BYE and end as "cancelled".
    ByeCancelled,
    /// Connected: stop tones, take the SDP answer, become active.
    Connect,
}

/// Answers to challenges before the password counts as wrong.
pub const MAX_AUTH_ATTEMPTS: u32 = 2;

/// Decides the step for `resp` in the state `call`.
pub fn invite_step(call: &InviteView, resp: &InviteResponse<'_>) -> InviteStep {
    let code = resp.code;
    match code {
        100 => InviteStep::Nothing,
        101..=199 => InviteStep::Progress {
            send_cancel: call.cancel_requested && !call.cancel_sent,
            early_media: resp.has_sdp,
            ringback: !resp.has_sdp && code == 180 && !call.early_media,
            alerting: call.state == CallState::Dialing,
        },
        200..=299 => InviteStep::Answered(if call.state == CallState::Active || call.done {
            Answered::AckOnly
        } else if call.cancel_requested {
            Answered::ByeCancelled
        } else {
            Answered::Connect
        }),
        401 | 407 if !call.cancel_requested => {
            let attempt = call.auth_attempts + 1;
            if attempt <= MAX_AUTH_ATTEMPTS && call.has_credentials {
                InviteStep::Authenticate
            } else {
                let why = if attempt > MAX_AUTH_ATTEMPTS {
                    "wrong password"
                } else {
                    "no password configured"
                };
                InviteStep::End {
                    reason: format!("{} {why}", resp.status),
                    tone: None,
                }
            }
        }
        300.. if !call.cancel_requested => InviteStep::End {
            reason: resp.status.to_string(),
            tone: Some(match code {
                486 | 600 => Tone::Busy,
                _ => Tone::Congestion,
            }),
        },
        _ => InviteStep::End {
            reason: if call.cancel_requested && code == 487 {
                "cancelled".to_string()
            } else {
                resp.status.to_string()
            },
            tone: None,
        },
    }
}

/// What a hang-up needs to know of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HangupView {
    pub state: CallState,
    /// A dialog exists (the call was answered, or a 2xx arrived).
    pub has_dialog: bool,
    /// The call is the built-in echo peer (no SIP).
    pub echo: bool,
    /// Our INVITE went out.
    pub invite_sent: bool,
    /// A provisional response arrived (a CANCEL may go now).
    pub got_provisional: bool,
    pub cancel_sent: bool,
}

/// How a hang-up ends the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupStep {
    /// Already over.
    Nothing,
    /// Still ringing here: answer 486 and end as "rejected 486".
    Reject,
    /// Our INVITE is unanswered: CANCEL it, now if a provisional response
    /// came (else with the first one), and end at once when it never went
    /// out; otherwise the call ends with the final response (487).
    Cancel { send_now: bool, end_now: bool },
    /// Established: BYE and end as "local hangup".
    Bye,
}

/// Decides how a hang-up ends the call in state `call`.
pub fn hangup_step(call: &HangupView) -> HangupStep {
    match call.state {
        CallState::Ended => HangupStep::Nothing,
        CallState::Ringing => HangupStep::Reject,
        CallState::Dialing | CallState::Alerting if !call.has_dialog && !call.echo => {
            HangupStep::Cancel {
                send_now: call.got_provisional && !call.cancel_sent,
                end_now: !call.invite_sent,
            }
        }
        _ => HangupStep::Bye,
    }
}

/// What `hold` / `resume` needs to know of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldView {
    pub state: CallState,
    pub has_dialog: bool,
    /// The peer has accepted our hold (the last re-INVITE put it on hold).
    pub held: bool,
    /// A re-INVITE of ours awaits its final response.
    pub reinvite_pending: bool,
    /// A re-INVITE waits out the glare back-off after a 491.
    pub glare_pending: bool,
}

/// How the call takes a `hold` (true) or `resume` (false).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStep {
    /// Not connected: refused.
    Refuse,
    /// Already so and nothing in flight: done at once.
    Done,
    /// Remember the wish and answer once the re-INVITE is through; send it
    /// now unless one is in flight or waiting (that one carries the wish).
    Queue { send_now: bool },
}

/// Decides how `hold` (`want_held`) or `resume` is taken.
pub fn hold_step(call: &HoldView, want_held: bool) -> HoldStep {
    let live = matches!(call.state, CallState::Active | CallState::Held);
    if !live || !call.has_dialog {
        HoldStep::Refuse
    } else if call.held == want_held && !call.reinvite_pending {
        HoldStep::Done
    } else {
        HoldStep::Queue {
            send_now: !call.reinvite_pending && !call.glare_pending,
        }
    }
}

/// What a response to our re-INVITE leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReinviteStep {
    /// 1xx: keep waiting.
    Wait,
    /// 2xx: ACK, take the answer, the call is held or active as asked.
    Accepted,
    /// 401/407: send it again with credentials (refused when that cannot be).
    Challenge,
    /// 491: both sides sent one; retry after the RFC 3261 §14.1 back-off.
    Glare,
    /// Refused: the call stays as it was; 481 and 408 also end the dialog
    /// (RFC 3261 §14.1).
    Refused { end_dialog: bool },
}

/// Decides what the re-INVITE response `code` leads to.
pub fn reinvite_step(code: u16) -> ReinviteStep {
    match code {
        100..=199 => ReinviteStep::Wait,
        200..=299 => ReinviteStep::Accepted,
        401 | 407 => ReinviteStep::Challenge,
        491 => ReinviteStep::Glare,
        _ => ReinviteStep::Refused {
            end_dialog: code == 481 || code == 408,
        },
    }
}

/// The DTMF key of a SIP INFO: `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (`5`), upper-cased; None for anything else (415).
pub fn info_dtmf(content_type: &str, body: &str) -> Option<char> {
    let ct = content_type.trim().to_ascii_lowercase();
    let signal = if ct.starts_with("application/dtmf-relay") {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("Signal").then(|| v.trim())
        })
    } else if ct.starts_with("application/dtmf") {
        Some(body.trim())
    } else {
        None
    };
    signal
        .and_then(|d| d.chars().next())
        .filter(|c| "0123456789*#ABCDabcd".contains(*c))
        .map(|c| c.to_ascii_uppercase())
}

/// What `transfer` / `connect` needs to know of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferView {
    pub state: CallState,
    pub has_dialog: bool,
    /// A REFER of ours is in flight or its transfer is under way.
    pub transferring: bool,
    pub held: bool,
    pub reinvite_pending: bool,
    pub glare_pending: bool,
}

/// How a transfer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStep {
    /// Not connected: refused.
    Refuse,
    /// Another transfer of this call is under way: refused.
    Busy,
    /// Already held: REFER now.
    Refer,
    /// Hold the peer first (a desk phone does), then REFER once the hold
    /// is through; send the re-INVITE now unless one is in flight or waiting.
    HoldFirst { send_now: bool },
}

/// Decides how a transfer of the call starts.
pub fn transfer_step(call: &TransferView) -> TransferStep {
    if !matches!(call.state, CallState::Active | CallState::Held) || !call.has_dialog {
        TransferStep::Refuse
    } else if call.transferring {
        TransferStep::Busy
    } else if call.held {
        TransferStep::Refer
    } else {
        TransferStep::HoldFirst {
            send_now: !call.reinvite_pending && !call.glare_pending,
        }
    }
}

/// What a response to our REFER leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferStep {
    Wait,
    /// 2xx: the peer takes the transfer on; the call is transferring.
    Accepted,
    /// 401/407: send it again with credentials (refused when that cannot be).
    Challenge,
    /// Refused: the transfer failed, the call is resumed as it was.
    Refused,
}

/// Decides what the REFER response `code` leads to.
pub fn refer_step(code: u16) -> ReferStep {
    match code {
        100..=199 => ReferStep::Wait,
        200..=299 => ReferStep::Accepted,
        401 | 407 => ReferStep::Challenge,
        _ => ReferStep::Refused,
    }
}

/// What the peer's NOTIFY about our REFER (its sipfrag status) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferProgress {
    /// 1xx: the new call is being set up.
    Trying,
    /// 2xx: the new call is up; our part is done (BYE).
    Done,
    /// Final failure: keep the call and resume it.
    Failed,
}

/// Reads the sipfrag status `code` of a refer NOTIFY.
pub fn transfer_progress(code: u16) -> TransferProgress {
    match code {
        100..=199 => TransferProgress::Trying,
        200..=299 => TransferProgress::Done,
        _ => TransferProgress::Failed,
    }
}

/// How the call takes a request the peer sent in the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStep {
    /// Answer with this code and nothing more: 481 (no dialog), 500 (CSeq
    /// out of order), 491 (re-INVITE glare, RFC 3261 §14.2), 405.
    Reply(u16),
    /// BYE: 200, the call ends.
    Bye,
    /// re-INVITE: answer the offer (or offer in the 200).
    Reinvite,
    /// INFO: DTMF ([`info_dtmf`]) or 415.
    Info,
    /// NOTIFY: 200, then transfer progress.
    Notify,
    /// REFER: 202 and the new call, or 400.
    Refer,
    /// OPTIONS: 200 with what we allow and accept.
    Options,
}

/// Decides how a request `method` of the peer is taken. `in_order` is
/// None without a dialog, else whether its CSeq is in order.
pub fn request_step(
    method: &Method,
    in_order: Option<bool>,
    reinvite_pending: bool,
) -> RequestStep {
    match (in_order, method) {
        (None, _) => RequestStep::Reply(481),
        (Some(false), _) => RequestStep::Reply(500),
        (Some(true), Method::Bye) => RequestStep::Bye,
        (Some(true), Method::Invite) if reinvite_pending => RequestStep::Reply(491),
        (Some(true), Method::Invite) => RequestStep::Reinvite,
        (Some(true), Method::Info) => RequestStep::Info,
        (Some(true), Method::Notify) => RequestStep::Notify,
        (Some(true), Method::Refer) => RequestStep::Refer,
        (Some(true), Method::Options) => RequestStep::Options,
        (Some(true), _) => RequestStep::Reply(405),
    }
}

#[cfg(test)]
mod tests;
