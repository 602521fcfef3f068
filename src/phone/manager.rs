//! The `CallManager` actor: owns the call table, the accounts and their
//! registrations, the history store and the phone's policy (max calls, call
//! waiting, DND, auto answer, ring timeout). Routes SIP from the transaction
//! layer to call actors, answers what belongs to no call (OPTIONS, 481, 405),
//! runs commands, and publishes events.
//!
//! This file holds the actor's state, its start-up and its run loop with the
//! quit sequence; each concern lives in its own submodule:
//! - [`accounts`]: accounts, registrations and their status;
//! - [`commands`]: one line per command, dispatching to the methods below;
//! - [`calls`]: the call table, choosing the call a command means, dialing
//!   and call updates;
//! - [`call_commands`]: the commands on one call (answer, hold, record, …);
//! - [`history`]: what goes into the call history;
//! - [`transfer`]: consultation, attended transfer, the peer's REFER;
//! - [`conference`]: the local conference;
//! - [`routing`]: SIP from the network and the incoming-call policy;
//! - [`status`]: the `status` reply and the event snapshot;
//! - [`pbx`]: BLF, pickup, MWI and the state of DND and forwarding;
//! - [`dnd_forward`]: the DND and forwarding commands;
//! - [`callback`]: callbacks when free (watching a busy or absent party).
//!
//! It must not reach into a call actor's state: calls are driven through
//! [`CallHandle`] and report back as [`ManagerMsg`].

mod accounts;
mod call_commands;
mod callback;
mod caller_names;
mod calls;
mod commands;
mod conf_pending;
mod conference;
mod devices;
mod dial_plan;
mod directory;
mod dnd_forward;
mod forward_code;
mod history;
mod ldap_names;
mod limits;
mod pbx;
mod routing;
mod semi_attended;
mod status;
mod tls;
mod transfer;

use super::call::CallHandle;
use super::event::{CallInfo, Event};
use super::{CallEnv, CommandMsg, ManagerMsg, PhoneHandle, RegistrationRx};
use crate::config::Config;
use crate::media::AudioSystem;
use crate::sip::dns::Resolver;
use crate::sip::transaction::{Endpoint, Incoming, Timers};
use crate::sip::transport::tls::{TlsClient, TlsSettings};
use crate::sip::transport::Transport;
use crate::store::History;
use accounts::AccountState;
use anyhow::Context;
use commands::Flow;
use conference::ConferenceState;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// One call of the table: its handle, its last reported state and what the
/// history already knows of it.
struct CallEntry {
    handle: CallHandle,
    info: CallInfo,
    history_id: Option<i64>,
    answered_recorded: bool,
    /// The name the history row has (`History::named`).
    history_name: Option<String>,
    /// The call-waiting beep is on in this call.
    beeping: bool,
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
    conf_pending: conf_pending::ConfPending,
    /// BLF, pickup, MWI, DND, forwarding.
    pbx: pbx::Pbx,
    /// Attended transfers under way: transferred call → consultation call.
    attended: HashMap<String, String>,
    /// Directory names by number, for naming calls without IO (empty
    /// until the sources are read, `caller_names`).
    names: crate::store::directory::NameIndex,
    /// LDAP answers by remote party (`ldap_names`).
    ldap_names: ldap_names::NameCache,
    /// The P-Asserted-Identity URI of incoming calls on accounts that
    /// trust it, by call id: the number the directory is asked for first.
    asserted_callers: HashMap<String, String>,
    /// Callbacks when free, and the calls they may follow.
    callbacks: callback::Callbacks,
}

/// Starts the phone and returns its handle.
pub(super) async fn start(config: Config) -> anyhow::Result<PhoneHandle> {
    let (conn_limits, server_limits) = limits::sip_limits(&config.sip.limits);
    // Without TLS settings of its own the phone reads the system's roots
    // only when it first needs them.
    let tls_settings = tls::settings(&config);
    let tls_client = match tls_settings == TlsSettings::default() {
        true => None,
        false => Some(TlsClient::new(&tls_settings).context("TLS settings")?),
    };
    let (transport, inbound) = Transport::bind_with(config.sip.listen, conn_limits, tls_client)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", config.sip.listen))?;
    let sip_addr = transport.local_addr();
    let env_transport = transport.clone();
    let tls_names = transport.tls().map(|t| t.names().clone());
    let (endpoint, incoming) =
        Endpoint::start_with(transport, inbound, Timers::default(), server_limits);
    let audio = AudioSystem::open(&config.audio).context("cannot open audio")?;
    if let Some(dir) = config.history_path.parent() {
        // The data dir holds history and recordings: ours alone.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let history = History::open(&config.history_path)
        .with_context(|| format!("cannot open call history {}", config.history_path.display()))?;
    let media_ip = crate::sip::address::local_addr::media_bind_ip(sip_addr);
    let (manager_tx, manager_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::channel(64);
    let (events, _) = broadcast::channel(1024);
    devices::forward_fallbacks(&audio, &events);
    let (closed_tx, closed_rx) = watch::channel(false);
    let (reg_tx, reg_rx) = mpsc::unbounded_channel();
    let mut resolver = Resolver::new(&config.sip.dns_servers);
    if let Some(names) = tls_names {
        resolver = resolver.with_tls_names(names);
    }
    let env = Arc::new(CallEnv {
        resolver: resolver.clone(),
        stun_server: config.sip.stun_server.clone(),
        endpoint: endpoint.clone(),
        audio,
        media_ip,
        ring_timeout_s: config.phone.ring_timeout_s,
        rtp_timeout_s: config.phone.rtp_timeout_s,
        session_timer: super::call::TimerConfig {
            session_expires: config.phone.session_expires_s,
            min_se: config.phone.min_se_s,
        },
        symmetric_rtp: config.phone.symmetric_rtp,
        manager: manager_tx,
    });
    let registrations = CancellationToken::new();
    let (accounts, registration_tasks) =
        accounts::start_registrations(&config, &endpoint, &resolver, &reg_tx, &registrations);
    let (pbx, pbx_rx) = pbx::Pbx::start(&config, &endpoint, &resolver).await?;
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
        conf_pending: Default::default(),
        attended: HashMap::new(),
        names: Default::default(),
        ldap_names: Default::default(),
        asserted_callers: HashMap::new(),
        callbacks: Default::default(),
    };
    caller_names::load(&manager.config.directories, &manager.env.manager);
    let mut manager = manager;
    if manager.pbx.policy.dnd.presence {
        // Presence DND was on when the phone stopped: publish it again.
        if let Err(e) = manager.publish_presence_dnd(true).await {
            tracing::warn!("presence DND not published again: {}", e.message);
        }
    }
    tokio::spawn(manager.run(commands_rx, manager_rx, incoming, reg_rx, pbx_rx));
    Ok(PhoneHandle {
        trace: env_transport,
        commands: commands_tx,
        events,
        sip_addr,
        closed: closed_rx,
    })
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
                    CommandMsg::Command(cmd, reply) => {
                        // `quit` comes back here: only the loop can stop
                        // taking commands and wait for the calls to end.
                        if let Flow::Quit(reply) = self.on_command(cmd, reply).await {
                            let _ = reply.send(Ok(json!({})));
                            quit_deadline = Some(self.begin_quit());
                        }
                    }
                },
                Some(msg) = internal.recv() => self.on_internal(msg),
                Some(inc) = incoming.recv() => self.on_incoming(inc),
                Some(status) = reg_rx.recv() => self.on_registration(status),
                Some(ev) = pbx_rx.subscriptions.recv() => self.on_subscription(ev),
                Some(ev) = pbx_rx.publications.recv() => self.on_publication(ev),
                _ = crate::timer::sleep_opt(self.callbacks.next_expiry()) => self.expire_callbacks(),
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

    /// Quit: every call is told to end; the loop waits for them (at most
    /// until the returned deadline), then unregisters and closes.
    fn begin_quit(&self) -> tokio::time::Instant {
        tracing::info!("quit: ending calls and unregistering");
        for c in self.calls.values() {
            c.handle.shutdown();
        }
        tokio::time::Instant::now() + Duration::from_secs(3)
    }

    /// What call actors and helper tasks report.
    fn on_internal(&mut self, msg: ManagerMsg) {
        match msg {
            ManagerMsg::CallUpdate(info) => self.on_call_update(*info),
            ManagerMsg::Stats(id, stats) => self.on_stats(&id, stats),
            ManagerMsg::Dtmf(call, digit) => self.on_dtmf(call, digit),
            ManagerMsg::Refer {
                call,
                account,
                refer_to,
                referred_by,
            } => self.on_refer(call, account, refer_to, referred_by),
            ManagerMsg::AttendedTransferFailed(call) => self.attended_transfer_failed(&call),
            ManagerMsg::ConferenceJoined(id, member) => self.conference_joined(id, member),
            ManagerMsg::CallGone(id) => self.call_gone(&id),
            ManagerMsg::DirectoryNames(index) => self.on_directory_names(*index),
            ManagerMsg::LdapName { remote, name } => self.on_ldap_name(remote, name),
            ManagerMsg::CallCompletionOffered { call, monitor } => {
                self.call_completion_offered(call, monitor)
            }
        }
    }
}
