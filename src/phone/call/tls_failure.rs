//! Why our INVITE could not leave over TLS: when the transaction layer
//! answers it with its own 503 (the transport failed) and the INVITE went
//! to a TLS server that refused us, the call's end reason names the cause
//! the transport noted (unknown CA, host name mismatch, expired) instead of
//! a bare "503 Service Unavailable". Reads the outgoing set-up's INVITE
//! and the transport's notes; changes nothing.

use super::*;
use crate::sip::transport::{Peer, Protocol};

/// `503 TLS: …` for a local 503 (`to_tagged` false) to an INVITE sent to
/// `peer`, when the transport has `failure` noted for it.
pub(super) fn end_text(
    code: u16,
    to_tagged: bool,
    peer: Peer,
    failure: impl FnOnce() -> Option<String>,
) -> Option<String> {
    if code != 503 || to_tagged || peer.protocol != Protocol::Tls {
        return None;
    }
    failure().map(|reason| format!("503 {reason}"))
}

impl CallActor {
    /// The TLS reason for `resp` to our INVITE, if it is one (see [`end_text`]).
    pub(super) fn tls_failure(&self, resp: &Response) -> Option<String> {
        let peer = self.outgoing.invite.as_ref()?.sent.peer;
        let tls = self.env.endpoint.transport().tls()?;
        end_text(
            m::code(resp),
            crate::sip::headers::to_tag(resp).is_some(),
            peer,
            || tls.failure(peer.addr),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(protocol: Protocol) -> Peer {
        Peer {
            protocol,
            addr: "127.0.0.1:5061".parse().unwrap(),
        }
    }

    #[test]
    fn only_a_local_503_to_a_refusing_tls_server_names_the_cause() {
        let noted = || Some("TLS: certificate of pbx.test not trusted: unknown CA".to_string());
        let want = "503 TLS: certificate of pbx.test not trusted: unknown CA";
        assert_eq!(
            end_text(503, false, peer(Protocol::Tls), noted).as_deref(),
            Some(want)
        );
        assert_eq!(end_text(503, true, peer(Protocol::Tls), noted), None);
        assert_eq!(end_text(408, false, peer(Protocol::Tls), noted), None);
        assert_eq!(end_text(503, false, peer(Protocol::Tcp), noted), None);
        assert_eq!(end_text(503, false, peer(Protocol::Tls), || None), None);
    }
}
