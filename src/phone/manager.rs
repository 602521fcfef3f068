//! The `CallManager` actor: owns the call table, the accounts and their
//! registrations, the history store and the phone's policy (max calls, call
//! waiting, DND, auto answer, ring timeout). Routes SIP from the transaction
//! layer to call actors, answers what belongs to no call (OPTIONS, 481, 405),
//! runs commands, and publishes events.

mod pbx;

use super::call::{CallActor, CallHandle, Replaces, SipInput};
use super::event::{CallDirection, CallInfo, CallState, Event};
use super::{CallEnv, CommandMsg, ManagerMsg, PhoneHandle, RegistrationRx};
use crate::command::{Command, CommandError};
use crate::config::{Account, ConferenceHangup, Config};
use crate::media::{AudioSystem, Conference, MemberId};
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::Method;
use crate::sip::registration::{self, RegistrationConfig, RegistrationStatus};
use crate::sip::transaction::{Endpoint, Incoming, ServerTransaction, Timers};
use crate::sip::transport::Transport;
use crate::store::History;
use anyhow::Context;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

struct CallEntry {
    handle: CallHandle,
    info: CallInfo,
    history_id: Option<i64>,
    answered_recorded: bool,
    /// The call-waiting beep is on in this call.
    beeping: bool,
}

struct AccountState {
    account: Account,
    aor: String,
    status: Option<RegistrationStatus>,
}

struct CallManager {
    config: Config,
    env: Arc<CallEnv>,
    history: History,
    calls: BTreeMap<String, CallEntry>,
    by_sip_call_id: HashMap<String, String>,
    next_id: u64,
    events: broadcast::Sender<Arc<Event>>,
    accounts: Vec<AccountState>,
    registrations: CancellationToken,
    registration_tasks: Vec<tokio::task::JoinHandle<()>>,
    closed: watch::Sender<bool>,
    /// Calls we placed for a peer's REFER → the call that was REFERred.
    refer_links: HashMap<String, String>,
    /// The local conference, while there is one.
    conference: Option<ConferenceState>,
    /// Calls dialed by `conf_add to=…`: they join once answered.
    conf_pending: HashSet<String>,
    /// BLF, pickup, MWI, DND, forwarding.
    pbx: pbx::Pbx,
    /// Attended transfers under way: transferred call → consultation call.
    attended: HashMap<String, String>,
}

struct ConferenceState {
    conf: Arc<Conference>,
    /// Call id → its member id in the mixer.
    members: BTreeMap<String, MemberId>,
}

/// Starts the phone and returns its handle.
pub(super) async fn start(config: Config) -> anyhow::Result<PhoneHandle> {
    let (transport, inbound) = Transport::bind(config.sip.listen)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", config.sip.listen))?;
    let sip_addr = transport.local_addr();
    let env_transport = transport.clone();
    let (endpoint, incoming) = Endpoint::start(transport, inbound, Timers::default());
    let audio = AudioSystem::open(&config.audio).context("cannot open audio")?;
    if let Some(dir) = config.history_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let history = History::open(&config.history_path)
        .with_context(|| format!("cannot open call history {}", config.history_path.display()))?;
    let media_ip = match sip_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let (manager_tx, manager_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::channel(64);
    let (events, _) = broadcast::channel(1024);
    let (closed_tx, closed_rx) = watch::channel(false);
    let (reg_tx, reg_rx) = mpsc::unbounded_channel();
    let env = Arc::new(CallEnv {
        endpoint: endpoint.clone(),
        audio,
        media_ip,
        ring_timeout_s: config.phone.ring_timeout_s,
        manager: manager_tx,
    });
    let registrations = CancellationToken::new();
    let mut accounts = Vec::new();
    let mut registration_tasks = Vec::new();
    for account in &config.accounts {
        let aor = format!("sip:{}@{}", account.user, account.domain);
        if account.register {
            let via = account
                .proxy
                .clone()
                .unwrap_or_else(|| format!("sip:{}", account.domain));
            let peer = m::resolve(&via).await.with_context(|| {
                format!("account {}: cannot reach registrar {via}", account.name)
            })?;
            let cfg = RegistrationConfig {
                account: account.name.clone(),
                aor: aor.clone(),
                registrar_uri: format!("sip:{}", account.domain),
                peer,
                credentials: account
                    .password
                    .as_ref()
                    .map(|p| crate::sip::auth::Credentials {
                        user: account
                            .auth_user
                            .clone()
                            .unwrap_or_else(|| account.user.clone()),
                        password: p.clone(),
                    }),
                expires: account.expires,
            };
            registration_tasks.push(registration::spawn(
                endpoint.clone(),
                cfg,
                reg_tx.clone(),
                registrations.child_token(),
            ));
        }
        accounts.push(AccountState {
            account: account.clone(),
            aor,
            status: None,
        });
    }
    let (pbx, pbx_rx) = pbx::Pbx::start(&config, &endpoint).await?;
    tracing::info!(%sip_addr, "SIP listening (UDP and TCP)");
    let manager = CallManager {
        pbx,
        config,
        env,
        history,
        calls: BTreeMap::new(),
        by_sip_call_id: HashMap::new(),
        next_id: 1,
        events: events.clone(),
        accounts,
        registrations,
        registration_tasks,
        closed: closed_tx,
        refer_links: HashMap::new(),
        conference: None,
        conf_pending: HashSet::new(),
        attended: HashMap::new(),
    };
    tokio::spawn(manager.run(commands_rx, manager_rx, incoming, reg_rx, pbx_rx));
    Ok(PhoneHandle {
        trace: env_transport,
        commands: commands_tx,
        events,
        sip_addr,
        closed: closed_rx,
    })
}

fn no_call(what: &str) -> CommandError {
    CommandError::new("no_such_call", what.to_string())
}

impl CallManager {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<CommandMsg>,
        mut internal: mpsc::UnboundedReceiver<ManagerMsg>,
        mut incoming: mpsc::UnboundedReceiver<Incoming>,
        mut reg_rx: RegistrationRx,
        mut pbx_rx: pbx::PbxRx,
    ) {
        let mut quit_deadline: Option<tokio::time::Instant> = None;
        loop {
            if let Some(deadline) = quit_deadline {
                if self.calls.is_empty() || tokio::time::Instant::now() >= deadline {
                    break;
                }
            }
            let deadline = quit_deadline;
            tokio::select! {
                Some(request) = commands.recv(), if quit_deadline.is_none() => match request {
                    CommandMsg::Snapshot(reply) => {
                        let _ = reply.send(self.snapshot());
                    }
                    CommandMsg::Command(Command::Quit, reply) => {
                        let _ = reply.send(Ok(json!({})));
                        tracing::info!("quit: ending calls and unregistering");
                        for c in self.calls.values() {
                            c.handle.shutdown();
                        }
                        quit_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(3));
                    }
                    CommandMsg::Command(cmd, reply) => self.on_command(cmd, reply).await,
                },
                Some(msg) = internal.recv() => self.on_internal(msg),
                Some(inc) = incoming.recv() => self.on_incoming(inc),
                Some(status) = reg_rx.recv() => self.on_registration(status),
                Some(ev) = pbx_rx.subscriptions.recv() => self.on_subscription(ev),
                Some(ev) = pbx_rx.publications.recv() => self.on_publication(ev),
                _ = crate::timer::sleep_opt(deadline) => {}
            }
        }
        self.registrations.cancel();
        self.pbx.cancel.cancel();
        let tasks = std::mem::take(&mut self.registration_tasks);
        let _ = tokio::time::timeout(Duration::from_secs(4), async {
            for t in tasks {
                let _ = t.await;
            }
        })
        .await;
        while let Ok(status) = reg_rx.try_recv() {
            self.on_registration(status);
        }
        let _ = self.closed.send(true);
    }

    // ------------------------------------------------------------ commands

    fn account(&self, name: Option<&str>) -> Result<&AccountState, CommandError> {
        match name {
            Some(n) => self
                .accounts
                .iter()
                .find(|a| a.account.name == n)
                .ok_or_else(|| {
                    CommandError::new("no_such_account", format!("no account named `{n}`"))
                }),
            None => self
                .accounts
                .first()
                .ok_or_else(|| CommandError::new("no_account", "no account is configured")),
        }
    }

    /// The call a command means: the given id, else per docs/control.md the
    /// ringing one (answer/reject) or the active one.
    fn select_call(
        &self,
        id: Option<&str>,
        prefer_ringing: bool,
    ) -> Result<CallHandle, CommandError> {
        if let Some(id) = id {
            return self
                .calls
                .get(id)
                .filter(|c| c.info.state != CallState::Ended)
                .map(|c| c.handle.clone())
                .ok_or_else(|| no_call(&format!("no call `{id}`")));
        }
        let live = || {
            self.calls
                .values()
                .filter(|c| c.info.state != CallState::Ended)
        };
        let ringing = live().find(|c| c.info.state == CallState::Ringing);
        let active = live().find(|c| c.info.state == CallState::Active);
        let pick = if prefer_ringing {
            ringing.or(active)
        } else {
            active.or(ringing)
        };
        pick.or_else(|| live().next())
            .map(|c| c.handle.clone())
            .ok_or_else(|| no_call("there is no call"))
    }

    async fn on_command(
        &mut self,
        cmd: Command,
        reply: oneshot::Sender<Result<Value, CommandError>>,
    ) {
        let result = match cmd {
            Command::Status => Ok(self.status()),
            Command::History { limit } => self
                .history
                .list(limit.unwrap_or(50))
                .map(|h| json!({ "history": h }))
                .map_err(|e| CommandError::new("store_error", e.to_string())),
            Command::Dial { to, account } => self.dial(&to, account.as_deref()),
            Command::Answer { call } => {
                // Another active call goes on hold first (call waiting).
                let target = self.select_call(call.as_deref(), true);
                let others: Vec<CallHandle> = self
                    .calls
                    .values()
                    .filter(|c| c.info.state == CallState::Active)
                    .filter(|c| target.as_ref().is_ok_and(|t| t.id != c.info.id))
                    .map(|c| c.handle.clone())
                    .collect();
                return self.spawn_call_command(target, reply, |h| async move {
                    for other in others {
                        if let Err(e) = other.hold().await {
                            tracing::warn!(call = %other.id, "could not hold before answering: {e}");
                        }
                    }
                    h.answer().await
                });
            }
            Command::Hangup { call: None }
                if self
                    .conference
                    .as_ref()
                    .is_some_and(|c| c.members.len() == 2)
                    && self.config.phone.conference_hangup == ConferenceHangup::Transfer =>
            {
                // Hand the conference over: the two members talk on.
                let ids: Vec<String> = self
                    .conference
                    .iter()
                    .flat_map(|c| c.members.keys().cloned())
                    .collect();
                return self.connect(&ids[0], &ids[1], reply);
            }
            Command::Hangup { call: None } if self.conference.is_some() => {
                // Hanging up ourselves ends every leg of the conference.
                let members: Vec<CallHandle> = self
                    .conference
                    .iter()
                    .flat_map(|c| c.members.keys())
                    .filter_map(|id| self.calls.get(id).map(|c| c.handle.clone()))
                    .collect();
                let ids: Vec<String> = members.iter().map(|h| h.id.clone()).collect();
                tokio::spawn(async move {
                    for h in members {
                        let _ = h.hangup().await;
                    }
                    let _ = reply.send(Ok(json!({ "calls": ids })));
                });
                return;
            }
            Command::Hangup { call } => {
                return self.spawn_call_command(
                    self.select_call(call.as_deref(), false),
                    reply,
                    |h| async move { h.hangup().await },
                )
            }
            Command::Reject { call, code } => {
                return self.spawn_call_command(
                    self.select_call(call.as_deref(), true),
                    reply,
                    move |h| async move { h.reject(code).await },
                )
            }
            Command::Events => Err(CommandError::new(
                "bad_request",
                "`events` streams on the control socket (termphone ctl events)",
            )),
            Command::Hold { call } => {
                let target = self.select_call(call.as_deref(), false);
                return self.spawn_call_command(target, reply, |h| async move { h.hold().await });
            }
            Command::Resume { call } => {
                let target = self.select_held(call.as_deref());
                return self.spawn_call_command(target, reply, |h| async move { h.resume().await });
            }
            Command::Switch { call } => return self.switch(call.as_deref(), reply),
            Command::Mute { call, on } => {
                let target = self.select_call(call.as_deref(), false);
                return self.spawn_call_command(
                    target,
                    reply,
                    move |h| async move { h.mute(on).await },
                );
            }
            Command::Dtmf { call, digits } => {
                let target = self.select_call(call.as_deref(), false);
                return self.spawn_call_command(target, reply, move |h| async move {
                    h.dtmf(digits).await
                });
            }
            Command::Deflect { call, to } => {
                // The ringing call by default.
                let target = self.select_call(call.as_deref(), true);
                return self.spawn_call_to(target, &to, reply, |h, uri| async move {
                    h.deflect(uri).await
                });
            }
            Command::Transfer { call, to } => {
                let target = self.select_call(call.as_deref(), false);
                return self.spawn_call_to(target, &to, reply, |h, uri| async move {
                    h.transfer(uri).await
                });
            }
            Command::Consult { call, to } => self.consult(call.as_deref(), &to),
            Command::Connect { call, consult } => return self.connect(&call, &consult, reply),
            Command::Callback { entry } => self.callback(entry),
            Command::Conference { calls } => return self.conference(calls, reply),
            Command::ConfAdd { to: Some(to), .. } => match self.dial(&to, None) {
                Ok(v) => {
                    if let Some(id) = v["call"].as_str() {
                        // Joins when answered (see on_call_update).
                        self.conf_pending.insert(id.to_string());
                    }
                    Ok(v)
                }
                Err(e) => Err(e),
            },
            Command::ConfAdd { call, .. } => {
                return self.conference(Some(call.into_iter().collect()), reply);
            }
            Command::ConfRemove { call } => {
                let target = self.conf_member(&call);
                return self.spawn_call_command(target, reply, |h| async move { h.hangup().await });
            }
            Command::ConfSplit { call } => self.conf_split(&call, true),
            Command::ConfJoin { call } => self.conf_split(&call, false),
            Command::Dnd { on, via } => self.cmd_dnd(on, via).await,
            Command::Forward {
                when,
                scope,
                to,
                after_s,
                via,
            } => self.cmd_forward(&when, &scope, &to, after_s, &via),
            Command::ForwardClear => self.cmd_forward_clear(),
            Command::Pickup { target } => self.cmd_pickup(target.as_deref()),
            Command::Blf => Ok(self.pbx.blf_json()),
            Command::Record { call, on, path } => {
                let target = self.select_call(call.as_deref(), false);
                let file = match (&target, on) {
                    (_, false) => None,
                    (Ok(h), true) => {
                        Some(path.map(std::path::PathBuf::from).unwrap_or_else(|| {
                            let sip_id = self
                                .calls
                                .get(&h.id)
                                .map(|c| c.info.sip_call_id.clone())
                                .unwrap_or_default();
                            let stamp = crate::store::now_rfc3339().replace(':', "");
                            self.recordings_dir()
                                .join(format!("{stamp}-{}.wav", sip_id.replace(['/', '@'], "_")))
                        }))
                    }
                    (Err(_), true) => None,
                };
                let shown = file.as_ref().map(|f| f.display().to_string());
                let target = target.map(|h| (h, file));
                match target {
                    Err(e) => Err(e),
                    Ok((h, file)) => {
                        tokio::spawn(async move {
                            let id = h.id.clone();
                            let r = h
                                .record(file)
                                .await
                                .map(|_| json!({ "call": id, "path": shown }));
                            let _ = reply.send(r);
                        });
                        return;
                    }
                }
            }
            Command::Quit => Ok(json!({})),
        };
        let _ = reply.send(result);
    }

    /// Runs a call command without blocking the manager on the call actor.
    fn spawn_call_command<F, Fut>(
        &self,
        call: Result<CallHandle, CommandError>,
        reply: oneshot::Sender<Result<Value, CommandError>>,
        f: F,
    ) where
        F: FnOnce(CallHandle) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), CommandError>> + Send,
    {
        match call {
            Err(e) => {
                let _ = reply.send(Err(e));
            }
            Ok(handle) => {
                tokio::spawn(async move {
                    let id = handle.id.clone();
                    let r = f(handle).await.map(|_| json!({ "call": id }));
                    let _ = reply.send(r);
                });
            }
        }
    }

    /// Like [`CallManager::spawn_call_command`] for commands that also take a
    /// target (`to`), made a SIP URI on the call's account first.
    fn spawn_call_to<F, Fut>(
        &self,
        call: Result<CallHandle, CommandError>,
        to: &str,
        reply: oneshot::Sender<Result<Value, CommandError>>,
        f: F,
    ) where
        F: FnOnce(CallHandle, String) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), CommandError>> + Send,
    {
        let uri = match &call {
            Ok(h) => self.target_uri(to, Some(h)),
            Err(_) => Ok(String::new()),
        };
        match uri {
            Ok(uri) => self.spawn_call_command(call, reply, move |h| f(h, uri)),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Joins `calls` (default: every live call) into the conference, which is
    /// created on first use. Held calls are resumed.
    fn conference(
        &mut self,
        calls: Option<Vec<String>>,
        reply: oneshot::Sender<Result<Value, CommandError>>,
    ) {
        let ids: Vec<String> = match calls {
            Some(ids) if !ids.is_empty() => ids,
            _ => self
                .calls
                .values()
                .filter(|c| matches!(c.info.state, CallState::Active | CallState::Held))
                .map(|c| c.info.id.clone())
                .collect(),
        };
        let mut handles = Vec::new();
        for id in &ids {
            match self.select_call(Some(id), false) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return;
                }
            }
        }
        if handles.is_empty() {
            let _ = reply.send(Err(no_call("there is no connected call to conference")));
            return;
        }
        let conf = match self.ensure_conference() {
            Ok(c) => c,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let manager = self.env.manager.clone();
        tokio::spawn(async move {
            let mut joined = Vec::new();
            let mut error = None;
            for h in handles {
                match h.conference(Some(conf.clone())).await {
                    Ok(Some(member)) => {
                        let _ = manager.send(ManagerMsg::ConferenceJoined(h.id.clone(), member));
                        joined.push(h.id.clone());
                    }
                    Ok(None) => {}
                    Err(e) => error = Some(e),
                }
            }
            let _ = reply.send(match (error, joined.is_empty()) {
                (Some(e), true) => Err(e),
                _ => Ok(json!({ "conference": { "members": joined } })),
            });
        });
    }

    /// Where `record` puts files without a `path`: beside the history.
    fn recordings_dir(&self) -> std::path::PathBuf {
        self.config
            .history_path
            .parent()
            .map(|d| d.join("recordings"))
            .unwrap_or_else(|| std::path::PathBuf::from("recordings"))
    }

    /// `{members, levels: {call: dBFS}, local_level, split}` for `status`.
    fn conference_json(&self) -> Value {
        let Some(c) = &self.conference else {
            return json!({ "members": [] });
        };
        let levels: serde_json::Map<String, Value> = c
            .conf
            .levels()
            .into_iter()
            .filter_map(|(member, db)| {
                let call = c.members.iter().find(|(_, m)| **m == member)?.0;
                Some((call.clone(), json!((db * 10.0).round() / 10.0)))
            })
            .collect();
        let split = c.conf.split_member().and_then(|m| {
            c.members
                .iter()
                .find(|(_, id)| **id == m)
                .map(|(call, _)| call.clone())
        });
        json!({
            "members": c.members.keys().collect::<Vec<_>>(),
            "levels": levels,
            "local_level": (c.conf.local_level() * 10.0).round() / 10.0,
            "split": split,
        })
    }

    fn ensure_conference(&mut self) -> Result<Arc<Conference>, CommandError> {
        if let Some(c) = &self.conference {
            return Ok(c.conf.clone());
        }
        let conf = Conference::new(&self.env.audio, &format!("conference-{}", self.next_id))
            .map_err(|e| {
                CommandError::new("media_error", format!("cannot start the conference: {e}"))
            })?;
        let conf = Arc::new(conf);
        self.conference = Some(ConferenceState {
            conf: conf.clone(),
            members: BTreeMap::new(),
        });
        Ok(conf)
    }

    fn conf_member(&self, call: &str) -> Result<CallHandle, CommandError> {
        match &self.conference {
            Some(c) if c.members.contains_key(call) => self.select_call(Some(call), false),
            _ => Err(CommandError::new(
                "not_in_conference",
                format!("call {call} is not in the conference"),
            )),
        }
    }

    /// `conf_split` (private talk with one member) and `conf_join` (back).
    fn conf_split(&self, call: &str, split: bool) -> Result<Value, CommandError> {
        let not_member = || {
            CommandError::new(
                "not_in_conference",
                format!("call {call} is not in the conference"),
            )
        };
        let c = self.conference.as_ref().ok_or_else(not_member)?;
        let member = *c.members.get(call).ok_or_else(not_member)?;
        if split {
            c.conf.split(member);
        } else if c.conf.split_member() == Some(member) {
            c.conf.rejoin();
        } else {
            return Err(CommandError::new(
                "bad_state",
                format!("call {call} is not split off"),
            ));
        }
        Ok(json!({ "call": call, "split": split }))
    }

    /// A member left (ended or hung up): drop it; a conference of one is no
    /// conference, the last call goes back to its own audio.
    fn conference_member_gone(&mut self, id: &str) {
        let Some(c) = self.conference.as_mut() else {
            return;
        };
        let Some(member) = c.members.remove(id) else {
            return;
        };
        c.conf.leave(member);
        if c.members.len() <= 1 {
            let last: Vec<String> = c.members.keys().cloned().collect();
            for id in last {
                if let Some(h) = self.calls.get(&id).map(|e| e.handle.clone()) {
                    tokio::spawn(async move {
                        let _ = h.conference(None).await;
                    });
                }
            }
            if let Some(state) = self.conference.take() {
                if let Ok(conf) = Arc::try_unwrap(state.conf) {
                    tokio::spawn(conf.stop());
                }
            }
        }
    }

    /// The call `resume` means: the given one, else a held one.
    fn select_held(&self, id: Option<&str>) -> Result<CallHandle, CommandError> {
        if id.is_some() {
            return self.select_call(id, false);
        }
        self.calls
            .values()
            .find(|c| c.info.state == CallState::Held)
            .map(|c| c.handle.clone())
            .ok_or_else(|| no_call("there is no held call"))
    }

    /// The account of `call` (else the first) and `to` made a SIP URI.
    fn target_uri(&self, to: &str, call: Option<&CallHandle>) -> Result<String, CommandError> {
        let account = call
            .and_then(|h| self.calls.get(&h.id))
            .and_then(|c| {
                self.accounts
                    .iter()
                    .find(|a| a.account.name == c.info.account)
            })
            .or_else(|| self.accounts.first())
            .map(|a| a.account.clone())
            .ok_or_else(|| CommandError::new("no_account", "no account is configured"))?;
        dial_uri(to, &account)
    }

    /// Holds the active call and resumes `id` (default: another held call).
    fn switch(&self, id: Option<&str>, reply: oneshot::Sender<Result<Value, CommandError>>) {
        let active: Vec<CallHandle> = self
            .calls
            .values()
            .filter(|c| c.info.state == CallState::Active)
            .filter(|c| Some(c.info.id.as_str()) != id)
            .map(|c| c.handle.clone())
            .collect();
        let target = self.select_held(id);
        self.spawn_call_command(target, reply, |h| async move {
            for a in active {
                a.hold().await?;
            }
            h.resume().await
        });
    }

    /// Holds `call` (the active one by default) and dials `to` on its account.
    fn consult(&mut self, call: Option<&str>, to: &str) -> Result<Value, CommandError> {
        let first = self.select_call(call, false)?;
        let account = self.calls.get(&first.id).map(|c| c.info.account.clone());
        let h = first.clone();
        tokio::spawn(async move {
            if let Err(e) = h.hold().await {
                tracing::warn!(call = %h.id, "hold before consultation failed: {e}");
            }
        });
        let mut result = self.dial(to, account.as_deref())?;
        if let Some(obj) = result.as_object_mut() {
            obj.insert("held".into(), Value::String(first.id));
        }
        Ok(result)
    }

    /// Attended transfer: REFER `call`'s peer to the consultation's peer with
    /// Replaces; when the peer cannot do that, drop the consultation and
    /// transfer blind to the same party.
    fn connect(
        &mut self,
        call: &str,
        consult: &str,
        reply: oneshot::Sender<Result<Value, CommandError>>,
    ) {
        let (first, second) = match (
            self.select_call(Some(call), false),
            self.select_call(Some(consult), false),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        // Linked before the REFER goes out: the transferred leg may end
        // before the 202 is processed here.
        self.attended.insert(first.id.clone(), second.id.clone());
        let manager = self.env.manager.clone();
        tokio::spawn(async move {
            let result = async {
                let dialog = second.dialog_info().await.ok_or_else(|| {
                    CommandError::new(
                        "bad_state",
                        format!("consultation {} is not connected", second.id),
                    )
                })?;
                match first.transfer(dialog.refer_to_with_replaces()).await {
                    Err(e) if e.code == "transfer_failed" => {
                        tracing::info!(
                            "attended transfer refused ({e}); falling back to blind transfer"
                        );
                        let _ = second.hangup().await;
                        first.transfer(dialog.remote_uri.clone()).await
                    }
                    other => other,
                }
            }
            .await;
            if result.is_err() {
                let _ = manager.send(ManagerMsg::AttendedTransferFailed(first.id.clone()));
            }
            let _ = reply.send(result.map(|_| json!({ "call": first.id, "consult": second.id })));
        });
    }

    /// Dials the remote party of a history entry (default: the last missed call).
    fn callback(&mut self, entry: Option<i64>) -> Result<Value, CommandError> {
        let found = match entry {
            Some(id) => self.history.get(id),
            None => self.history.last_missed(),
        }
        .map_err(|e| CommandError::new("store_error", e.to_string()))?;
        let e = found.ok_or_else(|| match entry {
            Some(id) => CommandError::new("no_such_entry", format!("no history entry {id}")),
            None => CommandError::new("no_such_entry", "no missed call to call back"),
        })?;
        let account = self
            .accounts
            .iter()
            .any(|a| a.account.name == e.account)
            .then_some(e.account.clone());
        self.dial(&e.remote, account.as_deref())
    }

    fn live_calls(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.info.state != CallState::Ended)
            .count()
    }

    fn new_id(&mut self) -> String {
        let id = format!("c{}", self.next_id);
        self.next_id += 1;
        id
    }

    fn dial(&mut self, to: &str, account: Option<&str>) -> Result<Value, CommandError> {
        self.dial_with(to, account, Vec::new())
            .map(|id| json!({ "call": id }))
    }

    /// Places a call with extra headers (Referred-By, Replaces); returns its id.
    fn dial_with(
        &mut self,
        to: &str,
        account: Option<&str>,
        extra_headers: Vec<(String, String)>,
    ) -> Result<String, CommandError> {
        let account = self.account(account)?.account.clone();
        if self.live_calls() >= self.config.phone.max_calls {
            return Err(CommandError::new(
                "too_many_calls",
                format!("already {} calls (max_calls)", self.config.phone.max_calls),
            ));
        }
        if to.trim() == "echo" {
            let id = self.new_id();
            let (handle, info) = CallActor::echo(self.env.clone(), id.clone(), account);
            self.insert_call(handle, info);
            return Ok(id);
        }
        let uri = dial_uri(to, &account)?;
        let next_hop = account.proxy.clone().unwrap_or_else(|| uri.clone());
        let id = self.new_id();
        let (handle, info) = CallActor::outgoing(
            self.env.clone(),
            id.clone(),
            account,
            uri,
            next_hop,
            extra_headers,
        );
        self.insert_call(handle, info);
        Ok(id)
    }

    fn insert_call(&mut self, handle: CallHandle, info: CallInfo) {
        self.by_sip_call_id
            .insert(info.sip_call_id.clone(), info.id.clone());
        let entry = CallEntry {
            beeping: false,
            handle,
            info: info.clone(),
            history_id: None,
            answered_recorded: false,
        };
        self.calls.insert(info.id.clone(), entry);
        // Recorded in history and announced like any later change.
        self.on_call_update(info);
    }

    fn status(&self) -> Value {
        let accounts: Vec<Value> = self
            .accounts
            .iter()
            .map(|a| {
                let mut v = json!({
                    "name": a.account.name,
                    "aor": a.aor,
                    "registered": a.status.as_ref().is_some_and(|s| s.registered),
                    "expires": a.status.as_ref().map(|s| s.expires).unwrap_or(0),
                });
                let reason = if a.account.register {
                    a.status
                        .as_ref()
                        .and_then(|s| s.reason.clone())
                        .or_else(|| a.status.is_none().then(|| "registering".to_string()))
                } else {
                    Some("registration off (direct IP)".to_string())
                };
                if let (Some(r), Some(obj)) = (reason, v.as_object_mut()) {
                    obj.insert("reason".into(), Value::String(r));
                }
                v
            })
            .collect();
        let calls: Vec<&CallInfo> = self
            .calls
            .values()
            .filter(|c| c.info.state != CallState::Ended)
            .map(|c| &c.info)
            .collect();
        json!({
            "accounts": accounts,
            "calls": calls,
            "dnd": self.pbx.dnd(),
            "forward": self.pbx.forward_json(),
            "conference": self.conference_json(),
            "listen": self.env.endpoint.transport().local_addr().to_string(),
            "mwi": self.pbx.mwi_json(),
            "blf": self.pbx.blf_json()["blf"].clone(),
        })
    }

    fn snapshot(&self) -> Vec<Event> {
        let registrations = self.accounts.iter().filter_map(|a| {
            a.status.as_ref().map(|s| Event::Registration {
                account: s.account.clone(),
                registered: s.registered,
                reason: s.reason.clone(),
            })
        });
        let calls = self
            .calls
            .values()
            .filter(|c| c.info.state != CallState::Ended)
            .map(|c| Event::Call {
                call: Box::new(c.info.clone()),
            });
        registrations.chain(calls).collect()
    }

    // ------------------------------------------------------- call updates

    fn on_internal(&mut self, msg: ManagerMsg) {
        match msg {
            ManagerMsg::CallUpdate(info) => self.on_call_update(*info),
            ManagerMsg::Stats(id, stats) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.info.stats = stats;
                }
            }
            ManagerMsg::Dtmf(call, digit) => {
                let _ = self.events.send(Arc::new(Event::Dtmf {
                    call,
                    digit: digit.to_string(),
                }));
            }
            ManagerMsg::Refer {
                call,
                account,
                refer_to,
                referred_by,
            } => self.on_refer(call, account, refer_to, referred_by),
            ManagerMsg::AttendedTransferFailed(call) => {
                self.attended.remove(&call);
            }
            ManagerMsg::ConferenceJoined(id, member) => {
                let live = self
                    .calls
                    .get(&id)
                    .is_some_and(|c| c.info.state != CallState::Ended);
                match self.conference.as_mut() {
                    Some(c) if live => {
                        c.members.insert(id, member);
                    }
                    Some(c) => {
                        c.conf.leave(member);
                    }
                    None => {}
                }
            }
            ManagerMsg::CallGone(id) => {
                self.conference_member_gone(&id);
                if let Some(c) = self.calls.remove(&id) {
                    self.by_sip_call_id.remove(&c.info.sip_call_id);
                }
            }
        }
    }

    /// The peer of `call` asked us (REFER) to call `refer_to`.
    fn on_refer(
        &mut self,
        call: String,
        account: String,
        refer_to: String,
        referred_by: Option<String>,
    ) {
        let (uri, replaces) = super::call::split_refer_to(&refer_to);
        let mut headers = Vec::new();
        if let Some(by) = referred_by {
            headers.push(("Referred-By".to_string(), by));
        }
        if let Some(r) = replaces {
            headers.push(("Replaces".to_string(), r));
        }
        match self.dial_with(&uri, Some(&account), headers) {
            Ok(new_call) => {
                tracing::info!(%call, %new_call, %uri, "transferred by the peer");
                self.refer_links.insert(new_call, call);
            }
            Err(e) => {
                if let Some(c) = self.calls.get(&call) {
                    c.handle
                        .refer_progress(503, format!("Service Unavailable ({})", e.message));
                }
            }
        }
    }

    /// Tells the call that was REFERred how the call placed for it is going.
    fn report_refer_progress(&mut self, info: &CallInfo) {
        let Some(orig) = self.refer_links.get(&info.id).cloned() else {
            return;
        };
        let Some(handle) = self.calls.get(&orig).map(|c| c.handle.clone()) else {
            self.refer_links.remove(&info.id);
            return;
        };
        match info.state {
            CallState::Alerting => handle.refer_progress(180, "Ringing".into()),
            CallState::Active => {
                handle.refer_progress(200, "OK".into());
                self.refer_links.remove(&info.id);
            }
            CallState::Ended => {
                let reason = info.end_reason.clone().unwrap_or_default();
                let (code, text) = match reason.split_once(' ') {
                    Some((c, t)) if c.parse::<u16>().is_ok_and(|c| c >= 300) => {
                        (c.parse().unwrap_or(503), t.to_string())
                    }
                    _ => (487, "Request Terminated".to_string()),
                };
                handle.refer_progress(code, text);
                self.refer_links.remove(&info.id);
            }
            _ => {}
        }
    }

    /// The transferred leg of an attended transfer ended after its REFER was
    /// accepted (the peer BYEs us or our NOTIFY said 200): the consultation
    /// leg goes too. The target should BYE it when it takes the Replaces; a
    /// short grace lets it, then we do (RFC 5589 §7).
    fn finish_attended(&mut self, info: &CallInfo) {
        let Some(consult) = self.attended.remove(&info.id) else {
            return;
        };
        let Some(h) = self.calls.get(&consult).map(|c| c.handle.clone()) else {
            return;
        };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = h.hangup().await;
        });
    }

    /// The call-waiting beep plays in active calls while another call rings.
    fn update_waiting_beep(&mut self) {
        let ringing = self
            .calls
            .values()
            .any(|c| c.info.state == CallState::Ringing);
        for c in self.calls.values_mut() {
            let beep = ringing && c.info.state == CallState::Active;
            if c.beeping != beep {
                c.beeping = beep;
                c.handle.waiting_beep(beep);
            }
        }
    }

    fn on_call_update(&mut self, info: CallInfo) {
        let Some(entry) = self.calls.get_mut(&info.id) else {
            return;
        };
        self.by_sip_call_id
            .insert(info.sip_call_id.clone(), info.id.clone());
        if entry.history_id.is_none() {
            match self.history.start(
                &info.id,
                &info.account,
                info.direction.as_str(),
                &info.remote,
                &info.started_at,
            ) {
                Ok(id) => entry.history_id = Some(id),
                Err(e) => tracing::error!("history: {e}"),
            }
        }
        if let Some(hid) = entry.history_id {
            if let (Some(at), false) = (&info.answered_at, entry.answered_recorded) {
                entry.answered_recorded = true;
                if let Err(e) = self.history.answered(hid, at) {
                    tracing::error!("history: {e}");
                }
            }
            if info.state == CallState::Ended {
                let reason = info.end_reason.clone().unwrap_or_default();
                let missed = info.direction == CallDirection::In
                    && info.answered_at.is_none()
                    && !reason.starts_with("rejected");
                let at = info
                    .ended_at
                    .clone()
                    .unwrap_or_else(crate::store::now_rfc3339);
                if let Err(e) = self.history.ended(hid, &at, &reason, missed) {
                    tracing::error!("history: {e}");
                }
            }
        }
        entry.info = info.clone();
        self.report_refer_progress(&info);
        self.update_waiting_beep();
        if info.state == CallState::Ended {
            self.conf_pending.remove(&info.id);
            self.finish_attended(&info);
            self.conference_member_gone(&info.id);
        } else if info.state == CallState::Active && self.conf_pending.remove(&info.id) {
            if let (Some(h), Ok(conf)) = (
                self.calls.get(&info.id).map(|c| c.handle.clone()),
                self.ensure_conference(),
            ) {
                let manager = self.env.manager.clone();
                tokio::spawn(async move {
                    if let Ok(Some(member)) = h.conference(Some(conf)).await {
                        let _ = manager.send(ManagerMsg::ConferenceJoined(h.id.clone(), member));
                    }
                });
            }
        }
        let _ = self.events.send(Arc::new(Event::Call {
            call: Box::new(info),
        }));
    }

    fn on_registration(&mut self, status: RegistrationStatus) {
        if let Some(a) = self
            .accounts
            .iter_mut()
            .find(|a| a.account.name == status.account)
        {
            a.status = Some(status.clone());
        }
        let _ = self.events.send(Arc::new(Event::Registration {
            account: status.account,
            registered: status.registered,
            reason: status.reason,
        }));
    }

    // ---------------------------------------------------------------- SIP

    fn call_for(&self, sip_call_id: &str) -> Option<&CallHandle> {
        self.by_sip_call_id
            .get(sip_call_id)
            .and_then(|id| self.calls.get(id))
            .map(|c| &c.handle)
    }

    fn on_incoming(&mut self, inc: Incoming) {
        match inc {
            Incoming::Request(tx) => self.on_request(tx),
            Incoming::Ack { request, .. } => {
                if let Some(h) = m::call_id(&request.headers)
                    .ok()
                    .and_then(|c| self.call_for(&c))
                {
                    h.sip(SipInput::Ack(request));
                }
            }
            Incoming::Cancel { request, .. } => {
                if let Some(h) = m::call_id(&request.headers)
                    .ok()
                    .and_then(|c| self.call_for(&c))
                {
                    h.sip(SipInput::Cancel);
                }
            }
            Incoming::Response { response, .. } => {
                if let Some(h) = m::call_id(&response.headers)
                    .ok()
                    .and_then(|c| self.call_for(&c))
                {
                    h.sip(SipInput::Response(response));
                }
            }
            Incoming::AckTimeout { call_id } => {
                if let Some(h) = self.call_for(&call_id) {
                    h.sip(SipInput::AckTimeout);
                }
            }
        }
    }

    fn on_request(&mut self, tx: ServerTransaction) {
        let tx = if tx.request.method == Method::Notify {
            match self.pbx.route_notify(tx) {
                Some(tx) => tx,
                None => return,
            }
        } else {
            tx
        };
        let req = &tx.request;
        let call_id = m::call_id(&req.headers).unwrap_or_default();
        let has_to_tag = m::header(&req.headers, "To").and_then(m::tag).is_some();
        if let Some(h) = self.call_for(&call_id) {
            if req.method == Method::Invite && !has_to_tag {
                // A second INVITE for a call we already have: a loop or fork.
                reply(&tx, 482, &[]);
            } else {
                h.sip(SipInput::Request(Box::new(tx)));
            }
            return;
        }
        match req.method {
            Method::Invite if !has_to_tag => self.new_incoming(tx),
            Method::Options => reply(
                &tx,
                200,
                &[
                    ("Allow", crate::sip::ALLOW),
                    ("Accept", crate::sip::ACCEPT),
                    ("Supported", crate::sip::SUPPORTED),
                ],
            ),
            Method::Ack => {}
            _ if has_to_tag => reply(&tx, 481, &[]),
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::PRack => {
                reply(&tx, 481, &[])
            }
            _ => reply(&tx, 405, &[("Allow", crate::sip::ALLOW)]),
        }
    }

    fn new_incoming(&mut self, tx: ServerTransaction) {
        let user = req_user(&tx.request.uri.to_string());
        let Some(account) = self
            .accounts
            .iter()
            .find(|a| Some(a.account.user.as_str()) == user.as_deref())
            .or_else(|| self.accounts.first())
            .map(|a| a.account.clone())
        else {
            reply(&tx, 404, &[]);
            return;
        };
        let replaces = match m::header(&tx.request.headers, "Replaces").map(Replaces::parse) {
            None => None,
            Some(None) => {
                reply(&tx, 400, &[]);
                return;
            }
            Some(Some((call_id, to_tag, from_tag))) => match self.call_for(&call_id) {
                Some(call) => Some(Replaces {
                    call: call.clone(),
                    to_tag,
                    from_tag,
                }),
                None => {
                    reply(&tx, 481, &[]);
                    return;
                }
            },
        };
        // Forwarding and DND first (an INVITE with Replaces takes over a call
        // we already have: no policy applies).
        let (tx, forward_after) = if replaces.is_some() {
            (tx, None)
        } else {
            match self.apply_policy(tx, &account) {
                Some(decided) => decided,
                None => return,
            }
        };
        let live = self.live_calls();
        let policy = &self.config.phone;
        let busy = if replaces.is_some() {
            None
        } else if live >= policy.max_calls {
            Some("max_calls reached")
        } else if !policy.call_waiting && live > 0 {
            Some("call waiting is off")
        } else {
            None
        };
        if let Some(why) = busy {
            tracing::info!("incoming call refused with 486: {why}");
            reply(&tx, 486, &[]);
            return;
        }
        let auto_answer = self.config.phone.auto_answer && replaces.is_none();
        let id = self.new_id();
        let (handle, info) = CallActor::incoming(self.env.clone(), id, account, tx, replaces);
        if auto_answer {
            let h = handle.clone();
            tokio::spawn(async move {
                if let Err(e) = h.answer().await {
                    tracing::warn!(call = %h.id, "auto answer failed: {e}");
                }
            });
        } else if let Some((to, after_s)) = forward_after {
            // Forward on no answer: 302 after the delay if it still rings.
            let h = handle.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(after_s.into())).await;
                if h.deflect(to).await.is_ok() {
                    tracing::info!(call = %h.id, "forwarded on no answer");
                }
            });
        }
        self.insert_call(handle, info);
    }
}

/// A number, `user@host` or SIP URI as the SIP URI to call.
fn dial_uri(to: &str, account: &Account) -> Result<String, CommandError> {
    let target = to.trim();
    let uri = if target.starts_with("sip:") || target.starts_with("sips:") {
        target.to_string()
    } else if target.contains('@') {
        format!("sip:{target}")
    } else {
        if target.is_empty()
            || target
                .chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(CommandError::bad_argument(format!(
                "not a number or SIP URI: `{target}`"
            )));
        }
        format!("sip:{target}@{}", account.domain)
    };
    m::host_port(&uri).map_err(|e| CommandError::bad_argument(e.to_string()))?;
    m::parse_uri(&uri).map_err(|e| CommandError::bad_argument(e.to_string()))?;
    Ok(uri)
}

fn req_user(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    rest.split_once('@').map(|(u, _)| u.to_string())
}

/// A response from the manager itself (no call owns the request).
fn reply(tx: &ServerTransaction, code: u16, extra: &[(&str, &str)]) {
    let to_tag = (code >= 200
        && m::header(&tx.request.headers, "To")
            .and_then(m::tag)
            .is_none())
    .then(m::new_tag);
    let mut resp = m::response(&tx.request, code, to_tag.as_deref());
    for (name, value) in extra {
        add_header(&mut resp.headers, name, *value);
    }
    set_body(&mut resp.headers, &mut resp.body, None, Vec::new());
    if let Err(e) = tx.handle.respond(resp) {
        tracing::debug!("response {code} not sent: {e}");
    }
}
