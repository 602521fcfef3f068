//! The call's decisions, made without IO, each next to the part of the
//! call's state it reads: the outgoing set-up ([`OutgoingSetup`]: what a
//! response to our INVITE leads to, [`invite_step`], and how a hang-up ends
//! a call, [`hangup_step`]), our re-INVITEs ([`Reinvite`]: when hold and
//! resume send one, [`hold_step`], and what its response leads to,
//! [`reinvite_step`]), transfers ([`Transfer`]: how one starts,
//! [`transfer_step`], and goes on, [`refer_step`], [`transfer_progress`]),
//! reliable provisional responses and UPDATE ([`Reliable`], `prack.rs`:
//! [`provisional_step`], [`retransmit_step`], [`prack_step`],
//! [`answer_step`], [`update_step`]);
//! the session timer ([`SessionTimer`], RFC 4028: [`uas_request`],
//! [`uac_response`], [`retry_422`], [`timer_step`]);
//! which target a redirect of our INVITE leads to (`redirect.rs`:
//! [`redirect_step`]);
//! whether an INVITE's Replaces may take the call over
//! (`replaces.rs`: [`replaces_step`]);
//! whether a request of the peer belongs to the call's dialog at all
//! (`in_dialog.rs`: [`in_dialog`], [`peer_tags`]);
//! here, how a request from the peer in the dialog is taken
//! ([`request_step`]) and the key a SIP INFO carries ([`info_dtmf`]). Each
//! step takes its part (by `&mut` when it only notes what changes there)
//! and returns what the actor (`outgoing.rs`, `incoming.rs`, `control.rs`,
//! `transfer.rs`) carries out: responses, ACK, CANCEL, BYE, REFER, tones,
//! media, state changes. The rules are table-tested (`step/tests.rs`).

mod in_dialog;
mod invite;
mod prack;
mod redirect;
mod reinvite;
mod replaces;
mod session_timer;
mod transfer;

pub use in_dialog::{in_dialog, note_early_tag, peer_tags, DialogIds};
pub use invite::{
    hangup_step, invite_step, Answered, Cancel, HangupStep, InviteResponse, InviteStep,
    OutgoingSetup, SentInvite,
};
pub use prack::{
    answer_step, prack_step, provisional_step, retransmit_step, retry_after, ring_reliably,
    update_step, AnswerStep, DialogPhase, EarlyDialog, OurProvisional, PrackStep, ProvisionalStep,
    Reliable, RetransmitStep, UpdateStep,
};
pub use redirect::{redirect_step, FinalResponse, RedirectStep, Redirects};
pub use reinvite::{hold_step, reinvite_step, HoldStep, Pending, Reinvite, ReinviteStep};
pub use replaces::{replaces_step, Replaceable, ReplacesStep};
pub use session_timer::{
    hung_up, refresh_direction, request_headers, retry_422, timer_step, uac_response, uas_request,
    PeerRequest, SessionTimer, TimerConfig, TimerStep, UasStep,
};
pub use transfer::{
    refer_step, transfer_progress, transfer_step, OurTransfer, ReferStep, Transfer,
    TransferProgress, TransferStep,
};

use crate::sip::msg::{Method, Request};
use crate::sip::transport::Peer;

/// A request of ours as sent, and where it went (to CANCEL it, to send it
/// again with credentials, or to repeat an ACK).
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
