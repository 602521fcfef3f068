//! Reliable provisional responses (RFC 3262) and the peer's UPDATE (RFC
//! 3311), both ways. As caller: which of the peer's `100rel` 1xx we PRACK
//! ([`provisional_step`]) and the early dialog that PRACK goes in. As
//! callee: whether our 180 goes reliably ([`ring_reliably`]), when it is
//! sent again or given up ([`retransmit_step`]), what a PRACK matches
//! ([`prack_step`]) and whether the answer waits for it ([`answer_step`]).
//! And how an UPDATE is taken in an early or confirmed dialog
//! ([`update_step`]). Holds [`Reliable`]; no IO here: the actor
//! (`reliable.rs`) builds and sends the messages.

use crate::phone::call::Reply;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{Method, Response};
use crate::sip::reliable::RAck;
use std::time::Duration;
use tokio::time::Instant;

/// RFC 3261 T1: the first retransmission interval of a reliable 1xx.
pub const T1: Duration = Duration::from_millis(500);

/// What the call knows of reliable provisional responses.
#[derive(Debug, Default)]
pub struct Reliable {
    /// Caller: the early dialog of the peer's reliable 1xx.
    pub early: Option<EarlyDialog>,
    /// Callee: our reliable 1xx not yet acknowledged by a PRACK.
    pub ours: Option<OurProvisional>,
    /// Callee: the RSeq of our last reliable 1xx (0 before the first).
    pub last_rseq: u32,
    /// Callee: answer commands waiting for the PRACK before the 2xx.
    pub answer_waiting: Vec<Reply>,
}

/// The caller's early dialog with the peer that sent a reliable 1xx.
#[derive(Debug)]
pub struct EarlyDialog {
    /// Built from the 1xx: remote target, route set, the peer's tag; its
    /// CSeq counts our PRACKs.
    pub dialog: Dialog,
    /// The RSeq of the last 1xx we acknowledged.
    pub rseq: u32,
    /// The reliable 1xx carried the SDP answer to our INVITE's offer.
    pub answered: bool,
}

/// Our reliable 1xx, sent again until a PRACK comes.
#[derive(Debug, Clone)]
pub struct OurProvisional {
    pub response: Response,
    pub rseq: u32,
    /// CSeq of the INVITE it answers (the RAck names it).
    pub invite_cseq: u32,
    /// When it goes again, and the interval after that.
    pub next: Instant,
    pub interval: Duration,
    /// 64*T1 after the first send: the INVITE is rejected.
    pub give_up: Instant,
}

impl OurProvisional {
    /// A reliable 1xx sent at `now`.
    pub fn new(response: Response, rseq: u32, invite_cseq: u32, now: Instant) -> Self {
        OurProvisional {
            response,
            rseq,
            invite_cseq,
            next: now + T1,
            interval: T1 * 2,
            give_up: now + T1 * 64,
        }
    }
}

impl Reliable {
    /// When the actor must wake for our reliable 1xx.
    pub fn deadline(&self) -> Option<Instant> {
        self.ours.as_ref().map(|o| o.next.min(o.give_up))
    }

    /// The next RSeq for a reliable 1xx (a random start, then one up).
    pub fn next_rseq(&mut self, random: u32) -> u32 {
        self.last_rseq = if self.last_rseq == 0 {
            random % (crate::sip::reliable::MAX_FIRST_RSEQ / 2) + 1
        } else {
            self.last_rseq.wrapping_add(1).max(1)
        };
        self.last_rseq
    }
}

/// What the caller does with a 1xx to its INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionalStep {
    /// Not a reliable 1xx: take it as before.
    Unreliable,
    /// A new reliable 1xx: PRACK it (in a new early dialog when `new_dialog`),
    /// then take it.
    Prack { rseq: u32, new_dialog: bool },
    /// A retransmission or an out-of-order RSeq: not acknowledged and not
    /// taken further (RFC 3262 §4).
    Ignore,
}

/// Decides for a 1xx with `Require: 100rel` (`reliable`) and RSeq `rseq`
/// (None: absent or malformed) from the peer with tag `to_tag`.
pub fn provisional_step(
    early: Option<&EarlyDialog>,
    reliable: bool,
    rseq: Option<u32>,
    to_tag: Option<&str>,
) -> ProvisionalStep {
    let (true, Some(rseq), Some(tag)) = (reliable, rseq, to_tag) else {
        return ProvisionalStep::Unreliable;
    };
    match early {
        Some(e) if e.dialog.remote_tag == tag => {
            if rseq == e.rseq.wrapping_add(1) {
                ProvisionalStep::Prack {
                    rseq,
                    new_dialog: false,
                }
            } else {
                ProvisionalStep::Ignore
            }
        }
        // First reliable 1xx, or one from another fork.
        _ => ProvisionalStep::Prack {
            rseq,
            new_dialog: true,
        },
    }
}

/// Whether the callee rings with a reliable 180: only when the caller
/// requires it (one that merely supports it gets the plain 180).
pub fn ring_reliably(require_100rel: bool) -> bool {
    require_100rel
}

/// What the clock means for our reliable 1xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetransmitStep {
    /// Not yet.
    Wait,
    /// Send it again (the interval has doubled).
    Resend,
    /// 64*T1 without PRACK: reject the INVITE with a 5xx (RFC 3262 §3).
    GiveUp,
}

/// Decides at `now` for our unacknowledged reliable 1xx.
pub fn retransmit_step(ours: &mut OurProvisional, now: Instant) -> RetransmitStep {
    if now >= ours.give_up {
        RetransmitStep::GiveUp
    } else if now >= ours.next {
        ours.next = now + ours.interval;
        ours.interval *= 2;
        RetransmitStep::Resend
    } else {
        RetransmitStep::Wait
    }
}

/// How the callee answers a PRACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrackStep {
    /// No readable RAck: 400.
    BadRequest,
    /// It acknowledges our 1xx: 200, then the answer that waited, if any.
    Acknowledged { answer: bool },
    /// It matches no unacknowledged reliable 1xx: 481.
    NoMatch,
}

/// Decides for a PRACK with `rack` (None: absent or malformed) whose To tag
/// is ours or not (`tag_matches`); an acknowledged 1xx leaves `reliable`.
pub fn prack_step(reliable: &mut Reliable, rack: Option<&RAck>, tag_matches: bool) -> PrackStep {
    let Some(rack) = rack else {
        return PrackStep::BadRequest;
    };
    let matches = reliable.ours.as_ref().is_some_and(|o| {
        tag_matches
            && rack.method == Method::Invite
            && rack.rseq == o.rseq
            && rack.cseq == o.invite_cseq
    });
    if !matches {
        return PrackStep::NoMatch;
    }
    reliable.ours = None;
    PrackStep::Acknowledged {
        answer: !reliable.answer_waiting.is_empty(),
    }
}

/// Whether an answer goes now or waits for the PRACK of our reliable 1xx
/// (RFC 3262 §3: the 2xx follows the PRACK).
pub fn answer_step(reliable: &Reliable) -> AnswerStep {
    if reliable.ours.is_some() {
        AnswerStep::WaitForPrack
    } else {
        AnswerStep::Now
    }
}

/// See [`answer_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStep {
    Now,
    WaitForPrack,
}

/// Where the dialog an UPDATE arrives in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogPhase {
    /// No dialog it could belong to: 481.
    None,
    /// Early (before the 2xx). `offer_open`: an offer of the INVITE is not
    /// yet answered; `ours` whether that offer is ours (caller) or the
    /// peer's (callee).
    Early { offer_open: bool, ours: bool },
    /// Confirmed; `offer_open` when an offer of ours awaits its answer (our
    /// re-INVITE in flight, or our offer in a 2xx awaiting the ACK).
    Confirmed { offer_open: bool },
}

/// How an UPDATE is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStep {
    /// Answer with this code only: 481 (no dialog), 500 (CSeq out of
    /// order), 491 (an offer of ours is open).
    Reply(u16),
    /// 500 with Retry-After: the peer's own offer awaits our answer
    /// (RFC 3311 §5.2).
    RetryLater,
    /// No SDP: a refresh, 200 with our Contact.
    Refresh,
    /// An SDP offer: 200 with our answer, applied to the media.
    Answer,
}

/// Decides for an UPDATE in `phase`, `in_order` when its CSeq is (always
/// true without a confirmed dialog), carrying an SDP offer or not.
pub fn update_step(phase: DialogPhase, in_order: bool, has_offer: bool) -> UpdateStep {
    match phase {
        DialogPhase::None => UpdateStep::Reply(481),
        _ if !in_order => UpdateStep::Reply(500),
        _ if !has_offer => UpdateStep::Refresh,
        DialogPhase::Early {
            offer_open: true,
            ours: true,
        }
        | DialogPhase::Confirmed { offer_open: true } => UpdateStep::Reply(491),
        DialogPhase::Early {
            offer_open: true,
            ours: false,
        } => UpdateStep::RetryLater,
        DialogPhase::Early {
            offer_open: false, ..
        }
        | DialogPhase::Confirmed { offer_open: false } => UpdateStep::Answer,
    }
}

/// A Retry-After for a 500 to an UPDATE: 0 to 10 seconds (RFC 3311 §5.2).
pub fn retry_after(random: u32) -> u32 {
    random % 11
}

#[cfg(test)]
mod tests;
