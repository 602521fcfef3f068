//! The manager's PBX features: busy lamp field (dialog event subscriptions),
//! call pickup (INVITE with Replaces from the dialog info, or the PBX's
//! feature code), MWI, Do Not Disturb (line and presence), and call
//! forwarding (by the client through [`Policy`], or by the PBX's feature
//! codes). The SIP work is done by `sip::subscription` / `sip::publication`
//! tasks; this module keeps their state and answers the commands.

use super::routing::reply;
use super::CallManager;
use crate::command::{CommandError, DndVia};
use crate::config::{Account, Config, FeatureCodes};
use crate::phone::blf::{BlfEntry, PresenceView};
use crate::phone::event::Event;
use crate::phone::policy::{ForwardRule, Policy, Scope, When};
use crate::phone::status::{BlfStatus, ForwardStatus, ForwardVia, MwiStatus};
use crate::sip::auth::Credentials;
use crate::sip::message as m;
use crate::sip::publication::{
    self, PresenceDoc, PublicationConfig, PublicationEvent, PublicationHandle,
};
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

/// A forwarding switched on at the PBX by feature code.
pub(super) struct PbxForward {
    when: When,
    to: String,
}

/// State of the PBX features.
pub(super) struct Pbx {
    pub(super) policy: Policy,
    policy_path: PathBuf,
    blf: Vec<BlfEntry>,
    subscriptions: Vec<SubscriptionHandle>,
    publications: HashMap<String, PublicationHandle>,
    presence_dnd: bool,
    mwi: BTreeMap<String, (u32, u32)>,
    pbx_forward: Vec<PbxForward>,
    pub(super) cancel: CancellationToken,
    sub_tx: mpsc::UnboundedSender<SubscriptionEvent>,
    pub_tx: mpsc::UnboundedSender<PublicationEvent>,
}

/// The receivers the manager's loop polls.
pub(super) struct PbxRx {
    pub(super) subscriptions: mpsc::UnboundedReceiver<SubscriptionEvent>,
    pub(super) publications: mpsc::UnboundedReceiver<PublicationEvent>,
}

fn credentials(account: &Account) -> Option<Credentials> {
    account.password.as_ref().map(|p| Credentials {
        user: account
            .auth_user
            .clone()
            .unwrap_or_else(|| account.user.clone()),
        password: p.clone(),
    })
}

/// Where an account's server requests go: its proxy, else its domain.
async fn server_peer(account: &Account) -> Option<crate::sip::transport::Peer> {
    let via = account
        .proxy
        .clone()
        .unwrap_or_else(|| format!("sip:{}", account.domain));
    m::resolve(&via).await.ok()
}

impl Pbx {
    /// Loads the persisted policy and starts BLF and MWI subscriptions.
    pub(super) async fn start(
        config: &Config,
        endpoint: &Endpoint,
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
            presence_dnd: false,
            mwi: BTreeMap::new(),
            pbx_forward: Vec::new(),
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
                pbx.subscribe(endpoint, account, EventPackage::Dialog, uri.clone())
                    .await;
                if b.presence {
                    pbx.subscribe(endpoint, account, EventPackage::Presence, uri)
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
            pbx.subscribe(endpoint, account, EventPackage::MessageSummary, aor)
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
        account: &Account,
        package: EventPackage,
        target: String,
    ) {
        let Some(peer) = server_peer(account).await else {
            tracing::warn!(account = %account.name, "no server to subscribe {target} at");
            return;
        };
        let cfg = SubscriptionConfig {
            account: account.name.clone(),
            package,
            target,
            aor: format!("sip:{}@{}", account.user, account.domain),
            peer,
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

    /// The forwarding rules: ours (the policy's), then the PBX's.
    pub(super) fn forward_status(&self) -> Vec<ForwardStatus> {
        let client = self.policy.forward.iter().map(|r| ForwardStatus {
            when: r.when,
            scope: Some(r.scope),
            to: r.to.clone(),
            after_s: r.after_s,
            via: ForwardVia::Client,
        });
        let pbx = self.pbx_forward.iter().map(|f| ForwardStatus {
            when: f.when,
            scope: None,
            to: f.to.clone(),
            after_s: None,
            via: ForwardVia::FeatureCode,
        });
        client.chain(pbx).collect()
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

    pub(super) fn dnd(&self) -> bool {
        self.policy.dnd.on || self.presence_dnd
    }

    fn save(&self) -> Result<(), CommandError> {
        self.policy
            .save(&self.policy_path)
            .map_err(|e| CommandError::new("store_error", e.to_string()))
    }
}

fn parse_when(when: &str) -> When {
    match when {
        "busy" => When::Busy,
        "no_answer" => When::NoAnswer,
        _ => When::Always,
    }
}

fn code_for(codes: &FeatureCodes, when: When, on: bool) -> &Option<String> {
    match (when, on) {
        (When::Always, true) => &codes.forward_always_on,
        (When::Always, false) => &codes.forward_always_off,
        (When::Busy, true) => &codes.forward_busy_on,
        (When::Busy, false) => &codes.forward_busy_off,
        (When::NoAnswer, true) => &codes.forward_no_answer_on,
        (When::NoAnswer, false) => &codes.forward_no_answer_off,
    }
}

impl CallManager {
    pub(super) fn on_subscription(&mut self, ev: SubscriptionEvent) {
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
        }
    }

    /// Applies `change` to the lamp watching `target_uri`; announces the
    /// lamp when what it shows changed.
    fn update_lamp(&mut self, target_uri: &str, change: impl FnOnce(&mut BlfEntry) -> bool) {
        let Some(b) = self.pbx.blf.iter_mut().find(|b| b.uri == target_uri) else {
            return;
        };
        if change(b) {
            let _ = self.events.send(Arc::new(b.event()));
        }
    }

    pub(super) fn on_publication(&mut self, ev: PublicationEvent) {
        tracing::info!(account = %ev.account, status = ?ev.status, "presence publication");
    }

    pub(super) async fn cmd_dnd(&mut self, on: bool, via: DndVia) -> Result<Value, CommandError> {
        match via {
            DndVia::Line => {
                self.pbx.policy.dnd.on = on;
                self.pbx.save()?;
                let code = if on {
                    &self.config.pbx.codes.dnd_on
                } else {
                    &self.config.pbx.codes.dnd_off
                };
                if let Some(code) = FeatureCodes::dial(code, None) {
                    // Tell the PBX too.
                    let _ = self.dial(&code, None);
                }
            }
            DndVia::Presence => {
                let doc = if on {
                    PresenceDoc::do_not_disturb()
                } else {
                    PresenceDoc::available()
                };
                let accounts: Vec<Account> = self
                    .accounts
                    .iter()
                    .filter(|a| a.account.register || a.account.proxy.is_some())
                    .map(|a| a.account.clone())
                    .collect();
                if accounts.is_empty() {
                    return Err(CommandError::new(
                        "no_server",
                        "presence needs an account with a server",
                    ));
                }
                for account in accounts {
                    if let Some(h) = self.pbx.publications.get(&account.name) {
                        h.set(doc.clone());
                        continue;
                    }
                    let Some(peer) = server_peer(&account).await else {
                        continue;
                    };
                    let cfg = PublicationConfig {
                        account: account.name.clone(),
                        aor: format!("sip:{}@{}", account.user, account.domain),
                        peer,
                        credentials: credentials(&account),
                        expires: 600,
                    };
                    let (handle, _task) = publication::spawn(
                        self.env.endpoint.clone(),
                        cfg,
                        Some(doc.clone()),
                        self.pbx.pub_tx.clone(),
                        self.pbx.cancel.child_token(),
                    );
                    self.pbx.publications.insert(account.name.clone(), handle);
                }
                self.pbx.presence_dnd = on;
            }
        }
        Ok(json!({ "dnd": self.pbx.dnd() }))
    }

    pub(super) fn cmd_forward(
        &mut self,
        when: &str,
        scope: &str,
        to: &str,
        after_s: Option<u32>,
        via: &str,
    ) -> Result<Value, CommandError> {
        let when = parse_when(when);
        if via == "feature_code" {
            let code = code_for(&self.config.pbx.codes, when, true);
            let Some(number) = FeatureCodes::dial(code, Some(to)) else {
                return Err(CommandError::new(
                    "no_feature_code",
                    "the PBX profile has no feature code for this forwarding ([pbx] in the config)",
                ));
            };
            self.dial(&number, None)?;
            self.pbx.pbx_forward.retain(|f| f.when != when);
            self.pbx.pbx_forward.push(PbxForward {
                when,
                to: to.to_string(),
            });
        } else {
            let scope = match scope {
                "internal" => Scope::Internal,
                "external" => Scope::External,
                _ => Scope::All,
            };
            self.pbx.policy.add_rule(ForwardRule {
                when,
                scope,
                to: to.to_string(),
                after_s,
            });
            self.pbx.save()?;
        }
        Ok(json!({ "forward": self.pbx.forward_status() }))
    }

    pub(super) fn cmd_forward_clear(&mut self) -> Result<Value, CommandError> {
        self.pbx.policy.forward.clear();
        self.pbx.save()?;
        let pbx: Vec<When> = self.pbx.pbx_forward.drain(..).map(|f| f.when).collect();
        for when in pbx {
            if let Some(number) =
                FeatureCodes::dial(code_for(&self.config.pbx.codes, when, false), None)
            {
                let _ = self.dial(&number, None);
            }
        }
        Ok(json!({ "forward": [] }))
    }

    /// `blf`: every lamp.
    pub(super) fn cmd_blf(&self) -> Result<Value, CommandError> {
        Ok(json!({ "blf": self.pbx.blf_status() }))
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
                // To the caller, its own tag is the to-tag (RFC 3891 §3).
                let replaces = format!(
                    "{};to-tag={};from-tag={};early-only",
                    p.call_id, p.remote_tag, p.local_tag
                );
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
