//! Socket tests of the transaction layer: two endpoints on loopback (UDP,
//! TCP, IPv4 and IPv6) doing INVITE/180/200/ACK and BYE. The call through a
//! real peer (SIPp) is in `tests/sip_stack_peers.rs`.

use super::*;
use crate::sip::headers;
use crate::sip::msg::{Method, SipMessage, StatusCode};
use crate::sip::transport::{new_branch, new_call_id, new_tag, Protocol};
use std::net::SocketAddr;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

/// A request built by hand the way a dialog layer would.
#[allow(clippy::too_many_arguments)]
fn build(
    ep: &Endpoint,
    method: Method,
    proto: Protocol,
    target: SocketAddr,
    call_id: &str,
    from_tag: &str,
    to_tag: Option<&str>,
    seq: u32,
) -> Request {
    let via = ep.transport().via(proto, &new_branch());
    let local = ep.transport().local_addr();
    let host = match target {
        SocketAddr::V4(_) => target.ip().to_string(),
        SocketAddr::V6(_) => format!("[{}]", target.ip()),
    };
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let transport = proto.as_str().to_ascii_lowercase();
    let text = format!(
        "{method} sip:service@{host}:{port};transport={transport} SIP/2.0\r\n\
         {via}\r\n\
         From: <sip:alice@{local}>;tag={from_tag}\r\n\
         To: <sip:service@{host}:{port}>{to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {seq} {method}\r\n\
         Contact: <sip:alice@{local};transport={transport}>\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n",
        port = target.port(),
    );
    Request::try_from(text.as_str()).unwrap()
}

async fn next(tx: &mut ClientTransaction) -> Response {
    tokio::time::timeout(WAIT, tx.next_response())
        .await
        .expect("no response in time")
        .expect("transaction ended")
}

async fn final_response(tx: &mut ClientTransaction) -> Response {
    loop {
        let r = next(tx).await;
        if r.status_code.code() >= 200 {
            return r;
        }
    }
}

async fn up(rx: &mut mpsc::UnboundedReceiver<Incoming>) -> Incoming {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("nothing came up in time")
        .expect("endpoint closed")
}

async fn call_between_two_endpoints(listen: &str, proto: Protocol) {
    let listen: SocketAddr = listen.parse().unwrap();
    let (ta, ia) = Transport::bind(listen).await.unwrap();
    let (tb, ib) = Transport::bind(listen).await.unwrap();
    let (a, _a_up) = Endpoint::start(ta, ia, Timers::default());
    let (b, mut b_up) = Endpoint::start(tb, ib, Timers::default());
    let b_addr = b.transport().local_addr();
    let to_b = Peer {
        protocol: proto,
        addr: b_addr,
    };
    let call_id = new_call_id("test");
    let from_tag = new_tag();

    let invite = build(
        &a,
        Method::Invite,
        proto,
        b_addr,
        &call_id,
        &from_tag,
        None,
        1,
    );
    let mut tx = a.send_request(invite, to_b).await.unwrap();
    let Incoming::Request(st) = up(&mut b_up).await else {
        panic!("B did not get the INVITE")
    };
    assert_eq!(st.request.method, Method::Invite);
    assert_eq!(st.peer.protocol, proto);
    let b_tag = new_tag();
    st.handle
        .respond(headers::response_to(
            &st.request,
            StatusCode::Ringing,
            Some(&b_tag),
        ))
        .unwrap();
    let mut saw = Vec::new();
    loop {
        let r = next(&mut tx).await;
        saw.push(r.status_code.code());
        if r.status_code == StatusCode::Ringing {
            break;
        }
    }
    assert!(saw.iter().all(|c| *c == 100 || *c == 180), "{saw:?}");
    st.handle
        .respond(headers::response_to(
            &st.request,
            StatusCode::OK,
            Some(&b_tag),
        ))
        .unwrap();
    let ok = next(&mut tx).await;
    assert_eq!(ok.status_code, StatusCode::OK);
    assert_eq!(headers::to_tag(&ok).as_deref(), Some(b_tag.as_str()));

    let ack = build(
        &a,
        Method::Ack,
        proto,
        b_addr,
        &call_id,
        &from_tag,
        Some(&b_tag),
        1,
    );
    a.send_stateless(SipMessage::Request(ack), &to_b)
        .await
        .unwrap();
    match up(&mut b_up).await {
        Incoming::Ack { request, .. } => assert_eq!(headers::call_id(&request).unwrap(), call_id),
        other => panic!("expected the ACK, got {other:?}"),
    }

    let bye = build(
        &a,
        Method::Bye,
        proto,
        b_addr,
        &call_id,
        &from_tag,
        Some(&b_tag),
        2,
    );
    let mut tx = a.send_request(bye, to_b).await.unwrap();
    let Incoming::Request(st) = up(&mut b_up).await else {
        panic!("B did not get the BYE")
    };
    assert_eq!(st.request.method, Method::Bye);
    st.handle
        .respond(headers::response_to(&st.request, StatusCode::OK, None))
        .unwrap();
    assert_eq!(final_response(&mut tx).await.status_code, StatusCode::OK);
}

#[tokio::test]
async fn call_over_udp_v4() {
    call_between_two_endpoints("127.0.0.1:0", Protocol::Udp).await;
}

#[tokio::test]
async fn call_over_tcp_v4() {
    call_between_two_endpoints("127.0.0.1:0", Protocol::Tcp).await;
}

#[tokio::test]
async fn call_over_udp_v6() {
    call_between_two_endpoints("[::1]:0", Protocol::Udp).await;
}

#[tokio::test]
async fn call_over_tcp_v6() {
    call_between_two_endpoints("[::1]:0", Protocol::Tcp).await;
}

#[tokio::test]
async fn connection_refused_over_tcp_gives_503() {
    let (t, i) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (ep, _up) = Endpoint::start(t, i, Timers::default());
    // A port that was free a moment ago: nobody listens on it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let req = build(&ep, Method::Options, Protocol::Tcp, dead, "c", "f", None, 1);
    let mut tx = ep
        .send_request(
            req,
            Peer {
                protocol: Protocol::Tcp,
                addr: dead,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next(&mut tx).await.status_code,
        StatusCode::ServiceUnavailable
    );
}
