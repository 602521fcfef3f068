//! Small helpers over `rsipstack::sip` messages: header look-up by name,
//! tags and URIs out of name-addr values, responses built from requests, and
//! the next hop (a [`Peer`]) for a SIP URI. Pure, no IO except DNS look-up in
//! [`resolve`].

use super::headers;
use super::msg::{Header, Headers, Method, Request, Response, StatusCode, Uri, Version};
use super::transport::{Peer, Protocol};
use super::{Result, SipError};
use std::net::{IpAddr, SocketAddr};

/// The first header called `name` (case-insensitive), as its raw value.
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
}

/// Every header called `name`, in order (comma lists are not split).
pub fn headers_all<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
        .collect()
}

/// Required header or a clear error.
pub fn require<'a>(headers: &'a Headers, name: &'static str) -> Result<&'a str> {
    header(headers, name).ok_or(SipError::Header(name))
}

/// Replaces (or adds) the header `name`.
pub fn set_header(headers: &mut Headers, name: &str, value: impl Into<String>) {
    headers.retain(|h| !h.name().eq_ignore_ascii_case(name));
    headers.push(super::msg::headers::make_header(name, value.into()));
}

/// Adds a header.
pub fn add_header(headers: &mut Headers, name: &str, value: impl Into<String>) {
    headers.push(super::msg::headers::make_header(name, value.into()));
}

/// The `Call-ID`.
pub fn call_id(headers: &Headers) -> Result<String> {
    Ok(require(headers, "Call-ID")?.trim().to_string())
}

/// `CSeq` number and method.
pub fn cseq(headers: &Headers) -> Result<(u32, Method)> {
    let v = require(headers, "CSeq")?;
    let mut it = v.split_whitespace();
    let n = it
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or(SipError::Header("CSeq"))?;
    let m = it
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or(SipError::Header("CSeq"))?;
    Ok((n, m))
}

/// A header parameter (`;name=value`) outside the `<...>` part of a name-addr.
pub fn param(value: &str, name: &str) -> Option<String> {
    let rest = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value.split_once(';').map(|(_, r)| r).unwrap_or(""),
    };
    rest.split(';').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The tag of a From/To value.
pub fn tag(value: &str) -> Option<String> {
    param(value, "tag").filter(|t| !t.is_empty())
}

/// The URI of a name-addr or addr-spec (`"Bob" <sip:b@h>;tag=x` → `sip:b@h`).
pub fn uri_of(value: &str) -> String {
    if let (Some(a), Some(b)) = (value.find('<'), value.find('>')) {
        if a < b {
            return value[a + 1..b].trim().to_string();
        }
    }
    value.split(';').next().unwrap_or(value).trim().to_string()
}

/// The display name of a name-addr, if any.
pub fn display_name(value: &str) -> Option<String> {
    let a = value.find('<')?;
    let name = value[..a].trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Builds a response to `req` on top of [`headers::response_to`]: also
/// copies Record-Route into 1xx/2xx (they make the dialog's route set) and
/// adds our Server header.
pub fn response(req: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let mut resp = headers::response_to(req, StatusCode::from(code), to_tag);
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

/// Parses a SIP URI with a clear error.
pub fn parse_uri(uri: &str) -> Result<Uri> {
    Uri::try_from(uri).map_err(|e| SipError::Parse(format!("bad SIP URI `{uri}`: {e}")))
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

/// The transport a URI asks for (`;transport=tcp`), UDP by default.
pub fn uri_protocol(uri: &str) -> Protocol {
    let lower = uri.to_ascii_lowercase();
    if lower.contains(";transport=tcp") || lower.starts_with("sips:") {
        Protocol::Tcp
    } else {
        Protocol::Udp
    }
}

/// host and port of a SIP URI string (`sip:user@host:port;params`).
pub fn host_port(uri: &str) -> Result<(String, Option<u16>)> {
    let bad = || SipError::Parse(format!("bad SIP URI `{uri}`"));
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .or_else(|| uri.strip_prefix("SIP:"))
        .ok_or_else(bad)?;
    let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let hostport = rest.split([';', '?']).next().ok_or_else(bad)?;
    if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None => None,
        };
        return Ok((host.to_string(), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), Some(p.parse().map_err(|_| bad())?))),
        None if hostport.is_empty() => Err(bad()),
        None => Ok((hostport.to_string(), None)),
    }
}

/// Resolves a SIP URI to the next hop (A/AAAA look-up, default port 5060).
pub async fn resolve(uri: &str) -> Result<Peer> {
    let protocol = uri_protocol(uri);
    let (host, port) = host_port(uri)?;
    let port = port.unwrap_or(5060);
    let addr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| SipError::Parse(format!("cannot resolve `{host}`: {e}")))?
            .next()
            .ok_or_else(|| SipError::Parse(format!("cannot resolve `{host}`")))?,
    };
    Ok(Peer { protocol, addr })
}

/// A header line with credentials removed, for logs.
pub fn redact(text: &str) -> String {
    text.lines()
        .map(|l| {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("authorization:") || lower.starts_with("proxy-authorization:") {
                let name = l.split(':').next().unwrap_or("");
                format!("{name}: <redacted>")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

pub use super::headers::{new_branch, new_tag};

/// A new Call-ID.
pub fn new_call_id() -> String {
    headers::new_call_id("termphone")
}

/// A top Via value for a request we send from `local` over `protocol`.
pub fn via(local: SocketAddr, protocol: Protocol, branch: &str) -> String {
    let proto = match protocol {
        Protocol::Udp => "UDP",
        Protocol::Tcp => "TCP",
    };
    format!("SIP/2.0/{proto} {local};rport;branch={branch}")
}

/// Whether the header list is the `Header` enum's `Other` for `name`.
pub fn is_header(h: &Header, name: &str) -> bool {
    h.name().eq_ignore_ascii_case(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_parts() {
        let v = "\"Bob Smith\" <sip:bob@example.com;transport=tcp>;tag=a6c85cf";
        assert_eq!(tag(v).as_deref(), Some("a6c85cf"));
        assert_eq!(uri_of(v), "sip:bob@example.com;transport=tcp");
        assert_eq!(display_name(v).as_deref(), Some("Bob Smith"));
        assert_eq!(tag("sip:a@b;tag=1"), Some("1".into()));
        assert_eq!(uri_of("sip:a@b;tag=1"), "sip:a@b");
        assert_eq!(tag("<sip:a@b;tag=inside>"), None);
    }

    #[test]
    fn host_ports() {
        assert_eq!(
            host_port("sip:1002@127.0.0.1:5070").unwrap(),
            ("127.0.0.1".into(), Some(5070))
        );
        assert_eq!(
            host_port("sip:[::1]:5070;transport=tcp").unwrap(),
            ("::1".into(), Some(5070))
        );
        assert_eq!(
            host_port("sip:test.local").unwrap(),
            ("test.local".into(), None)
        );
        assert!(host_port("mailto:x").is_err());
        assert!(host_port("sip:h:99999").is_err());
        assert_eq!(uri_protocol("sip:h;transport=TCP"), Protocol::Tcp);
    }

    #[test]
    fn redaction() {
        let r = redact("REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"a\", response=\"s3cret\"\r\n");
        assert!(!r.contains("s3cret"));
        assert!(r.contains("Authorization: <redacted>"));
    }
}
