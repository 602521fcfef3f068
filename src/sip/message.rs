//! Builders of the messages our user agent sends, over the header access in
//! [`super::headers`]: requests (with the headers every out-of-dialog
//! request carries), responses (the bare §8.2.6 response plus Record-Route
//! and Server), bodies, status text, and log redaction.
//!
//! This is the one SIP vocabulary of the layers above `transport`
//! (`dialog`, `registration`, `publication`, `subscription`, and `phone`,
//! which imports it as `m`): it re-exports the header readers of
//! [`super::headers`], the URI helpers of [`super::uri`] and the Via value
//! of [`super::transport`], so each helper has one home and one name. Pure,
//! no IO except the DNS look-up in [`resolve`].

use super::msg::{Headers, Method, Request, Response, StatusCode, Version};
use super::transport::Protocol;
use super::Result;
use std::net::SocketAddr;

pub use super::headers::{
    add_header, call_id, cseq, display_name, from_tag, header, headers_all, is_header, new_branch,
    new_tag, param, require, set_header, tag, to_tag, uri_of,
};
pub use super::transport::via;
pub use super::uri::{host_port, parse_uri, resolve, uri_protocol, user as uri_user};

/// The host part of the Call-IDs we make.
const CALL_ID_HOST: &str = "termphone";

/// A new Call-ID of ours, `random@termphone` ([`super::headers::new_call_id`]).
pub fn new_call_id() -> String {
    super::headers::new_call_id(CALL_ID_HOST)
}

/// Builds a response to `req` on top of [`super::headers::response_to`]:
/// also copies Record-Route into 1xx/2xx (they make the dialog's route set)
/// and adds our Server header.
pub fn response(req: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut resp = super::headers::response_to(req, StatusCode::from(code), to_tag);
    if (101..300).contains(&code) {
        for rr in headers_all(&req.headers, "Record-Route") {
            add_header(&mut resp.headers, "Record-Route", rr);
        }
    }
    add_header(&mut resp.headers, "Server", crate::sip::USER_AGENT);
    resp
}

/// Sets the body and its Content-Type / Content-Length.
pub fn set_body(
    headers: &mut Headers,
    body: &mut Vec<u8>,
    content_type: Option<&str>,
    content: Vec<u8>,
) {
    if let Some(ct) = content_type {
        set_header(headers, "Content-Type", ct);
    }
    set_header(headers, "Content-Length", content.len().to_string());
    *body = content;
}

/// Creates a request with the usual headers; the caller adds the rest.
pub fn request(method: Method, uri: &str) -> Result<Request> {
    let uri = parse_uri(uri)?;
    Ok(Request {
        method,
        uri,
        version: Version::V2,
        headers: Headers::default(),
        body: Vec::new(),
    })
}

/// The parts of a request outside any dialog that identify it.
#[derive(Debug, Clone, Copy)]
pub struct OutOfDialog<'a> {
    /// Request-URI.
    pub uri: &'a str,
    /// Our address of record (From).
    pub from: &'a str,
    pub from_tag: &'a str,
    /// To (the AOR for REGISTER/PUBLISH, the target for SUBSCRIBE).
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
}

/// A request outside any dialog with the headers every such request carries:
/// Via (a new branch) from `via_local` over `protocol`, Max-Forwards, From
/// with its tag, To, Call-ID, CSeq and User-Agent. The caller adds the rest.
pub fn out_of_dialog(
    method: Method,
    ids: OutOfDialog<'_>,
    via_local: SocketAddr,
    protocol: Protocol,
) -> Result<Request> {
    let mut req = request(method, ids.uri)?;
    let h = &mut req.headers;
    add_header(h, "Via", via(via_local, protocol, &new_branch()));
    add_header(h, "Max-Forwards", "70");
    add_header(h, "From", format!("<{}>;tag={}", ids.from, ids.from_tag));
    add_header(h, "To", format!("<{}>", ids.to));
    add_header(h, "Call-ID", ids.call_id);
    add_header(h, "CSeq", format!("{} {method}", ids.cseq));
    add_header(h, "User-Agent", crate::sip::USER_AGENT);
    Ok(req)
}

/// The status code as a number.
pub fn code(resp: &Response) -> u16 {
    resp.status_code.code()
}

/// "486 Busy Here" (the reason on the wire when present).
pub fn status_text(resp: &Response) -> String {
    let code = code(resp);
    match resp.reason_phrase() {
        Some(r) if !r.is_empty() => format!("{code} {r}"),
        _ => resp.status_code.to_string(),
    }
}

/// A message with credentials (Authorization, SDP `a=crypto` keys)
/// removed, for logs and the SIP trace.
pub fn redact(text: &str) -> String {
    text.lines()
        .map(|l| {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("authorization:") || lower.starts_with("proxy-authorization:") {
                let name = l.split(':').next().unwrap_or("");
                format!("{name}: <redacted>")
            } else {
                // SDES keys of an SDP body (RFC 4568).
                super::sdp_crypto::redact_line(l).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc\r\n\
        Record-Route: <sip:proxy.test;lr>\r\n\
        From: <sip:alice@127.0.0.1>;tag=ft\r\n\
        To: <sip:bob@127.0.0.1>\r\n\
        Call-ID: cid@host\r\n\
        CSeq: 7 INVITE\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn responses_carry_record_route_only_in_1xx_2xx_and_our_server() {
        let req = Request::try_from(INVITE).unwrap();
        let ok = response(&req, 200, Some("tt"));
        assert_eq!(
            header(&ok.headers, "Record-Route"),
            Some("<sip:proxy.test;lr>")
        );
        assert_eq!(header(&ok.headers, "Server"), Some(crate::sip::USER_AGENT));
        assert_eq!(to_tag(&ok).as_deref(), Some("tt"));
        assert_eq!(status_text(&ok), "200 OK");
        let busy = response(&req, 486, None);
        assert_eq!(header(&busy.headers, "Record-Route"), None);
        assert_eq!(code(&busy), 486);
    }

    #[test]
    fn out_of_dialog_requests_carry_the_common_headers() {
        let ids = OutOfDialog {
            uri: "sip:test.local",
            from: "sip:1001@test.local",
            from_tag: "ft",
            to: "sip:1001@test.local",
            call_id: "c1@termphone",
            cseq: 3,
        };
        let local: SocketAddr = "127.0.0.1:5062".parse().unwrap();
        let req = out_of_dialog(Method::Register, ids, local, Protocol::Tcp).unwrap();
        let via = header(&req.headers, "Via").unwrap();
        assert!(
            via.starts_with("SIP/2.0/TCP 127.0.0.1:5062;rport;branch=z9hG4bK"),
            "{via}"
        );
        assert_eq!(cseq(&req).unwrap(), (3, Method::Register));
        assert_eq!(from_tag(&req).as_deref(), Some("ft"));
        assert_eq!(call_id(&req).unwrap(), "c1@termphone");
        assert!(new_call_id().ends_with("@termphone"));
    }

    #[test]
    fn redaction() {
        let r = redact("REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"a\", response=\"s3cret\"\r\n");
        assert!(!r.contains("s3cret"));
        assert!(r.contains("Authorization: <redacted>"));
        let r = redact("INVITE sip:x SIP/2.0\r\n\r\nv=0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\r\n");
        assert!(!r.contains("c2VjcmV0"), "{r}");
        assert!(r.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>"));
    }
}
