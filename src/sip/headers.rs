//! Small helpers over `rsipstack::sip` headers shared by the transport,
//! transaction and auth layers: fresh identifiers (branch, tag, Call-ID),
//! reading the top Via / CSeq / tags, and building a response to a request.
//! No IO and no state.

use super::msg::typed;
use super::msg::ToTypedHeader;
use super::msg::{self, Header, HeadersExt, Request, Response, StatusCode};
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

/// The CSeq header, parsed.
pub fn cseq(message: &impl HeadersExt) -> Result<typed::CSeq> {
    let cseq = message
        .cseq_header()
        .map_err(|_| SipError::Header("CSeq"))?;
    cseq.typed().map_err(|_| SipError::Header("CSeq"))
}

/// The Call-ID value.
pub fn call_id(message: &impl HeadersExt) -> Result<String> {
    let value = message
        .call_id_header()
        .map_err(|_| SipError::Header("Call-ID"))?
        .value()
        .trim()
        .to_string();
    if value.is_empty() {
        return Err(SipError::Header("Call-ID"));
    }
    Ok(value)
}

/// The tag of the From header, if any.
pub fn from_tag(message: &impl HeadersExt) -> Option<String> {
    let from = message.from_header().ok()?.typed().ok()?;
    from.tag().map(|t| t.to_string())
}

/// The tag of the To header, if any.
pub fn to_tag(message: &impl HeadersExt) -> Option<String> {
    let to = message.to_header().ok()?.typed().ok()?;
    to.tag().map(|t| t.to_string())
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

/// A response to `request` (RFC 3261 §8.2.6): Via (all values), From, To,
/// Call-ID and CSeq copied, `Content-Length: 0`. With `to_tag`, a tag is
/// added to To when it has none.
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
#[allow(clippy::unwrap_used)]
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
        assert_eq!(cseq(&r).unwrap().seq, 7);
        assert_eq!(call_id(&r).unwrap(), "cid@host");
        assert_eq!(from_tag(&r).as_deref(), Some("ft"));
        assert_eq!(to_tag(&r), None);
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
