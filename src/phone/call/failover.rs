//! Failover of our initial INVITE (RFC 3263 §4.3): when the target the
//! INVITE went to does not answer (the transaction timed out or the
//! transport failed) before any provisional response, the same INVITE goes
//! to the next target the next hop resolved to, in a new transaction. The
//! decision is the pure [`next_target`]; [`CallActor::fail_over`] sends.
//! Touches only the outgoing set-up's INVITE and its remaining targets.

use super::step::{Cancel, OutgoingSetup};
use super::*;
use crate::sip::transport::Peer;

/// The target to try next after the final response `fails_over` (see
/// `sip::dns::fails_over`), taken from `setup`; `None` when the response
/// stands (a provisional came, the user hung up, no target is left).
pub(super) fn next_target(setup: &mut OutgoingSetup, fails_over: bool) -> Option<Peer> {
    let heard = setup.invite.as_ref().is_none_or(|i| i.provisional);
    if !fails_over || heard || setup.cancel != Cancel::NotWanted || setup.alternates.is_empty() {
        return None;
    }
    Some(setup.alternates.remove(0))
}

impl CallActor {
    /// `resp` ends our INVITE: if another target is left, the INVITE goes
    /// there and this returns true.
    pub(super) async fn fail_over(&mut self, resp: &Response) -> bool {
        let fails = crate::sip::dns::fails_over(resp);
        let Some(peer) = next_target(&mut self.outgoing, fails) else {
            return false;
        };
        let Some(mut req) = self
            .outgoing
            .invite
            .as_ref()
            .map(|i| i.sent.request.clone())
        else {
            return false;
        };
        tracing::info!(call = %self.info.id, to = %peer.addr, "no answer from {}; INVITE to the next target", m::code(resp));
        m::set_header(&mut req.headers, "Via", self.via(&peer));
        m::set_header(&mut req.headers, "Contact", self.contact(&peer));
        match self.send_invite(req, peer).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(call = %self.info.id, "{e}");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transport::Protocol;
    use step::{Sent, SentInvite};

    fn peer(port: u16) -> Peer {
        Peer {
            protocol: Protocol::Udp,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn setup(provisional: bool, cancel: Cancel, alternates: Vec<Peer>) -> OutgoingSetup {
        let request = m::request(Method::Invite, "sip:1002@pbx.test").unwrap();
        OutgoingSetup {
            invite: Some(SentInvite {
                sent: Sent {
                    request,
                    peer: peer(1),
                },
                provisional,
            }),
            cancel,
            alternates,
            ..OutgoingSetup::default()
        }
    }

    #[test]
    fn only_an_unanswered_invite_with_targets_left_moves_on() {
        let two = || vec![peer(2), peer(3)];
        let cases = [
            (setup(false, Cancel::NotWanted, two()), true, Some(peer(2))),
            (setup(false, Cancel::NotWanted, two()), false, None),
            (setup(true, Cancel::NotWanted, two()), true, None),
            (setup(false, Cancel::Wanted, two()), true, None),
            (setup(false, Cancel::NotWanted, vec![]), true, None),
            (OutgoingSetup::default(), true, None),
        ];
        for (i, (mut s, fails, want)) in cases.into_iter().enumerate() {
            assert_eq!(next_target(&mut s, fails), want, "case {i}");
        }
        let mut s = setup(false, Cancel::NotWanted, two());
        assert_eq!(next_target(&mut s, true), Some(peer(2)));
        assert_eq!(next_target(&mut s, true), Some(peer(3)));
        assert_eq!(next_target(&mut s, true), None);
    }
}
