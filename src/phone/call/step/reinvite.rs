//! Our re-INVITE: hold and resume (the direction we want), the one in
//! flight, the RFC 3261 §14.1 glare back-off after a 491, and the commands
//! waiting for the outcome. [`hold_step`] decides whether `hold` / `resume`
//! sends one and [`reinvite_step`] what its response leads to; the actor
//! (`control.rs`) sends, ACKs and answers. No IO here, and nothing of the
//! peer's re-INVITEs (those are answered at once, `incoming.rs`).

use super::Sent;
use crate::phone::call::Reply;
use crate::phone::event::CallState;

/// What the call knows of its own re-INVITEs.
#[derive(Debug, Default)]
pub struct Reinvite {
    /// Hold wanted by us (the direction the next re-INVITE offers).
    pub want_held: bool,
    /// Whether one is in flight or waits out the glare back-off.
    pub pending: Pending,
    /// Commands waiting for the re-INVITE's outcome.
    pub replies: Vec<Reply>,
}

/// Our re-INVITE, at most one at a time.
#[derive(Debug, Default)]
pub enum Pending {
    /// None in flight or waiting.
    #[default]
    Idle,
    /// Awaits its final response (kept to answer a challenge).
    InFlight(Box<Sent>),
    /// After a 491, when to send it again.
    Glare(tokio::time::Instant),
}

impl Pending {
    /// No re-INVITE in flight or waiting: a new one may go now.
    pub fn is_idle(&self) -> bool {
        matches!(self, Pending::Idle)
    }

    /// The re-INVITE in flight, if any.
    pub fn in_flight(&self) -> Option<&Sent> {
        match self {
            Pending::InFlight(sent) => Some(sent.as_ref()),
            _ => None,
        }
    }

    /// When the glare back-off ends, if it runs.
    pub fn glare_deadline(&self) -> Option<tokio::time::Instant> {
        match self {
            Pending::Glare(at) => Some(*at),
            _ => None,
        }
    }
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

/// Decides how `hold` (`want_held`) or `resume` is taken in `state`;
/// `has_dialog` when the call has a dialog, `held` when the peer has
/// accepted our hold (the last re-INVITE put it on hold).
pub fn hold_step(
    reinvite: &Reinvite,
    state: CallState,
    has_dialog: bool,
    held: bool,
    want_held: bool,
) -> HoldStep {
    let live = matches!(state, CallState::Active | CallState::Held);
    let in_flight = reinvite.pending.in_flight().is_some();
    if !live || !has_dialog {
        HoldStep::Refuse
    } else if held == want_held && !in_flight {
        HoldStep::Done
    } else {
        HoldStep::Queue {
            send_now: reinvite.pending.is_idle(),
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
