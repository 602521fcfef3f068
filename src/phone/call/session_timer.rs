//! Carries out the call's session-timer decisions (RFC 4028, decided in
//! [`super::step`]): the headers of our INVITE, re-INVITE and 2xx, the 422
//! to a peer asking too little, the INVITE sent again after a 422, the
//! refresh re-INVITE with the SDP as it is, and the BYE when the session
//! expires. Touches no media and no hold state.

use super::step::{
    hung_up, refresh_direction, request_headers, retry_422, timer_step, uac_response, uas_request,
    PeerRequest, Sent, TimerStep, UasStep,
};
use super::*;
use crate::sip::msg::Headers;
use crate::sip::session_timer::{self as st, SessionExpires};

impl CallActor {
    /// Adds `Supported: timer`, `Session-Expires` and `Min-SE` to our
    /// INVITE or re-INVITE (nothing when session timers are off).
    pub(super) fn session_timer_headers(&self, headers: &mut Headers) {
        for (name, value) in request_headers(&self.env.session_timer, &self.session_timer) {
            if name.eq_ignore_ascii_case("Supported") {
                // Other options may have their own Supported header.
                if !st::supports(headers, &value) {
                    add_header(headers, name, value);
                }
            } else {
                m::set_header(headers, name, value);
            }
        }
    }

    /// How the peer's INVITE or re-INVITE `req` is taken.
    fn session_timer_uas(&mut self, req: &Request) -> UasStep {
        let peer = PeerRequest {
            session_expires: SessionExpires::of(&req.headers),
            min_se: st::min_se(&req.headers),
            supports_timer: st::supports(&req.headers, "timer"),
        };
        if let Some(min_se) = peer.min_se {
            self.session_timer.peer_min_se = self.session_timer.peer_min_se.max(min_se);
        }
        uas_request(&self.env.session_timer, &peer)
    }

    /// The 422 for a peer's INVITE or re-INVITE whose `Session-Expires` is
    /// below our `Min-SE`, or None when it may go on.
    pub(super) fn session_timer_reject(&mut self, req: &Request) -> Option<Response> {
        match self.session_timer_uas(req) {
            UasStep::TooSmall { min_se } => {
                let mut r = bodiless_response(req, 422);
                add_header(&mut r.headers, "Min-SE", min_se.to_string());
                Some(r)
            }
            _ => None,
        }
    }

    /// Our 2xx to the peer's INVITE or re-INVITE `req`: adds the session
    /// timer's headers and (re)starts the timer.
    pub(super) fn session_timer_accept(&mut self, req: &Request, resp: &mut Response) {
        let UasStep::Accept {
            response,
            require_timer,
            session,
        } = self.session_timer_uas(req)
        else {
            return;
        };
        add_header(&mut resp.headers, "Supported", "timer");
        if require_timer {
            add_header(&mut resp.headers, "Require", "timer");
        }
        add_header(&mut resp.headers, "Session-Expires", response.value());
        self.session_timer
            .start(Some(session), tokio::time::Instant::now());
    }

    /// A response to our INVITE or re-INVITE: a 2xx (re)starts the timer;
    /// a 422 sends the request again asking for the 422's `Min-SE`. True
    /// when the response is dealt with here (the 422 retried).
    pub(super) async fn session_timer_response(&mut self, kind: TxKind, resp: &Response) -> bool {
        if !matches!(kind, TxKind::Invite | TxKind::ReInvite) {
            return false;
        }
        let code = m::code(resp);
        if (200..300).contains(&code) {
            let session = uac_response(&self.env.session_timer, SessionExpires::of(&resp.headers));
            self.session_timer
                .start(session, tokio::time::Instant::now());
            return false;
        }
        if code != 422 {
            return false;
        }
        let min_se = st::min_se(&resp.headers);
        let hung_up = kind == TxKind::Invite && hung_up(&self.outgoing);
        let Some(asking) = retry_422(
            &self.session_timer,
            &self.env.session_timer,
            min_se,
            hung_up,
        ) else {
            return false;
        };
        self.session_timer.retries_422 += 1;
        self.session_timer.asking = Some(asking);
        self.session_timer.peer_min_se = self.session_timer.peer_min_se.max(asking);
        tracing::info!(call = %self.info.id, asking, "422 Session Interval Too Small: asking again");
        match kind {
            TxKind::Invite => {
                let Some(Sent { request, peer }) =
                    self.outgoing.invite.as_ref().map(|i| i.sent.clone())
                else {
                    return false;
                };
                let mut again = request;
                let n = m::cseq(&again.headers).map(|c| c.0).unwrap_or(1);
                m::set_header(&mut again.headers, "CSeq", format!("{} INVITE", n + 1));
                m::set_header(&mut again.headers, "Via", self.via(&peer));
                self.session_timer_headers(&mut again.headers);
                if let Err(e) = self.send_invite(again, peer).await {
                    self.end(&e).await;
                }
                true
            }
            _ => {
                // The session interval of the dialog is raised too.
                if let Some(s) = self.session_timer.session.as_mut() {
                    s.interval = s.interval.max(asking);
                }
                self.reinvite.pending = Pending::Idle;
                self.send_reinvite().await;
                true
            }
        }
    }

    /// The session timer fired: refresh, or end the expired session.
    pub(super) async fn on_session_timer(&mut self) {
        let idle = self.reinvite.pending.is_idle();
        match timer_step(&mut self.session_timer, tokio::time::Instant::now(), idle) {
            TimerStep::Nothing | TimerStep::Refresh { send_now: false } => {}
            TimerStep::Refresh { send_now: true } => self.send_refresh().await,
            TimerStep::Expire => {
                tracing::info!(call = %self.info.id, "session expired (RFC 4028): BYE");
                self.send_bye().await;
                self.end("session expired").await;
            }
        }
    }

    /// A session refresh: a re-INVITE offering the media as they are (the
    /// codecs, address and hold state in force; RFC 3264 lets the version
    /// go up with nothing changed). Its response goes the way of every
    /// re-INVITE of ours.
    async fn send_refresh(&mut self) {
        if !matches!(self.info.state, CallState::Active | CallState::Held) {
            return;
        }
        let Some(dialog) = self.sip.dialog.as_ref() else {
            return;
        };
        let peer = match dialog.next_hop(&self.env.resolver).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot route session refresh: {e}");
                return;
            }
        };
        // The address that routes to the peer, as in every other request
        // of the call (a wildcard listen would otherwise say 0.0.0.0).
        let via = self.via(&peer);
        let Some(dialog) = self.sip.dialog.as_mut() else {
            return;
        };
        let mut req = match dialog.request(Method::Invite, &via) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "cannot build session refresh: {e}");
                return;
            }
        };
        add_header(&mut req.headers, "Allow", crate::sip::ALLOW);
        self.session_timer_headers(&mut req.headers);
        self.media.local.session_version += 1;
        let mut local = self.media.local.clone();
        local.direction = refresh_direction(self.info.held, self.info.remote_held);
        let body = sdp::offer(&local).into_bytes();
        set_body(
            &mut req.headers,
            &mut req.body,
            Some("application/sdp"),
            body,
        );
        self.send_in_dialog(req, peer, TxKind::ReInvite).await;
    }
}
