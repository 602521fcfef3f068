//! The presence test bed and termphone's SUBSCRIBE / PUBLISH clients against
//! a real kamailio presence server: a watcher (termphone's subscription task
//! as 1001) watches the dialogs of 1002 while baresip 1003 calls baresip
//! 1002; the NOTIFYs go early (ringing, with call-id and tags for pickup) →
//! confirmed (busy) → terminated (idle). Then 1004 publishes Do Not Disturb
//! through termphone's publication task and a presence watcher receives the
//! PIDF, and a message-summary PUBLISHed for 1001 reaches 1001's MWI
//! subscription; finally the subscriptions are ended with Expires: 0.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::kamailio::Kamailio;
use support::setup::{baresip, PeerOpts};
use support::watcher::{next_event, publish_raw, route_notifies, Handles};
use support::{tone, TestDir};
use termphone::sip::auth::Credentials;
use termphone::sip::publication::{self, PresenceDoc, PublicationConfig, PublicationStatus};
use termphone::sip::subscription::{
    self, EventPackage, LampState, Payload, SubscriptionConfig, SubscriptionEvent,
    SubscriptionState,
};
use termphone::sip::transaction::{Endpoint, Timers};
use termphone::sip::transport::{Peer, Protocol, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn creds(user: &str) -> Option<Credentials> {
    Some(support::watcher::creds(user))
}

fn pickup_cid(lamp: &subscription::Lamp) -> String {
    lamp.pickup
        .as_ref()
        .map(|p| p.call_id.clone())
        .unwrap_or_default()
}

fn lamp_of(ev: &SubscriptionEvent) -> Option<subscription::Lamp> {
    match ev {
        SubscriptionEvent::Notify {
            payload: Payload::DialogInfo(info),
            ..
        } => Some(info.lamp()),
        _ => None,
    }
}

#[test]
fn blf_follows_a_call_and_dnd_presence_reaches_a_watcher() {
    let t = TestDir::new("presence");
    let k = Kamailio::start_presence(&t.sub("kamailio"));
    let wav = t.path().join("tone.wav");
    tone::write_sine_wav(&wav, 600.0, 8000, 30.0);
    let mut callee = baresip(&t, "1002", PeerOpts::wav(&wav).registered(&k));
    let mut caller = baresip(&t, "1003", PeerOpts::wav(&wav).registered(&k));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let peer = Peer {
        protocol: Protocol::Udp,
        addr: k.addr(),
    };
    let handles: Handles = Arc::new(Mutex::new(Vec::new()));
    let endpoint = rt.block_on(async {
        let (tr, inbound) = Transport::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let (ep, up) = Endpoint::start(tr, inbound, Timers::default());
        route_notifies(up, handles.clone());
        ep
    });
    let cancel = CancellationToken::new();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let blf = rt.block_on(async {
        subscription::spawn(
            endpoint.clone(),
            SubscriptionConfig {
                account: "office".into(),
                package: EventPackage::Dialog,
                target: "sip:1002@test.local".into(),
                aor: "sip:1001@test.local".into(),
                peer,
                proxy: None,
                credentials: creds("1001"),
                expires: 120,
            },
            ev_tx.clone(),
            cancel.clone(),
        )
    });
    handles.lock().unwrap().push(blf);
    let mut seen = Vec::new();
    let long = Duration::from_secs(10);

    let active = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| match ev {
        SubscriptionEvent::State {
            state: SubscriptionState::Active { expires },
            ..
        } => Some(*expires),
        _ => None,
    });
    assert!(
        matches!(active, Some(e) if e > 0 && e <= 120),
        "{seen:?}\n{}",
        k.log()
    );

    caller.dial("sip:1002@test.local");
    assert!(
        callee.wait_event("CALL_INCOMING", long).is_some(),
        "{}",
        callee.log()
    );
    let ringing = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| {
        lamp_of(ev).filter(|l| l.state == LampState::Ringing)
    });
    let ringing = ringing.unwrap_or_else(|| panic!("no ringing NOTIFY: {seen:?}\n{}", k.log()));
    assert!(
        ringing
            .remote
            .as_deref()
            .is_some_and(|r| r.contains("1003")),
        "{ringing:?}"
    );
    // The tags are oriented for Replaces: local = the ringing phone's (To), remote = the caller's (From).
    let invite_line = "REQ INVITE from=sip:1003@test.local to=sip:1002@test.local";
    let caller_tag = k
        .log()
        .lines()
        .filter(|l| l.contains(invite_line) && l.contains(&format!("cid={}", pickup_cid(&ringing))))
        .find_map(|l| {
            l.split(" ftag=")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        });
    assert_eq!(
        ringing.pickup.as_ref().map(|p| p.remote_tag.clone()),
        caller_tag,
        "{ringing:?}"
    );
    let pickup = ringing
        .pickup
        .expect("call-id and tags in the early NOTIFY");
    assert!(
        !pickup.call_id.is_empty() && !pickup.local_tag.is_empty() && !pickup.remote_tag.is_empty()
    );
    // To the caller, its own tag (the From tag kamailio logged) is the to-tag.
    let replaces = pickup.replaces_to_caller();
    assert_eq!(Some(replaces.to_tag.clone()), caller_tag, "{replaces:?}");
    assert_eq!(replaces.from_tag, pickup.local_tag, "{replaces:?}");
    assert!(replaces.header_value().ends_with(";early-only"));

    callee.accept();
    let busy = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| {
        lamp_of(ev).filter(|l| l.state == LampState::Busy)
    });
    assert!(busy.is_some(), "no confirmed NOTIFY: {seen:?}");

    caller.hangup();
    let idle = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| {
        lamp_of(ev).filter(|l| l.state == LampState::Idle)
    });
    assert!(idle.is_some(), "no terminated NOTIFY: {seen:?}");

    // The ringing phone's tag is the To tag of the caller's in-dialog requests.
    let cid = format!("cid={} ", pickup.call_id);
    let callee_tag = k
        .log()
        .lines()
        .filter(|l| l.contains("REQ ACK") && l.contains(&cid))
        .find_map(|l| {
            l.split(" ttag=")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        });
    assert_eq!(callee_tag.as_deref(), Some(pickup.local_tag.as_str()));

    // MWI: a message-summary PUBLISHed for 1001 reaches 1001's subscription.
    let mwi = rt.block_on(async {
        subscription::spawn(
            endpoint.clone(),
            SubscriptionConfig {
                account: "office".into(),
                package: EventPackage::MessageSummary,
                target: "sip:1001@test.local".into(),
                aor: "sip:1001@test.local".into(),
                peer,
                proxy: None,
                credentials: creds("1001"),
                expires: 120,
            },
            ev_tx.clone(),
            cancel.clone(),
        )
    });
    handles.lock().unwrap().push(mwi);
    let mwi_active = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| match ev {
        SubscriptionEvent::State {
            package: EventPackage::MessageSummary,
            state: SubscriptionState::Active { .. },
            ..
        } => Some(()),
        _ => None,
    });
    assert!(mwi_active.is_some(), "{seen:?}\n{}", k.log());
    let code = rt.block_on(publish_raw(
        &endpoint,
        peer,
        "1001",
        "message-summary",
        "application/simple-message-summary",
        "Messages-Waiting: yes\r\nMessage-Account: sip:1001@test.local\r\nVoice-Message: 2/8 (0/0)\r\n",
    ));
    assert_eq!(code, 200, "{}", k.log());
    let counts = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| match ev {
        SubscriptionEvent::Notify {
            payload: Payload::MessageSummary(s),
            ..
        } if s.waiting => Some(s.new_old()),
        _ => None,
    });
    assert_eq!(counts, Some((2, 8)), "{seen:?}");

    // Presence: 1004 publishes Do Not Disturb; a watcher of 1004 sees it.
    let watch = rt.block_on(async {
        subscription::spawn(
            endpoint.clone(),
            SubscriptionConfig {
                account: "office".into(),
                package: EventPackage::Presence,
                target: "sip:1004@test.local".into(),
                aor: "sip:1001@test.local".into(),
                peer,
                proxy: None,
                credentials: creds("1001"),
                expires: 120,
            },
            ev_tx.clone(),
            cancel.clone(),
        )
    });
    handles.lock().unwrap().push(watch);
    let (pub_tx, mut pub_rx) = mpsc::unbounded_channel();
    let (publisher, pub_task) = rt.block_on(async {
        publication::spawn(
            endpoint.clone(),
            PublicationConfig {
                account: "home".into(),
                aor: "sip:1004@test.local".into(),
                peer,
                proxy: None,
                credentials: creds("1004"),
                expires: 120,
            },
            Some(PresenceDoc::do_not_disturb()),
            pub_tx,
            cancel.clone(),
        )
    });
    let published = rt.block_on(async {
        tokio::time::timeout(long, pub_rx.recv())
            .await
            .ok()
            .flatten()
    });
    assert!(
        matches!(&published, Some(e) if matches!(&e.status, PublicationStatus::Published { etag, .. } if !etag.is_empty())),
        "{published:?}\n{}",
        k.log()
    );
    let dnd = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| match ev {
        SubscriptionEvent::Notify {
            payload: Payload::Presence(p),
            target,
            ..
        } if target.contains("1004") && p.dnd() => Some(p.clone()),
        _ => None,
    });
    assert!(dnd.is_some(), "watcher saw no DND: {seen:?}\n{}", k.log());

    // Back to available: the watcher sees the change.
    assert!(publisher.set(PresenceDoc::available()));
    let open = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| match ev {
        SubscriptionEvent::Notify {
            payload: Payload::Presence(p),
            ..
        } if !p.dnd() && p.basic == Some(subscription::pidf::Basic::Open) => Some(()),
        _ => None,
    });
    assert!(open.is_some(), "watcher saw no update: {seen:?}");

    // Shutdown: the three subscriptions end with Expires: 0, the publication is removed.
    let before = k.log().matches("REQ SUBSCRIBE").count();
    cancel.cancel();
    let mut ended_packages = Vec::new();
    let ended = next_event(&rt, &mut ev_rx, &mut seen, long, |ev| match ev {
        SubscriptionEvent::State {
            state: SubscriptionState::Terminated { reason },
            package,
            ..
        } if reason == "unsubscribed" => {
            ended_packages.push(*package);
            (ended_packages.len() == 3).then_some(())
        }
        _ => None,
    });
    assert!(ended.is_some(), "{seen:?}");
    assert_eq!(
        k.log().matches("REQ SUBSCRIBE").count(),
        before + 3,
        "{}",
        k.log()
    );
    let removed = rt.block_on(async {
        let _ = pub_task.await;
        let mut last = None;
        while let Ok(e) = pub_rx.try_recv() {
            last = Some(e.status);
        }
        last
    });
    assert_eq!(removed, Some(PublicationStatus::Removed));
    let log = k.log();
    assert!(
        log.contains("PUBLISH event=presence from=sip:1004@test.local"),
        "{log}"
    );
    assert!(
        log.contains("PUBLISH event=dialog"),
        "pua_dialoginfo published nothing:\n{log}"
    );
    caller.stop();
    callee.stop();
}
