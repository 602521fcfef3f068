//! Turns the bytes of one received message into a verdict: deliver it, answer
//! `400 Bad Request` or, for another SIP version, `505` (when start line,
//! Via, From, To, Call-ID and CSeq of a request can be read; the request
//! line itself is checked in `start_line.rs`), or drop it. Also applies RFC 3581 (`received`,
//! `rport`) to requests. Pure functions, no IO.

use super::Peer;
use crate::sip::headers::{self, HeaderList};
use crate::sip::msg::{self, Header, HeadersExt, Method, Request, SipMessage, StatusCode};
use std::net::IpAddr;

/// Largest message accepted (UDP datagram or framed TCP message).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Longest header line we take (real headers are far shorter; a longer one is
/// an attack or a broken peer): such a request gets 400.
pub const MAX_HEADER_LINE: usize = 8 * 1024;

/// What to do with one received message.
#[derive(Debug)]
pub enum Verdict {
    Deliver(SipMessage),
    /// Bytes of a 400 response to send back to the source.
    Reject(Vec<u8>),
    /// Dropped; the reason is logged.
    Drop(String),
}

/// Inspects one whole message. `framed` tells that the body length was
/// already checked by the TCP framer.
pub fn inspect(bytes: &[u8], peer: &Peer) -> Verdict {
    if bytes.len() > MAX_MESSAGE {
        return Verdict::Drop(format!("message of {} bytes is too large", bytes.len()));
    }
    let Some(sep) = find(bytes, b"\r\n\r\n") else {
        return Verdict::Drop("no end of headers (truncated?)".into());
    };
    let head = &bytes[..sep];
    let body = &bytes[sep + 4..];
    let head_text = match std::str::from_utf8(head) {
        Ok(text) => text.to_string(),
        Err(_) => {
            // Try to answer with what can be read; the message itself is bad.
            let lossy = String::from_utf8_lossy(head).into_owned();
            return reject_or_drop(&lossy, "invalid UTF-8 in headers", peer);
        }
    };
    if head_text
        .split("\r\n")
        .any(|line| line.len() > MAX_HEADER_LINE)
    {
        return reject_or_drop(&head_text, "header line too long", peer);
    }
    if let Err(refused) = super::start_line::check(&head_text) {
        return match refuse(&head_text, refused.code, refused.reason, peer) {
            Some(bytes) => Verdict::Reject(bytes),
            None => Verdict::Drop(format!("{}; too broken to answer", refused.reason)),
        };
    }
    let parsed = match msg::parser::parse_message(bytes) {
        Ok(message) => message,
        Err(e) => return Verdict::Drop(format!("unparsable: {e}")),
    };
    let content_length = match content_length(&head_text) {
        Ok(cl) => cl,
        Err(what) => return reject_or_drop(&head_text, what, peer),
    };
    // The parser takes `min(Content-Length, available)` bytes, or none when
    // the header is absent; decide ourselves.
    let body = match content_length {
        Some(cl) if cl > body.len() => {
            return reject_or_drop(&head_text, "Content-Length mismatch", peer);
        }
        Some(cl) => body[..cl].to_vec(),
        None if peer.protocol.is_reliable() => {
            return reject_or_drop(&head_text, "missing Content-Length", peer);
        }
        None => body.to_vec(),
    };
    match parsed {
        SipMessage::Response(mut response) => {
            if let Err(e) = check_common(&response) {
                return Verdict::Drop(format!("response: {e}"));
            }
            response.body = body;
            Verdict::Deliver(SipMessage::Response(response))
        }
        SipMessage::Request(mut request) => {
            if let Err(what) = check_common(&request) {
                return reject_or_drop(&head_text, what, peer);
            }
            match headers::cseq(&request) {
                Ok((_, method)) if method == request.method => {}
                _ => return reject_or_drop(&head_text, "CSeq method mismatch", peer),
            }
            request.body = body;
            if apply_rport(&mut request, peer).is_err() {
                return reject_or_drop(&head_text, "bad Via", peer);
            }
            Verdict::Deliver(SipMessage::Request(request))
        }
    }
}

fn check_common(message: &(impl HeadersExt + HeaderList)) -> Result<(), &'static str> {
    let via = headers::top_via(message).map_err(|_| "bad Via")?;
    if via.branch().is_none() {
        return Err("Via without branch");
    }
    message.from_header().map_err(|_| "missing From")?;
    message.to_header().map_err(|_| "missing To")?;
    headers::call_id(message).map_err(|_| "missing Call-ID")?;
    headers::cseq(message).map_err(|_| "bad CSeq")?;
    Ok(())
}

/// RFC 3581: `received` when the source IP differs from the Via host,
/// `rport=<source port>` when the Via asks for it.
pub fn apply_rport(request: &mut Request, peer: &Peer) -> crate::sip::Result<()> {
    let mut via = headers::top_via(request)?;
    let host_matches = match &via.sent_by().host {
        msg::Host::IpAddr(ip) => same_ip(*ip, peer.addr.ip()),
        msg::Host::Domain(_) => false,
    };
    let wants_rport = via.rport().is_some();
    if host_matches && !wants_rport {
        return Ok(());
    }
    if !host_matches {
        via = via.with_received(msg::param::Received::new(peer.addr.ip().to_string()));
    }
    if wants_rport {
        via = via.with_rport(Some(peer.addr.port()));
    }
    headers::set_top_via(request, &via)
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The Content-Length value(s) in a header block: `Ok(None)` when absent,
/// `Err` when malformed, duplicated with different values, or absurd.
pub fn content_length(head: &str) -> Result<Option<usize>, &'static str> {
    let mut found: Option<usize> = None;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value: usize = value.trim().parse().map_err(|_| "invalid Content-Length")?;
            if value > MAX_MESSAGE {
                return Err("Content-Length too large");
            }
            if found.is_some_and(|f| f != value) {
                return Err("conflicting Content-Length");
            }
            found = Some(value);
        }
    }
    Ok(found)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads just enough of a header block to answer 400; drops otherwise.
pub fn reject_or_drop(head: &str, what: &str, peer: &Peer) -> Verdict {
    match bad_request(head, what, peer) {
        Some(bytes) => Verdict::Reject(bytes),
        None => Verdict::Drop(format!("{what}; too broken to answer")),
    }
}

/// A `400 Bad Request (<what>)` for the request whose header block is
/// `head`, or `None` when it is a response, an ACK, or lacks a readable start
/// line, Via, From, To, Call-ID or CSeq.
fn bad_request(head: &str, what: &str, peer: &Peer) -> Option<Vec<u8>> {
    let start = head.split("\r\n").next()?;
    if start.split_whitespace().nth(2)? != "SIP/2.0" {
        return None;
    }
    refuse(head, 400, what, peer)
}

/// A `<code> <text> (<what>)` response (400, or 505 to another SIP
/// version: then sent as SIP/2.0, RFC 3261 §8.2.6) for the request whose
/// header block is `head`; `None` as for [`bad_request`].
fn refuse(head: &str, code: u16, what: &str, peer: &Peer) -> Option<Vec<u8>> {
    let mut lines = head.split("\r\n");
    let start = lines.next()?;
    let mut parts = start.split_whitespace();
    let method: Method = parts.next()?.parse().ok()?;
    let _uri = parts.next()?;
    let _version = parts.next()?;
    if method == Method::Ack {
        return None;
    }
    let mut request = Request {
        method,
        uri: msg::Uri::default(),
        version: msg::Version::V2,
        headers: msg::Headers::default(),
        body: Vec::new(),
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let header = msg::headers::make_header(name.trim(), value.trim().to_string());
        if matches!(
            header,
            Header::Via(_) | Header::From(_) | Header::To(_) | Header::CallId(_) | Header::CSeq(_)
        ) {
            request.headers.push(header);
        }
    }
    check_common(&request).ok()?;
    let _ = apply_rport(&mut request, peer);
    let status = StatusCode::from(code);
    let response = headers::response_to(&request, status.clone(), Some(&headers::new_tag()));
    let reason: String = what.chars().filter(|c| !c.is_control()).collect();
    let mut out = format!("SIP/2.0 {code} {} ({reason})\r\n", status.text()).into_bytes();
    out.extend_from_slice(response.headers.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transport::Protocol;

    fn udp() -> Peer {
        Peer {
            protocol: Protocol::Udp,
            addr: "127.0.0.1:4000".parse().unwrap(),
        }
    }

    fn options(extra: &str, body: &str) -> String {
        format!(
            "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK1;rport\r\n\
             From: <sip:alice@10.1.1.1>;tag=a\r\n\
             To: <sip:bob@127.0.0.1>\r\n\
             Call-ID: c1\r\n\
             CSeq: 1 OPTIONS\r\n{extra}\r\n{body}"
        )
    }

    fn reason(v: Verdict) -> String {
        match v {
            Verdict::Reject(bytes) => {
                let text = String::from_utf8(bytes).unwrap();
                text.lines().next().unwrap().to_string()
            }
            other => panic!("expected 400, got {other:?}"),
        }
    }

    #[test]
    fn good_request_gets_received_and_rport() {
        let raw = options("Content-Length: 4\r\n", "abcdEXTRA");
        let Verdict::Deliver(SipMessage::Request(r)) = inspect(raw.as_bytes(), &udp()) else {
            panic!("not delivered")
        };
        assert_eq!(r.body, b"abcd");
        let via = headers::top_via(&r).unwrap();
        assert_eq!(via.rport(), Some(Some(4000)));
        assert_eq!(via.received().unwrap().unwrap().to_string(), "127.0.0.1");
    }

    #[test]
    fn udp_without_content_length_takes_the_datagram() {
        let raw = options("", "hello");
        let Verdict::Deliver(SipMessage::Request(r)) = inspect(raw.as_bytes(), &udp()) else {
            panic!("not delivered")
        };
        assert_eq!(r.body, b"hello");
    }

    #[test]
    fn content_length_larger_than_body_is_400() {
        let raw = options("Content-Length: 100\r\n", "short");
        let line = reason(inspect(raw.as_bytes(), &udp()));
        assert_eq!(line, "SIP/2.0 400 Bad Request (Content-Length mismatch)");
    }

    #[test]
    fn another_sip_version_is_505_and_a_bracketed_uri_400() {
        let table: &[(&str, &str)] = &[
            (
                "OPTIONS sip:bob@127.0.0.1 SIP/3.0",
                "SIP/2.0 505 Version Not Supported (only SIP/2.0 is spoken)",
            ),
            (
                "OPTIONS sip:bob@127.0.0.1 SIP/1.0",
                "SIP/2.0 505 Version Not Supported (only SIP/2.0 is spoken)",
            ),
            (
                "OPTIONS <sip:bob@127.0.0.1> SIP/2.0",
                "SIP/2.0 400 Bad Request (Request-URI in angle brackets)",
            ),
        ];
        for (line, want) in table {
            let raw = options("Content-Length: 0\r\n", "").replacen(
                "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
                line,
                1,
            );
            let Verdict::Reject(bytes) = inspect(raw.as_bytes(), &udp()) else {
                panic!("{line}: not refused")
            };
            let resp = String::from_utf8(bytes).unwrap();
            assert!(resp.starts_with(&format!("{want}\r\n")), "{line}:\n{resp}");
            assert!(
                resp.contains("Call-ID: c1") && resp.contains("rport=4000"),
                "{resp}"
            );
        }
        // An ACK is never answered.
        let ack = options("Content-Length: 0\r\n", "")
            .replacen(
                "OPTIONS sip:bob@127.0.0.1 SIP/2.0",
                "ACK sip:bob@127.0.0.1 SIP/3.0",
                1,
            )
            .replacen("1 OPTIONS", "1 ACK", 1);
        assert!(matches!(inspect(ack.as_bytes(), &udp()), Verdict::Drop(_)));
    }

    #[test]
    fn bad_request_echoes_headers_with_rport() {
        let raw = options("Content-Length: x\r\n", "");
        let Verdict::Reject(bytes) = inspect(raw.as_bytes(), &udp()) else {
            panic!()
        };
        let resp = String::from_utf8(bytes).unwrap();
        assert!(resp.starts_with("SIP/2.0 400 Bad Request (invalid Content-Length)\r\n"));
        assert!(resp.contains("rport=4000"), "{resp}");
        assert!(resp.contains("Call-ID: c1"), "{resp}");
        assert!(resp.contains("CSeq: 1 OPTIONS"), "{resp}");
        assert!(resp.ends_with("\r\n\r\n"));
        // And it parses as a response.
        assert!(msg::Response::try_from(resp.as_str()).is_ok());
    }

    #[test]
    fn truncated_garbage_and_huge_are_dropped() {
        let raw = options("Content-Length: 0\r\n", "");
        let truncated = &raw.as_bytes()[..60];
        assert!(matches!(inspect(truncated, &udp()), Verdict::Drop(_)));
        assert!(matches!(
            inspect(b"\x00\x01garbage\xff\r\n\r\n", &udp()),
            Verdict::Drop(_)
        ));
        let huge = options(&format!("X-Big: {}\r\n", "a".repeat(70_000)), "");
        assert!(matches!(inspect(huge.as_bytes(), &udp()), Verdict::Drop(_)));
    }

    #[test]
    fn missing_via_or_bad_cseq_is_dropped() {
        let no_via = options("", "").replace(
            "Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK1;rport\r\n",
            "",
        );
        assert!(matches!(
            inspect(no_via.as_bytes(), &udp()),
            Verdict::Drop(_)
        ));
        let no_cseq = options("", "").replace("CSeq: 1 OPTIONS\r\n", "");
        assert!(matches!(
            inspect(no_cseq.as_bytes(), &udp()),
            Verdict::Drop(_)
        ));
        let bad_cseq = options("", "").replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
        assert!(matches!(
            inspect(bad_cseq.as_bytes(), &udp()),
            Verdict::Drop(_)
        ));
    }

    #[test]
    fn cseq_method_mismatch_is_400() {
        let raw = options("", "").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        assert_eq!(
            reason(inspect(raw.as_bytes(), &udp())),
            "SIP/2.0 400 Bad Request (CSeq method mismatch)"
        );
    }

    #[test]
    fn non_utf8_header_is_400_when_answerable() {
        let mut raw = options("X-Name: \r\n", "").into_bytes();
        // Put invalid UTF-8 into a header value before the blank line.
        let pos = raw.len() - 4;
        raw.splice(pos..pos, [0xff, 0xfe]);
        assert_eq!(
            reason(inspect(&raw, &udp())),
            "SIP/2.0 400 Bad Request (invalid UTF-8 in headers)"
        );
    }

    #[test]
    fn content_length_scan() {
        assert_eq!(content_length("X\r\nl: 5"), Ok(Some(5)));
        assert_eq!(
            content_length("X\r\nContent-Length: 5\r\ncontent-length:5"),
            Ok(Some(5))
        );
        assert!(content_length("X\r\nContent-Length: 5\r\nl: 6").is_err());
        assert!(content_length("X\r\nContent-Length: 99999999999").is_err());
        assert_eq!(content_length("X\r\nFoo: 1"), Ok(None));
    }

    #[test]
    fn bad_response_is_dropped() {
        let raw =
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(inspect(raw.as_bytes(), &udp()), Verdict::Drop(_)));
    }
}
