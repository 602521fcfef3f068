//! The outgoing set-up: our INVITE until its final response, the user's
//! hang-up before the answer (CANCEL), digest challenges and early media.
//! [`invite_step`] decides what a response to the INVITE leads to and
//! [`hangup_step`] how a hang-up ends the call; both keep [`OutgoingSetup`]
//! up to date and return what the actor (`outgoing.rs`, `incoming.rs`)
//! carries out. No IO here, and nothing of the dialog after the answer.

use super::Sent;
use crate::media::Tone;
use crate::phone::event::CallState;

/// What an outgoing call knows of its set-up.
#[derive(Debug, Default)]
pub struct OutgoingSetup {
    /// Our INVITE in flight (None until it went out, and for calls we take).
    pub invite: Option<SentInvite>,
    /// Whether the user hung up before the answer, and the CANCEL went.
    pub cancel: Cancel,
    /// A 183 brought the peer's early media (no local ringback then).
    pub early_media: bool,
    /// Challenges answered so far.
    pub auth_attempts: u32,
    /// The targets left to try when the INVITE's goes unanswered
    /// (see `call/failover.rs`).
    pub alternates: Vec<crate::sip::transport::Peer>,
    /// The targets redirects named, tried and pending (`step/redirect.rs`).
    pub redirects: super::Redirects,
}

/// The INVITE of the current attempt (a challenge starts a new one).
#[derive(Debug)]
pub struct SentInvite {
    pub sent: Sent,
    /// A provisional response arrived (a CANCEL may go now, RFC 3261 §9.1).
    pub provisional: bool,
}

impl SentInvite {
    pub fn new(sent: Sent) -> Self {
        SentInvite {
            sent,
            provisional: false,
        }
    }
}

/// The user's hang-up of a call not yet answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cancel {
    /// No hang-up.
    #[default]
    NotWanted,
    /// The user hung up; the CANCEL waits for a provisional response.
    Wanted,
    /// The CANCEL went out.
    Sent,
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
        /// Play local ringback (180 to 183 without early media).
        ringback: bool,
        /// The call moves from dialing to alerting.
        alerting: bool,
    },
    /// 2xx: ACK it, then `then`.
    Answered(Answered),
    /// 401/407: answer the challenge (attempt `auth_attempts`, counted).
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

/// Decides the step for `resp` while the call is in `state`, and notes in
/// `setup` what it changes (a provisional response came, the CANCEL goes,
/// early media, one more challenge answered).
pub fn invite_step(
    setup: &mut OutgoingSetup,
    state: CallState,
    has_credentials: bool,
    resp: &InviteResponse<'_>,
) -> InviteStep {
    let code = resp.code;
    let hung_up = setup.cancel != Cancel::NotWanted;
    match code {
        100 => InviteStep::Nothing,
        101..=199 => {
            let send_cancel = setup.cancel == Cancel::Wanted;
            // 180 Ringing, 181 forwarded, 182 queued, 183 progress: without
            // the peer's early media the caller hears the local ringback.
            let ringback = !resp.has_sdp && (180..=183).contains(&code) && !setup.early_media;
            if let Some(invite) = &mut setup.invite {
                invite.provisional = true;
            }
            if send_cancel {
                setup.cancel = Cancel::Sent;
            }
            if resp.has_sdp {
                setup.early_media = true;
            }
            InviteStep::Progress {
                send_cancel,
                early_media: resp.has_sdp,
                ringback,
                alerting: state == CallState::Dialing,
            }
        }
        200..=299 => {
            InviteStep::Answered(if matches!(state, CallState::Active | CallState::Ended) {
                Answered::AckOnly
            } else if hung_up {
                Answered::ByeCancelled
            } else {
                Answered::Connect
            })
        }
        401 | 407 if !hung_up => {
            let attempt = setup.auth_attempts + 1;
            if attempt <= MAX_AUTH_ATTEMPTS && has_credentials {
                setup.auth_attempts = attempt;
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
        300.. if !hung_up => InviteStep::End {
            reason: resp.status.to_string(),
            tone: Some(match code {
                486 | 600 => Tone::Busy,
                _ => Tone::Congestion,
            }),
        },
        _ => InviteStep::End {
            reason: if hung_up && code == 487 {
                "cancelled".to_string()
            } else {
                resp.status.to_string()
            },
            tone: None,
        },
    }
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

/// Decides how a hang-up ends the call in `state`; `has_dialog` when a
/// dialog exists (the call was answered, or a 2xx arrived), `echo` for the
/// built-in echo peer (no SIP). An unanswered call notes the hang-up in
/// `setup`.
pub fn hangup_step(
    setup: &mut OutgoingSetup,
    state: CallState,
    has_dialog: bool,
    echo: bool,
) -> HangupStep {
    match state {
        CallState::Ended => HangupStep::Nothing,
        CallState::Ringing => HangupStep::Reject,
        CallState::Dialing | CallState::Alerting if !has_dialog && !echo => {
            let provisional = setup.invite.as_ref().is_some_and(|i| i.provisional);
            let send_now = provisional && setup.cancel != Cancel::Sent;
            if send_now {
                setup.cancel = Cancel::Sent;
            } else if setup.cancel == Cancel::NotWanted {
                setup.cancel = Cancel::Wanted;
            }
            HangupStep::Cancel {
                send_now,
                end_now: setup.invite.is_none(),
            }
        }
        _ => HangupStep::Bye,
    }
}
