//! Reliable provisional responses (RFC 3262) and the peer's UPDATE (RFC
//! 3311) as messages: our PRACK to the peer's `100rel` 1xx in the early
//! dialog, our reliable 180 and its retransmissions, the 200 (or 481) to a
//! PRACK and the answer that waited for it, and the 200 (with our SDP
//! answer), 491 or 500 to an UPDATE. Owns [`Reliable`]'s messages, not its
//! decisions (those are `step/prack.rs`); touches the media only through
//! `apply_negotiated`, as a re-INVITE does.

use super::step::{
    answer_step, prack_step, provisional_step, retransmit_step, retry_after, ring_reliably,
    update_step, AnswerStep, DialogPhase, EarlyDialog, OurProvisional, PrackStep, ProvisionalStep,
    RetransmitStep, UpdateStep,
};
use super::*;
use crate::sip::reliable::{self as rel, RAck, OPTION_100REL};
use tokio::time::Instant;

/// How long the answer after a PRACK waits for the PRACK's 200 to leave
/// (it takes microseconds; this only bounds a stuck stream transport).
const PRACK_OK_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

impl CallActor {
    // ------------------------------------------------------------- caller

    /// A 1xx to our INVITE: PRACKs it when it is a new reliable one. False
    /// when it must not be taken further (a retransmission, RFC 3262 §4).
    pub(super) async fn prack_provisional(&mut self, resp: &Response) -> bool {
        let reliable = rel::lists_option(&resp.headers, "Require", OPTION_100REL);
        let to_tag = m::to_tag(resp);
        let step = provisional_step(
            self.reliable.early.as_ref(),
            reliable,
            rel::rseq(&resp.headers),
            to_tag.as_deref(),
        );
        let (rseq, new_dialog) = match step {
            ProvisionalStep::Unreliable => return true,
            ProvisionalStep::Ignore => return false,
            ProvisionalStep::Prack { rseq, new_dialog } => (rseq, new_dialog),
        };
        if new_dialog {
            let Some(invite) = &self.outgoing.invite else {
                return true;
            };
            match Dialog::from_uac(&invite.sent.request, resp) {
                Ok(dialog) => {
                    self.reliable.early = Some(EarlyDialog {
                        dialog,
                        rseq,
                        answered: false,
                    })
                }
                Err(e) => {
                    tracing::warn!(call = %self.info.id, "reliable 1xx without a dialog: {e}");
                    return true;
                }
            }
        }
        let Ok((cseq, _)) = m::cseq(resp) else {
            return true;
        };
        let has_sdp = sdp_body(resp).is_some();
        if let Some(early) = self.reliable.early.as_mut() {
            early.rseq = rseq;
            early.answered |= has_sdp;
            early.dialog.refresh_target(&resp.headers);
        }
        self.send_prack(RAck {
            rseq,
            cseq,
            method: Method::Invite,
        })
        .await;
        true
    }

    /// Sends a PRACK in the early dialog; its final response is only logged.
    async fn send_prack(&mut self, rack: RAck) {
        let Some(early) = self.reliable.early.as_ref() else {
            return;
        };
        let peer = match early.dialog.next_hop(&self.env.resolver).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot route PRACK: {e}");
                return;
            }
        };
        let via = self.via(&peer);
        let Some(early) = self.reliable.early.as_mut() else {
            return;
        };
        let Ok(mut prack) = early.dialog.request(Method::PRack, &via) else {
            return;
        };
        add_header(&mut prack.headers, "RAck", rack.value());
        set_body(&mut prack.headers, &mut prack.body, None, Vec::new());
        let call = self.info.id.clone();
        match self.env.endpoint.send_request(prack, peer).await {
            Ok(mut tx) => {
                tokio::spawn(async move {
                    while let Some(resp) = tx.next_response().await {
                        let code = m::code(&resp);
                        if code >= 300 {
                            tracing::warn!(%call, "PRACK refused: {}", m::status_text(&resp));
                        }
                        if code >= 200 {
                            break;
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(call = %self.info.id, "PRACK not sent: {e}"),
        }
    }

    /// The 2xx made the dialog: its CSeq goes on from our PRACKs.
    pub(super) fn confirm_early_dialog(&mut self) {
        if let (Some(dialog), Some(early)) = (self.sip.dialog.as_mut(), self.reliable.early.take())
        {
            dialog.local_cseq = dialog.local_cseq.max(early.dialog.local_cseq);
        }
    }

    // ------------------------------------------------------------- callee

    /// Rings: a reliable 180 when the INVITE requires it, else the plain one.
    pub(super) fn send_ringing(&mut self) {
        let Some(tx) = &self.incoming.invite else {
            return;
        };
        let required = rel::lists_option(&tx.request.headers, "Require", OPTION_100REL);
        let cseq = m::cseq(&tx.request).map(|(n, _)| n);
        let (true, Ok(cseq)) = (ring_reliably(required), cseq) else {
            self.respond_invite(180);
            return;
        };
        let rseq = self.reliable.next_rseq(rand::random());
        let mut resp = m::response(&tx.request, 180, Some(&self.sip.local_tag));
        add_header(&mut resp.headers, "Contact", self.contact(&tx.peer));
        add_header(&mut resp.headers, "Require", OPTION_100REL);
        add_header(&mut resp.headers, "RSeq", rseq.to_string());
        add_header(&mut resp.headers, "Allow", crate::sip::ALLOW);
        set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
        if let Err(e) = tx.handle.respond(resp.clone()) {
            tracing::warn!(call = %self.info.id, "reliable 180 not sent: {e}");
            return;
        }
        self.reliable.ours = Some(OurProvisional::new(resp, rseq, cseq, Instant::now()));
    }

    /// Our reliable 1xx is due again, or has waited 64*T1 for its PRACK.
    pub(super) async fn on_reliable_timer(&mut self) {
        let Some(ours) = self.reliable.ours.as_mut() else {
            return;
        };
        match retransmit_step(ours, Instant::now()) {
            RetransmitStep::Wait => {}
            RetransmitStep::Resend => {
                let resp = ours.response.clone();
                if let Some(tx) = &self.incoming.invite {
                    let _ = tx.handle.respond(resp);
                }
            }
            RetransmitStep::GiveUp => {
                self.reliable.ours = None;
                self.reliable.answer_waiting.clear();
                if self.info.state == CallState::Ringing {
                    self.respond_invite(500);
                    self.end("no PRACK for our reliable 180").await;
                }
            }
        }
    }

    /// `answer`: at once, or after the PRACK of our reliable 180.
    pub(super) async fn answer_or_wait(&mut self, reply: Reply) {
        if self.info.state == CallState::Ringing
            && answer_step(&self.reliable) == AnswerStep::WaitForPrack
        {
            self.reliable.answer_waiting.push(reply);
            return;
        }
        let r = self.answer().await;
        let _ = reply.send(r);
    }

    // ------------------------------------------------------------ requests

    /// PRACK and UPDATE from the peer; false for any other request.
    pub(super) async fn on_reliable_request(&mut self, tx: &ServerTransaction) -> bool {
        match tx.request.method {
            Method::PRack => self.on_prack(tx).await,
            Method::Update => self.on_update(tx).await,
            _ => return false,
        }
        true
    }

    async fn on_prack(&mut self, tx: &ServerTransaction) {
        let req = &tx.request;
        let tag_matches = m::to_tag(req).as_deref() == Some(self.sip.local_tag.as_str());
        let rack = rel::rack(&req.headers);
        match prack_step(&mut self.reliable, rack.as_ref(), tag_matches) {
            PrackStep::BadRequest => {
                let _ = tx.handle.respond(bodiless_response(req, 400));
            }
            PrackStep::NoMatch => {
                let _ = tx.handle.respond(bodiless_response(req, 481));
            }
            PrackStep::Acknowledged { answer } => {
                let ok = bodiless_response(req, 200);
                if !answer {
                    let _ = tx.handle.respond(ok);
                } else {
                    // The PRACK's 200 leaves before the INVITE's 200 the
                    // answer sends (peers such as SIPp expect that order;
                    // the two transactions' tasks would not keep it).
                    let sent = tx.handle.respond_in_order(ok);
                    let _ = tokio::time::timeout(PRACK_OK_WAIT, sent).await;
                    let replies = std::mem::take(&mut self.reliable.answer_waiting);
                    let r = self.answer().await;
                    for reply in replies {
                        let _ = reply.send(r.clone());
                    }
                }
            }
        }
    }

    /// Where the dialog of the peer's UPDATE stands.
    fn update_phase(&self, req: &Request) -> DialogPhase {
        if self.sip.dialog.is_some() {
            return DialogPhase::Confirmed {
                offer_open: self.reinvite.pending.in_flight().is_some() || self.media.answer_in_ack,
            };
        }
        let to_tag = m::to_tag(req);
        let ours = to_tag.as_deref() == Some(self.sip.local_tag.as_str());
        if self.incoming.invite.is_some() && self.info.state == CallState::Ringing && ours {
            // Our 180 carries no SDP: the INVITE's offer (or our offer to
            // come in the 2xx) is still open.
            return DialogPhase::Early {
                offer_open: true,
                ours: false,
            };
        }
        match &self.reliable.early {
            Some(early)
                if m::from_tag(req).as_deref() == Some(early.dialog.remote_tag.as_str()) =>
            {
                DialogPhase::Early {
                    offer_open: !early.answered,
                    ours: true,
                }
            }
            // An early dialog without reliable 1xx: our INVITE's offer has
            // no answer the peer could know we took.
            _ if self.outgoing.invite.is_some()
                && matches!(self.info.state, CallState::Dialing | CallState::Alerting)
                && m::to_tag(req).as_deref() == Some(self.sip.local_tag.as_str()) =>
            {
                DialogPhase::Early {
                    offer_open: true,
                    ours: true,
                }
            }
            _ => DialogPhase::None,
        }
    }

    async fn on_update(&mut self, tx: &ServerTransaction) {
        let req = &tx.request;
        let phase = self.update_phase(req);
        let in_order = match phase {
            DialogPhase::Confirmed { .. } => self
                .sip
                .dialog
                .as_mut()
                .is_some_and(|d| d.accept_remote_cseq(req)),
            _ => true,
        };
        let offer = sdp_request_body(req);
        let confirmed = matches!(phase, DialogPhase::Confirmed { .. });
        if confirmed && in_order {
            // A refresh asking for a shorter session than we allow: 422.
            if let Some(r) = self.session_timer_reject(req) {
                let _ = tx.handle.respond(r);
                return;
            }
        }
        match update_step(phase, in_order, offer.is_some()) {
            UpdateStep::Reply(code) => {
                let _ = tx.handle.respond(bodiless_response(req, code));
            }
            UpdateStep::RetryLater => {
                let mut r = bodiless_response(req, 500);
                add_header(
                    &mut r.headers,
                    "Retry-After",
                    retry_after(rand::random()).to_string(),
                );
                let _ = tx.handle.respond(r);
            }
            UpdateStep::Refresh => {
                let contact = self.refresh_for_update(req, &tx.peer);
                let mut r = bodiless_response(req, 200);
                add_header(&mut r.headers, "Contact", contact);
                if confirmed {
                    // An UPDATE in the confirmed dialog refreshes the session (RFC 4028).
                    self.session_timer_accept(req, &mut r);
                }
                let _ = tx.handle.respond(r);
            }
            UpdateStep::Answer => {
                let Some(offer) = offer else {
                    return;
                };
                let contact = self.refresh_for_update(req, &tx.peer);
                self.media.local.session_version += 1;
                match sdp::answer(&offer, &self.media.local) {
                    Ok((answer, neg)) => {
                        self.apply_negotiated(neg).await;
                        let mut r = m::response(req, 200, None);
                        add_header(&mut r.headers, "Contact", contact);
                        if confirmed {
                            self.session_timer_accept(req, &mut r);
                        }
                        set_body(
                            &mut r.headers,
                            &mut r.body,
                            Some("application/sdp"),
                            answer.into_bytes(),
                        );
                        let _ = tx.handle.respond(r);
                    }
                    Err(e) => {
                        tracing::warn!(call = %self.info.id, "UPDATE refused: {e}");
                        let _ = tx.handle.respond(bodiless_response(req, 488));
                    }
                }
            }
        }
    }

    /// An UPDATE refreshes the remote target; returns our Contact for the 200.
    fn refresh_for_update(&mut self, req: &Request, peer: &crate::sip::transport::Peer) -> String {
        if let Some(dialog) = self.sip.dialog.as_mut() {
            dialog.refresh_target(&req.headers);
            return dialog.local_contact.clone();
        }
        if let Some(early) = self.reliable.early.as_mut() {
            early.dialog.refresh_target(&req.headers);
        }
        self.contact(peer)
    }
}
