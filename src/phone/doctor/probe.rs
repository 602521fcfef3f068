//! One OPTIONS to a registrar, over UDP (retransmitted) or TCP, and
//! whether anything SIP answered: the status line, or why not. Used by
//! `termphone doctor` only; it keeps no state and must not be used for
//! calls or registrations (those go through the transaction layer).

use crate::config::Account;
use crate::sip::message::{self as m, OutOfDialog};
use crate::sip::msg::Method;
use crate::sip::transport::{Peer, Protocol};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// Why there is no answer to show.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The transport is not probed (TLS): resolved only.
    #[error("{0}")]
    NotProbed(String),
    /// Connection refused, or ICMP port unreachable.
    #[error("refused")]
    Refused,
    /// Nothing within the time.
    #[error("no answer")]
    Silent,
    #[error("{0}")]
    Io(std::io::Error),
}

fn io(e: std::io::Error) -> ProbeError {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        ProbeError::Refused
    } else {
        ProbeError::Io(e)
    }
}

/// The OPTIONS request text, naming `local` in its Via.
fn request(
    account: &Account,
    uri: &str,
    local: SocketAddr,
    protocol: Protocol,
) -> Result<(String, String), ProbeError> {
    let aor = format!("sip:{}@{}", account.user, account.domain);
    let tag = m::new_tag();
    let call_id = m::new_call_id();
    let ids = OutOfDialog {
        uri,
        from: &aor,
        from_tag: &tag,
        to: &aor,
        call_id: &call_id,
        cseq: 1,
    };
    let req = m::out_of_dialog(Method::Options, ids, local, protocol)
        .map_err(|e| ProbeError::NotProbed(format!("OPTIONS not built: {e}")))?;
    let mut text = req.to_string();
    if !text.to_ascii_lowercase().contains("\r\ncontent-length:") {
        // The head ends with an empty line; no body.
        text = text.trim_end_matches("\r\n").to_string() + "\r\nContent-Length: 0\r\n\r\n";
    }
    Ok((text, call_id))
}

/// The status line of a response to our request (`200 OK`), if `data` is one.
pub fn status_of(data: &[u8], call_id: &str) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let first = text.lines().next()?;
    let status = first.strip_prefix("SIP/2.0 ")?;
    let ours = text.lines().any(|l| {
        l.split_once(':').is_some_and(|(name, value)| {
            let name = name.trim();
            (name.eq_ignore_ascii_case("call-id") || name == "i") && value.trim() == call_id
        })
    });
    ours.then(|| status.trim().to_string())
}

/// Sends one OPTIONS to `peer` and waits up to `wait` for its answer.
pub async fn options(
    account: &Account,
    uri: &str,
    peer: Peer,
    wait: Duration,
) -> Result<String, ProbeError> {
    match peer.protocol {
        Protocol::Udp => udp(account, uri, peer.addr, wait).await,
        Protocol::Tcp => tcp(account, uri, peer.addr, wait).await,
        other => Err(ProbeError::NotProbed(format!(
            "OPTIONS over {} is not probed here",
            other.as_str()
        ))),
    }
}

async fn udp(
    account: &Account,
    uri: &str,
    to: SocketAddr,
    wait: Duration,
) -> Result<String, ProbeError> {
    let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
    socket.connect(to).await.map_err(io)?;
    let local = socket.local_addr().map_err(io)?;
    let (text, call_id) = request(account, uri, local, Protocol::Udp)?;
    let end = Instant::now() + wait;
    let mut resend = Duration::from_millis(500);
    let mut buf = vec![0u8; 65_535];
    loop {
        socket.send(text.as_bytes()).await.map_err(io)?;
        let next = (Instant::now() + resend).min(end);
        loop {
            match timeout_at(next, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(n)) => {
                    if let Some(status) = buf.get(..n).and_then(|d| status_of(d, &call_id)) {
                        return Ok(status);
                    }
                }
            }
        }
        if Instant::now() >= end {
            return Err(ProbeError::Silent);
        }
        resend *= 2;
    }
}

async fn tcp(
    account: &Account,
    uri: &str,
    to: SocketAddr,
    wait: Duration,
) -> Result<String, ProbeError> {
    let end = Instant::now() + wait;
    let mut stream = match timeout_at(end, tokio::net::TcpStream::connect(to)).await {
        Err(_) => return Err(ProbeError::Silent),
        Ok(r) => r.map_err(io)?,
    };
    let local = stream.local_addr().map_err(io)?;
    let (text, call_id) = request(account, uri, local, Protocol::Tcp)?;
    stream.write_all(text.as_bytes()).await.map_err(io)?;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match timeout_at(end, stream.read(&mut buf)).await {
            Err(_) => return Err(ProbeError::Silent),
            Ok(Err(e)) => return Err(io(e)),
            Ok(Ok(0)) => return Err(ProbeError::Silent),
            Ok(Ok(n)) => {
                got.extend_from_slice(buf.get(..n).unwrap_or_default());
                // Answers on a stream are whole once their head is.
                if let Some(head_end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    if let Some(status) = status_of(&got[..head_end + 4], &call_id) {
                        return Ok(status);
                    }
                    got.drain(..head_end + 4);
                }
            }
        }
    }
}
