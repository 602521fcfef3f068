//! Incoming side of a call and in-dialog requests: ringing, answer,
//! reject, hangup in every state, the caller's CANCEL, and the peer's BYE,
//! re-INVITE, OPTIONS. Owns [`IncomingSetup`]; how a hang-up and a request
//! of the peer are taken is decided in [`super::step`].

use super::step::{hangup_step, info_dtmf, request_step, HangupStep, ReplacesStep, RequestStep};
use super::*;

/// The call as the callee, until it is answered or over: the peer's INVITE
/// and when it stops ringing.
#[derive(Debug, Default)]
pub(super) struct IncomingSetup {
    /// The initial INVITE and its transaction (None for calls we place).
    pub invite: Option<ServerTransaction>,
    /// When an unanswered call stops ringing (480).
    pub ring_deadline: Option<tokio::time::Instant>,
}

impl CallActor {
    // ------------------------------------------------------------ incoming

    pub(super) async fn start_incoming(
        &mut self,
        tx: ServerTransaction,
        replaces: Option<Replaces>,
    ) -> Result<(), String> {
        let offer = sdp_request_body(&tx.request);
        if let Some(r422) = self.session_timer_reject(&tx.request) {
            let _ = tx.handle.respond(r422);
            return Err("422 session interval too small".into());
        }
        self.note_signalling(&tx.peer);
        self.incoming.invite = Some(tx);
        if let Some(offer) = &offer {
            if let Err(e) = sdp::SessionDescription::parse(offer)
                .and_then(|s| s.audio().map(|_| ()).ok_or(sdp::SdpError::NoAudio))
            {
                self.respond_invite(488);
                return Err(format!("488 unusable offer: {e}"));
            }
            // SRTP or not, as the account wants (RFC 4568): else 488.
            if let Some(reason) = self.refuse_offer_encryption(offer) {
                return Err(reason);
            }
            // A c= host name that does not resolve: refused before it rings.
            if let Err(e) = super::sdp_hosts::resolve(offer.clone()).await {
                self.respond_invite(488);
                return Err(format!("488 unusable offer: {e}"));
            }
        }
        if let Some(r) = replaces {
            // RFC 3891: take over the named dialog (with its tags; not a
            // confirmed one when early-only: 486), else 481.
            let call_id = self.info.sip_call_id.clone();
            if let ReplacesStep::Refuse(code) = r.call.may_replace(r.params(&call_id)).await {
                self.respond_invite(code);
                return Err(match code {
                    486 => "486 Replaces early-only names a confirmed dialog".into(),
                    _ => format!("{code} Replaces names no dialog of ours"),
                });
            }
            self.answer().await.map_err(|e| e.message)?;
            r.call.replaced();
            return Ok(());
        }
        self.send_ringing();
        let peer = self.incoming.invite.as_ref().map(|tx| tx.peer.addr);
        if let (crate::media::BackendKind::Cpal, Some(peer)) = (self.env.audio.backend(), peer) {
            // The ringtone on the sound card (file and null backends have no
            // one to hear it and record only the call itself).
            self.bind_media(peer).await?;
            self.start_early_media();
            self.set_tone(Some(Tone::Ring));
        }
        self.incoming.ring_deadline =
            Some(tokio::time::Instant::now() + Duration::from_secs(self.env.ring_timeout_s.max(1)));
        Ok(())
    }

    /// Answers the initial INVITE with `code` (180, 200 handled in answer()).
    pub(super) fn respond_invite(&mut self, code: u16) {
        let Some(tx) = &self.incoming.invite else {
            return;
        };
        let mut resp = m::response(&tx.request, code, Some(&self.sip.local_tag));
        if (101..200).contains(&code) {
            add_header(&mut resp.headers, "Contact", self.contact(&tx.peer));
        }
        set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
        if let Err(e) = tx.handle.respond(resp) {
            tracing::warn!(call = %self.info.id, "response {code} not sent: {e}");
        }
    }

    pub(super) async fn answer(&mut self) -> Result<(), CommandError> {
        if self.info.state != CallState::Ringing {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} is not ringing", self.info.id),
            ));
        }
        let Some(tx) = self.incoming.invite.as_ref() else {
            return Err(CommandError::new("bad_state", "no INVITE to answer"));
        };
        let request = tx.request.clone();
        let peer = tx.peer;
        self.bind_media(peer.addr)
            .await
            .map_err(|e| CommandError::new("media_error", e))?;
        let contact = self.contact(&peer);
        self.set_tone(None);
        let body = match sdp_request_body(&request) {
            Some(offer) => match super::sdp_hosts::resolve(offer)
                .await
                .and_then(|offer| sdp::answer(&offer, &self.media.local))
            {
                Ok((answer, neg)) => {
                    self.apply_negotiated(neg).await;
                    answer
                }
                Err(e) => {
                    self.respond_invite(488);
                    self.end(&format!("488 {e}")).await;
                    return Err(CommandError::new(
                        "media_error",
                        format!("cannot answer: {e}"),
                    ));
                }
            },
            None => {
                // Offer in our 2xx, answer in the ACK.
                self.media.answer_in_ack = true;
                sdp::offer(&self.media.local)
            }
        };
        let mut dialog = Dialog::from_uas(&request, &self.sip.local_tag, &contact)
            .map_err(|e| CommandError::new("sip_error", e.to_string()))?;
        dialog.preload_route(
            self.account
                .proxy
                .as_deref()
                .map(crate::sip::route::proxy_route),
        );
        self.sip.dialog = Some(dialog);
        let mut ok = ok_with_sdp(&request, Some(&self.sip.local_tag), contact, body);
        self.session_timer_accept(&request, &mut ok);
        let Some(tx) = self.incoming.invite.as_ref() else {
            return Err(CommandError::new("bad_state", "no INVITE to answer"));
        };
        tx.handle
            .respond(ok)
            .map_err(|e| CommandError::new("sip_error", format!("200 OK not sent: {e}")))?;
        self.incoming.ring_deadline = None;
        self.set_state(CallState::Active);
        Ok(())
    }

    pub(super) async fn hangup(&mut self) {
        let step = hangup_step(
            &mut self.outgoing,
            self.info.state,
            self.sip.dialog.is_some(),
            self.media.echo.is_some(),
        );
        match step {
            HangupStep::Nothing => {}
            HangupStep::Reject => {
                self.respond_invite(486);
                self.end("rejected 486").await;
            }
            HangupStep::Cancel { send_now, end_now } => {
                if send_now {
                    self.send_cancel().await;
                }
                if end_now {
                    self.end("cancelled").await;
                }
            }
            HangupStep::Bye => {
                self.send_bye().await;
                self.end("local hangup").await;
            }
        }
    }

    pub(super) async fn on_sip(&mut self, input: SipInput) {
        match input {
            SipInput::Cancel { sip_cause } => {
                if self.info.state == CallState::Ringing {
                    self.respond_invite(487);
                    self.end(crate::phone::missed::cancelled_reason(sip_cause))
                        .await;
                }
            }
            SipInput::Ack(ack) if !self.belongs_here(&ack) => {
                tracing::debug!(call = %self.info.id, "ACK names no dialog of this call");
            }
            SipInput::Ack(ack) => {
                if self.media.answer_in_ack {
                    self.media.answer_in_ack = false;
                    if let Some(body) = sdp_request_body(&ack) {
                        self.apply_answer(&body).await;
                    }
                }
            }
            SipInput::Response(resp) => {
                if m::code(&resp) >= 200 && m::code(&resp) < 300 {
                    if let Some(Sent { request: ack, peer }) = &self.sip.last_ack {
                        let _ = self
                            .env
                            .endpoint
                            .send_stateless(SipMessage::Request(ack.clone()), peer)
                            .await;
                    }
                }
            }
            SipInput::AckTimeout => {
                tracing::warn!(call = %self.info.id, "no ACK for our 200 OK");
                self.send_bye().await;
                self.end("no ACK").await;
            }
            SipInput::Request(tx) => self.on_routed_request(*tx).await,
        }
    }

    pub(super) async fn on_request(&mut self, tx: ServerTransaction) {
        if self.on_reliable_request(&tx).await {
            return;
        }
        let req = &tx.request;
        let respond = |code: u16| bodiless_response(req, code);
        let in_order = self.sip.dialog.as_mut().map(|d| d.accept_remote_cseq(req));
        match request_step(&req.method, in_order, &self.reinvite.pending) {
            RequestStep::Reply(code) => {
                let mut r = respond(code);
                if code == 405 {
                    add_header(&mut r.headers, "Allow", crate::sip::ALLOW);
                }
                let _ = tx.handle.respond(r);
            }
            RequestStep::Bye => {
                let _ = tx.handle.respond(respond(200));
                self.end("remote hangup").await;
            }
            RequestStep::Reinvite => self.on_reinvite(&tx).await,
            RequestStep::Info => {
                let content_type = m::header(&req.headers, "Content-Type").unwrap_or_default();
                match info_dtmf(content_type, &String::from_utf8_lossy(&req.body)) {
                    Some(d) => {
                        let _ = tx.handle.respond(respond(200));
                        let _ = self
                            .env
                            .manager
                            .send(ManagerMsg::Dtmf(self.info.id.clone(), d));
                    }
                    None => {
                        let _ = tx.handle.respond(respond(415));
                    }
                }
            }
            RequestStep::Notify => {
                let _ = tx.handle.respond(respond(200));
                self.on_notify(req).await;
            }
            RequestStep::Refer => self.on_refer(&tx).await,
            RequestStep::Options => {
                let mut r = respond(200);
                add_header(&mut r.headers, "Allow", crate::sip::ALLOW);
                add_header(&mut r.headers, "Accept", crate::sip::ACCEPT);
                let _ = tx.handle.respond(r);
            }
        }
    }

    /// The peer's re-INVITE (hold, resume, new media): answer its offer, or
    /// offer in our 200 when it carries none.
    async fn on_reinvite(&mut self, tx: &ServerTransaction) {
        let req = &tx.request;
        if let Some(r422) = self.session_timer_reject(req) {
            let _ = tx.handle.respond(r422);
            return;
        }
        let Some(dialog) = self.sip.dialog.as_mut() else {
            return;
        };
        dialog.refresh_target(&req.headers);
        let contact = dialog.local_contact.clone();
        self.media.local.session_version += 1;
        let body = match sdp_request_body(req) {
            Some(offer) => match super::sdp_hosts::resolve(offer)
                .await
                .and_then(|offer| sdp::answer(&offer, &self.media.local))
            {
                Ok((answer, neg)) => {
                    self.apply_negotiated(neg).await;
                    answer
                }
                Err(e) => {
                    tracing::warn!(call = %self.info.id, "re-INVITE refused: {e}");
                    let mut refusal = bodiless_response(req, 488);
                    if let Some(warning) = encryption::refusal_warning(&e) {
                        add_header(&mut refusal.headers, "Warning", warning);
                    }
                    let _ = tx.handle.respond(refusal);
                    return;
                }
            },
            None => {
                self.media.answer_in_ack = true;
                sdp::offer(&self.media.local)
            }
        };
        let mut ok = ok_with_sdp(req, None, contact, body);
        self.session_timer_accept(req, &mut ok);
        let _ = tx.handle.respond(ok);
    }
}

/// The 200 OK to an INVITE or re-INVITE: our Contact, Allow and the SDP.
fn ok_with_sdp(req: &Request, to_tag: Option<&str>, contact: String, sdp: String) -> Response {
    let mut resp = m::response(req, 200, to_tag);
    add_header(&mut resp.headers, "Contact", contact);
    add_header(&mut resp.headers, "Allow", crate::sip::ALLOW);
    set_body(
        &mut resp.headers,
        &mut resp.body,
        Some("application/sdp"),
        sdp.into_bytes(),
    );
    resp
}
