//! A SIP dialog (RFC 3261 §12) as plain data: Call-ID, tags, local and
//! remote URIs, remote target (Contact), route set (Record-Route), CSeq
//! rules; builds in-dialog requests and the ACK for a 2xx. No IO: the call
//! actor that owns it sends what it builds.

use super::message::{self as m, add_header, header, headers_all, set_body};
use super::msg::{Method, Request, Response};
use super::transport::Peer;
use super::{Result, SipError};

/// Which side created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Uac,
    Uas,
}

/// Dialog state shared by both roles.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub role: Role,
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our From (UAC) / To (UAS) value without tag, as a name-addr.
    pub local_party: String,
    /// The peer's From/To value without tag.
    pub remote_party: String,
    /// Where in-dialog requests go (the peer's Contact URI).
    pub remote_target: String,
    /// Route set, in the order requests carry it.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
    /// Our Contact header value.
    pub local_contact: String,
}

fn strip_tag(value: &str) -> String {
    // Remove ;tag=... outside the angle brackets.
    match value.rfind('>') {
        Some(i) => {
            let (head, rest) = value.split_at(i + 1);
            let kept: Vec<&str> = rest
                .split(';')
                .filter(|p| {
                    !p.trim().is_empty() && !p.trim().to_ascii_lowercase().starts_with("tag=")
                })
                .collect();
            if kept.is_empty() {
                head.to_string()
            } else {
                format!("{head};{}", kept.join(";"))
            }
        }
        None => value.split(";tag=").next().unwrap_or(value).to_string(),
    }
}

fn split_routes(values: Vec<&str>) -> Vec<String> {
    // Record-Route values may be comma lists of name-addrs.
    let mut out = Vec::new();
    for v in values {
        let mut depth = 0i32;
        let mut start = 0;
        for (i, c) in v.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(v[start..i].trim().to_string());
                    start = i + 1;
                }
                _ => {}
            }
        }
        let last = v[start..].trim();
        if !last.is_empty() {
            out.push(last.to_string());
        }
    }
    out
}

impl Dialog {
    /// The dialog a UAC gets from a response with a To tag to its INVITE.
    pub fn from_uac(invite: &Request, resp: &Response) -> Result<Dialog> {
        let to = m::require(&resp.headers, "To")?;
        let remote_tag = m::tag(to).ok_or(SipError::Header("To tag"))?;
        let from = m::require(&invite.headers, "From")?;
        let local_tag = m::tag(from).ok_or(SipError::Header("From tag"))?;
        let contact = header(&resp.headers, "Contact").map(m::uri_of);
        let mut route_set = split_routes(headers_all(&resp.headers, "Record-Route"));
        route_set.reverse();
        if route_set.is_empty() {
            // No Record-Route: the dialog keeps the route the request took,
            // the outbound proxy's (RFC 3261 §8.1.2; see `super::route`).
            route_set = split_routes(headers_all(&invite.headers, "Route"));
        }
        let (cseq, _) = m::cseq(&invite.headers)?;
        Ok(Dialog {
            role: Role::Uac,
            call_id: m::call_id(&invite.headers)?,
            local_tag,
            remote_tag,
            local_party: strip_tag(from),
            remote_party: strip_tag(to),
            remote_target: contact.unwrap_or_else(|| invite.uri.to_string()),
            route_set,
            local_cseq: cseq,
            remote_cseq: None,
            local_contact: header(&invite.headers, "Contact")
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// The dialog a UAS creates when it answers `invite` with `local_tag`.
    pub fn from_uas(invite: &Request, local_tag: &str, local_contact: &str) -> Result<Dialog> {
        let from = m::require(&invite.headers, "From")?;
        let to = m::require(&invite.headers, "To")?;
        let contact = m::require(&invite.headers, "Contact").map(m::uri_of)?;
        let (cseq, _) = m::cseq(&invite.headers)?;
        Ok(Dialog {
            role: Role::Uas,
            call_id: m::call_id(&invite.headers)?,
            local_tag: local_tag.to_string(),
            remote_tag: m::tag(from).unwrap_or_default(),
            local_party: strip_tag(to),
            remote_party: strip_tag(from),
            remote_target: contact,
            route_set: split_routes(headers_all(&invite.headers, "Record-Route")),
            local_cseq: rand::random::<u16>() as u32 + 1,
            remote_cseq: Some(cseq),
            local_contact: local_contact.to_string(),
        })
    }

    /// A dialog with no Record-Route still goes through the outbound proxy:
    /// its loose `route` becomes the route set (nothing when there is one).
    pub fn preload_route(&mut self, route: Option<String>) {
        if self.route_set.is_empty() {
            self.route_set.extend(route);
        }
    }

    fn local_value(&self) -> String {
        format!("{};tag={}", self.local_party, self.local_tag)
    }

    fn remote_value(&self) -> String {
        if self.remote_tag.is_empty() {
            self.remote_party.clone()
        } else {
            format!("{};tag={}", self.remote_party, self.remote_tag)
        }
    }

    /// Where the next request goes: the first route, else the remote target.
    pub fn next_hop_uri(&self) -> String {
        match self.route_set.first() {
            Some(r) if r.contains(";lr") => m::uri_of(r),
            _ => self.remote_target.clone(),
        }
    }

    /// Locates the next hop as RFC 3263 says (the same `resolver` the
    /// registration uses: NAPTR, SRV, then A/AAAA for a name; a numeric
    /// host as it is): the first target.
    pub async fn next_hop(&self, resolver: &super::dns::Resolver) -> Result<Peer> {
        let targets = resolver.resolve(&self.next_hop_uri()).await?;
        targets.into_iter().next().ok_or_else(|| {
            SipError::Dns(super::dns::DnsError::NoRecords {
                host: self.next_hop_uri(),
                detail: String::new(),
            })
        })
    }

    fn base(&self, method: Method, cseq: u32, via: &str) -> Result<Request> {
        let strict = self.route_set.first().filter(|r| !r.contains(";lr"));
        let (ruri, routes): (String, Vec<String>) = match strict {
            // Strict router: R-URI is the first route, remote target goes last.
            Some(first) => {
                let mut rest: Vec<String> = self.route_set[1..].to_vec();
                rest.push(format!("<{}>", self.remote_target));
                (m::uri_of(first), rest)
            }
            None => (self.remote_target.clone(), self.route_set.clone()),
        };
        let mut req = m::request(method, &ruri)?;
        let h = &mut req.headers;
        add_header(h, "Via", via);
        add_header(h, "Max-Forwards", "70");
        for r in routes {
            add_header(h, "Route", r);
        }
        add_header(h, "From", self.local_value());
        add_header(h, "To", self.remote_value());
        add_header(h, "Call-ID", self.call_id.clone());
        add_header(h, "CSeq", format!("{cseq} {method}"));
        Ok(req)
    }

    /// A new in-dialog request (CSeq incremented). `via` is the full top Via value.
    pub fn request(&mut self, method: Method, via: &str) -> Result<Request> {
        self.local_cseq += 1;
        let mut req = self.base(method, self.local_cseq, via)?;
        if matches!(
            method,
            Method::Invite | Method::Refer | Method::Subscribe | Method::Notify | Method::Update
        ) {
            add_header(&mut req.headers, "Contact", self.local_contact.clone());
        }
        add_header(&mut req.headers, "User-Agent", crate::sip::USER_AGENT);
        Ok(req)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (new branch in `via`).
    pub fn ack(&self, invite_cseq: u32, via: &str) -> Result<Request> {
        let mut req = self.base(Method::Ack, invite_cseq, via)?;
        set_body(&mut req.headers, &mut req.body, None, Vec::new());
        Ok(req)
    }

    /// Checks an in-dialog request's CSeq (RFC 3261 §12.2.2): lower than the
    /// last one is out of order (answer 500).
    pub fn accept_remote_cseq(&mut self, req: &Request) -> bool {
        let Ok((n, method)) = m::cseq(&req.headers) else {
            return false;
        };
        if method == Method::Ack || method == Method::Cancel {
            return true;
        }
        match self.remote_cseq {
            Some(last) if n <= last => false,
            _ => {
                self.remote_cseq = Some(n);
                true
            }
        }
    }

    /// A new remote target from a target-refresh request or response.
    pub fn refresh_target(&mut self, headers: &super::msg::Headers) {
        if let Some(c) = header(headers, "Contact") {
            self.remote_target = m::uri_of(c);
        }
    }

    /// Does `headers` (of a request from the peer) belong to this dialog?
    pub fn matches_request(&self, headers: &super::msg::Headers) -> bool {
        let call_id = m::call_id(headers).ok();
        let from_tag = m::from_tag(headers);
        let to_tag = m::to_tag(headers);
        call_id.as_deref() == Some(self.call_id.as_str())
            && from_tag.as_deref() == Some(self.remote_tag.as_str())
            && to_tag.as_deref() == Some(self.local_tag.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::msg::SipMessage;

    fn parse(text: &str) -> SipMessage {
        SipMessage::try_from(text.replace('\n', "\r\n")).unwrap()
    }

    const INVITE: &str = "INVITE sip:1002@test.local SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport
From: <sip:1001@test.local>;tag=aaa
To: <sip:1002@test.local>
Call-ID: call-1
CSeq: 1 INVITE
Contact: <sip:1001@127.0.0.1:5062>
Content-Length: 0

";

    const OK: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport
Record-Route: <sip:127.0.0.1:5070;lr>, <sip:10.0.0.1;lr>
From: <sip:1001@test.local>;tag=aaa
To: <sip:1002@test.local>;tag=bbb
Call-ID: call-1
CSeq: 1 INVITE
Contact: <sip:1002@127.0.0.1:6000>
Content-Length: 0

";

    #[test]
    fn uac_dialog_from_200() {
        let SipMessage::Request(inv) = parse(INVITE) else {
            panic!()
        };
        let SipMessage::Response(ok) = parse(OK) else {
            panic!()
        };
        let mut d = Dialog::from_uac(&inv, &ok).unwrap();
        assert_eq!(d.remote_tag, "bbb");
        assert_eq!(d.remote_target, "sip:1002@127.0.0.1:6000");
        assert_eq!(
            d.route_set,
            vec!["<sip:10.0.0.1;lr>", "<sip:127.0.0.1:5070;lr>"]
        );
        assert_eq!(d.next_hop_uri(), "sip:10.0.0.1;lr");
        let ack = d
            .ack(1, "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK2")
            .unwrap();
        assert_eq!(header(&ack.headers, "CSeq"), Some("1 ACK"));
        let bye = d
            .request(Method::Bye, "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK3")
            .unwrap();
        assert_eq!(header(&bye.headers, "CSeq"), Some("2 BYE"));
        assert_eq!(bye.uri.to_string(), "sip:1002@127.0.0.1:6000");
        assert_eq!(headers_all(&bye.headers, "Route").len(), 2);
        assert_eq!(
            header(&bye.headers, "To"),
            Some("<sip:1002@test.local>;tag=bbb")
        );
    }

    /// The next hop is located by the resolver: a numeric route as it is
    /// (no DNS), a route naming a host that no name server answers for is
    /// a DNS error, not a guess.
    #[tokio::test]
    async fn next_hop_is_located_by_the_resolver() {
        let SipMessage::Request(inv) = parse(INVITE) else {
            panic!()
        };
        let SipMessage::Response(ok) = parse(OK) else {
            panic!()
        };
        let mut d = Dialog::from_uac(&inv, &ok).unwrap();
        d.route_set = vec!["<sip:127.0.0.1:5070;lr>".into()];
        let resolver = super::super::dns::Resolver::new(&[]);
        let peer = d.next_hop(&resolver).await.unwrap();
        assert_eq!(peer.addr, "127.0.0.1:5070".parse().unwrap());
        // A name server that is not there: the name cannot be located.
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let silent = socket.local_addr().unwrap();
        drop(socket);
        let nowhere = super::super::dns::Resolver::new(&[silent]);
        d.route_set = vec!["<sip:proxy.invalid;lr>".into()];
        let err = d.next_hop(&nowhere).await.unwrap_err();
        assert!(matches!(err, SipError::Dns(_)), "{err}");
    }

    #[test]
    fn without_record_route_the_proxy_route_stays_the_route_set() {
        let via_proxy = INVITE.replace(
            "CSeq: 1 INVITE\n",
            "CSeq: 1 INVITE\nRoute: <sip:127.0.0.1:5070;lr>\n",
        );
        let SipMessage::Request(inv) = parse(&via_proxy) else {
            panic!()
        };
        let no_rr: String = OK
            .lines()
            .filter(|l| !l.starts_with("Record-Route"))
            .map(|l| format!("{l}\n"))
            .collect();
        let SipMessage::Response(ok) = parse(&no_rr) else {
            panic!()
        };
        let mut d = Dialog::from_uac(&inv, &ok).unwrap();
        assert_eq!(d.route_set, vec!["<sip:127.0.0.1:5070;lr>"]);
        assert_eq!(d.next_hop_uri(), "sip:127.0.0.1:5070;lr");
        let bye = d
            .request(Method::Bye, "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK3")
            .unwrap();
        assert_eq!(bye.uri.to_string(), "sip:1002@127.0.0.1:6000");
        assert_eq!(
            header(&bye.headers, "Route"),
            Some("<sip:127.0.0.1:5070;lr>")
        );

        // Direct (no Route, no Record-Route): straight to the remote target.
        let SipMessage::Request(direct) = parse(INVITE) else {
            panic!()
        };
        let d = Dialog::from_uac(&direct, &ok).unwrap();
        assert!(d.route_set.is_empty());
        assert_eq!(d.next_hop_uri(), "sip:1002@127.0.0.1:6000");

        // UAS: the proxy's route only when the INVITE brought no Record-Route.
        let mut uas = Dialog::from_uas(&direct, "ccc", "<sip:1002@127.0.0.1:6000>").unwrap();
        uas.preload_route(None);
        assert!(uas.route_set.is_empty());
        uas.preload_route(Some("<sip:127.0.0.1:5070;lr>".into()));
        assert_eq!(uas.next_hop_uri(), "sip:127.0.0.1:5070;lr");
        let mut rr = Dialog::from_uac(&inv, &parse_ok_with_rr()).unwrap();
        rr.preload_route(Some("<sip:192.0.2.1;lr>".into()));
        assert_eq!(rr.route_set.len(), 2, "Record-Route wins");
    }

    fn parse_ok_with_rr() -> Response {
        let SipMessage::Response(ok) = parse(OK) else {
            panic!()
        };
        ok
    }

    #[test]
    fn uas_dialog_and_cseq_rules() {
        let SipMessage::Request(inv) = parse(INVITE) else {
            panic!()
        };
        let mut d = Dialog::from_uas(&inv, "ccc", "<sip:1002@127.0.0.1:6000>").unwrap();
        assert_eq!(d.remote_target, "sip:1001@127.0.0.1:5062");
        let bye_text = INVITE
            .replace("INVITE sip", "BYE sip")
            .replace("1 INVITE", "2 BYE")
            .replace(
                "To: <sip:1002@test.local>",
                "To: <sip:1002@test.local>;tag=ccc",
            );
        let SipMessage::Request(bye) = parse(&bye_text) else {
            panic!()
        };
        assert!(d.matches_request(&bye.headers));
        assert!(d.accept_remote_cseq(&bye));
        assert!(
            !d.accept_remote_cseq(&bye),
            "a repeated CSeq is out of order"
        );
    }
}
