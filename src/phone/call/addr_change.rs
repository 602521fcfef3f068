//! A connected call follows the host's address: every
//! [`addr_change::POLL`] the actor asks which local address routes to the
//! dialog's next hop; when another one does than the call named (the host
//! was renumbered), it names the new one in its Contact and SDP (`c=`,
//! `o=`) and sends them in a re-INVITE, so the peer's signalling and audio
//! come to the new address. Whether the address moved and what the media
//! must do are [`addr_change::sip_change`] and [`addr_change::media_move`]
//! (pure, in `sip`); behind a NAT with `[sip] stun_server` the SDP names
//! what the STUN server sees of the RTP socket now (`stun.rs`); the
//! re-INVITE is the one hold and resume send (`control.rs`). Must not touch the media session's sockets or receive
//! path: the RTP socket of a call on the wildcard receives on any address.

use super::*;
use crate::sip::address::change::{self as addr_change, MediaMove, Seen};
use std::net::SocketAddr;

impl CallActor {
    /// One poll of our address toward the peer; a re-INVITE when it moved.
    /// While another re-INVITE of ours is pending the call waits for the
    /// next poll, which sees the move again.
    pub(super) async fn check_address(&mut self) {
        if !matches!(self.info.state, CallState::Active | CallState::Held)
            || !self.reinvite.pending.is_idle()
        {
            return;
        }
        let Some(before) = self
            .info
            .local_sip
            .as_deref()
            .and_then(|s| s.parse::<SocketAddr>().ok())
        else {
            return;
        };
        let Some(dialog) = self.sip.dialog.as_ref() else {
            return;
        };
        let Ok(peer) = dialog.next_hop(&self.env.resolver).await else {
            return;
        };
        let now = self.env.endpoint.transport().local_addr_for(peer.addr);
        let Seen::Moved(sip) = addr_change::sip_change(peer.addr, before, now) else {
            return;
        };
        let bound = SocketAddr::new(self.env.media_ip, self.media.local.addr.port());
        if let MediaMove::Readvertise(addr) =
            addr_change::media_move(sip, bound, self.media.local.addr)
        {
            self.media.local.addr = addr;
        }
        // Behind a NAT with a STUN server: the NAT maps us anew, ask again.
        if let Some(public) = self.stun_running_media_addr(peer.addr).await {
            self.media.local.addr = public;
        }
        let contact = self.contact(&peer);
        if let Some(dialog) = self.sip.dialog.as_mut() {
            dialog.local_contact = contact;
        }
        tracing::info!(call = %self.info.id, from = %before, to = %sip, media = %self.media.local.addr, "our address changed; re-INVITE");
        self.info.local_sip = Some(sip.to_string());
        self.info.local_media = Some(self.media.local.addr.to_string());
        self.publish();
        self.send_reinvite().await;
    }
}
