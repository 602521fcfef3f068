//! Raw SIP over UDP for probing peers: send bytes, collect what comes back,
//! build a well-formed OPTIONS.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A UDP socket on 127.0.0.1 (any port) for talking SIP by hand.
pub struct SipProbe {
    pub sock: UdpSocket,
}

impl SipProbe {
    pub fn new() -> SipProbe {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind probe socket");
        SipProbe { sock }
    }

    /// A probe that can reach `target`: on 127.0.0.1 for an IPv4 target,
    /// on ::1 for an IPv6 one (an IPv6-only host of a test bed).
    pub fn toward(target: std::net::IpAddr) -> SipProbe {
        if target.is_ipv4() {
            return SipProbe::new();
        }
        let sock = UdpSocket::bind("[::1]:0").expect("bind probe socket on ::1");
        SipProbe { sock }
    }

    pub fn local_port(&self) -> u16 {
        self.sock.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn send(&self, to: SocketAddr, data: &[u8]) {
        // A 70 KB datagram does not fit UDP: then the error is the expected outcome.
        let _ = self.sock.send_to(data, to);
    }

    /// Every datagram received within `window`, as lossy UTF-8.
    pub fn recv_all(&self, window: Duration) -> Vec<String> {
        let end = Instant::now() + window;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            let now = Instant::now();
            if now >= end {
                return out;
            }
            let _ = self.sock.set_read_timeout(Some(end - now));
            match self.sock.recv_from(&mut buf) {
                Ok((n, _)) => out.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(_) => return out,
            }
        }
    }

    /// Sends `data` and returns the first datagram that starts with "SIP/2.0"
    /// and is not a provisional (1xx) response, within `timeout`.
    pub fn request(&self, to: SocketAddr, data: &[u8], timeout: Duration) -> Option<String> {
        self.send(to, data);
        let end = Instant::now() + timeout;
        let mut buf = vec![0u8; 65536];
        loop {
            let now = Instant::now();
            if now >= end {
                return None;
            }
            let _ = self.sock.set_read_timeout(Some(end - now));
            let (n, _) = self.sock.recv_from(&mut buf).ok()?;
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with("SIP/2.0 ") && !text.starts_with("SIP/2.0 1") {
                return Some(text);
            }
        }
    }

    /// A well-formed OPTIONS to `to` (request URI `sip:<user>@<to>`).
    pub fn options(&self, to: SocketAddr, user: &str) -> String {
        let port = self.local_port();
        let n: u32 = rand_u32();
        format!(
            "OPTIONS sip:{user}@{to} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-probe-{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:probe@127.0.0.1:{port}>;tag=probe{n}\r\n\
             To: <sip:{user}@{to}>\r\n\
             Call-ID: probe-{n}@127.0.0.1\r\n\
             CSeq: 1 OPTIONS\r\n\
             Contact: <sip:probe@127.0.0.1:{port}>\r\n\
             Accept: application/sdp\r\n\
             Content-Length: 0\r\n\r\n"
        )
    }
}

impl Default for SipProbe {
    fn default() -> Self {
        Self::new()
    }
}

/// The status code of a response's first line.
pub fn status_code(response: &str) -> Option<u16> {
    response.split_whitespace().nth(1)?.parse().ok()
}

/// A header's value (case-insensitive name, first occurrence; compact forms not handled).
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n")
        .take_while(|l| !l.is_empty())
        .skip(1)
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

/// Cheap randomness without a dependency: a xorshift generator seeded from the
/// clock and the process id, shared by all threads.
pub fn rand_u32() -> u32 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut cur = STATE.load(Ordering::Relaxed);
    loop {
        let mut n = if cur == 0 {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            (t ^ ((std::process::id() as u64) << 32)) | 1
        } else {
            cur
        };
        n ^= n << 13;
        n ^= n >> 7;
        n ^= n << 17;
        match STATE.compare_exchange(cur, n, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return (n >> 32) as u32,
            Err(now) => cur = now,
        }
    }
}
