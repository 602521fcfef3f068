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

mod invite;
mod reinvite;

pub use invite::{
    hangup_step, invite_step, Answered, HangupStep, InviteResponse, InviteStep, OutgoingSetup,
    SentInvite,
};
pub use reinvite::{hold_step, reinvite_step, HoldStep, Pending, Reinvite, ReinviteStep};

use crate::phone::event::CallState;
use crate::sip::msg::{Method, Request};
use crate::sip::transport::Peer;

/// A request of ours in flight, and where it went (for a CANCEL, or to send
/// it again with credentials).
#[derive(Debug, Clone)]
pub struct Sent {
    pub request: Request,
    pub peer: Peer,
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
/// None without a dialog, else whether its CSeq is in order; `ours` tells
/// whether a re-INVITE of ours is in flight (glare).
pub fn request_step(method: &Method, in_order: Option<bool>, ours: &Pending) -> RequestStep {
    let reinvite_pending = ours.in_flight().is_some();
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
