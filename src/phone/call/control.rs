//! Mid-call control: hold and resume by re-INVITE (sendonly / sendrecv, RFC
//! 3264 §8.4) with the RFC 3261 §14.1 glare back-off on 491, mute, DTMF
//! (RFC 4733 when negotiated, SIP INFO `application/dtmf-relay` otherwise)
//! and deflection (302) of a ringing call. When to send a re-INVITE and
//! what its response leads to are decided in [`super::step`].

use super::step::{hold_step, reinvite_step, HoldStep, OurTransfer, Pending, ReinviteStep, Sent};
use super::*;

/// RFC 3261 §14.1: after a 491, the owner of the Call-ID (the UAC) waits
/// 2.1–4 s, the other side 0–2 s, in 10 ms steps.
pub(super) fn glare_backoff(we_are_uac: bool) -> Duration {
    let steps = rand::random::<u64>() % 200;
    if we_are_uac {
        Duration::from_millis(2100 + steps * 10 * 19 / 20)
    } else {
        Duration::from_millis(steps * 10)
    }
}

impl CallActor {
    /// `hold` / `resume`: remembers the wish and sends the re-INVITE (or
    /// answers at once when there is nothing to change).
    pub(super) async fn set_hold(&mut self, held: bool, reply: Reply) {
        if let Some(r) = self.hold_echo(held) {
            let _ = reply.send(r);
            return;
        }
        let step = hold_step(
            &self.reinvite,
            self.info.state,
            self.sip.dialog.is_some(),
            self.info.held,
            held,
        );
        match step {
            HoldStep::Refuse => {
                let what = if held { "held" } else { "resumed" };
                let _ = reply.send(Err(CommandError::new(
                    "bad_state",
                    format!(
                        "call {} is not connected and cannot be {what}",
                        self.info.id
                    ),
                )));
            }
            HoldStep::Done => {
                let _ = reply.send(Ok(()));
            }
            HoldStep::Queue { send_now } => {
                self.reinvite.want_held = held;
                self.reinvite.replies.push(reply);
                if send_now {
                    self.send_reinvite().await;
                }
            }
        }
    }

    /// Sends a re-INVITE offering the direction `want_held` asks for.
    pub(super) async fn send_reinvite(&mut self) {
        let Some(dialog) = self.sip.dialog.as_mut() else {
            return;
        };
        let peer = match dialog.next_hop(&self.env.resolver).await {
            Ok(p) => p,
            Err(e) => {
                self.finish_reinvite(Err(format!("cannot route re-INVITE: {e}")));
                return;
            }
        };
        let via = m::via(
            self.env.endpoint.transport().local_addr_for(peer.addr),
            peer.protocol,
            &m::new_branch(),
        );
        let mut req = match dialog.request(Method::Invite, &via) {
            Ok(r) => r,
            Err(e) => {
                self.finish_reinvite(Err(e.to_string()));
                return;
            }
        };
        self.media.local.direction = if self.reinvite.want_held {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        self.media.local.session_version += 1;
        add_header(&mut req.headers, "Allow", crate::sip::ALLOW);
        self.session_timer_headers(&mut req.headers);
        let body = sdp::offer(&self.media.local).into_bytes();
        set_body(
            &mut req.headers,
            &mut req.body,
            Some("application/sdp"),
            body,
        );
        self.send_in_dialog(req, peer, TxKind::ReInvite).await;
    }

    /// Sends an in-dialog request whose responses come back as `kind`.
    pub(super) async fn send_in_dialog(&mut self, req: Request, peer: Peer, kind: TxKind) {
        match self.env.endpoint.send_request(req.clone(), peer).await {
            Ok(tx) => {
                match kind {
                    TxKind::ReInvite => {
                        self.reinvite.pending =
                            Pending::InFlight(Box::new(Sent { request: req, peer }))
                    }
                    TxKind::Refer => {
                        if let OurTransfer::Referring { refer, .. } = &mut self.transfer.ours {
                            *refer = Some(Box::new(Sent { request: req, peer }));
                        }
                    }
                    TxKind::Invite => {}
                }
                forward_responses(tx, kind, self.responses_tx.clone());
            }
            Err(e) => {
                let msg = format!("{} not sent: {e}", req.method);
                match kind {
                    TxKind::ReInvite => self.finish_reinvite(Err(msg)),
                    TxKind::Refer => self.finish_refer(Err(CommandError::new("sip_error", msg))),
                    TxKind::Invite => {}
                }
            }
        }
    }

    /// Retries `req` with credentials after a 401/407; false when it cannot.
    pub(super) async fn retry_with_auth(&mut self, kind: TxKind, resp: &Response) -> bool {
        let pending = match kind {
            TxKind::ReInvite => self.reinvite.pending.in_flight().cloned(),
            TxKind::Refer => match &self.transfer.ours {
                OurTransfer::Referring { refer, .. } => refer.as_deref().cloned(),
                _ => None,
            },
            TxKind::Invite => None,
        };
        let (Some(Sent { request: req, peer }), Some(creds)) = (pending, self.credentials()) else {
            return false;
        };
        // Only once per request: a second challenge means wrong credentials.
        let already = m::header(&req.headers, "Authorization").is_some()
            || m::header(&req.headers, "Proxy-Authorization").is_some();
        if already {
            return false;
        }
        let Ok(again) = self.sip.digest.authorize(&req, resp, &creds) else {
            return false;
        };
        if let (Some(d), Ok((n, _))) = (self.sip.dialog.as_mut(), m::cseq(&again.headers)) {
            d.local_cseq = d.local_cseq.max(n);
        }
        self.send_in_dialog(again, peer, kind).await;
        true
    }

    pub(super) async fn on_reinvite_response(&mut self, resp: Response) {
        let step = match reinvite_step(m::code(&resp)) {
            ReinviteStep::Challenge if self.retry_with_auth(TxKind::ReInvite, &resp).await => {
                return;
            }
            // Credentials missing or already refused.
            ReinviteStep::Challenge => ReinviteStep::Refused { end_dialog: false },
            step => step,
        };
        match step {
            ReinviteStep::Wait | ReinviteStep::Challenge => {}
            ReinviteStep::Accepted => {
                self.reinvite.pending = Pending::Idle;
                self.ack_2xx(&resp).await;
                if let Some(body) = sdp_body(&resp) {
                    self.apply_answer(&body).await;
                }
                if self.ended() {
                    // The answer did not fit the media encryption: hung up.
                    let why = self.info.end_reason.clone().unwrap_or_default();
                    self.finish_reinvite(Err(why));
                    return;
                }
                let want_held = self.reinvite.want_held;
                self.info.held = want_held;
                if let Some(media) = self.media.session() {
                    // The held party hears the on-hold tone, never our microphone.
                    media.set_hold_music(want_held);
                }
                let state = if want_held {
                    CallState::Held
                } else {
                    CallState::Active
                };
                if self.info.state == state {
                    self.publish();
                } else {
                    self.set_state(state);
                }
                self.finish_reinvite(Ok(()));
                if let Some((refer_to, reply)) = self.transfer.ours.take_awaiting_hold() {
                    self.send_refer(refer_to, reply, false).await;
                }
            }
            ReinviteStep::Glare => {
                let uac = self
                    .sip
                    .dialog
                    .as_ref()
                    .is_some_and(|d| d.role == crate::sip::dialog::Role::Uac);
                let wait = glare_backoff(uac);
                tracing::info!(call = %self.info.id, "re-INVITE glare (491): retry in {} ms", wait.as_millis());
                self.reinvite.pending = Pending::Glare(tokio::time::Instant::now() + wait);
            }
            ReinviteStep::Refused { end_dialog } => {
                self.reinvite.pending = Pending::Idle;
                let text = m::status_text(&resp);
                self.reinvite.want_held = self.info.held;
                self.media.local.direction = if self.info.held {
                    Direction::SendOnly
                } else {
                    Direction::SendRecv
                };
                self.finish_reinvite(Err(format!("re-INVITE refused: {text}")));
                if let Some((_, reply)) = self.transfer.ours.take_awaiting_hold() {
                    let _ = reply.send(Err(CommandError::new(
                        "sip_error",
                        format!("hold before transfer failed: {text}"),
                    )));
                }
                if end_dialog {
                    self.send_bye().await;
                    self.end(&format!("dialog lost ({text})")).await;
                }
            }
        }
    }

    pub(super) fn finish_reinvite(&mut self, result: Result<(), String>) {
        for reply in self.reinvite.replies.drain(..) {
            let _ = reply.send(
                result
                    .clone()
                    .map_err(|e| CommandError::new("sip_error", e)),
            );
        }
    }

    /// Joins `conference` (resuming a held call first) or leaves it.
    pub(super) async fn set_conference(
        &mut self,
        conference: Option<Arc<Conference>>,
    ) -> Result<Option<MemberId>, CommandError> {
        let Some(media) = self.media.session() else {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} has no audio", self.info.id),
            ));
        };
        let joining = conference.is_some();
        if joining && !matches!(self.info.state, CallState::Active | CallState::Held) {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} is not connected", self.info.id),
            ));
        }
        let member = media.set_conference(conference.as_deref());
        if joining && (self.info.held || self.reinvite.want_held) {
            self.reinvite.want_held = false;
            if let Some(media) = self.media.session() {
                media.set_hold_music(false);
            }
            if self.reinvite.pending.is_idle() {
                self.send_reinvite().await;
            }
        }
        if self.info.conference != joining {
            self.info.conference = joining;
            self.publish();
        }
        Ok(member)
    }

    /// `record`: both directions to a WAV file, or stop.
    pub(super) fn record(&mut self, path: Option<std::path::PathBuf>) -> Result<(), CommandError> {
        let Some(media) = self.media.session() else {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} has no audio yet", self.info.id),
            ));
        };
        media
            .set_recording(path.clone())
            .map_err(|e| CommandError::new("media_error", format!("cannot record: {e}")))?;
        self.info.recording = path.map(|p| p.display().to_string());
        self.publish();
        Ok(())
    }

    pub(super) fn mute(&mut self, on: bool) -> Result<(), CommandError> {
        let Some(media) = self.media.session() else {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} has no audio yet", self.info.id),
            ));
        };
        media.set_mute(on);
        if self.info.muted != on {
            self.info.muted = on;
            self.publish();
        }
        Ok(())
    }

    pub(super) async fn dtmf(&mut self, digits: &str) -> Result<(), CommandError> {
        if !matches!(self.info.state, CallState::Active | CallState::Held) {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} is not connected", self.info.id),
            ));
        }
        if let (Some(media), Some(_)) = (self.media.session(), self.media.dtmf_pt) {
            media.send_dtmf(digits);
            return Ok(());
        }
        if self.media.echo.is_some() {
            if let Some(media) = self.media.session() {
                media.send_dtmf(digits);
            }
            return Ok(());
        }
        // SIP INFO fallback, one request per digit, in order.
        let Some(dialog) = self.sip.dialog.as_mut() else {
            return Err(CommandError::new("bad_state", "no dialog for SIP INFO"));
        };
        let peer = dialog
            .next_hop(&self.env.resolver)
            .await
            .map_err(|e| CommandError::new("sip_error", e.to_string()))?;
        let local = self.env.endpoint.transport().local_addr_for(peer.addr);
        let mut requests = Vec::new();
        for digit in digits.chars() {
            let via = m::via(local, peer.protocol, &m::new_branch());
            let mut info = dialog
                .request(Method::Info, &via)
                .map_err(|e| CommandError::new("sip_error", e.to_string()))?;
            let body = format!("Signal={digit}\r\nDuration=160\r\n").into_bytes();
            set_body(
                &mut info.headers,
                &mut info.body,
                Some("application/dtmf-relay"),
                body,
            );
            requests.push(info);
        }
        let endpoint = self.env.endpoint.clone();
        tokio::spawn(async move {
            for info in requests {
                if let Ok(mut tx) = endpoint.send_request(info, peer).await {
                    while let Some(r) = tx.next_response().await {
                        if m::code(&r) >= 200 {
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Ok(())
    }

    pub(super) async fn deflect(
        &mut self,
        to: &str,
        why: DiversionReason,
    ) -> Result<(), CommandError> {
        if self.info.state != CallState::Ringing {
            return Err(CommandError::new(
                "bad_state",
                format!("call {} is not ringing", self.info.id),
            ));
        }
        let Some(tx) = &self.incoming.invite else {
            return Err(CommandError::new("bad_state", "no INVITE to deflect"));
        };
        let mut resp = m::response(&tx.request, 302, Some(&self.sip.local_tag));
        add_header(&mut resp.headers, "Contact", format!("<{to}>"));
        add_header(
            &mut resp.headers,
            "Diversion",
            crate::phone::diversion::header_value(&self.account.user, &self.account.domain, why),
        );
        set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
        tx.handle
            .respond(resp)
            .map_err(|e| CommandError::new("sip_error", format!("302 not sent: {e}")))?;
        self.end(&format!("deflected to {to}")).await;
        Ok(())
    }
}
