//! Resolves the `c=` host names of a peer's SDP (RFC 4566 allows a fully
//! qualified domain name there) with the system resolver, before the pure
//! offer/answer in `sip::sdp` reads it. The IO edge of that rule only: which
//! names need resolving and how the body is rewritten are `sip::sdp`'s
//! (`connection_hosts`, `with_resolved_hosts`); nothing of the call's state.

use crate::sip::sdp::{self, SdpError};
use std::net::IpAddr;

/// The body with its `c=` host names replaced by their first address; a name
/// that does not resolve is [`SdpError::Unresolved`], so the offer or answer
/// is refused with that reason. A body with only addresses comes back as is.
pub(super) async fn resolve(body: String) -> Result<String, SdpError> {
    let hosts = sdp::connection_hosts(&body);
    if hosts.is_empty() {
        return Ok(body);
    }
    let mut resolved: Vec<(String, IpAddr)> = Vec::with_capacity(hosts.len());
    for host in hosts {
        let ip = tokio::net::lookup_host((host.as_str(), 0))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .map(|a| a.ip())
            .ok_or_else(|| SdpError::Unresolved(host.clone()))?;
        resolved.push((host, ip));
    }
    Ok(sdp::with_resolved_hosts(&body, &resolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMED: &str = "v=0\r\no=- 1 1 IN IP4 localhost\r\ns=-\r\nc=IN IP4 localhost\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 0\r\n";

    #[tokio::test]
    async fn localhost_resolves_and_literals_pass_through() {
        let out = resolve(NAMED.to_string()).await.unwrap();
        assert!(sdp::connection_hosts(&out).is_empty(), "{out}");
        let literal = NAMED.replace("c=IN IP4 localhost", "c=IN IP4 192.0.2.1");
        assert_eq!(resolve(literal.clone()).await.unwrap(), literal);
    }

    #[tokio::test]
    async fn an_unknown_name_is_a_clear_error() {
        let bad = NAMED.replace("c=IN IP4 localhost", "c=IN IP4 no-such-host.invalid");
        assert_eq!(
            resolve(bad).await,
            Err(SdpError::Unresolved("no-such-host.invalid".into()))
        );
    }
}
