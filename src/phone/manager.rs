//! The `CallManager` actor: owns the call table, the accounts and their
//! registrations, the history store and the phone's policy (max calls, call
//! waiting, DND, auto answer, ring timeout). Routes SIP from the transaction
//! layer to call actors, answers what belongs to no call (OPTIONS, 481, 405),
//! runs commands, and publishes events.

use super::call::{CallActor, CallHandle, SipInput};
use super::event::{CallDirection, CallInfo, CallState, Event};
use super::{CallEnv, CommandMsg, ManagerMsg, PhoneHandle, RegistrationRx};
use crate::command::{Command, CommandError};
use crate::config::{Account, Config};
use crate::media::AudioSystem;
use crate::sip::message::{self as m, add_header, set_body};
use crate::sip::msg::Method;
use crate::sip::registration::{self, RegistrationConfig, RegistrationStatus};
use crate::sip::transaction::{Endpoint, Incoming, ServerTransaction, Timers};
use crate::sip::transport::Transport;
use crate::store::History;
use anyhow::Context;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
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
}

struct AccountState {
    account: Account,
    aor: String,
    status: Option<RegistrationStatus>,
}

struct Manager {
    config: Config,
    env: Arc<CallEnv>,
    history: History,
    calls: BTreeMap<String, CallEntry>,
    by_sip_call_id: HashMap<String, String>,
    next_id: u64,
    events: broadcast::Sender<Event>,
    accounts: Vec<AccountState>,
    registrations: CancellationToken,
    registration_tasks: Vec<tokio::task::JoinHandle<()>>,
    closed: watch::Sender<bool>,
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
    tracing::info!(%sip_addr, "SIP listening (UDP and TCP)");
    let manager = Manager {
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
    };
    tokio::spawn(manager.run(commands_rx, manager_rx, incoming, reg_rx));
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

impl Manager {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<CommandMsg>,
        mut internal: mpsc::UnboundedReceiver<ManagerMsg>,
        mut incoming: mpsc::UnboundedReceiver<Incoming>,
        mut reg_rx: RegistrationRx,
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
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {}
            }
        }
        self.registrations.cancel();
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

    /// The call a command means: the given id, else per CONTROL.md the
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
                return self.spawn_call_command(
                    self.select_call(call.as_deref(), true),
                    reply,
                    |h| async move { h.answer().await },
                )
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
            Command::Quit => Ok(json!({})),
            other => Err(CommandError::new(
                "not_supported",
                format!("`{}` is not available in this version", other.name()),
            )),
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
        let account = self.account(account)?.account.clone();
        if self.live_calls() >= self.config.phone.max_calls {
            return Err(CommandError::new(
                "too_many_calls",
                format!("already {} calls (max_calls)", self.config.phone.max_calls),
            ));
        }
        let target = to.trim();
        if target == "echo" {
            let id = self.new_id();
            let (handle, info) = CallActor::echo(self.env.clone(), id.clone(), account);
            self.insert_call(handle, info);
            return Ok(json!({ "call": id }));
        }
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
        let next_hop = account.proxy.clone().unwrap_or_else(|| uri.clone());
        let id = self.new_id();
        let (handle, info) =
            CallActor::outgoing(self.env.clone(), id.clone(), account, uri, next_hop);
        self.insert_call(handle, info);
        Ok(json!({ "call": id }))
    }

    fn insert_call(&mut self, handle: CallHandle, info: CallInfo) {
        self.by_sip_call_id
            .insert(info.sip_call_id.clone(), info.id.clone());
        let entry = CallEntry {
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
            "dnd": self.config.phone.dnd,
            "forward": [],
            "conference": { "members": [] },
            "listen": self.env.endpoint.transport().local_addr().to_string(),
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
                let _ = self.events.send(Event::Dtmf {
                    call,
                    digit: digit.to_string(),
                });
            }
            ManagerMsg::CallGone(id) => {
                if let Some(c) = self.calls.remove(&id) {
                    self.by_sip_call_id.remove(&c.info.sip_call_id);
                }
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
        let _ = self.events.send(Event::Call {
            call: Box::new(info),
        });
    }

    fn on_registration(&mut self, status: RegistrationStatus) {
        if let Some(a) = self
            .accounts
            .iter_mut()
            .find(|a| a.account.name == status.account)
        {
            a.status = Some(status.clone());
        }
        let _ = self.events.send(Event::Registration {
            account: status.account,
            registered: status.registered,
            reason: status.reason,
        });
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
        let live = self.live_calls();
        let policy = &self.config.phone;
        let busy = if live >= policy.max_calls {
            Some("max_calls reached")
        } else if policy.dnd {
            Some("do not disturb")
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
        let id = self.new_id();
        let (handle, info) = CallActor::incoming(self.env.clone(), id, account, tx);
        if self.config.phone.auto_answer {
            let h = handle.clone();
            tokio::spawn(async move {
                if let Err(e) = h.answer().await {
                    tracing::warn!(call = %h.id, "auto answer failed: {e}");
                }
            });
        }
        self.insert_call(handle, info);
    }
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
