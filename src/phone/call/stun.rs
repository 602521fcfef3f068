//! The public media address of a call behind a NAT: when `[sip]
//! stun_server` is set and the SIP path to the call's peer shows a NAT
//! (the registration learned a public address from it), the RTP socket
//! asks the STUN server where the NAT maps it, and the SDP names that.
//! Without a STUN server, or when it does not answer, the SDP keeps the
//! local address (the PBX's NAT helper or symmetric RTP fix it). After
//! the host's address moved (`addr_change.rs`) the NAT maps the socket
//! anew, so the running session is asked again, on its own socket
//! ([`MediaSession::stun_mapped`]). Must not touch the media session's
//! receive path: the first question is asked before the session takes
//! the socket, a later one through the session.

use super::*;
use crate::sip::transport::{Peer, Protocol};

/// Whether to ask the STUN server for the media address of a call to a
/// peer: only with a server configured and a NAT seen on the UDP path to
/// that peer.
pub(super) fn wants_stun(stun_server: Option<&str>, behind_nat: bool) -> bool {
    stun_server.is_some() && behind_nat
}

impl CallActor {
    /// The public address of `sockets`' RTP port as the STUN server sees
    /// it, when [`wants_stun`] for `peer`; `None` otherwise or when the
    /// server cannot be found or does not answer.
    pub(super) async fn stun_media_addr(
        &self,
        sockets: &RtpSockets,
        peer: std::net::SocketAddr,
    ) -> Option<std::net::SocketAddr> {
        let target = self.stun_target(peer).await?;
        let mapped = sockets.stun_mapped(target).await;
        tracing::debug!(server = %target, ?mapped, "STUN: public media address");
        mapped
    }

    /// [`Self::stun_media_addr`] for the running session, after our
    /// address moved: `None` also when no session runs.
    pub(super) async fn stun_running_media_addr(
        &self,
        peer: std::net::SocketAddr,
    ) -> Option<std::net::SocketAddr> {
        let Rtp::Running(session) = &self.media.rtp else {
            return None;
        };
        let target = self.stun_target(peer).await?;
        let mapped = session.stun_mapped(target).await;
        tracing::info!(server = %target, ?mapped, "STUN asked again after an address move");
        mapped
    }

    /// The STUN server's address to ask for a call to `peer`, when
    /// [`wants_stun`]; `None` otherwise or when it cannot be found.
    async fn stun_target(&self, peer: std::net::SocketAddr) -> Option<std::net::SocketAddr> {
        let server = self.env.stun_server.as_deref();
        let behind_nat = self
            .env
            .endpoint
            .transport()
            .public_addr(&Peer {
                protocol: Protocol::Udp,
                addr: peer,
            })
            .is_some();
        if !wants_stun(server, behind_nat) {
            return None;
        }
        let server = server?;
        // A server of the peer's family (an IPv4 peer seen through a
        // dual-stack socket is IPv4).
        let v4 = crate::sip::address::local_addr::route_target(peer).is_ipv4();
        match tokio::net::lookup_host(server).await {
            Ok(mut addrs) => addrs.find(|a| a.is_ipv4() == v4),
            Err(e) => {
                tracing::info!(%server, error = %e, "cannot resolve the STUN server");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_only_with_a_server_and_behind_a_nat() {
        // (server, NAT seen, ask)
        let table = [
            (Some("198.51.100.10:3478"), true, true),
            (Some("198.51.100.10:3478"), false, false),
            (None, true, false),
            (None, false, false),
        ];
        for (server, nat, want) in table {
            assert_eq!(wants_stun(server, nat), want, "{server:?} {nat}");
        }
    }
}
