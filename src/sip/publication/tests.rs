//! The publication task against a scripted presence server on a loopback
//! UDP socket: digest challenge, SIP-ETag refresh without body, a new
//! document with SIP-If-Match, 412 recovery, removal with Expires: 0.

use super::*;
use crate::sip::msg::SipMessage;
use crate::sip::transaction::Timers;
use crate::sip::transport::{Protocol, Transport};
use tokio::net::UdpSocket;

#[test]
fn documents() {
    let dnd = pidf::parse(&PresenceDoc::do_not_disturb().to_pidf("sip:1001@test.local")).unwrap();
    assert!(dnd.dnd());
    assert_eq!(dnd.basic, Some(pidf::Basic::Closed));
    let ok = pidf::parse(&PresenceDoc::available().to_pidf("sip:1001@test.local")).unwrap();
    assert!(!ok.busy());
    assert_eq!(ok.basic, Some(pidf::Basic::Open));
}

async fn next(sock: &UdpSocket) -> (Request, std::net::SocketAddr) {
    loop {
        let mut buf = vec![0u8; 65535];
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
            .await
            .expect("no PUBLISH")
            .unwrap();
        if let Ok(SipMessage::Request(r)) = SipMessage::try_from(&buf[..n]) {
            return (r, from);
        }
    }
}

async fn reply(
    sock: &UdpSocket,
    to: std::net::SocketAddr,
    req: &Request,
    code: u16,
    extra: &[(&str, &str)],
) {
    let mut resp = m::response(req, code, Some("srv"));
    for (k, v) in extra {
        m::add_header(&mut resp.headers, k, *v);
    }
    let text = SipMessage::Response(resp).to_string();
    sock.send_to(text.as_bytes(), to).await.unwrap();
}

async fn status(rx: &mut mpsc::UnboundedReceiver<PublicationEvent>) -> PublicationStatus {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no status")
        .unwrap()
        .status
}

#[tokio::test]
async fn publish_refresh_modify_412_and_remove() {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer = Peer {
        protocol: Protocol::Udp,
        addr: sock.local_addr().unwrap(),
    };
    let (t, inbound) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (ep, _up) = Endpoint::start(t, inbound, Timers::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let cfg = PublicationConfig {
        account: "a".into(),
        aor: "sip:1001@test.local".into(),
        peer,
        proxy: Some(format!("sip:{}", peer.addr)),
        credentials: Some(Credentials {
            user: "1001".into(),
            password: "pw1001".into(),
            scope: Default::default(),
        }),
        expires: 2,
    };
    let (handle, task) = spawn(
        ep,
        cfg,
        Some(PresenceDoc::do_not_disturb()),
        tx,
        cancel.clone(),
    );

    // First PUBLISH: the document, challenged once.
    let (p1, from) = next(&sock).await;
    assert_eq!(p1.method, Method::Publish);
    assert_eq!(m::header(&p1.headers, "Event"), Some("presence"));
    assert_eq!(m::header(&p1.headers, "SIP-If-Match"), None);
    // Through the proxy as a loose route: the Request-URI stays the AOR.
    assert_eq!(p1.uri.to_string(), "sip:1001@test.local");
    assert_eq!(
        m::header(&p1.headers, "Route"),
        Some(format!("<sip:{};lr>", peer.addr).as_str())
    );
    assert!(String::from_utf8_lossy(&p1.body).contains("Do Not Disturb"));
    reply(
        &sock,
        from,
        &p1,
        407,
        &[(
            "Proxy-Authenticate",
            "Digest realm=\"test.local\", nonce=\"abc\", qop=\"auth\"",
        )],
    )
    .await;
    let (p1b, from) = next(&sock).await;
    assert!(m::header(&p1b.headers, "Proxy-Authorization").is_some());
    assert!(!p1b.body.is_empty());
    reply(
        &sock,
        from,
        &p1b,
        200,
        &[("SIP-ETag", "e1"), ("Expires", "2")],
    )
    .await;
    assert_eq!(
        status(&mut rx).await,
        PublicationStatus::Published {
            expires: 2,
            etag: "e1".into()
        }
    );

    // Refresh before expiry: no body, SIP-If-Match.
    let (r, from) = next(&sock).await;
    assert_eq!(m::header(&r.headers, "SIP-If-Match"), Some("e1"));
    assert!(r.body.is_empty());
    reply(
        &sock,
        from,
        &r,
        200,
        &[("SIP-ETag", "e2"), ("Expires", "60")],
    )
    .await;
    assert!(
        matches!(status(&mut rx).await, PublicationStatus::Published { etag, .. } if etag == "e2")
    );

    // A new document modifies the state; after 412 it is published afresh.
    assert!(handle.set(PresenceDoc::available()));
    let (mo, from) = next(&sock).await;
    assert_eq!(m::header(&mo.headers, "SIP-If-Match"), Some("e2"));
    assert!(String::from_utf8_lossy(&mo.body).contains("<basic>open</basic>"));
    reply(&sock, from, &mo, 412, &[]).await;
    let (fresh, from) = next(&sock).await;
    assert_eq!(m::header(&fresh.headers, "SIP-If-Match"), None);
    assert!(String::from_utf8_lossy(&fresh.body).contains("<basic>open</basic>"));
    reply(
        &sock,
        from,
        &fresh,
        200,
        &[("SIP-ETag", "e3"), ("Expires", "60")],
    )
    .await;
    assert!(
        matches!(status(&mut rx).await, PublicationStatus::Published { etag, .. } if etag == "e3")
    );

    // Clear: Expires: 0 with the entity tag.
    assert!(handle.clear());
    let (rm, from) = next(&sock).await;
    assert_eq!(m::header(&rm.headers, "Expires"), Some("0"));
    assert_eq!(m::header(&rm.headers, "SIP-If-Match"), Some("e3"));
    assert!(rm.body.is_empty());
    reply(&sock, from, &rm, 200, &[]).await;
    assert_eq!(status(&mut rx).await, PublicationStatus::Removed);

    // Nothing published any more: cancelling sends nothing and ends the task.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 100];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf))
            .await
            .is_err()
    );
}
