//! Keep-alives of a registration behind a NAT: between two REGISTERs,
//! every `keepalive_s` seconds, over UDP an OPTIONS to the registrar, which
//! holds the NAT's binding open (common UDP bindings are forgotten after
//! 30 s of silence) and whose answer tells again, in `received`/`rport`,
//! where the registrar sees us; over TCP an RFC 5626 CRLF ping on the
//! registration's connection, which holds the NAT's binding of that
//! connection (the registrar's requests to us come over it). A new
//! mapping, a registrar that stops answering or a connection that is gone
//! ends the wait, so the registration runs again at once. Sent only while
//! a NAT is seen, never over TLS ([`keepalive_interval`]); the decision
//! about what an answer means is [`crate::sip::address::nat`]'s. Must not
//! touch the registration's own exchange or its status reports.

use super::{Registrar, Response};
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::Method;
use crate::sip::transport::{Peer, Protocol};
use std::time::Duration;
use tokio::time::Instant;

/// How often to send keep-alives on the path to the registrar:
/// `keepalive_s` seconds when it is not 0, the path is UDP or TCP and a
/// NAT is seen on it; else never (`None`).
pub fn keepalive_interval(
    keepalive_s: u32,
    protocol: Protocol,
    behind_nat: bool,
) -> Option<Duration> {
    (keepalive_s > 0 && protocol != Protocol::Tls && behind_nat)
        .then(|| Duration::from_secs(u64::from(keepalive_s)))
}

impl Registrar {
    /// Waits `wait` (until the refresh is due), sending keep-alives on the
    /// way when [`keepalive_interval`] says so. Returns early when an
    /// answer shows a new mapping (already remembered: the next REGISTER
    /// names it) or no answer comes.
    pub(super) async fn keep_alive(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let interval = self.peer.and_then(|p| {
                let nat = self.endpoint.transport().public_addr(&p).is_some();
                keepalive_interval(self.cfg.keepalive_s, p.protocol, nat).map(|i| (p, i))
            });
            let Some((peer, interval)) = interval else {
                tokio::time::sleep_until(deadline).await;
                return;
            };
            let due = Instant::now() + interval;
            if due >= deadline {
                tokio::time::sleep_until(deadline).await;
                return;
            }
            tokio::time::sleep_until(due).await;
            if peer.protocol == Protocol::Tcp {
                if let Err(e) = self.endpoint.transport().ping(&peer).await {
                    tracing::info!(account = %self.cfg.account, peer = %peer.addr, error = %e, "keep-alive connection gone; registering again");
                    return;
                }
                continue;
            }
            match self.ping(peer).await {
                Some(resp) => {
                    if self.learn(&resp, peer) {
                        return;
                    }
                }
                None => {
                    tracing::info!(account = %self.cfg.account, peer = %peer.addr, "keep-alive not answered; registering again");
                    return;
                }
            }
        }
    }

    /// One OPTIONS to the registrar; its final answer, whatever the code
    /// (a challenge, too, carries the Via).
    async fn ping(&mut self, peer: Peer) -> Option<Response> {
        let local = self.endpoint.transport().local_addr_for(peer.addr);
        let tag = m::new_tag();
        let call_id = m::new_call_id();
        let ids = m::OutOfDialog {
            uri: &self.cfg.registrar_uri,
            from: &self.cfg.aor,
            from_tag: &tag,
            to: &self.cfg.aor,
            call_id: &call_id,
            cseq: 1,
        };
        let mut req = match m::out_of_dialog(Method::Options, ids, local, peer.protocol) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(account = %self.cfg.account, "keep-alive not built: {e}");
                return None;
            }
        };
        let h = &mut req.headers;
        crate::sip::route::add_proxy_route(h, self.cfg.proxy.as_deref());
        add_header(h, "Accept", crate::sip::ACCEPT);
        set_body(h, &mut req.body, None, Vec::new());
        self.send(req, peer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalives_only_over_udp_behind_a_nat_and_when_on() {
        use Protocol::{Tcp, Tls, Udp};
        // (keepalive_s, protocol, NAT seen, interval)
        let table = [
            (20, Udp, true, Some(20)),
            (5, Udp, true, Some(5)),
            (20, Udp, false, None),
            (0, Udp, true, None),
            (20, Tcp, true, Some(20)),
            (20, Tcp, false, None),
            (20, Tls, true, None),
        ];
        for (secs, proto, nat, want) in table {
            assert_eq!(
                keepalive_interval(secs, proto, nat),
                want.map(Duration::from_secs),
                "{secs} {proto:?} {nat}"
            );
        }
    }
}
