//! Socket-level tests of the TCP connection limits ([`super::limits`]):
//! a flood of idle connections is refused beyond the caps, and silent or
//! half-sent connections are closed, while a well-behaved peer is served.

use super::*;
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

const OPTIONS: &str = "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
    Via: SIP/2.0/TCP 127.0.0.2:5999;branch=z9hG4bKlim\r\n\
    From: <sip:alice@127.0.0.1>;tag=a\r\n\
    To: <sip:bob@127.0.0.1>\r\n\
    Call-ID: limits-test\r\n\
    CSeq: 1 OPTIONS\r\n\
    Content-Length: 0\r\n\r\n";

/// Whether the far end has closed `stream` (EOF or reset), without waiting.
fn closed(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.try_read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Polls until `stream` is closed by the far end; false at the deadline.
async fn closed_within(stream: &TcpStream, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if closed(stream) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn connect_from(ip: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(ip.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    socket.connect(to).await.unwrap()
}

fn limits(idle_ms: u64, read_ms: u64) -> ConnLimits {
    ConnLimits {
        max_total: 16,
        max_per_source: 8,
        idle_timeout: Duration::from_millis(idle_ms),
        read_timeout: Duration::from_millis(read_ms),
    }
}

#[tokio::test]
async fn idle_connections_beyond_the_caps_are_closed_and_others_still_served() {
    let (t, mut rx) =
        Transport::bind_with("127.0.0.1:0".parse().unwrap(), limits(60_000, 60_000), None)
            .await
            .unwrap();
    let addr = t.local_addr();
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(TcpStream::connect(addr).await.unwrap());
    }
    // All but `max_per_source` of one address's connections are closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut open = flood.len();
    while Instant::now() < deadline {
        open = flood.iter().filter(|s| !closed(s)).count();
        if open == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 8, "connections left open from one address");

    // Another address still gets in (up to the total) and is served.
    let mut others = Vec::new();
    for _ in 0..8 {
        others.push(connect_from("127.0.0.2", addr).await);
    }
    others[0].write_all(OPTIONS.as_bytes()).await.unwrap();
    let inbound = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a request on an admitted connection went up")
        .unwrap();
    assert_eq!(inbound.peer.protocol, Protocol::Tcp);
    // The total is reached: a third address is refused.
    let third = connect_from("127.0.0.3", addr).await;
    assert!(
        closed_within(&third, 5).await,
        "a 17th connection stayed open"
    );

    // Closing connections frees their places.
    drop(flood);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = connect_from("127.0.0.3", addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !closed(&s) {
            break;
        }
        assert!(Instant::now() < deadline, "places were not freed");
    }
}

#[tokio::test]
async fn a_silent_or_half_sent_connection_is_closed_a_talking_one_is_not() {
    let (t, _rx) = Transport::bind_with("127.0.0.1:0".parse().unwrap(), limits(1_000, 1_000), None)
        .await
        .unwrap();
    let addr = t.local_addr();
    let silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(&OPTIONS.as_bytes()[..60]).await.unwrap();
    let mut talking = TcpStream::connect(addr).await.unwrap();

    // The talking one sends a keep-alive every 200 ms for 2.5 s and gets
    // every answer: it outlives the idle timeout by far.
    for _ in 0..12 {
        talking.write_all(b"\r\n\r\n").await.unwrap();
        let mut pong = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(2), talking.read_exact(&mut pong))
            .await
            .expect("a keep-alive went unanswered")
            .expect("the talking connection was closed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        closed_within(&silent, 5).await,
        "a silent connection stayed open"
    );
    assert!(
        closed_within(&half, 5).await,
        "half a message kept its connection open"
    );
    assert!(!closed(&talking));
}

#[tokio::test]
async fn a_message_dribbled_in_slower_than_the_read_timeout_closes_the_connection() {
    let (t, mut rx) =
        Transport::bind_with("127.0.0.1:0".parse().unwrap(), limits(60_000, 1_000), None)
            .await
            .unwrap();
    let mut slow = TcpStream::connect(t.local_addr()).await.unwrap();
    // One byte every 100 ms: never idle, but the message takes far longer
    // than the read timeout.
    for byte in OPTIONS.as_bytes().iter().take(40) {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        closed_within(&slow, 5).await,
        "a dribbling sender kept its connection"
    );
    assert!(rx.try_recv().is_err());
}
