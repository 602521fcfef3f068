//! Following a redirect of our INVITE: when [`super::step::redirect_step`]
//! says so, the INVITE goes again, to the new target as its Request-URI,
//! with the same Call-ID, From and To, the next CSeq and no credentials of
//! the last target; through the outbound proxy when the account has one,
//! else to where the target resolves. The call notes the target in
//! `CallInfo::redirected_to`. Touches only the outgoing set-up and the
//! call's info; what the response means otherwise stays `outgoing.rs`'s.

use super::step::{Cancel, FinalResponse, RedirectStep};
use super::*;
use crate::sip::contact_list::redirect_targets;

impl CallActor {
    /// The final response `resp` to our INVITE: if it leads to another
    /// target, the INVITE goes there and this returns true; a redirect
    /// that cannot be followed ends the call (and returns true).
    pub(super) async fn follow_redirect(&mut self, resp: &Response) -> bool {
        let code = m::code(resp);
        let Some(sent) = self.outgoing.invite.as_ref().map(|i| i.sent.clone()) else {
            return false;
        };
        let contacts = if (300..400).contains(&code) {
            redirect_targets(&m::headers_all(&resp.headers, "Contact"))
        } else {
            Vec::new()
        };
        let status = m::status_text(resp);
        let decision = FinalResponse {
            code,
            status: &status,
            contacts: &contacts,
            hung_up: self.outgoing.cancel != Cancel::NotWanted,
        };
        let first = self.info.remote.clone();
        match super::step::redirect_step(&mut self.outgoing.redirects, &first, &decision) {
            RedirectStep::Usual => false,
            RedirectStep::End(reason) => {
                self.end_with_tone(&reason, Tone::Congestion).await;
                true
            }
            RedirectStep::Follow(target) => {
                tracing::info!(call = %self.info.id, %target, "{status}: following the redirect");
                if let Err(e) = self.invite_again(sent.request, &target).await {
                    self.end(&format!("{status}: redirect to {target} failed: {e}"))
                        .await;
                }
                true
            }
        }
    }

    /// Sends `invite` again with `target` as its Request-URI.
    async fn invite_again(&mut self, invite: Request, target: &str) -> Result<(), String> {
        let next_hop = self
            .account
            .proxy
            .clone()
            .unwrap_or_else(|| target.to_string());
        crate::sip::uri::check_secure_hop(target, &next_hop)?;
        let mut peers = self
            .env
            .resolver
            .resolve(&next_hop)
            .await
            .map_err(|e| e.to_string())?
            .into_iter();
        let peer = peers.next().ok_or("no target")?;
        let uri = crate::sip::uri::parse_uri(target).map_err(|e| e.to_string())?;
        let mut req = invite;
        req.uri = uri;
        let cseq = m::cseq(&req.headers).map(|c| c.0).unwrap_or(1) + 1;
        req.headers.retain(|h| {
            !m::is_header(h, "Authorization") && !m::is_header(h, "Proxy-Authorization")
        });
        m::set_header(&mut req.headers, "Via", self.via(&peer));
        m::set_header(&mut req.headers, "CSeq", format!("{cseq} INVITE"));
        m::set_header(&mut req.headers, "Contact", self.contact(&peer));
        self.outgoing.alternates = peers.collect();
        self.outgoing.early_media = false;
        self.outgoing.auth_attempts = 0;
        self.sip.early_peer_tags.clear();
        self.reliable.early = None;
        self.set_tone(None);
        self.info.redirected_to = Some(target.to_string());
        self.info.state = CallState::Dialing;
        self.publish();
        self.send_invite(req, peer).await
    }
}
