//! Transfers: ours of the peer (RFC 3515 REFER, held first as a desk phone
//! does, until the NOTIFY says how it went) and the peer's of us (we NOTIFY
//! the progress back). [`transfer_step`] decides how a transfer starts,
//! [`refer_step`] what a response to our REFER leads to and
//! [`transfer_progress`] what a NOTIFY about it means; the actor
//! (`transfer.rs`) sends REFER, NOTIFY and BYE. No IO here, and no parsing
//! of Refer-To or sipfrag.

use super::{Reinvite, Sent};
use crate::phone::call::Reply;
use crate::phone::event::CallState;

/// What the call knows of transfers.
#[derive(Debug, Default)]
pub struct Transfer {
    /// Our transfer of the peer.
    pub ours: OurTransfer,
    /// The peer REFERred us: NOTIFYs go back with progress.
    pub referred: bool,
}

/// Our transfer of the peer, one at a time.
#[derive(Debug, Default)]
pub enum OurTransfer {
    /// None under way.
    #[default]
    Idle,
    /// Holding the peer first; the REFER to `refer_to` follows the hold.
    AwaitingHold { refer_to: String, reply: Reply },
    /// The REFER to `refer_to` went: until its NOTIFY says how it went.
    Referring {
        refer_to: String,
        /// The call was held before the transfer (not resumed if it fails).
        held_before: bool,
        /// The REFER while it awaits its final response.
        refer: Option<Box<Sent>>,
        /// The command waiting for the REFER's 202.
        reply: Option<Reply>,
    },
}

impl OurTransfer {
    /// The transfer waiting for the hold, taken out (None otherwise).
    pub fn take_awaiting_hold(&mut self) -> Option<(String, Reply)> {
        match std::mem::take(self) {
            OurTransfer::AwaitingHold { refer_to, reply } => Some((refer_to, reply)),
            other => {
                *self = other;
                None
            }
        }
    }
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

/// Decides how a transfer of the call starts in `state`; `has_dialog` when
/// the call has a dialog, `held` when the peer has accepted our hold. A
/// transfer waiting for its hold does not count as under way: a new one
/// takes its place.
pub fn transfer_step(
    transfer: &Transfer,
    reinvite: &Reinvite,
    state: CallState,
    has_dialog: bool,
    held: bool,
) -> TransferStep {
    if !matches!(state, CallState::Active | CallState::Held) || !has_dialog {
        TransferStep::Refuse
    } else if matches!(transfer.ours, OurTransfer::Referring { .. }) {
        TransferStep::Busy
    } else if held {
        TransferStep::Refer
    } else {
        TransferStep::HoldFirst {
            send_now: reinvite.pending.is_idle(),
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
