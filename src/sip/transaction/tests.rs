//! Paused-clock tests of the transaction layer over the in-memory
//! transport: every timer (A, B, D, E, F, G, H, I, J, K, the 2xx
//! retransmission until ACK), CANCEL matching and synthesized responses.

use super::*;
use crate::sip::headers;
use crate::sip::msg::{Method, SipMessage, StatusCode};
use crate::sip::transport::Protocol;
use std::time::Duration;
use tokio::time::Instant;

struct Harness {
    ep: Endpoint,
    up: mpsc::UnboundedReceiver<Incoming>,
    wire: mpsc::UnboundedReceiver<(SipMessage, Peer)>,
    inject: mpsc::UnboundedSender<Inbound>,
    peer: Peer,
    start: Instant,
}

fn harness(protocol: Protocol) -> Harness {
    let (transport, wire) = Transport::memory("127.0.0.1:5060".parse().unwrap());
    let (inject, inbound) = mpsc::unbounded_channel();
    let (ep, up) = Endpoint::start(transport, inbound, Timers::default());
    Harness {
        ep,
        up,
        wire,
        inject,
        peer: Peer {
            protocol,
            addr: "127.0.0.1:5070".parse().unwrap(),
        },
        start: Instant::now(),
    }
}

impl Harness {
    fn feed(&self, message: impl Into<SipMessage>) {
        self.inject
            .send(Inbound {
                message: message.into(),
                peer: self.peer,
            })
            .unwrap();
    }

    /// Everything sent until `until` after start: (seconds since start, start line).
    async fn sent_until(&mut self, until: f64) -> Vec<(f64, String)> {
        let deadline = self.start + Duration::from_secs_f64(until);
        let mut out = Vec::new();
        while let Ok(Some((m, _))) = tokio::time::timeout_at(deadline, self.wire.recv()).await {
            let at = (Instant::now() - self.start).as_secs_f64();
            out.push(((at * 1000.0).round() / 1000.0, m.start_line()));
        }
        out
    }

    async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    fn at(&self) -> f64 {
        let at = (Instant::now() - self.start).as_secs_f64();
        (at * 10.0).round() / 10.0
    }
}

fn request(method: Method, branch: &str, seq: u32) -> Request {
    let text = format!(
        "{method} sip:bob@127.0.0.1:5070 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
         From: <sip:alice@127.0.0.1>;tag=from1\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: call-1@test\r\n\
         CSeq: {seq} {method}\r\n\
         Route: <sip:proxy.test;lr>\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    Request::try_from(text.as_str()).unwrap()
}

fn reply(req: &Request, status: StatusCode) -> Response {
    headers::response_to(req, status, Some("totag"))
}

fn times(sent: &[(f64, String)]) -> Vec<f64> {
    sent.iter().map(|(t, _)| *t).collect()
}

// ---- INVITE client -------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn timer_a_doubles_and_timer_b_gives_408() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKa", 1);
    let mut tx = h.ep.send_request(inv, h.peer).await.unwrap();
    let sent = h.sent_until(40.0).await;
    assert_eq!(times(&sent), vec![0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]);
    let r = tx.next_response().await.unwrap();
    assert_eq!(r.status_code, StatusCode::RequestTimeout);
    assert!(tx.next_response().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn invite_over_tcp_is_not_retransmitted_and_times_out_at_b() {
    let mut h = harness(Protocol::Tcp);
    let inv = request(Method::Invite, "z9hG4bKtcp", 1);
    let mut tx = h.ep.send_request(inv, h.peer).await.unwrap();
    let r = tx.next_response().await.unwrap();
    assert_eq!(r.status_code, StatusCode::RequestTimeout);
    assert_eq!(h.at(), 32.0);
    assert_eq!(h.sent_until(40.0).await.len(), 1, "sent once, never again");
}

#[tokio::test(start_paused = true)]
async fn provisional_stops_a_and_non_2xx_is_acked_during_timer_d() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKd", 3);
    let mut tx = h.ep.send_request(inv.clone(), h.peer).await.unwrap();
    h.sent_until(0.2).await;
    h.feed(reply(&inv, StatusCode::Ringing));
    let r = tx.next_response().await.unwrap();
    assert_eq!(r.status_code, StatusCode::Ringing);
    // No retransmission while proceeding, no timer B.
    assert!(h.sent_until(40.0).await.is_empty());

    h.feed(reply(&inv, StatusCode::BusyHere));
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::BusyHere
    );
    assert!(
        tx.next_response().await.is_none(),
        "nothing after the final"
    );
    let (ack, _) = h.wire.recv().await.unwrap();
    let SipMessage::Request(ack) = ack else {
        panic!()
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, inv.uri);
    let via = headers::top_via(&ack).unwrap();
    assert_eq!(headers::via_branch(&via).as_deref(), Some("z9hG4bKd"));
    assert_eq!(headers::to_tag(&ack).as_deref(), Some("totag"));
    assert_eq!(headers::cseq(&ack).unwrap(), (3, Method::Ack));
    assert!(ack.to_string().contains("Route: <sip:proxy.test;lr>"));

    // Within timer D (32 s) a retransmitted 486 is ACKed again, not passed up.
    let t0 = h.at();
    tokio::time::sleep(Duration::from_secs(31)).await;
    h.feed(reply(&inv, StatusCode::BusyHere));
    h.settle().await;
    assert!(
        matches!(h.wire.try_recv(), Ok((SipMessage::Request(r), _)) if r.method == Method::Ack)
    );
    assert!(h.up.try_recv().is_err());
    // After D the transaction is gone: the response goes up.
    tokio::time::sleep_until(h.start + Duration::from_secs_f64(t0 + 32.5)).await;
    h.feed(reply(&inv, StatusCode::BusyHere));
    h.settle().await;
    assert!(matches!(h.up.try_recv(), Ok(Incoming::Response { .. })));
    assert!(h.wire.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn accepted_forwards_2xx_retransmissions_for_64_t1() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bK2xx", 1);
    let mut tx = h.ep.send_request(inv.clone(), h.peer).await.unwrap();
    h.feed(reply(&inv, StatusCode::OK));
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    h.feed(reply(&inv, StatusCode::OK));
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::OK
    );
    // No ACK is sent by the layer for a 2xx, and no retransmission.
    assert_eq!(h.sent_until(20.0).await.len(), 1);
    assert!(tx.next_response().await.is_none());
    assert_eq!(h.at(), 32.0);
    h.feed(reply(&inv, StatusCode::OK));
    h.settle().await;
    assert!(matches!(h.up.try_recv(), Ok(Incoming::Response { .. })));
}

#[tokio::test(start_paused = true)]
async fn transport_error_gives_503() {
    let h = harness(Protocol::Udp);
    let Harness { ep, wire, peer, .. } = h;
    drop(wire);
    let mut tx = ep
        .send_request(request(Method::Options, "z9hG4bK503", 1), peer)
        .await
        .unwrap();
    let r = tx.next_response().await.unwrap();
    assert_eq!(r.status_code, StatusCode::ServiceUnavailable);
    assert!(tx.next_response().await.is_none());
}

// ---- non-INVITE client ---------------------------------------------------

#[tokio::test(start_paused = true)]
async fn timer_e_caps_at_t2_and_timer_f_gives_408() {
    let mut h = harness(Protocol::Udp);
    let mut tx =
        h.ep.send_request(request(Method::Options, "z9hG4bKe", 1), h.peer)
            .await
            .unwrap();
    let sent = h.sent_until(40.0).await;
    assert_eq!(
        times(&sent),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::RequestTimeout
    );
}

#[tokio::test(start_paused = true)]
async fn timer_e_uses_t2_after_provisional() {
    let mut h = harness(Protocol::Udp);
    let req = request(Method::Register, "z9hG4bKe2", 1);
    let mut tx = h.ep.send_request(req.clone(), h.peer).await.unwrap();
    h.sent_until(0.1).await;
    h.feed(reply(&req, StatusCode::Trying));
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::Trying
    );
    let sent = h.sent_until(10.0).await;
    assert_eq!(times(&sent), vec![0.5, 4.5, 8.5]);
}

#[tokio::test(start_paused = true)]
async fn timer_k_absorbs_retransmitted_finals_for_t4() {
    let mut h = harness(Protocol::Udp);
    let req = request(Method::Options, "z9hG4bKk", 1);
    let mut tx = h.ep.send_request(req.clone(), h.peer).await.unwrap();
    h.feed(reply(&req, StatusCode::OK));
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::OK
    );
    assert!(tx.next_response().await.is_none());
    tokio::time::sleep(Duration::from_secs(4)).await;
    h.feed(reply(&req, StatusCode::OK));
    h.settle().await;
    assert!(h.up.try_recv().is_err(), "absorbed during K");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.feed(reply(&req, StatusCode::OK));
    h.settle().await;
    assert!(matches!(h.up.try_recv(), Ok(Incoming::Response { .. })));
    assert_eq!(
        h.sent_until(40.0).await.len(),
        1,
        "no retransmission after the final"
    );
}

#[tokio::test(start_paused = true)]
async fn timer_k_is_zero_over_tcp() {
    let mut h = harness(Protocol::Tcp);
    let req = request(Method::Options, "z9hG4bKk0", 1);
    let mut tx = h.ep.send_request(req.clone(), h.peer).await.unwrap();
    h.feed(reply(&req, StatusCode::OK));
    assert_eq!(
        tx.next_response().await.unwrap().status_code,
        StatusCode::OK
    );
    h.settle().await;
    h.feed(reply(&req, StatusCode::OK));
    h.settle().await;
    assert!(matches!(h.up.try_recv(), Ok(Incoming::Response { .. })));
}

// ---- INVITE server -------------------------------------------------------

async fn incoming_request(h: &mut Harness) -> ServerTransaction {
    match h.up.recv().await.unwrap() {
        Incoming::Request(st) => st,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn invite_server_sends_100_and_repeats_the_last_response() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKs1", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    assert_eq!(st.peer, h.peer);
    let (m, to) = h.wire.recv().await.unwrap();
    assert_eq!(m.start_line(), "SIP/2.0 100 Trying");
    assert_eq!(to, h.peer);
    // Retransmission: 100 again, not passed up.
    h.feed(inv.clone());
    h.settle().await;
    assert_eq!(
        h.wire.try_recv().unwrap().0.start_line(),
        "SIP/2.0 100 Trying"
    );
    st.handle.respond(reply(&inv, StatusCode::Ringing)).unwrap();
    h.settle().await;
    assert_eq!(
        h.wire.try_recv().unwrap().0.start_line(),
        "SIP/2.0 180 Ringing"
    );
    h.feed(inv.clone());
    h.settle().await;
    assert_eq!(
        h.wire.try_recv().unwrap().0.start_line(),
        "SIP/2.0 180 Ringing"
    );
    assert!(h.up.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn timer_g_retransmits_non_2xx_until_timer_h() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKg", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    h.wire.recv().await.unwrap(); // 100
    st.handle
        .respond(reply(&inv, StatusCode::BusyHere))
        .unwrap();
    let sent = h.sent_until(60.0).await;
    assert!(sent.iter().all(|(_, l)| l == "SIP/2.0 486 Busy Here"));
    assert_eq!(
        times(&sent),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    // After H the transaction is gone: the handle is closed.
    assert!(st.handle.is_closed());
}

#[tokio::test(start_paused = true)]
async fn ack_stops_g_and_timer_i_absorbs_acks() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKi", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    h.wire.recv().await.unwrap(); // 100
    let busy = reply(&inv, StatusCode::BusyHere);
    st.handle.respond(busy.clone()).unwrap();
    let sent = h.sent_until(2.0).await;
    assert_eq!(times(&sent), vec![0.0, 0.5, 1.5]);
    let ack = client::ack_for(&inv, &busy);
    h.feed(ack.clone());
    h.settle().await;
    // Confirmed: no more 486, ACK and INVITE retransmissions absorbed.
    h.feed(ack.clone());
    h.feed(inv.clone());
    assert!(h.sent_until(6.0).await.is_empty());
    assert!(h.up.try_recv().is_err());
    // After I (T4 = 5 s) an ACK matches nothing and goes up.
    tokio::time::sleep_until(h.start + Duration::from_secs_f64(7.1)).await;
    h.feed(ack);
    h.settle().await;
    assert!(matches!(h.up.try_recv(), Ok(Incoming::Ack { .. })));
}

fn ack_for_2xx(inv: &Request, ok: &Response) -> Request {
    let mut ack = client::ack_for(inv, ok);
    let via = headers::top_via(&ack)
        .unwrap()
        .with_branch(crate::sip::msg::param::Branch::new(headers::new_branch()));
    headers::set_top_via(&mut ack, &via).unwrap();
    ack
}

#[tokio::test(start_paused = true)]
async fn two_xx_is_retransmitted_until_the_ack() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bK200", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    h.wire.recv().await.unwrap(); // 100
    let ok = reply(&inv, StatusCode::OK);
    st.handle.respond(ok.clone()).unwrap();
    let sent = h.sent_until(5.0).await;
    assert_eq!(times(&sent), vec![0.0, 0.5, 1.5, 3.5]);
    let ack = ack_for_2xx(&inv, &ok);
    h.feed(ack.clone());
    match h.up.recv().await.unwrap() {
        Incoming::Ack { request, .. } => assert_eq!(request.method, Method::Ack),
        other => panic!("{other:?}"),
    }
    h.feed(ack.clone());
    assert!(h.sent_until(40.0).await.is_empty(), "no 2xx after the ACK");
    assert!(h.up.try_recv().is_err(), "the ACK went up once");
}

#[tokio::test(start_paused = true)]
async fn two_xx_without_ack_gives_ack_timeout() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKnoack", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    h.wire.recv().await.unwrap(); // 100
    st.handle.respond(reply(&inv, StatusCode::OK)).unwrap();
    let sent = h.sent_until(40.0).await;
    assert_eq!(
        times(&sent),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    match h.up.try_recv() {
        Ok(Incoming::AckTimeout { call_id }) => assert_eq!(call_id, "call-1@test"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn two_xx_over_tcp_is_sent_once() {
    let mut h = harness(Protocol::Tcp);
    let inv = request(Method::Invite, "z9hG4bK200tcp", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    st.handle.respond(reply(&inv, StatusCode::OK)).unwrap();
    let sent = h.sent_until(40.0).await;
    assert_eq!(sent.len(), 2, "100 and one 200: {sent:?}");
    assert!(matches!(h.up.try_recv(), Ok(Incoming::AckTimeout { .. })));
}

#[tokio::test(start_paused = true)]
async fn dropped_handle_without_final_answers_500() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bK500", 1);
    h.feed(inv);
    let st = incoming_request(&mut h).await;
    drop(st);
    let sent = h.sent_until(0.1).await;
    assert_eq!(sent[1].1, "SIP/2.0 500 Server Internal Error");
}

// ---- CANCEL --------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn cancel_matches_the_invite_and_is_answered_200() {
    let mut h = harness(Protocol::Udp);
    let inv = request(Method::Invite, "z9hG4bKc", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    h.wire.recv().await.unwrap(); // 100
    h.feed(request(Method::Cancel, "z9hG4bKc", 1));
    let cancel_200 = h.wire.recv().await.unwrap().0;
    assert_eq!(cancel_200.start_line(), "SIP/2.0 200 OK");
    assert_eq!(headers::cseq(&cancel_200).unwrap().1, Method::Cancel);
    let Incoming::Cancel { invite, .. } = h.up.recv().await.unwrap() else {
        panic!("no Cancel")
    };
    invite
        .respond(reply(&inv, StatusCode::RequestTerminated))
        .unwrap();
    assert_eq!(
        h.wire.recv().await.unwrap().0.start_line(),
        "SIP/2.0 487 Request Terminated"
    );
    drop(st);
    // A retransmitted CANCEL gets the same 200 from its own transaction.
    h.feed(request(Method::Cancel, "z9hG4bKc", 1));
    assert_eq!(
        h.wire.recv().await.unwrap().0.start_line(),
        "SIP/2.0 200 OK"
    );
    assert!(h.up.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn cancel_without_invite_is_481_and_after_final_no_cancel_goes_up() {
    let mut h = harness(Protocol::Udp);
    h.feed(request(Method::Cancel, "z9hG4bKnone", 1));
    assert_eq!(
        h.wire.recv().await.unwrap().0.start_line(),
        "SIP/2.0 481 Call/Transaction Does Not Exist"
    );
    let inv = request(Method::Invite, "z9hG4bKlate", 1);
    h.feed(inv.clone());
    let st = incoming_request(&mut h).await;
    h.wire.recv().await.unwrap(); // 100
    st.handle.respond(reply(&inv, StatusCode::OK)).unwrap();
    h.wire.recv().await.unwrap(); // 200
    h.feed(request(Method::Cancel, "z9hG4bKlate", 1));
    let (m, _) = h.wire.recv().await.unwrap();
    assert_eq!(m.start_line(), "SIP/2.0 200 OK");
    assert_eq!(headers::cseq(&m).unwrap().1, Method::Cancel);
    h.settle().await;
    assert!(h.up.try_recv().is_err());
}

// ---- non-INVITE server ---------------------------------------------------

#[tokio::test(start_paused = true)]
async fn timer_j_repeats_the_final_then_forgets() {
    let mut h = harness(Protocol::Udp);
    let req = request(Method::Bye, "z9hG4bKj", 2);
    h.feed(req.clone());
    let st = incoming_request(&mut h).await;
    st.handle.respond(reply(&req, StatusCode::OK)).unwrap();
    assert_eq!(
        h.wire.recv().await.unwrap().0.start_line(),
        "SIP/2.0 200 OK"
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    h.feed(req.clone());
    h.settle().await;
    assert_eq!(h.wire.try_recv().unwrap().0.start_line(), "SIP/2.0 200 OK");
    assert!(h.up.try_recv().is_err());
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.feed(req);
    let again = incoming_request(&mut h).await;
    assert_eq!(again.request.method, Method::Bye);
}

#[tokio::test(start_paused = true)]
async fn timer_j_is_zero_over_tcp() {
    let mut h = harness(Protocol::Tcp);
    let req = request(Method::Options, "z9hG4bKj0", 2);
    h.feed(req.clone());
    let st = incoming_request(&mut h).await;
    st.handle.respond(reply(&req, StatusCode::OK)).unwrap();
    h.wire.recv().await.unwrap();
    h.settle().await;
    h.feed(req);
    incoming_request(&mut h).await;
}

#[tokio::test(start_paused = true)]
async fn respond_in_order_returns_once_the_response_is_on_the_wire() {
    let mut h = harness(Protocol::Udp);
    let req = request(Method::PRack, "z9hG4bKpr", 2);
    h.feed(req.clone());
    let st = incoming_request(&mut h).await;
    assert!(h.wire.try_recv().is_err());
    st.handle
        .respond_in_order(reply(&req, StatusCode::OK))
        .await
        .unwrap();
    // Already handed to the transport: nothing more to wait for.
    assert_eq!(h.wire.try_recv().unwrap().0.start_line(), "SIP/2.0 200 OK");
    // A second final response is ignored by the transaction, and the
    // caller hears that it was never sent.
    let again = st
        .handle
        .respond_in_order(reply(&req, StatusCode::OK))
        .await;
    assert!(again.is_err());
}
