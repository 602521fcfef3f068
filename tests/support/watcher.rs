//! A SIP presence client beside the phone under test, built from
//! termphone's own SUBSCRIBE and transaction layers (as validated against
//! kamailio in `tests/presence_server.rs`): it watches an event package of a
//! user through the presence server (e.g. the PIDF that the phone publishes
//! for Do Not Disturb) and sends raw PUBLISHes as another user (e.g. a
//! message-summary for the phone's MWI subscription).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use termphone::sip::auth::Credentials;
use termphone::sip::message as m;
use termphone::sip::subscription::{
    self, EventPackage, SubscriptionConfig, SubscriptionEvent, SubscriptionHandle,
};
use termphone::sip::transaction::{Endpoint, Incoming, Timers};
use termphone::sip::transport::{Peer, Protocol, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The subscriptions NOTIFYs are routed to.
pub type Handles = Arc<Mutex<Vec<SubscriptionHandle>>>;

/// Test registrar's credentials of `user` (password `pw<user>`).
pub fn creds(user: &str) -> Credentials {
    Credentials {
        user: user.into(),
        password: format!("pw{user}"),
        scope: Default::default(),
    }
}

/// A watcher / publisher on its own UDP port; its subscriptions end on drop.
pub struct Watcher {
    rt: tokio::runtime::Runtime,
    endpoint: Endpoint,
    handles: Handles,
    peer: Peer,
    tx: mpsc::UnboundedSender<SubscriptionEvent>,
    rx: mpsc::UnboundedReceiver<SubscriptionEvent>,
    cancel: CancellationToken,
    /// Every subscription event received so far.
    pub seen: Vec<SubscriptionEvent>,
}

impl Watcher {
    /// Binds a UDP port on 127.0.0.1 and talks to the presence server at `server`.
    pub fn start(server: SocketAddr) -> Watcher {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let handles: Handles = Arc::new(Mutex::new(Vec::new()));
        let endpoint = rt.block_on(async {
            let (tr, inbound) = Transport::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .expect("bind watcher transport");
            let (ep, up) = Endpoint::start(tr, inbound, Timers::default());
            route_notifies(up, handles.clone());
            ep
        });
        let (tx, rx) = mpsc::unbounded_channel();
        Watcher {
            rt,
            endpoint,
            handles,
            peer: Peer {
                protocol: Protocol::Udp,
                addr: server,
            },
            tx,
            rx,
            cancel: CancellationToken::new(),
            seen: Vec::new(),
        }
    }

    /// Subscribes as `as_user` (authenticating) to `package` of `target` (a SIP URI).
    pub fn subscribe(&mut self, package: EventPackage, target: &str, as_user: &str) {
        let handle = self.rt.block_on(async {
            subscription::spawn(
                self.endpoint.clone(),
                SubscriptionConfig {
                    account: format!("watcher-{as_user}"),
                    package,
                    target: target.into(),
                    aor: format!("sip:{as_user}@test.local"),
                    peer: self.peer,
                    proxy: None,
                    credentials: Some(creds(as_user)),
                    expires: 120,
                },
                self.tx.clone(),
                self.cancel.clone(),
            )
        });
        if let Ok(mut hs) = self.handles.lock() {
            hs.push(handle);
        }
    }

    /// Waits up to `timeout` for the first event (since the watcher started,
    /// including ones seen before) that `pick` accepts.
    pub fn wait<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&SubscriptionEvent) -> Option<T>,
    ) -> Option<T> {
        if let Some(v) = self.seen.iter().find_map(&mut pick) {
            return Some(v);
        }
        next_event(&self.rt, &mut self.rx, &mut self.seen, timeout, pick)
    }

    /// Sends one PUBLISH of `body` for `user` (answering the digest
    /// challenge); returns the final response code (0: none).
    pub fn publish(&self, user: &str, event: &str, content_type: &str, body: &str) -> u16 {
        self.rt.block_on(publish_raw(
            &self.endpoint,
            self.peer,
            user,
            event,
            content_type,
            body,
        ))
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.cancel.cancel();
        // Give the subscriptions a moment to send their Expires: 0.
        self.rt.block_on(async {
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
    }
}

/// Waits up to `timeout` for the next event from `rx` that `pick` accepts,
/// recording every event received in `seen`.
pub fn next_event<T>(
    rt: &tokio::runtime::Runtime,
    rx: &mut mpsc::UnboundedReceiver<SubscriptionEvent>,
    seen: &mut Vec<SubscriptionEvent>,
    timeout: Duration,
    mut pick: impl FnMut(&SubscriptionEvent) -> Option<T>,
) -> Option<T> {
    rt.block_on(async {
        tokio::time::timeout(timeout, async {
            while let Some(ev) = rx.recv().await {
                seen.push(ev.clone());
                if let Some(v) = pick(&ev) {
                    return Some(v);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    })
}

/// Routes NOTIFYs to the subscription with their Call-ID, 481 otherwise
/// (what the phone's manager does).
pub fn route_notifies(mut up: mpsc::UnboundedReceiver<Incoming>, handles: Handles) {
    tokio::spawn(async move {
        while let Some(inc) = up.recv().await {
            let Incoming::Request(st) = inc else { continue };
            let mut st = Some(st);
            if let Ok(hs) = handles.lock() {
                if let Some(h) = hs
                    .iter()
                    .find(|h| st.as_ref().is_some_and(|s| h.matches(&s.request)))
                {
                    if let Some(s) = st.take() {
                        st = h.notify(s).err().map(|b| *b);
                    }
                }
            }
            if let Some(s) = st {
                let _ = s.handle.respond(m::response(&s.request, 481, None));
            }
        }
    });
}

/// Sends one PUBLISH for `user` of test.local (answering the digest
/// challenge with the test bed's password); returns the final code, 0 when
/// there was none.
pub async fn publish_raw(
    ep: &Endpoint,
    peer: Peer,
    user: &str,
    event: &str,
    content_type: &str,
    body: &str,
) -> u16 {
    let aor = format!("sip:{user}@test.local");
    let (tag, call_id) = (m::new_tag(), m::new_call_id());
    let ids = m::OutOfDialog {
        uri: &aor,
        from: &aor,
        from_tag: &tag,
        to: &aor,
        call_id: &call_id,
        cseq: 1,
    };
    let local = ep.transport().local_addr();
    let Ok(mut req) = m::out_of_dialog(
        termphone::sip::msg::Method::Publish,
        ids,
        local,
        peer.protocol,
    ) else {
        return 0;
    };
    let h = &mut req.headers;
    m::add_header(h, "Event", event);
    m::add_header(h, "Expires", "120");
    m::set_body(
        h,
        &mut req.body,
        Some(content_type),
        body.as_bytes().to_vec(),
    );
    let mut digest = termphone::sip::auth::DigestState::default();
    for _ in 0..2 {
        let Ok(mut tx) = ep.send_request(req.clone(), peer).await else {
            return 0;
        };
        let mut last = None;
        while let Some(r) = tx.next_response().await {
            if m::code(&r) >= 200 {
                last = Some(r);
                break;
            }
        }
        let Some(resp) = last else { return 0 };
        if !matches!(m::code(&resp), 401 | 407) {
            return m::code(&resp);
        }
        match digest.authorize(&req, &resp, &creds(user)) {
            Ok(r) => req = r,
            Err(_) => return 0,
        }
    }
    0
}
