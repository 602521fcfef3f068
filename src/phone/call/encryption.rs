//! The call's media encryption (SRTP by SDES, `[[account]]
//! media_encryption`): what `media_encryption` its status shows, an offer
//! refused with 488 and a `Warning` before it rings, and an answer to our
//! offer that does not fit ending the call (ACK, then BYE with a `Reason`).
//! The decisions are the pure functions here and in `sip::sdp` /
//! `sip::sdp_crypto`; this carries them out. It never touches key bytes:
//! those go from the SDP straight to the media session.

use super::*;
use crate::phone::event::CallEncryption;
use crate::rtp_types::SrtpKeys;
use crate::sip::sdp::SdpError;

/// The end reason of a call whose peer's answer does not fit our
/// encryption policy; `None` for an SDP problem of another kind (which does
/// not end the call).
pub(super) fn mismatch_reason(e: &SdpError) -> Option<String> {
    match e {
        SdpError::Encryption(why) => Some(format!("media encryption mismatch: {why}")),
        _ => None,
    }
}

/// The `Warning` (RFC 3261 §20.43, code 302 "incompatible transport
/// protocol": the offer's RTP profile) of a 488 that refuses an offer for
/// its encryption; `None` for other refusals.
pub(super) fn refusal_warning(e: &SdpError) -> Option<String> {
    match e {
        SdpError::Encryption(why) => Some(format!(
            "302 termphone \"Incompatible media encryption: {why}\""
        )),
        _ => None,
    }
}

/// What the call's status says of negotiated media with `srtp` keys.
pub(super) fn encryption_of(srtp: Option<&SrtpKeys>) -> CallEncryption {
    match srtp {
        Some(_) => CallEncryption::Srtp,
        None => CallEncryption::None,
    }
}

impl CallActor {
    /// Notes how the negotiated media are protected (a `call` event when
    /// that changes).
    pub(super) fn note_encryption(&mut self, srtp: Option<&SrtpKeys>) {
        let now = Some(encryption_of(srtp));
        if self.info.media_encryption != now {
            self.info.media_encryption = now;
            self.publish();
        }
    }

    /// Refuses the initial INVITE before it rings when its offer's
    /// encryption does not fit the account's: 488 with a `Warning`.
    /// Returns the call's end reason, or `None` when the offer fits.
    pub(super) fn refuse_offer_encryption(&mut self, offer: &str) -> Option<String> {
        let parsed = sdp::SessionDescription::parse(offer).ok()?;
        let e = sdp::check_offer_encryption(&parsed, &self.media.local).err()?;
        let warning = refusal_warning(&e)?;
        let tx = self.incoming.invite.as_ref()?;
        let mut resp = m::response(&tx.request, 488, Some(&self.sip.local_tag));
        add_header(&mut resp.headers, "Warning", warning);
        set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
        if let Err(err) = tx.handle.respond(resp) {
            tracing::warn!(call = %self.info.id, "response 488 not sent: {err}");
        }
        Some(format!("488 {e}"))
    }

    /// Ends the call whose peer answered our offer with media that do not
    /// fit the account's encryption (the 2xx is already ACKed): BYE with a
    /// `Reason`. Returns whether it did.
    pub(super) async fn end_on_mismatch(&mut self, e: &SdpError) -> bool {
        let Some(reason) = mismatch_reason(e) else {
            return false;
        };
        tracing::warn!(call = %self.info.id, "{reason}");
        self.send_bye_with(Some("SIP;cause=488;text=\"Incompatible media encryption\""))
            .await;
        self.end(&reason).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::sdp_crypto::EncryptionMismatch as E;

    #[test]
    fn mismatches_end_the_call_other_sdp_errors_do_not() {
        let cases = [
            (
                SdpError::Encryption(E::PlainAnswered),
                Some("media encryption mismatch: the peer answered without SRTP and this account requires it"),
            ),
            (
                SdpError::Encryption(E::AnswerMismatch),
                Some("media encryption mismatch: the peer's SRTP answer does not match a crypto line we offered"),
            ),
            (SdpError::NoAudio, None),
            (SdpError::NoCommonCodec("G729".into()), None),
        ];
        for (e, want) in cases {
            assert_eq!(mismatch_reason(&e).as_deref(), want, "{e:?}");
        }
    }

    #[test]
    fn refusals_for_encryption_carry_a_warning() {
        assert_eq!(
            refusal_warning(&SdpError::Encryption(E::PlainOffered)).as_deref(),
            Some("302 termphone \"Incompatible media encryption: the peer offers plain RTP and this account requires SRTP\"")
        );
        assert_eq!(refusal_warning(&SdpError::NoAudio), None);
    }

    #[test]
    fn status_names_the_protection() {
        let keys = SrtpKeys {
            suite: crate::rtp_types::CryptoSuite::AesCm128HmacSha1_80,
            local: crate::rtp_types::KeySalt::random(),
            remote: crate::rtp_types::KeySalt::random(),
        };
        assert_eq!(encryption_of(Some(&keys)), CallEncryption::Srtp);
        assert_eq!(encryption_of(None), CallEncryption::None);
    }
}
