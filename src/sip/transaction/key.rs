//! Transaction matching keys (RFC 3261 §17.1.3 and §17.2.3) and the key
//! that matches an ACK for a 2xx to its INVITE server transaction.

use crate::sip::headers::{self, HeaderList};
use crate::sip::msg::{HeadersExt, Method, Request, Response};
use crate::sip::{Result, SipError};

/// Client side: top Via branch + CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: Method,
}

/// Server side: top Via branch + sent-by + method (ACK counts as INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: String,
    pub sent_by: String,
    pub method: Method,
}

/// An ACK for a 2xx carries a new branch: it is matched by Call-ID, the
/// INVITE's CSeq number and the From tag (the To tag is checked by the
/// transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AckKey {
    pub call_id: String,
    pub cseq: u32,
    pub from_tag: String,
}

fn branch(message: &impl HeadersExt) -> Result<(String, String)> {
    let via = headers::top_via(message)?;
    let branch = headers::via_branch(&via).ok_or(SipError::Header("Via"))?;
    let sent_by = via.sent_by().to_string().to_ascii_lowercase();
    Ok((branch, sent_by))
}

impl ClientKey {
    pub fn of_request(request: &Request) -> Result<Self> {
        let (branch, _) = branch(request)?;
        Ok(ClientKey {
            branch,
            method: request.method,
        })
    }

    pub fn of_response(response: &Response) -> Result<Self> {
        let (branch, _) = branch(response)?;
        Ok(ClientKey {
            branch,
            method: headers::cseq(response)?.1,
        })
    }
}

impl ServerKey {
    /// The key of the transaction `request` belongs to; `as_method` overrides
    /// the method (ACK and CANCEL look up the INVITE).
    pub fn of_request(request: &Request, as_method: Option<Method>) -> Result<Self> {
        let (branch, sent_by) = branch(request)?;
        let method = match (as_method, request.method) {
            (Some(m), _) => m,
            (None, Method::Ack) => Method::Invite,
            (None, m) => m,
        };
        Ok(ServerKey {
            branch,
            sent_by,
            method,
        })
    }
}

impl AckKey {
    pub fn of(message: &impl HeaderList) -> Result<Self> {
        Ok(AckKey {
            call_id: headers::call_id(message)?,
            cseq: headers::cseq(message)?.0,
            from_tag: headers::from_tag(message).unwrap_or_default(),
        })
    }
}
