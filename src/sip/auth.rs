//! HTTP digest authentication for SIP (RFC 2617, RFC 8760): challenge
//! parsing, MD5 / SHA-256 (and -sess), qop=auth with nc/cnonce, and adding
//! Authorization / Proxy-Authorization to a request. Pure, no IO.

use super::msg::{Request, Response};
use super::Result;

/// User name and password for one account.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <redacted> }}",
            self.user
        )
    }
}

/// Remembers nonce counts per nonce across requests of one account.
#[derive(Debug, Default)]
pub struct DigestState {}

impl DigestState {
    /// Given a request that got `challenge` (401 or 407), returns the request
    /// to send again: Authorization (401) or Proxy-Authorization (407) added
    /// for every challenge, CSeq incremented, a new Via branch.
    /// Errors when the challenge cannot be answered (unknown algorithm, ...).
    pub fn authorize(
        &mut self,
        request: &Request,
        challenge: &Response,
        creds: &Credentials,
    ) -> Result<Request> {
        let _ = (request, challenge, creds);
        todo!()
    }
}
