//! Unit tests of the subscription helpers (the task itself is tested
//! against kamailio in `tests/presence_server.rs`).

use super::*;

#[test]
fn subscription_state_header() {
    let s = parse_sub_state("active;expires=3599");
    assert_eq!(s.value, "active");
    assert_eq!(s.expires, Some(3599));
    let t = parse_sub_state("Terminated; reason=Timeout ;retry-after=20");
    assert_eq!(t.value, "terminated");
    assert_eq!(t.reason.as_deref(), Some("timeout"));
    assert_eq!(t.retry_after, Some(20));
    let junk = parse_sub_state(";;=;expires=x");
    assert_eq!(junk.value, "");
    assert_eq!(junk.expires, None);
}

#[test]
fn termination_reasons_decide_the_retry() {
    assert_eq!(
        retry_after_termination(Some("timeout"), None),
        Duration::ZERO
    );
    assert_eq!(retry_after_termination(None, None), Duration::ZERO);
    assert_eq!(
        retry_after_termination(Some("deactivated"), Some(2)),
        Duration::from_secs(2)
    );
    assert_eq!(
        retry_after_termination(Some("rejected"), None),
        AUTH_FAILURE_RETRY
    );
    assert_eq!(
        retry_after_termination(Some("noresource"), Some(1)),
        AUTH_FAILURE_RETRY
    );
    assert_eq!(
        retry_after_termination(Some("probation"), None),
        Duration::from_secs(30)
    );
    assert_eq!(
        retry_after_termination(Some("giveup"), Some(7)),
        Duration::from_secs(7)
    );
}

#[test]
fn blf_targets_become_uris() {
    assert_eq!(target_uri("1002", "test.local"), "sip:1002@test.local");
    assert_eq!(target_uri(" sip:op@pbx ", "test.local"), "sip:op@pbx");
    assert_eq!(target_uri("SIPS:op@pbx", "x"), "SIPS:op@pbx");
}

#[test]
fn packages_name_their_headers() {
    assert_eq!(EventPackage::Dialog.event(), "dialog");
    assert_eq!(EventPackage::Dialog.accept(), "application/dialog-info+xml");
    assert_eq!(EventPackage::MessageSummary.event(), "message-summary");
    assert_eq!(EventPackage::Presence.accept(), "application/pidf+xml");
}

/// A scripted notifier on a loopback UDP socket, driving the real task
/// through the transaction layer.
mod scripted {
    use super::super::*;
    use crate::sip::msg::{Request, SipMessage};
    use crate::sip::transaction::{Incoming, Timers};
    use crate::sip::transport::{Protocol, Transport};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio::net::UdpSocket;

    struct Notifier {
        sock: UdpSocket,
        phone: Option<SocketAddr>,
        cseq: u32,
    }

    impl Notifier {
        /// The next request from the phone (responses to our NOTIFYs are skipped).
        async fn request(&mut self) -> Request {
            loop {
                let mut buf = vec![0u8; 65535];
                let (n, from) =
                    tokio::time::timeout(Duration::from_secs(5), self.sock.recv_from(&mut buf))
                        .await
                        .expect("no request from the subscriber")
                        .unwrap();
                self.phone = Some(from);
                if let Ok(SipMessage::Request(r)) = SipMessage::try_from(&buf[..n]) {
                    return r;
                }
            }
        }

        /// The next response (to a NOTIFY we sent).
        async fn response_code(&mut self) -> u16 {
            loop {
                let mut buf = vec![0u8; 65535];
                let (n, _) =
                    tokio::time::timeout(Duration::from_secs(5), self.sock.recv_from(&mut buf))
                        .await
                        .expect("no response from the subscriber")
                        .unwrap();
                if let Ok(SipMessage::Response(r)) = SipMessage::try_from(&buf[..n]) {
                    return m::code(&r);
                }
            }
        }

        async fn reply(&self, req: &Request, code: u16, to_tag: &str, extra: &[(&str, &str)]) {
            let mut resp = m::response(req, code, Some(to_tag));
            if m::to_tag(&req).is_some() {
                // In-dialog: response_to keeps the existing tag.
                resp = m::response(req, code, None);
            }
            for (k, v) in extra {
                m::add_header(&mut resp.headers, k, *v);
            }
            let text = SipMessage::Response(resp).to_string();
            self.sock
                .send_to(text.as_bytes(), self.phone.unwrap())
                .await
                .unwrap();
        }

        async fn notify(
            &mut self,
            sub: &Request,
            my_tag: &str,
            to_tag: &str,
            state: &str,
            body: Option<&str>,
        ) {
            self.cseq += 1;
            let local = self.sock.local_addr().unwrap();
            let phone = self.phone.unwrap();
            let from = m::header(&sub.headers, "From").unwrap();
            let aor = m::uri_of(from);
            let (ct, body) = match body {
                Some(b) => ("Content-Type: application/dialog-info+xml\r\n", b),
                None => ("", ""),
            };
            let text = format!(
                "NOTIFY sip:x@{phone} SIP/2.0\r\n\
                 Via: SIP/2.0/UDP {local};branch={branch}\r\n\
                 From: <sip:1002@test.local>;tag={my_tag}\r\n\
                 To: <{aor}>;tag={to_tag}\r\n\
                 Call-ID: {cid}\r\n\
                 CSeq: {cseq} NOTIFY\r\n\
                 Contact: <sip:notifier@{local}>\r\n\
                 Event: dialog\r\n\
                 Subscription-State: {state}\r\n\
                 {ct}Content-Length: {len}\r\n\r\n{body}",
                branch = m::new_branch(),
                cid = m::call_id(&sub.headers).unwrap(),
                cseq = self.cseq,
                len = body.len(),
            );
            self.sock.send_to(text.as_bytes(), phone).await.unwrap();
        }
    }

    const RINGING: &str = r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1002@test.local"><dialog id="d" call-id="c" local-tag="l" remote-tag="r" direction="recipient"><state>early</state></dialog></dialog-info>"#;

    async fn setup() -> (
        Notifier,
        Arc<SubscriptionHandle>,
        mpsc::UnboundedReceiver<SubscriptionEvent>,
        CancellationToken,
        Transport,
    ) {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let peer = Peer {
            protocol: Protocol::Udp,
            addr: sock.local_addr().unwrap(),
        };
        let (t, inbound) = Transport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let transport = t.clone();
        let (ep, mut up) = Endpoint::start(t, inbound, Timers::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let cfg = SubscriptionConfig {
            account: "a".into(),
            package: EventPackage::Dialog,
            target: "sip:1002@test.local".into(),
            aor: "sip:1001@test.local".into(),
            peer,
            proxy: None,
            credentials: None,
            expires: 60,
        };
        let handle = Arc::new(spawn(ep, cfg, tx, cancel.clone()));
        let h = handle.clone();
        tokio::spawn(async move {
            while let Some(Incoming::Request(st)) = up.recv().await {
                if h.matches(&st.request) {
                    if let Err(st) = h.notify(st) {
                        let _ = st.handle.respond(m::response(&st.request, 481, None));
                    }
                }
            }
        });
        let n = Notifier {
            sock,
            phone: None,
            cseq: 0,
        };
        (n, handle, rx, cancel, transport)
    }

    async fn event(rx: &mut mpsc::UnboundedReceiver<SubscriptionEvent>) -> SubscriptionEvent {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("no event")
            .unwrap()
    }

    async fn state(rx: &mut mpsc::UnboundedReceiver<SubscriptionEvent>) -> SubscriptionState {
        loop {
            if let SubscriptionEvent::State { state, .. } = event(rx).await {
                return state;
            }
        }
    }

    fn from_tag(r: &Request) -> String {
        m::from_tag(&r).unwrap()
    }

    #[tokio::test]
    async fn notify_termination_resubscribe_refresh_and_unsubscribe() {
        let (mut n, handle, mut rx, cancel, transport) = setup().await;
        let sub = n.request().await;
        assert_eq!(sub.method, Method::Subscribe);
        assert_eq!(m::header(&sub.headers, "Event"), Some("dialog"));
        assert_eq!(
            m::header(&sub.headers, "Accept"),
            Some("application/dialog-info+xml")
        );
        assert_eq!(m::header(&sub.headers, "Expires"), Some("60"));
        assert_eq!(m::call_id(&sub.headers).unwrap(), handle.call_id());
        let tag1 = from_tag(&sub);
        n.reply(&sub, 200, "n1", &[("Expires", "60")]).await;
        assert_eq!(state(&mut rx).await, SubscriptionState::Pending);

        n.notify(&sub, "n1", &tag1, "active;expires=60", Some(RINGING))
            .await;
        assert_eq!(n.response_code().await, 200);
        assert_eq!(
            state(&mut rx).await,
            SubscriptionState::Active { expires: 60 }
        );
        match event(&mut rx).await {
            SubscriptionEvent::Notify {
                payload: Payload::DialogInfo(info),
                ..
            } => {
                assert_eq!(info.lamp().state, LampState::Ringing)
            }
            other => panic!("{other:?}"),
        }
        // A NOTIFY for a dialog we do not have: 481.
        n.notify(&sub, "n1", "not-ours", "active", None).await;
        assert_eq!(n.response_code().await, 481);

        // Terminated by the notifier (timeout): a new subscription at once, new From tag.
        n.notify(&sub, "n1", &tag1, "terminated;reason=timeout", None)
            .await;
        assert_eq!(n.response_code().await, 200);
        assert_eq!(
            state(&mut rx).await,
            SubscriptionState::Terminated {
                reason: "timeout".into()
            }
        );
        let sub2 = n.request().await;
        assert_eq!(m::to_tag(&sub2), None);
        let tag2 = from_tag(&sub2);
        assert_ne!(tag2, tag1);
        assert_eq!(m::call_id(&sub2.headers).unwrap(), handle.call_id());
        n.reply(&sub2, 200, "n2", &[("Expires", "2")]).await;
        n.notify(&sub2, "n2", &tag2, "active;expires=2", None).await;
        assert_eq!(n.response_code().await, 200);

        // The registration learns that the notifier's server sees us behind
        // a NAT: the refresh, a target refresh, names the public address.
        let notifier = Peer {
            protocol: Protocol::Udp,
            addr: n.sock.local_addr().unwrap(),
        };
        transport.set_public_addr(&notifier, Some("198.51.100.1:5060".parse().unwrap()));

        // Refresh before expiry, inside the dialog.
        let refresh = n.request().await;
        assert_eq!(
            m::header(&refresh.headers, "Contact"),
            Some("<sip:1001@198.51.100.1:5060>")
        );
        assert_eq!(m::to_tag(&refresh).as_deref(), Some("n2"));
        assert_eq!(from_tag(&refresh), tag2);
        assert_eq!(
            refresh.uri.to_string(),
            format!("sip:notifier@{}", n.sock.local_addr().unwrap())
        );
        n.reply(&refresh, 200, "n2", &[("Expires", "60")]).await;

        // Cancel: SUBSCRIBE with Expires: 0 in the dialog, then the final NOTIFY.
        cancel.cancel();
        let unsub = n.request().await;
        assert_eq!(m::header(&unsub.headers, "Expires"), Some("0"));
        assert_eq!(m::to_tag(&unsub).as_deref(), Some("n2"));
        n.reply(&unsub, 200, "n2", &[("Expires", "0")]).await;
        n.notify(&sub2, "n2", &tag2, "terminated;reason=timeout", None)
            .await;
        assert_eq!(n.response_code().await, 200);
        loop {
            if let SubscriptionState::Terminated { reason } = state(&mut rx).await {
                if reason == "unsubscribed" {
                    break;
                }
            }
        }
    }

    #[tokio::test]
    async fn refresh_481_starts_over_and_bad_event_fails() {
        let (mut n, _handle, mut rx, cancel, _transport) = setup().await;
        let sub = n.request().await;
        let tag1 = from_tag(&sub);
        n.reply(&sub, 200, "n1", &[("Expires", "2")]).await;
        n.notify(&sub, "n1", &tag1, "active;expires=2", None).await;
        assert_eq!(n.response_code().await, 200);
        let refresh = n.request().await;
        assert_eq!(m::to_tag(&refresh).as_deref(), Some("n1"));
        n.reply(&refresh, 481, "n1", &[]).await;
        let again = n.request().await;
        assert_eq!(m::to_tag(&again), None);
        assert_ne!(from_tag(&again), tag1);
        n.reply(&again, 489, "x", &[]).await;
        loop {
            if let SubscriptionState::Failed { reason } = state(&mut rx).await {
                assert!(reason.starts_with("489"), "{reason}");
                break;
            }
        }
        cancel.cancel();
    }
}

mod fuzz {
    use super::super::{dialog_info, message_summary, parse_sub_state, pidf};
    use proptest::prelude::*;

    const SEEDS: [&str; 3] = [
        r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="partial" entity="sip:a@b"><dialog id="d" call-id="c" local-tag="l" remote-tag="r" direction="recipient"><state>early</state><remote><identity display="A">sip:x@y</identity></remote></dialog></dialog-info>"#,
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status><note>busy</note></tuple></presence>"#,
        "Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/0)\r\n",
    ];

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,400}") {
            let _ = dialog_info::parse(&s).map(|i| i.lamp());
            let _ = pidf::parse(&s).map(|p| (p.dnd(), p.busy()));
            let _ = message_summary::parse(&s).map(|m| m.new_old());
            let _ = parse_sub_state(&s);
        }

        #[test]
        fn mutated_documents_never_panic(seed in 0usize..3, cut in 0usize..400, insert in ".{0,8}") {
            let doc = SEEDS[seed];
            let mut at = cut.min(doc.len());
            while !doc.is_char_boundary(at) {
                at -= 1;
            }
            let mutated = format!("{}{}{}", &doc[..at], insert, &doc[at..]);
            let truncated = &doc[..at];
            for s in [mutated.as_str(), truncated] {
                if let Ok(mut i) = dialog_info::parse(s) {
                    let again = i.clone();
                    i.merge(again);
                    let _ = i.lamp();
                }
                let _ = pidf::parse(s).map(|p| p.busy());
                let _ = message_summary::parse(s);
            }
        }
    }
}
