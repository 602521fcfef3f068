//! Header access on `rsipstack::sip` messages, the bottom of our SIP
//! vocabulary: look-up and replacement by name, the identifiers transactions
//! and dialogs match on (Call-ID, CSeq, From/To tags, the top Via and its
//! branch), header parameters and the parts of a name-addr, fresh
//! identifiers (branch, tag, Call-ID), and the bare response to a request
//! (RFC 3261 §8.2.6) that the transport and transaction layers send on
//! their own.
//!
//! Layering: this module sits below `transport`; it knows nothing about
//! transports, addresses or URIs (those are `uri`), and builds no request.
//! `transport`, `transaction` and `auth` use it directly; the layers above
//! (`dialog`, `registration`, `publication`, `subscription`, and `phone`)
//! reach the same functions through [`super::message`], which re-exports
//! them next to its builders. Each helper lives here once. No IO, no state.

use super::msg::typed;
use super::msg::ToTypedHeader;
use super::msg::{
    self, Header, Headers, HeadersExt, Method, Request, Response, SipMessage, StatusCode,
};
use super::{Result, SipError};
use rand::distr::{Alphanumeric, SampleString};

/// The RFC 3261 branch prefix ("magic cookie").
pub const BRANCH_MAGIC: &str = "z9hG4bK";

fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// A new Via branch: `z9hG4bK` followed by random characters.
pub fn new_branch() -> String {
    format!("{BRANCH_MAGIC}{}", random_token(16))
}

/// A new From/To tag.
pub fn new_tag() -> String {
    random_token(12)
}

/// A new Call-ID, `random@host`.
pub fn new_call_id(host: &str) -> String {
    format!("{}@{host}", random_token(20))
}

/// Anything whose headers the readers below take: a header list, a
/// request, a response or either of them.
pub trait HeaderList {
    /// The header list.
    fn header_list(&self) -> &Headers;
}

impl<T: HeaderList + ?Sized> HeaderList for &T {
    fn header_list(&self) -> &Headers {
        (**self).header_list()
    }
}

impl HeaderList for Headers {
    fn header_list(&self) -> &Headers {
        self
    }
}

impl HeaderList for Request {
    fn header_list(&self) -> &Headers {
        &self.headers
    }
}

impl HeaderList for Response {
    fn header_list(&self) -> &Headers {
        &self.headers
    }
}

impl HeaderList for SipMessage {
    fn header_list(&self) -> &Headers {
        match self {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        }
    }
}

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
    headers.push(msg::headers::make_header(name, value.into()));
}

/// Adds a header.
pub fn add_header(headers: &mut Headers, name: &str, value: impl Into<String>) {
    headers.push(msg::headers::make_header(name, value.into()));
}

/// Whether `h` is the header called `name` (case-insensitive).
pub fn is_header(h: &Header, name: &str) -> bool {
    h.name().eq_ignore_ascii_case(name)
}

/// The Call-ID value (trimmed; an empty one is an error).
pub fn call_id(message: &impl HeaderList) -> Result<String> {
    let value = require(message.header_list(), "Call-ID")?.trim();
    if value.is_empty() {
        return Err(SipError::Header("Call-ID"));
    }
    Ok(value.to_string())
}

/// CSeq number and method (`7 INVITE`; anything else is an error).
pub fn cseq(message: &impl HeaderList) -> Result<(u32, Method)> {
    let value = require(message.header_list(), "CSeq")?;
    let cseq = typed::CSeq::parse(value.trim()).map_err(|_| SipError::Header("CSeq"))?;
    Ok((cseq.seq, cseq.method))
}

/// The tag of the From header, if any.
pub fn from_tag(message: &impl HeaderList) -> Option<String> {
    header(message.header_list(), "From").and_then(tag)
}

/// The tag of the To header, if any.
pub fn to_tag(message: &impl HeaderList) -> Option<String> {
    header(message.header_list(), "To").and_then(tag)
}

/// The first Via value of a message, parsed.
pub fn top_via(message: &impl HeadersExt) -> Result<typed::Via> {
    let via = message
        .top_via_header()
        .map_err(|_| SipError::Header("Via"))?;
    via.typed().map_err(|_| SipError::Header("Via"))
}

/// The branch parameter of a parsed Via.
pub fn via_branch(via: &typed::Via) -> Option<String> {
    via.branch().map(|b| b.to_string())
}

/// Replaces the first Via value of a message with `via`.
pub fn set_top_via(message: &mut impl HeadersExt, via: &typed::Via) -> Result<()> {
    let text = via.to_string();
    message
        .via_header_mut()
        .map_err(|_| SipError::Header("Via"))?
        .update_first_value(|_| Ok(msg::Via::new(text)))
        .map_err(|_| SipError::Header("Via"))
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

/// A response to `request` (RFC 3261 §8.2.6): Via (all values), From, To,
/// Call-ID and CSeq copied, `Content-Length: 0`. With `to_tag`, a tag is
/// added to To when it has none. The user agent's responses add to this
/// ([`super::message::response`]).
pub fn response_to(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Response {
    let mut headers = msg::Headers::default();
    for header in request.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(header.clone())
            }
            Header::To(to) => {
                let mut to = to.clone();
                if let Some(tag) = to_tag {
                    let has_tag = to.typed().map(|t| t.tag().is_some()).unwrap_or(true);
                    if !has_tag {
                        to = msg::To::new(format!("{};tag={tag}", to.value().trim()));
                    }
                }
                headers.push(Header::To(to));
            }
            _ => {}
        }
    }
    headers.push(Header::ContentLength(msg::ContentLength::new("0")));
    Response {
        status_code: status,
        wire_reason: None,
        version: msg::Version::V2,
        headers,
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKold\r\n\
        From: <sip:alice@127.0.0.1>;tag=ft\r\n\
        To: <sip:bob@127.0.0.1>\r\n\
        Call-ID: cid@host\r\n\
        CSeq: 7 INVITE\r\n\
        Max-Forwards: 70\r\n\
        Content-Length: 0\r\n\r\n";

    fn invite() -> Request {
        Request::try_from(INVITE).unwrap()
    }

    #[test]
    fn identifiers_are_fresh_and_well_formed() {
        let a = new_branch();
        assert!(a.starts_with("z9hG4bK") && a.len() > 12);
        assert_ne!(a, new_branch());
        assert_ne!(new_tag(), new_tag());
        assert!(new_call_id("h.example").ends_with("@h.example"));
    }

    #[test]
    fn reads_top_via_cseq_and_tags() {
        let r = invite();
        let via = top_via(&r).unwrap();
        assert_eq!(via_branch(&via).as_deref(), Some("z9hG4bKabc"));
        assert_eq!(cseq(&r).unwrap(), (7, Method::Invite));
        assert_eq!(cseq(&r.headers).unwrap(), (7, Method::Invite));
        assert_eq!(call_id(&r).unwrap(), "cid@host");
        assert_eq!(call_id(&r.headers).unwrap(), "cid@host");
        assert_eq!(from_tag(&r).as_deref(), Some("ft"));
        assert_eq!(to_tag(&r), None);
    }

    #[test]
    fn rejects_empty_call_id_and_malformed_cseq() {
        let mut h = Headers::default();
        add_header(&mut h, "Call-ID", " ");
        assert!(call_id(&h).is_err());
        for bad in ["7", "x INVITE", "7 INVITE junk", "7 FROB"] {
            set_header(&mut h, "CSeq", bad);
            assert!(cseq(&h).is_err(), "{bad}");
        }
        set_header(&mut h, "CSeq", " 8  bye ");
        assert_eq!(cseq(&h).unwrap(), (8, Method::Bye));
    }

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
    fn response_copies_dialog_headers_and_adds_to_tag() {
        let resp = response_to(&invite(), StatusCode::Ringing, Some("tt"));
        assert_eq!(to_tag(&resp).as_deref(), Some("tt"));
        assert_eq!(from_tag(&resp).as_deref(), Some("ft"));
        assert_eq!(
            via_branch(&top_via(&resp).unwrap()).as_deref(),
            Some("z9hG4bKabc")
        );
        let text = resp.to_string();
        assert!(text.contains("z9hG4bKold"), "{text}");
        assert!(!text.contains("Max-Forwards"));
    }

    #[test]
    fn set_top_via_keeps_the_other_values() {
        let mut r = invite();
        let via = top_via(&r).unwrap().with_rport(Some(4000));
        set_top_via(&mut r, &via).unwrap();
        let text = r.to_string();
        assert!(text.contains("rport=4000"), "{text}");
        assert!(text.contains("z9hG4bKold"), "{text}");
    }
}
