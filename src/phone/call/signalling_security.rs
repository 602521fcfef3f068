//! Whether the call's signalling is encrypted: the `signalling` its status
//! shows (`tls`, `tcp` or `udp`), taken from the hop its INVITE went to or
//! came from. It only notes the transport; choosing it belongs to the
//! account's proxy and the resolver, and it never touches media or keys.

use super::*;
use crate::phone::event::CallSignalling;
use crate::sip::transport::Protocol;

/// What the call's status says of signalling over `protocol`.
pub(super) fn signalling_of(protocol: Protocol) -> CallSignalling {
    match protocol {
        Protocol::Udp => CallSignalling::Udp,
        Protocol::Tcp => CallSignalling::Tcp,
        Protocol::Tls => CallSignalling::Tls,
    }
}

impl CallActor {
    /// Notes the transport of the call's INVITE (sent to or received from
    /// `peer`); the next `call` event carries it.
    pub(super) fn note_signalling(&mut self, peer: &Peer) {
        self.info.signalling = Some(signalling_of(peer.protocol));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_the_transport() {
        let cases = [
            (Protocol::Udp, CallSignalling::Udp),
            (Protocol::Tcp, CallSignalling::Tcp),
            (Protocol::Tls, CallSignalling::Tls),
        ];
        for (p, want) in cases {
            assert_eq!(signalling_of(p), want, "{p:?}");
        }
    }
}
