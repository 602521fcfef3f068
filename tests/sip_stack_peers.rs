//! The SIP layers (transport, transactions, digest auth) against real peers,
//! without the phone on top: a REGISTER answered with our digest
//! credentials must be accepted by kamailio over UDP and TCP (a wrong
//! password refused), and an INVITE / ACK / BYE call must succeed against
//! SIPp's built-in UAS. A missing peer fails the test with the reason.

mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::kamailio::{Kamailio, DOMAIN};
use support::sipp::Sipp;
use support::TestDir;
use termphone::sip::auth::{Credentials, DigestState};
use termphone::sip::msg::{
    HeadersExt, Method, Request, Response, SipMessage, StatusCode, ToTypedHeader,
};
use termphone::sip::transaction::{Endpoint, Timers};
use termphone::sip::transport::{new_branch, new_call_id, new_tag, Peer, Protocol, Transport};

/// An endpoint on a fresh loopback port (its incoming side is dropped:
/// these tests only send requests).
async fn endpoint() -> Endpoint {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let (t, i) = Transport::bind(listen).await.expect("bind a loopback port");
    Endpoint::start(t, i, Timers::default()).0
}

/// What varies between the hand-built requests of these tests.
struct Req<'a> {
    method: Method,
    proto: Protocol,
    /// Request URI.
    uri: &'a str,
    from: &'a str,
    from_tag: &'a str,
    to: &'a str,
    to_tag: Option<&'a str>,
    call_id: &'a str,
    seq: u32,
    /// User of the Contact.
    user: &'a str,
    /// `Expires:` (REGISTER).
    expires: Option<u32>,
}

/// A request built by hand the way a dialog or registration layer would.
fn build(ep: &Endpoint, r: &Req) -> Request {
    let via = ep.transport().via(r.proto, &new_branch());
    let local = ep.transport().local_addr();
    let transport = r.proto.as_str().to_ascii_lowercase();
    let to_tag = r.to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let expires = r
        .expires
        .map(|e| format!("Expires: {e}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "{method} {uri} SIP/2.0\r\n\
         {via}\r\n\
         From: <{from}>;tag={from_tag}\r\n\
         To: <{to}>{to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {seq} {method}\r\n\
         Contact: <sip:{user}@{local};transport={transport}>\r\n\
         {expires}\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n",
        method = r.method,
        uri = r.uri,
        from = r.from,
        from_tag = r.from_tag,
        to = r.to,
        call_id = r.call_id,
        seq = r.seq,
        user = r.user,
    );
    Request::try_from(text.as_str()).expect("a well-formed request")
}

/// Sends `request` in a new transaction and returns its final response.
async fn final_of(ep: &Endpoint, request: Request, peer: Peer) -> Response {
    let mut tx = ep
        .send_request(request, peer)
        .await
        .expect("send the request");
    loop {
        let r = tokio::time::timeout(Duration::from_secs(5), tx.next_response())
            .await
            .expect("no response in time")
            .expect("transaction ended without a final response");
        if r.status_code.code() >= 200 {
            return r;
        }
    }
}

/// A REGISTER of `user` at the test domain, over `proto`.
fn register(ep: &Endpoint, proto: Protocol, user: &str) -> Request {
    let aor = format!("sip:{user}@{DOMAIN}");
    build(
        ep,
        &Req {
            method: Method::Register,
            proto,
            uri: &format!("sip:{DOMAIN}"),
            from: &aor,
            from_tag: &new_tag(),
            to: &aor,
            to_tag: None,
            call_id: &new_call_id("test"),
            seq: 1,
            user,
            expires: Some(60),
        },
    )
}

#[tokio::test]
async fn kamailio_accepts_our_digest_answers() {
    let t = TestDir::new("digest-kamailio");
    let kamailio = Kamailio::start(&t.sub("kamailio"));
    let ep = endpoint().await;

    for proto in [Protocol::Udp, Protocol::Tcp] {
        let peer = Peer {
            protocol: proto,
            addr: kamailio.addr(),
        };
        let mut state = DigestState::default();
        let creds = Credentials {
            user: "1001".into(),
            password: "pw1001".into(),
            scope: Default::default(),
        };
        let req = register(&ep, proto, "1001");
        let challenge = final_of(&ep, req.clone(), peer).await;
        assert_eq!(challenge.status_code, StatusCode::Unauthorized, "{proto:?}");
        let answer = state.authorize(&req, &challenge, &creds).unwrap();
        assert_eq!(answer.method, Method::Register);
        let ok = final_of(&ep, answer.clone(), peer).await;
        assert_eq!(ok.status_code, StatusCode::OK, "{proto:?}: {ok}");

        // The same nonce again (nc=2) is still accepted.
        let again = state.authorize(&answer, &challenge, &creds).unwrap();
        let ok = final_of(&ep, again, peer).await;
        assert_eq!(ok.status_code, StatusCode::OK, "{proto:?} nc=2: {ok}");

        // A wrong password is refused.
        let wrong = Credentials {
            user: "1001".into(),
            password: "nope".into(),
            scope: Default::default(),
        };
        let req = register(&ep, proto, "1001");
        let challenge = final_of(&ep, req.clone(), peer).await;
        let answer = DigestState::default()
            .authorize(&req, &challenge, &wrong)
            .unwrap();
        let refused = final_of(&ep, answer, peer).await;
        assert_ne!(refused.status_code, StatusCode::OK, "{proto:?}");
    }
}

/// The tag of a response's To header.
fn to_tag(response: &Response) -> Option<String> {
    let to = response.to_header().ok()?.typed().ok()?;
    to.tag().map(|t| t.to_string())
}

/// INVITE / 180 / 200 / ACK / BYE / 200 against SIPp's built-in UAS.
#[tokio::test]
async fn call_through_sipp_uas() {
    let t = TestDir::new("transaction-sipp");
    let sipp = Sipp::new("builtin:uas", &t.sub("sipp")).timeout(20).spawn();
    let sipp_addr: SocketAddr = sipp.addr();
    let to_sipp = Peer {
        protocol: Protocol::Udp,
        addr: sipp_addr,
    };
    let ep = endpoint().await;
    let call_id = new_call_id("termphone.test");
    let from_tag = new_tag();
    let uri = format!("sip:service@{sipp_addr};transport=udp");
    let to = format!("sip:service@{sipp_addr}");
    let from = format!("sip:alice@{}", ep.transport().local_addr());
    let request = |method, to_tag, seq| Req {
        method,
        proto: Protocol::Udp,
        uri: &uri,
        from: &from,
        from_tag: &from_tag,
        to: &to,
        to_tag,
        call_id: &call_id,
        seq,
        user: "alice",
        expires: None,
    };

    // SIPp may need a moment to bind: timer A retransmits cover that.
    let invite = build(&ep, &request(Method::Invite, None, 1));
    let ok = final_of(&ep, invite, to_sipp).await;
    assert_eq!(ok.status_code, StatusCode::OK);
    let to_tag = to_tag(&ok).expect("200 without To tag");
    let ack = build(&ep, &request(Method::Ack, Some(&to_tag), 1));
    ep.send_stateless(SipMessage::Request(ack), &to_sipp)
        .await
        .unwrap();
    let bye = build(&ep, &request(Method::Bye, Some(&to_tag), 2));
    let ok = final_of(&ep, bye, to_sipp).await;
    assert_eq!(ok.status_code, StatusCode::OK);

    // SIPp counts the call as successful and exits 0 (after its 4 s timewait).
    let result = tokio::task::spawn_blocking(move || sipp.wait(Duration::from_secs(15)))
        .await
        .unwrap();
    assert!(
        result.success(),
        "sipp reported a failed call: {}",
        result.describe()
    );
}
