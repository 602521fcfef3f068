//! `srtp-optional` against a peer that takes only SRTP: our optional offer
//! is `RTP/AVP` with `a=crypto` (best-effort SRTP), which a peer with
//! mandatory SRTP refuses with 488 (baresip's `mediaenc=srtp-mand` does).
//! As desk phones with "SRTP optional" do, the INVITE is then sent once
//! more, in a new transaction (CSeq + 1), offering the same keys as
//! `RTP/SAVP`; a peer refusing that too ends the call as before. The
//! decision is the pure [`retry_as_savp`]; this touches only our offer's
//! profile and the outgoing INVITE, never the keys.

use super::*;
use crate::config::MediaEncryption;
use crate::sip::sdp_crypto::{PROTO_PLAIN, PROTO_SAVP};

/// Whether a final `code` to our initial INVITE, offered as `proto` under
/// `policy`, is retried with `RTP/SAVP`: only 488 (Not Acceptable Here,
/// the refusal of an offer's media), only for `srtp-optional`, only once
/// (the first offer was `RTP/AVP`), and only while the call is still
/// being set up (not cancelled by the user).
pub(super) fn retry_as_savp(
    policy: MediaEncryption,
    proto: &str,
    code: u16,
    cancelled: bool,
) -> bool {
    code == 488 && policy == MediaEncryption::SrtpOptional && proto == PROTO_PLAIN && !cancelled
}

impl CallActor {
    /// `resp` refuses our optional SRTP offer: the INVITE goes again
    /// offering `RTP/SAVP` with the same keys, and this returns true.
    pub(super) async fn retry_srtp_offer(&mut self, resp: &Response) -> bool {
        let crypto = &self.media.local.crypto;
        let cancelled = self.outgoing.cancel != super::step::Cancel::NotWanted;
        if !retry_as_savp(crypto.policy, crypto.offer.proto, m::code(resp), cancelled) {
            return false;
        }
        let Some(sent) = self.outgoing.invite.as_ref().map(|i| i.sent.clone()) else {
            return false;
        };
        let mut req = sent.request;
        let Ok((seq, _)) = m::cseq(&req.headers) else {
            return false;
        };
        self.media.local.crypto.offer.proto = PROTO_SAVP;
        m::set_header(
            &mut req.headers,
            "CSeq",
            format!("{} INVITE", seq.wrapping_add(1)),
        );
        m::set_header(&mut req.headers, "Via", self.via(&sent.peer));
        let body = sdp::offer(&self.media.local).into_bytes();
        set_body(
            &mut req.headers,
            &mut req.body,
            Some("application/sdp"),
            body,
        );
        tracing::info!(call = %self.info.id, "488 to SRTP offered as RTP/AVP; offering RTP/SAVP");
        match self.send_invite(req, sent.peer).await {
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
    use MediaEncryption as P;

    #[test]
    fn only_a_488_to_an_optional_avp_offer_is_retried() {
        let cases = [
            (P::SrtpOptional, PROTO_PLAIN, 488, false, true),
            (P::SrtpOptional, PROTO_SAVP, 488, false, false),
            (P::SrtpOptional, PROTO_PLAIN, 488, true, false),
            (P::SrtpOptional, PROTO_PLAIN, 486, false, false),
            (P::SrtpOptional, PROTO_PLAIN, 415, false, false),
            (P::SrtpOptional, PROTO_PLAIN, 606, false, false),
            (P::Srtp, PROTO_SAVP, 488, false, false),
            (P::None, PROTO_PLAIN, 488, false, false),
        ];
        for (policy, proto, code, cancelled, want) in cases {
            assert_eq!(
                retry_as_savp(policy, proto, code, cancelled),
                want,
                "{policy:?} {proto} {code} cancelled={cancelled}"
            );
        }
    }
}
