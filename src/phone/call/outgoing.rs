//! Outgoing side of a call: the echo target, INVITE with our offer,
//! provisional and final responses, digest challenges, ACK for 2xx, CANCEL,
//! and BYE. What a response to the INVITE leads to is decided in
//! [`super::step`].

use super::step::{invite_step, Answered, InviteResponse, InviteStep, Sent, SentInvite};
use super::*;

impl CallActor {
    // ---------------------------------------------------------------- echo

    pub(super) async fn start_echo(&mut self) -> Result<(), String> {
        let echo = EchoReflector::start(local_addr::reachable_locally(self.env.media_ip))
            .await
            .map_err(|e| e.to_string())?;
        let sockets = RtpSockets::bind(self.env.media_ip)
            .await
            .map_err(|e| e.to_string())?;
        let params = super::echo_hold::echo_params(echo.rtp_addr(), Direction::SendRecv);
        let media = MediaSession::start(
            sockets,
            params,
            &self.env.audio,
            &self.info.sip_call_id,
            self.media_tx.clone(),
        )
        .map_err(|e| e.to_string())?;
        self.media.echo = Some(echo);
        self.media.rtp = Rtp::Running(media);
        self.info.codec = Some(Codec::Pcmu.name().to_string());
        self.info.codec_rate = Some(Codec::Pcmu.sample_rate());
        self.info.media_encryption = Some(encryption::encryption_of(None));
        self.set_state(CallState::Active);
        Ok(())
    }

    // ------------------------------------------------------------ outgoing

    /// Binds the RTP ports if there are none, and names in our SDP the
    /// address that reaches them from `peer` (the SIP peer of the call).
    pub(super) async fn bind_media(&mut self, peer: std::net::SocketAddr) -> Result<(), String> {
        if matches!(self.media.rtp, Rtp::None) {
            let s = RtpSockets::bind(self.env.media_ip)
                .await
                .map_err(|e| format!("cannot open RTP port: {e}"))?
                .symmetric(self.env.symmetric_rtp);
            let sip = self.env.endpoint.transport().local_addr_for(peer);
            self.media.local.addr = match self.stun_media_addr(&s, peer).await {
                Some(public) => public,
                None => local_addr::media_addr(sip, s.rtp_addr()),
            };
            self.info.local_sip = Some(sip.to_string());
            self.info.local_media = Some(self.media.local.addr.to_string());
            self.media.rtp = Rtp::Bound(s);
        }
        Ok(())
    }

    pub(super) async fn start_outgoing(
        &mut self,
        target: String,
        next_hop: String,
        extra_headers: Vec<(String, String)>,
    ) -> Result<(), String> {
        crate::sip::uri::check_secure_hop(&target, &next_hop)?;
        let mut targets = self
            .env
            .resolver
            .resolve(&next_hop)
            .await
            .map_err(|e| e.to_string())?
            .into_iter();
        let peer = targets.next().ok_or("no target")?;
        self.outgoing.alternates = targets.collect();
        self.bind_media(peer.addr).await?;
        self.start_early_media();
        let mut req = m::request(Method::Invite, &target).map_err(|e| e.to_string())?;
        let h = &mut req.headers;
        add_header(h, "Via", self.via(&peer));
        add_header(h, "Max-Forwards", "70");
        let from_uri = format!("sip:{}@{}", self.account.user, self.account.domain);
        let from = match &self.account.display_name {
            Some(n) => format!("\"{n}\" <{from_uri}>;tag={}", self.sip.local_tag),
            None => format!("<{from_uri}>;tag={}", self.sip.local_tag),
        };
        add_header(h, "From", from);
        add_header(h, "To", format!("<{target}>"));
        add_header(h, "Call-ID", self.info.sip_call_id.clone());
        add_header(h, "CSeq", "1 INVITE");
        add_header(h, "Contact", self.contact(&peer));
        add_header(h, "Allow", crate::sip::ALLOW);
        add_header(h, "Supported", crate::sip::SUPPORTED);
        add_header(h, "User-Agent", crate::sip::USER_AGENT);
        // An INVITE that replaces a dialog must not reach a peer that
        // would take it as a new call (RFC 3891 §3).
        if extra_headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Replaces"))
        {
            add_header(h, "Require", "replaces");
        }
        for (name, value) in extra_headers {
            add_header(h, &name, value);
        }
        self.session_timer_headers(&mut req.headers);
        let body = sdp::offer(&self.media.local).into_bytes();
        set_body(
            &mut req.headers,
            &mut req.body,
            Some("application/sdp"),
            body,
        );
        self.send_invite(req, peer).await
    }

    /// Starts the call's media before the answer, sending nothing and
    /// receiving nothing, so local tones (ringback, busy) reach the speaker.
    pub(super) fn start_early_media(&mut self) {
        let Some(sockets) = self.media.take_sockets() else {
            return;
        };
        // The codec we prefer: the audio path (tones, a recording, the
        // file backend's playout) starts at its rate.
        let codec = self
            .media
            .local
            .codecs
            .first()
            .copied()
            .unwrap_or(Codec::Pcmu);
        let params = RtpParams {
            remote: std::net::SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), 0),
            rtcp: None,
            codec,
            payload_type: codec.payload_type(),
            dtmf_payload_type: None,
            direction: Direction::Inactive,
            red_payload_type: None,
            opus: Default::default(),
        };
        match MediaSession::start(
            sockets,
            params,
            &self.env.audio,
            &self.info.sip_call_id,
            self.media_tx.clone(),
        ) {
            Ok(media) => self.media.rtp = Rtp::Running(media),
            Err(e) => tracing::warn!(call = %self.info.id, "media did not start: {e}"),
        }
    }

    pub(super) fn set_tone(&self, tone: Option<Tone>) {
        if let Some(media) = self.media.session() {
            media.set_tone(tone);
        }
    }

    pub(super) async fn send_invite(&mut self, req: Request, peer: Peer) -> Result<(), String> {
        let tx = self
            .env
            .endpoint
            .send_request(req.clone(), peer)
            .await
            .map_err(|e| format!("cannot send INVITE: {e}"))?;
        self.note_signalling(&peer);
        self.outgoing.invite = Some(SentInvite::new(Sent { request: req, peer }));
        forward_responses(tx, TxKind::Invite, self.responses_tx.clone());
        Ok(())
    }

    pub(super) async fn on_response(&mut self, kind: TxKind, resp: Response) {
        if self.session_timer_response(kind, &resp).await {
            return;
        }
        let code = m::code(&resp);
        match kind {
            TxKind::ReInvite => self.on_reinvite_response(resp).await,
            TxKind::Refer => self.on_refer_response(resp).await,
            TxKind::Invite => {
                if (101..200).contains(&code) {
                    self.note_early_dialog(&resp);
                }
                if (101..200).contains(&code) && !self.prack_provisional(&resp).await {
                    return;
                }
                if code == 488 && self.retry_srtp_offer(&resp).await {
                    return;
                }
                if code >= 300 && self.fail_over(&resp).await {
                    return;
                }
                if code >= 300 && self.follow_redirect(&resp).await {
                    return;
                }
                if code >= 400 {
                    self.note_call_completion(&resp);
                }
                let status = self
                    .tls_failure(&resp)
                    .unwrap_or_else(|| m::status_text(&resp));
                let body = sdp_body(&resp);
                let response = InviteResponse {
                    code,
                    status: &status,
                    has_sdp: body.is_some(),
                };
                let has_credentials = self.account.password.is_some();
                let step = invite_step(
                    &mut self.outgoing,
                    self.info.state,
                    has_credentials,
                    &response,
                );
                self.take_invite_step(step, resp, body).await;
            }
        }
    }

    /// Carries out what [`invite_step`] decided for `resp`.
    async fn take_invite_step(&mut self, step: InviteStep, resp: Response, body: Option<String>) {
        match step {
            InviteStep::Nothing => {}
            InviteStep::Progress {
                send_cancel,
                early_media,
                ringback,
                alerting,
            } => {
                if send_cancel {
                    self.send_cancel().await;
                }
                if let (true, Some(body)) = (early_media, &body) {
                    // Early media (183 with SDP): the peer's own tones.
                    self.set_tone(None);
                    self.apply_early_answer(body).await;
                } else if ringback {
                    self.set_tone(Some(Tone::Ringback));
                }
                if alerting {
                    self.info.remote_name =
                        m::header(&resp.headers, "To").and_then(m::display_name);
                    self.set_state(CallState::Alerting);
                }
            }
            InviteStep::Answered(then) => {
                if self.sip.dialog.is_none() {
                    if let Some(invite) = &self.outgoing.invite {
                        match Dialog::from_uac(&invite.sent.request, &resp) {
                            Ok(d) => self.sip.dialog = Some(d),
                            Err(e) => tracing::warn!(call = %self.info.id, "bad 2xx: {e}"),
                        }
                    }
                }
                self.confirm_early_dialog();
                self.ack_2xx(&resp).await;
                match then {
                    Answered::AckOnly => {}
                    Answered::ByeCancelled => {
                        self.send_bye().await;
                        self.end("cancelled").await;
                    }
                    Answered::Connect => {
                        self.set_tone(None);
                        match body {
                            Some(body) => self.apply_answer(&body).await,
                            None if self.media.session().is_some() => {}
                            None => {
                                tracing::warn!(call = %self.info.id, "2xx without SDP answer");
                            }
                        }
                        if !self.ended() {
                            self.set_state(CallState::Active);
                        }
                    }
                }
            }
            InviteStep::Authenticate => {
                let invite = self.outgoing.invite.as_ref().map(|i| i.sent.clone());
                let (Some(creds), Some(Sent { request, peer })) = (self.credentials(), invite)
                else {
                    return;
                };
                match self.sip.digest.authorize(&request, &resp, &creds) {
                    Ok(req) => {
                        if let Err(e) = self.send_invite(req, peer).await {
                            self.end(&e).await;
                        }
                    }
                    Err(e) => self.end(&format!("{}: {e}", m::status_text(&resp))).await,
                }
            }
            InviteStep::End {
                reason,
                tone: Some(tone),
            } => self.end_with_tone(&reason, tone).await,
            InviteStep::End { reason, tone: None } => self.end(&reason).await,
        }
    }

    pub(super) async fn ack_2xx(&mut self, resp: &Response) {
        let Some(dialog) = &self.sip.dialog else {
            return;
        };
        let Ok((cseq, _)) = m::cseq(&resp.headers) else {
            return;
        };
        let peer = match dialog.next_hop(&self.env.resolver).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot route ACK: {e}");
                return;
            }
        };
        let ack = match &self.sip.last_ack {
            Some(last) if m::cseq(&last.request.headers).map(|c| c.0).ok() == Some(cseq) => {
                last.request.clone()
            }
            _ => match dialog.ack(cseq, &self.via(&peer)) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(call = %self.info.id, "cannot build ACK: {e}");
                    return;
                }
            },
        };
        if let Err(e) = self
            .env
            .endpoint
            .send_stateless(SipMessage::Request(ack.clone()), &peer)
            .await
        {
            tracing::warn!(call = %self.info.id, "ACK not sent: {e}");
        }
        self.sip.last_ack = Some(Sent { request: ack, peer });
    }

    /// Reads an SDP answer (ours was the offer) and starts or updates media.
    pub(super) async fn apply_answer(&mut self, body: &str) {
        match super::sdp_hosts::resolve(body.to_string())
            .await
            .and_then(|body| sdp::read_answer(&body, &self.media.local))
        {
            Ok(neg) => self.apply_negotiated(neg).await,
            Err(e) if self.end_on_mismatch(&e).await => {}
            Err(e) => tracing::warn!(call = %self.info.id, "unusable SDP answer: {e}"),
        }
    }

    /// Reads the SDP of early media (a 183); an unusable one is ignored.
    async fn apply_early_answer(&mut self, body: &str) {
        if let Ok(neg) = super::sdp_hosts::resolve(body.to_string())
            .await
            .and_then(|body| sdp::read_answer(&body, &self.media.local))
        {
            self.apply_negotiated(neg).await;
        }
    }

    pub(super) async fn apply_negotiated(&mut self, neg: Negotiated) {
        self.info.codec = Some(neg.params.codec.name().to_string());
        self.info.codec_rate = Some(neg.params.codec.sample_rate());
        self.info.red = neg.params.red_payload_type.is_some();
        self.media.dtmf_pt = neg.params.dtmf_payload_type;
        let remote_held = neg.remote_held;
        self.note_encryption(neg.srtp.as_ref());
        if let Some(media) = self.media.session() {
            media.update_secure(neg.params, neg.srtp);
        } else if let Some(sockets) = self.media.take_sockets() {
            match MediaSession::start_secure(
                sockets,
                neg.params,
                neg.srtp,
                &self.env.audio,
                &self.info.sip_call_id,
                self.media_tx.clone(),
            ) {
                Ok(media) => self.media.rtp = Rtp::Running(media),
                Err(e) => tracing::warn!(call = %self.info.id, "media did not start: {e}"),
            }
        }
        if self.info.remote_held != remote_held {
            self.info.remote_held = remote_held;
            self.publish();
        }
    }

    pub(super) async fn send_cancel(&mut self) {
        self.send_cancel_with(None).await;
    }

    /// Our ringing INVITE was picked up (an INVITE with Replaces took its
    /// early dialog): CANCEL it with the reason "Call completed elsewhere"
    /// (RFC 3326), or, before any provisional answer, as a hang-up does.
    pub(super) async fn cancel_picked_up(&mut self) {
        use super::step::Cancel;
        let early = self.outgoing.invite.as_ref().is_some_and(|i| i.provisional);
        if early && self.outgoing.cancel != Cancel::Sent {
            self.outgoing.cancel = Cancel::Sent;
            self.send_cancel_with(Some(crate::sip::reason::COMPLETED_ELSEWHERE))
                .await;
        } else {
            self.hangup().await;
        }
    }

    /// CANCEL, with an RFC 3326 `Reason` header when `reason` is given.
    pub(super) async fn send_cancel_with(&mut self, reason: Option<&str>) {
        let Some(Sent {
            request: invite,
            peer,
        }) = self.outgoing.invite.as_ref().map(|i| i.sent.clone())
        else {
            return;
        };
        let mut cancel = match m::request(Method::Cancel, &invite.uri.to_string()) {
            Ok(r) => r,
            Err(_) => return,
        };
        for name in ["Via", "Route"] {
            if let Some(v) = m::header(&invite.headers, name) {
                add_header(&mut cancel.headers, name, v);
            }
        }
        add_header(&mut cancel.headers, "Max-Forwards", "70");
        for name in ["From", "To", "Call-ID"] {
            if let Some(v) = m::header(&invite.headers, name) {
                add_header(&mut cancel.headers, name, v);
            }
        }
        let n = m::cseq(&invite.headers).map(|c| c.0).unwrap_or(1);
        add_header(&mut cancel.headers, "CSeq", format!("{n} CANCEL"));
        add_header(&mut cancel.headers, "User-Agent", crate::sip::USER_AGENT);
        if let Some(reason) = reason {
            add_header(&mut cancel.headers, "Reason", reason);
        }
        set_body(&mut cancel.headers, &mut cancel.body, None, Vec::new());
        match self.env.endpoint.send_request(cancel, peer).await {
            Ok(tx) => drain(tx),
            Err(e) => tracing::warn!(call = %self.info.id, "CANCEL not sent: {e}"),
        }
    }

    /// BYE in a detached task (answers 401/407 once); the call ends at once.
    pub(super) async fn send_bye(&mut self) {
        self.send_bye_with(None).await;
    }

    /// BYE, with an RFC 3326 `Reason` header when `reason` is given.
    pub(super) async fn send_bye_with(&mut self, reason: Option<&str>) {
        let Some(dialog) = self.sip.dialog.as_mut() else {
            return;
        };
        let peer = match dialog.next_hop(&self.env.resolver).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot route BYE: {e}");
                return;
            }
        };
        let via = m::via(
            self.env.endpoint.transport().local_addr_for(peer.addr),
            peer.protocol,
            &m::new_branch(),
        );
        let Ok(mut bye) = dialog.request(Method::Bye, &via) else {
            return;
        };
        set_body(&mut bye.headers, &mut bye.body, None, Vec::new());
        if let Some(reason) = reason {
            crate::sip::headers::set_header(&mut bye.headers, "Reason", reason);
        }
        let endpoint = self.env.endpoint.clone();
        let creds = self.credentials();
        let mut digest = std::mem::take(&mut self.sip.digest);
        tokio::spawn(async move {
            let Ok(mut tx) = endpoint.send_request(bye.clone(), peer).await else {
                return;
            };
            while let Some(resp) = tx.next_response().await {
                let code = m::code(&resp);
                if code == 401 || code == 407 {
                    if let Some(creds) = &creds {
                        if let Ok(again) = digest.authorize(&bye, &resp, creds) {
                            if let Ok(tx2) = endpoint.send_request(again, peer).await {
                                drain(tx2);
                            }
                        }
                    }
                    return;
                }
                if code >= 200 {
                    return;
                }
            }
        });
    }
}
