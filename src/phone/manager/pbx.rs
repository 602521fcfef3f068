//! The manager's PBX features: busy lamp field (dialog and presence
//! subscriptions), call pickup (INVITE with Replaces from the dialog info,
//! or the PBX's feature code), MWI, and the state DND and forwarding keep
//! (the persisted [`Policy`], presence publications, the PBX's forwardings),
//! whose commands are [`super::dnd_forward`]'s. The SIP work is done by
//! `sip::subscription` / `sip::publication` tasks; this module keeps their
//! state and answers the BLF and pickup commands.

use super::accounts::credentials;
use super::forward_code::PendingCode;
use super::routing::reply;
use super::CallManager;
use crate::command::CommandError;
use crate::config::{Account, Config, FeatureCodes};
use crate::phone::blf::{BlfEntry, PresenceView};
use crate::phone::event::Event;
use crate::phone::policy::Policy;
use crate::phone::status::{BlfStatus, MwiStatus};
use crate::sip::dns::Resolver;
use crate::sip::message as m;
use crate::sip::publication::{PublicationEvent, PublicationHandle};
use crate::sip::subscription::{
    self, EventPackage, Lamp, LampState, Payload, SubscriptionConfig, SubscriptionEvent,
    SubscriptionHandle, SubscriptionState,
};
use crate::sip::transaction::{Endpoint, ServerTransaction};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// State of the PBX features.
pub(super) struct Pbx {
    pub(super) policy: Policy,
    policy_path: PathBuf,
    blf: Vec<BlfEntry>,
    subscriptions: Vec<SubscriptionHandle>,
    /// Presence publications (DND by presence), per account.
    pub(super) publications: HashMap<String, PublicationHandle>,
    mwi: BTreeMap<String, (u32, u32)>,
    /// Feature-code calls waiting for the PBX's answer (see [`super::forward_code`]).
    pub(super) pending_codes: Vec<PendingCode>,
    pub(super) cancel: CancellationToken,
    pub(super) sub_tx: mpsc::UnboundedSender<SubscriptionEvent>,
    pub(super) pub_tx: mpsc::UnboundedSender<PublicationEvent>,
}

/// The receivers the manager's loop polls.
pub(super) struct PbxRx {
    pub(super) subscriptions: mpsc::UnboundedReceiver<SubscriptionEvent>,
    pub(super) publications: mpsc::UnboundedReceiver<PublicationEvent>,
}

/// Where an account's server requests go: its proxy, else its domain,
/// located as RFC 3263 says by `resolver` (the one the registration uses:
/// NAPTR, SRV, A/AAAA): the first target. `None`, logged, when it cannot be
/// located.
pub(super) async fn server_peer(
    account: &Account,
    resolver: &Resolver,
) -> Option<crate::sip::transport::Peer> {
    let via = account
        .proxy
        .clone()
        .unwrap_or_else(|| format!("sip:{}", account.domain));
    match resolver.resolve(&via).await {
        Ok(targets) => targets.into_iter().next(),
        Err(e) => {
            tracing::warn!(account = %account.name, "cannot locate the server: {e}");
            None
        }
    }
}

impl Pbx {
    /// Loads the persisted policy and starts BLF and MWI subscriptions.
    pub(super) async fn start(
        config: &Config,
        endpoint: &Endpoint,
        resolver: &Resolver,
    ) -> anyhow::Result<(Pbx, PbxRx)> {
        let policy_path = config
            .history_path
            .parent()
            .map(|d| d.join("policy.json"))
            .unwrap_or_else(crate::phone::policy::default_path);
        let policy = Policy::startup(&policy_path, &config.phone)?;
        let (sub_tx, sub_rx) = mpsc::unbounded_channel();
        let (pub_tx, pub_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let mut pbx = Pbx {
            policy,
            policy_path,
            blf: Vec::new(),
            subscriptions: Vec::new(),
            publications: HashMap::new(),
            mwi: BTreeMap::new(),
            pending_codes: Vec::new(),
            cancel,
            sub_tx,
            pub_tx,
        };
        // BLF through the first account that talks to a server.
        let server_account = config
            .accounts
            .iter()
            .find(|a| a.register || a.proxy.is_some());
        for b in &config.blf {
            let domain = server_account
                .map(|a| a.domain.as_str())
                .unwrap_or("127.0.0.1");
            let uri = subscription::target_uri(&b.target, domain);
            let mut entry = BlfEntry::new(
                b.target.clone(),
                b.label.clone(),
                uri.clone(),
                server_account.map(|a| a.name.clone()).unwrap_or_default(),
            );
            if let Some(account) = server_account {
                pbx.subscribe(
                    endpoint,
                    resolver,
                    account,
                    EventPackage::Dialog,
                    uri.clone(),
                )
                .await;
                if b.presence {
                    pbx.subscribe(endpoint, resolver, account, EventPackage::Presence, uri)
                        .await;
                }
            } else {
                entry.set_dialog(Lamp {
                    state: LampState::Offline,
                    remote: None,
                    pickup: None,
                });
            }
            pbx.blf.push(entry);
        }
        for account in config.accounts.iter().filter(|a| a.mwi) {
            let aor = format!("sip:{}@{}", account.user, account.domain);
            pbx.subscribe(
                endpoint,
                resolver,
                account,
                EventPackage::MessageSummary,
                aor,
            )
            .await;
        }
        Ok((
            pbx,
            PbxRx {
                subscriptions: sub_rx,
                publications: pub_rx,
            },
        ))
    }

    async fn subscribe(
        &mut self,
        endpoint: &Endpoint,
        resolver: &Resolver,
        account: &Account,
        package: EventPackage,
        target: String,
    ) {
        let Some(peer) = server_peer(account, resolver).await else {
            tracing::warn!(account = %account.name, "no server to subscribe {target} at");
            return;
        };
        let cfg = SubscriptionConfig {
            account: account.name.clone(),
            package,
            target,
            aor: format!("sip:{}@{}", account.user, account.domain),
            peer,
            proxy: account.proxy.clone(),
            credentials: credentials(account),
            expires: 600,
        };
        self.subscriptions.push(subscription::spawn(
            endpoint.clone(),
            cfg,
            self.sub_tx.clone(),
            self.cancel.child_token(),
        ));
    }

    /// Hands a NOTIFY to the subscription it belongs to; gives it back if none.
    pub(super) fn route_notify(&self, tx: ServerTransaction) -> Option<ServerTransaction> {
        let Some(sub) = self.subscriptions.iter().find(|s| s.matches(&tx.request)) else {
            return Some(tx);
        };
        match sub.notify(tx) {
            Ok(()) => None,
            Err(tx) => {
                reply(&tx, 481, &[]);
                None
            }
        }
    }

    /// Every lamp, for `blf` and `status`.
    pub(super) fn blf_status(&self) -> Vec<BlfStatus> {
        self.blf.iter().map(BlfEntry::status).collect()
    }

    /// Waiting messages per account; `None` until a summary arrived.
    pub(super) fn mwi_status(&self) -> Option<Vec<MwiStatus>> {
        (!self.mwi.is_empty()).then(|| {
            self.mwi
                .iter()
                .map(|(account, (new, old))| MwiStatus {
                    account: account.clone(),
                    new: *new,
                    old: *old,
                })
                .collect()
        })
    }

    /// Whether any Do Not Disturb is on (the `dnd` of `status`).
    pub(super) fn dnd(&self) -> bool {
        self.policy.dnd.on || self.policy.dnd.presence
    }

    /// Persists the policy (forwarding rules, DND).
    pub(super) fn save(&self) -> Result<(), CommandError> {
        self.policy
            .save(&self.policy_path)
            .map_err(|e| CommandError::new("store_error", e.to_string()))
    }
}

impl CallManager {
    pub(super) fn on_subscription(&mut self, ev: SubscriptionEvent) {
        self.callback_subscription(&ev);
        match ev {
            SubscriptionEvent::State {
                target,
                package: EventPackage::Dialog,
                state,
                ..
            } => {
                if matches!(
                    state,
                    SubscriptionState::Terminated { .. } | SubscriptionState::Failed { .. }
                ) {
                    let lamp = Lamp {
                        state: LampState::Offline,
                        remote: None,
                        pickup: None,
                    };
                    self.update_lamp(&target, |b| b.set_dialog(lamp));
                }
            }
            // Presence the server does not offer (489, 404, …) or no longer
            // grants: the lamp goes on from the dialog package alone.
            SubscriptionEvent::State {
                target,
                package: EventPackage::Presence,
                state: SubscriptionState::Terminated { .. } | SubscriptionState::Failed { .. },
                ..
            } => {
                self.update_lamp(&target, |b| b.set_presence(None));
            }
            SubscriptionEvent::State { .. } => {}
            SubscriptionEvent::Notify {
                target,
                payload: Payload::DialogInfo(info),
                ..
            } => {
                self.update_lamp(&target, |b| b.set_dialog(info.lamp()));
            }
            SubscriptionEvent::Notify {
                target,
                payload: Payload::Presence(presence),
                ..
            } => {
                let view = presence.availability().map(|availability| PresenceView {
                    availability,
                    note: presence.notes.first().cloned(),
                });
                self.update_lamp(&target, |b| b.set_presence(view));
            }
            SubscriptionEvent::Notify {
                account,
                payload: Payload::MessageSummary(summary),
                ..
            } => {
                let (new, old) = summary.new_old();
                if self.pbx.mwi.get(&account) != Some(&(new, old)) {
                    self.pbx.mwi.insert(account.clone(), (new, old));
                    let _ = self.events.send(Arc::new(Event::Mwi { account, new, old }));
                }
            }
            // Callbacks when free read these (`super::callback`).
            SubscriptionEvent::Notify {
                payload: Payload::CallCompletion(_),
                ..
            } => {}
        }
    }

    /// Applies `change` to the lamp watching `target_uri`; announces the
    /// lamp when what it shows changed.
    fn update_lamp(&mut self, target_uri: &str, change: impl FnOnce(&mut BlfEntry) -> bool) {
        let Some(b) = self.pbx.blf.iter_mut().find(|b| b.uri == target_uri) else {
            return;
        };
        if change(b) {
            let mut event = b.event();
            if let Event::Blf { name, .. } = &mut event {
                *name = self.names.lookup(&b.uri).map(str::to_string);
            }
            let _ = self.events.send(Arc::new(event));
        }
    }

    /// Announces again each lamp whose target the directory names, with
    /// that name (the directory was read after the lamps were lit).
    pub(super) fn announce_named_lamps(&self) {
        for b in &self.pbx.blf {
            if let (
                Some(found),
                Event::Blf {
                    target,
                    state,
                    remote,
                    presence,
                    note,
                    ..
                },
            ) = (self.names.lookup(&b.uri), b.event())
            {
                let _ = self.events.send(Arc::new(Event::Blf {
                    target,
                    state,
                    remote,
                    presence,
                    note,
                    name: Some(found.to_string()),
                }));
            }
        }
    }

    pub(super) fn on_publication(&mut self, ev: PublicationEvent) {
        tracing::info!(account = %ev.account, status = ?ev.status, "presence publication");
    }

    /// `blf`: every lamp.
    pub(super) fn cmd_blf(&self) -> Result<Value, CommandError> {
        Ok(json!({ "blf": self.named_blf_status() }))
    }

    /// Directed pickup: INVITE with Replaces to the caller of `target`'s
    /// ringing call (RFC 3891 `early-only`), else the PBX's pickup code.
    pub(super) fn cmd_pickup(&mut self, target: Option<&str>) -> Result<Value, CommandError> {
        let entry = self.pbx.blf.iter().find(|b| match target {
            Some(t) => b.target == t || b.uri == t || b.uri == subscription::target_uri(t, ""),
            None => b.lamp.state == LampState::Ringing,
        });
        if let Some(b) = entry.filter(|b| b.lamp.state == LampState::Ringing) {
            if let (Some(p), Some(caller)) = (&b.lamp.pickup, &b.lamp.remote) {
                let replaces = p.replaces_to_caller().header_value();
                let account = (!b.account.is_empty()).then(|| b.account.clone());
                let caller = m::uri_of(caller);
                let id = self.dial_with(
                    &caller,
                    account.as_deref(),
                    vec![("Replaces".into(), replaces)],
                )?;
                return Ok(json!({ "call": id }));
            }
        }
        let codes = &self.config.pbx.codes;
        let number = match target {
            Some(t) => FeatureCodes::dial(&codes.directed_pickup, Some(t)),
            None => FeatureCodes::dial(&codes.group_pickup, None),
        };
        match number {
            Some(n) => self.dial(&n, None),
            None => Err(CommandError::new(
                "nothing_to_pick_up",
                match target {
                    Some(t) => format!("{t} has no ringing call we know of, and no pickup feature code is configured"),
                    None => "no BLF target is ringing, and no group pickup code is configured".to_string(),
                },
            )),
        }
    }
}
