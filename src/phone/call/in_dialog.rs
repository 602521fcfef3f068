//! The actor's side of the dialog checks: the tags of the dialogs the call
//! has now, the 481 to a request of the peer that names none of them (an
//! ACK that names none is dropped; [`super::step::in_dialog`]), and the
//! verdict on an INVITE whose Replaces names this call
//! ([`super::step::replaces_step`]). Holds no state of its own; the early
//! dialogs' tags live in `Signalling`.

use super::step::{
    in_dialog, note_early_tag, peer_tags, replaces_step, DialogIds, Replaceable, ReplacesStep,
};
use super::*;

impl CallActor {
    /// Does the peer's request belong to a dialog of this call?
    pub(super) fn belongs_here(&self, req: &Request) -> bool {
        let confirmed = self.sip.dialog.as_ref().map(|d| d.remote_tag.as_str());
        let caller_tag = self
            .incoming
            .invite
            .as_ref()
            .map(|tx| m::from_tag(&tx.request).unwrap_or_default());
        let ids = DialogIds {
            call_id: &self.info.sip_call_id,
            local_tag: &self.sip.local_tag,
            peer_tags: peer_tags(confirmed, caller_tag.as_deref(), &self.sip.early_peer_tags),
        };
        in_dialog(
            &ids,
            m::call_id(req).ok().as_deref(),
            m::from_tag(req).as_deref(),
            m::to_tag(req).as_deref(),
        )
    }

    /// Takes a request the manager routed here by its Call-ID: on to
    /// [`Self::on_request`] when it is in our dialog, else 481.
    pub(super) async fn on_routed_request(&mut self, tx: ServerTransaction) {
        if self.belongs_here(&tx.request) {
            self.on_request(tx).await;
            return;
        }
        tracing::info!(
            call = %self.info.id,
            method = %tx.request.method,
            "request names no dialog of this call: 481"
        );
        let _ = tx.handle.respond(bodiless_response(&tx.request, 481));
    }

    /// A 1xx to our INVITE with a To tag made an early dialog: its tag is
    /// what the callee's requests carry until the 2xx.
    pub(super) fn note_early_dialog(&mut self, resp: &Response) {
        note_early_tag(&mut self.sip.early_peer_tags, m::to_tag(resp));
    }

    /// May an INVITE with Replaces `r` take this call over?
    pub(super) fn replaces_verdict(&self, r: &ReplacesParams) -> ReplacesStep {
        let caller_early = self.outgoing.invite.is_some()
            && matches!(self.info.state, CallState::Dialing | CallState::Alerting);
        let now = match &self.sip.dialog {
            _ if self.ended() => Replaceable::Not,
            Some(d) => Replaceable::Confirmed {
                peer_tag: &d.remote_tag,
            },
            None if caller_early => Replaceable::CallerEarly {
                peer_tags: &self.sip.early_peer_tags,
            },
            None => Replaceable::Not,
        };
        replaces_step(&self.sip.local_tag, now, r)
    }
}
