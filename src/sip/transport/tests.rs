//! Socket-level tests of the transport on loopback.

use super::*;
use crate::sip::headers;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn options(via_host: &str, proto: &str, body: &str, cl: Option<usize>) -> String {
    let cl = cl
        .map(|n| format!("Content-Length: {n}\r\n"))
        .unwrap_or_default();
    format!(
        "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{proto} {via_host};branch=z9hG4bK{};rport\r\n\
         From: <sip:alice@127.0.0.1>;tag=a\r\n\
         To: <sip:bob@127.0.0.1>\r\n\
         Call-ID: {}\r\n\
         CSeq: 1 OPTIONS\r\n{cl}\r\n{body}",
        headers::new_tag(),
        headers::new_tag()
    )
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<Inbound>) -> Inbound {
    tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("timed out waiting for inbound")
        .expect("inbound closed")
}

#[tokio::test]
async fn udp_and_tcp_share_the_port_on_v4_and_v6() {
    for listen in ["127.0.0.1:0", "[::1]:0"] {
        let (t, _rx) = Transport::bind(listen.parse().unwrap()).await.unwrap();
        let addr = t.local_addr();
        assert_ne!(addr.port(), 0);
        // TCP accepts on the same port.
        TcpStream::connect(addr).await.unwrap();
        let via = t.via(Protocol::Udp, "z9hG4bKx");
        assert_eq!(
            via.value(),
            format!("SIP/2.0/UDP {addr};rport;branch=z9hG4bKx")
        );
    }
}

#[tokio::test]
async fn wildcard_listen_names_the_routed_address_never_the_wildcard() {
    for (listen, peer) in [("0.0.0.0:0", "127.0.0.1:5060"), ("[::]:0", "[::1]:5060")] {
        let (t, _rx) = Transport::bind(listen.parse().unwrap()).await.unwrap();
        let port = t.local_addr().port();
        let peer: SocketAddr = peer.parse().unwrap();
        assert_eq!(t.local_addr_for(peer), SocketAddr::new(peer.ip(), port));
        let via = t.via_to(
            &Peer {
                protocol: Protocol::Tcp,
                addr: peer,
            },
            "z9hG4bKw",
        );
        assert_eq!(
            via.value(),
            format!(
                "SIP/2.0/TCP {};rport;branch=z9hG4bKw",
                SocketAddr::new(peer.ip(), port)
            )
        );
    }
}

#[tokio::test]
async fn udp_delivers_with_rport_and_answers_400() {
    let (t, mut rx) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = sock.local_addr().unwrap();
    // Garbage and a response that does not parse are dropped silently.
    sock.send_to(b"\xff\xfegarbage\r\n\r\n", t.local_addr())
        .await
        .unwrap();
    sock.send_to(b"SIP/2.0 200 OK\r\n\r\n", t.local_addr())
        .await
        .unwrap();
    let good = options("192.0.2.1:5060", "UDP", "", Some(0));
    sock.send_to(good.as_bytes(), t.local_addr()).await.unwrap();
    let inbound = recv(&mut rx).await;
    assert_eq!(
        inbound.peer,
        Peer {
            protocol: Protocol::Udp,
            addr: me
        }
    );
    let via = headers::top_via(&inbound.message).unwrap();
    assert_eq!(via.rport(), Some(Some(me.port())));
    assert_eq!(via.received().unwrap().unwrap(), me.ip());

    let bad = options("127.0.0.1:1", "UDP", "abc", Some(50));
    sock.send_to(bad.as_bytes(), t.local_addr()).await.unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        text.starts_with("SIP/2.0 400 Bad Request (Content-Length mismatch)\r\n"),
        "{text}"
    );
    assert!(rx.try_recv().is_err(), "malformed input went up");
}

#[tokio::test]
async fn tcp_frames_pings_and_replies_on_the_same_connection() {
    let (t, mut rx) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(t.local_addr()).await.unwrap();
    let me = stream.local_addr().unwrap();
    stream.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");

    let msg = options(&me.to_string(), "TCP", "hello", Some(5));
    let (a, b) = msg.as_bytes().split_at(40);
    stream.write_all(a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(b).await.unwrap();
    stream.write_all(b"\r\n").await.unwrap();
    stream.write_all(msg.as_bytes()).await.unwrap();
    let first = recv(&mut rx).await;
    let second = recv(&mut rx).await;
    assert_eq!(
        first.peer,
        Peer {
            protocol: Protocol::Tcp,
            addr: me
        }
    );
    let SipMessage::Request(req) = first.message else {
        panic!()
    };
    assert_eq!(req.body, b"hello");
    assert!(matches!(second.message, SipMessage::Request(_)));

    // A response goes back over the same connection.
    let resp = headers::response_to(&req, msg::StatusCode::OK, Some("x"));
    t.send(&SipMessage::Response(resp), &first.peer)
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("SIP/2.0 200 OK"));
}

#[tokio::test]
async fn tcp_without_content_length_gets_400_and_close() {
    let (t, mut rx) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(t.local_addr()).await.unwrap();
    let msg = options("127.0.0.1:9", "TCP", "", None);
    stream.write_all(msg.as_bytes()).await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.starts_with("SIP/2.0 400 Bad Request (missing Content-Length)"),
        "{text}"
    );
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn tcp_huge_headers_close_the_connection() {
    let (t, _rx) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut stream = TcpStream::connect(t.local_addr()).await.unwrap();
    let junk = vec![b'a'; MAX_MESSAGE + 10];
    let _ = stream.write_all(&junk).await;
    let mut all = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut all))
        .await
        .unwrap();
    // Closed (EOF or reset), nothing answered.
    assert!(r.is_err() || all.is_empty());
}

#[tokio::test]
async fn tcp_send_connects_and_the_peer_answers_back() {
    for listen in ["127.0.0.1:0", "[::1]:0"] {
        let (a, mut a_rx) = Transport::bind(listen.parse().unwrap()).await.unwrap();
        let (b, mut b_rx) = Transport::bind(listen.parse().unwrap()).await.unwrap();
        let text = options(&a.local_addr().to_string(), "TCP", "", Some(0));
        let req = SipMessage::try_from(text.as_str()).unwrap();
        let to_b = Peer {
            protocol: Protocol::Tcp,
            addr: b.local_addr(),
        };
        a.send(&req, &to_b).await.unwrap();
        let got = recv(&mut b_rx).await;
        assert_eq!(got.peer.protocol, Protocol::Tcp);
        let SipMessage::Request(req) = got.message else {
            panic!()
        };
        let resp = headers::response_to(&req, msg::StatusCode::OK, Some("t"));
        b.send(&SipMessage::Response(resp), &got.peer)
            .await
            .unwrap();
        let back = recv(&mut a_rx).await;
        assert_eq!(back.peer, to_b);
        assert!(matches!(back.message, SipMessage::Response(_)));
    }
}

#[tokio::test]
async fn memory_transport_records_and_fails_when_closed() {
    let (t, mut out) = Transport::memory("127.0.0.1:5060".parse().unwrap());
    let text = options("127.0.0.1:5060", "UDP", "", Some(0));
    let msg = SipMessage::try_from(text.as_str()).unwrap();
    let peer = Peer {
        protocol: Protocol::Udp,
        addr: "127.0.0.1:9".parse().unwrap(),
    };
    t.send(&msg, &peer).await.unwrap();
    assert_eq!(out.recv().await.unwrap().1, peer);
    drop(out);
    assert!(t.send(&msg, &peer).await.is_err());
}

#[tokio::test]
async fn udp_keepalive_ping_and_pong_are_swallowed() {
    let (t, mut rx) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // RFC 5626 ping and pong: neither goes up nor is answered 400.
    for keepalive in [&b"\r\n\r\n"[..], b"\r\n"] {
        sock.send_to(keepalive, t.local_addr()).await.unwrap();
    }
    let bad = options("127.0.0.1:1", "UDP", "abc", Some(50));
    sock.send_to(bad.as_bytes(), t.local_addr()).await.unwrap();
    let good = options("192.0.2.1:5060", "UDP", "", Some(0));
    sock.send_to(good.as_bytes(), t.local_addr()).await.unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        text.starts_with("SIP/2.0 400 Bad Request (Content-Length mismatch)\r\n"),
        "the first answer is not the one to the malformed request: {text}"
    );
    let inbound = recv(&mut rx).await;
    assert!(inbound.message.is_request(), "{:?}", inbound.message);
    assert!(rx.try_recv().is_err(), "a keep-alive went up");
}

#[test]
fn contact_names_the_public_address_learned_from_that_server() {
    let (t, _rx) = Transport::memory("203.0.113.10:5060".parse().unwrap());
    let registrar = Peer {
        protocol: Protocol::Udp,
        addr: "198.51.100.10:5060".parse().unwrap(),
    };
    let other = Peer {
        protocol: Protocol::Udp,
        addr: "198.51.100.11:5060".parse().unwrap(),
    };
    let local: SocketAddr = "203.0.113.10:5060".parse().unwrap();
    let public: SocketAddr = "198.51.100.1:5060".parse().unwrap();
    assert_eq!(t.contact_addr_for(&registrar), local);
    t.set_public_addr(&registrar, Some(public));
    assert_eq!(t.public_addr(&registrar), Some(public));
    assert_eq!(t.contact_addr_for(&registrar), public);
    // The same server seen through a dual-stack socket.
    let mapped = Peer {
        addr: "[::ffff:198.51.100.10]:5060".parse().unwrap(),
        ..registrar
    };
    assert_eq!(t.contact_addr_for(&mapped), public);
    // Another server, or TCP to it, has learned nothing.
    assert_eq!(t.contact_addr_for(&other), local);
    let tcp = Peer {
        protocol: Protocol::Tcp,
        ..registrar
    };
    assert_eq!(t.contact_addr_for(&tcp), local);
    // Via and SDP keep the local address.
    assert_eq!(t.local_addr_for(registrar.addr), local);
    t.set_public_addr(&registrar, None);
    assert_eq!(t.contact_addr_for(&registrar), local);
}
