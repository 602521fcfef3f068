//! Paused-clock tests of admission in the running layer: a flood from one
//! address stops starting transactions (INVITE gets 503 with Retry-After),
//! and the live-transaction cap holds whatever the source.

use super::*;
use crate::sip::headers;
use crate::sip::msg::{Method, SipMessage, StatusCode};
use crate::sip::transport::Protocol;
use std::time::Duration;

fn request(method: Method, n: u32) -> Request {
    let text = format!(
        "{method} sip:bob@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKflood{n}\r\n\
         From: <sip:scan@192.0.2.9>;tag=f{n}\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: flood-{n}\r\n\
         CSeq: 1 {method}\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::try_from(text.as_str()).unwrap()
}

struct Flood {
    up: mpsc::UnboundedReceiver<Incoming>,
    wire: mpsc::UnboundedReceiver<(SipMessage, Peer)>,
    inject: mpsc::UnboundedSender<Inbound>,
    _ep: Endpoint,
}

fn start(limits: ServerLimits) -> Flood {
    let (transport, wire) = Transport::memory("127.0.0.1:5060".parse().unwrap());
    let (inject, inbound) = mpsc::unbounded_channel();
    let (ep, up) = Endpoint::start_with(transport, inbound, Timers::default(), limits);
    Flood {
        up,
        wire,
        inject,
        _ep: ep,
    }
}

impl Flood {
    fn feed(&self, request: Request, from: &str) {
        let peer = Peer {
            protocol: Protocol::Udp,
            addr: from.parse().unwrap(),
        };
        self.inject
            .send(Inbound {
                message: SipMessage::Request(request),
                peer,
            })
            .unwrap();
    }

    async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    /// Requests handed up so far (answered 200 so their transactions
    /// linger as they would).
    fn drain_up(&mut self) -> usize {
        let mut n = 0;
        while let Ok(incoming) = self.up.try_recv() {
            if let Incoming::Request(tx) = incoming {
                let ok = headers::response_to(&tx.request, StatusCode::OK, Some("t"));
                let _ = tx.handle.respond(ok);
                n += 1;
            }
        }
        n
    }

    fn drain_wire(&mut self) -> Vec<SipMessage> {
        let mut out = Vec::new();
        while let Ok((m, _)) = self.wire.try_recv() {
            out.push(m);
        }
        out
    }
}

#[tokio::test(start_paused = true)]
async fn a_flood_from_one_address_is_cut_to_its_rate_and_invite_learns_why() {
    let mut f = start(ServerLimits {
        max_live: 10_000,
        per_source_per_s: 50,
    });
    for n in 0..200 {
        f.feed(request(Method::Options, n), "192.0.2.9:5070");
    }
    f.settle().await;
    assert_eq!(f.drain_up(), 50, "requests passed up in one second");
    f.drain_wire();

    f.feed(request(Method::Invite, 1000), "192.0.2.9:5070");
    // Another address is served meanwhile.
    f.feed(request(Method::Options, 1001), "192.0.2.10:5070");
    f.settle().await;
    assert_eq!(f.drain_up(), 1);
    let sent = f.drain_wire();
    let busy = sent
        .iter()
        .find_map(|m| match m {
            SipMessage::Response(r) if r.status_code == StatusCode::ServiceUnavailable => Some(r),
            _ => None,
        })
        .expect("the INVITE over the rate got a 503");
    assert_eq!(
        headers::header(&busy.headers, "Retry-After"),
        Some(admission::RETRY_AFTER_S.to_string().as_str())
    );

    // A second later the address may start transactions again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    f.feed(request(Method::Options, 2000), "192.0.2.9:5070");
    f.settle().await;
    assert_eq!(f.drain_up(), 1);
}

#[tokio::test(start_paused = true)]
async fn live_transactions_stay_under_the_cap_until_they_end() {
    let mut f = start(ServerLimits {
        max_live: 100,
        per_source_per_s: 1_000_000,
    });
    for n in 0..1000 {
        f.feed(
            request(Method::Options, n),
            &format!("192.0.2.{}:5070", n % 250),
        );
    }
    f.settle().await;
    assert_eq!(f.drain_up(), 100, "transactions started");
    // Timer J (64*T1 = 32 s) ends them; then there is room again.
    tokio::time::sleep(Duration::from_secs(33)).await;
    for n in 5000..5010 {
        f.feed(request(Method::Options, n), "192.0.2.1:5070");
    }
    f.settle().await;
    assert_eq!(f.drain_up(), 10);
}
