//! The phone: the `CallManager` actor (accounts, registrations, policy,
//! history) and one `CallActor` per call. Takes [`Command`]s, publishes
//! [`Event`]s. The only module that joins `sip`, `media` and `store`;
//! `ui` and `control` reach what they show of them (events, the SIP trace)
//! through here, never directly.

mod blf;
mod call;
pub mod callback;
mod caller_name;
mod diversion;
pub mod doctor;
mod event;
mod link;
mod manager;
mod missed;
pub mod policy;
mod status;

/// The SIP trace the phone hands out ([`PhoneHandle::sip_trace`]): the
/// interfaces reach it here, never in `sip`.
pub use crate::sip::trace::{SipTrace, TraceDirection};
pub use event::{CallDirection, CallEncryption, CallInfo, CallSignalling, CallState, Event};
pub use link::{Feed, PhoneLink};
pub use status::{
    AccountStatus, BlfStatus, CallbackStatus, ConferenceStatus, DndKinds, ForwardStatus,
    ForwardVia, MixerStatus, MwiStatus, PbxStatus, Status,
};

use crate::command::{Command, CommandError};
use crate::config::Config;
use crate::media::{AudioSystem, MediaStats};
use crate::sip::registration::RegistrationStatus;
use crate::sip::transaction::Endpoint;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// What the manager's inbox carries.
#[derive(Debug)]
pub(crate) enum ManagerMsg {
    CallUpdate(Box<CallInfo>),
    Stats(String, Option<MediaStats>),
    Dtmf(String, char),
    CallGone(String),
    /// The directory's names by number, read from the sources.
    DirectoryNames(Box<crate::store::directory::NameIndex>),
    /// The LDAP sources' answer for a remote party's name.
    LdapName {
        remote: String,
        name: Option<String>,
    },
    /// An attended transfer of this call failed: its consultation stays.
    AttendedTransferFailed(String),
    /// A call joined the conference as this mixer member.
    ConferenceJoined(String, crate::media::MemberId),
    /// The peer of `call` REFERred us to `refer_to`: place that call.
    Refer {
        call: String,
        account: String,
        refer_to: String,
        referred_by: Option<String>,
    },
    /// The busy or unanswered final response to `call`'s INVITE offered
    /// RFC 6910 call completion at this monitor URI.
    CallCompletionOffered {
        call: String,
        monitor: String,
    },
}

/// What every call actor needs from the phone, shared read-only.
#[derive(Debug)]
pub(crate) struct CallEnv {
    pub endpoint: Endpoint,
    pub audio: AudioSystem,
    pub media_ip: IpAddr,
    pub ring_timeout_s: u64,
    /// `[phone] rtp_timeout_s`: a connected call not on hold that receives
    /// no media this long is ended (0: never).
    pub rtp_timeout_s: u64,
    /// `[phone] session_expires_s` and `min_se_s`.
    pub session_timer: call::TimerConfig,
    /// `[phone] symmetric_rtp`: each call's media latches and sends to the
    /// peer's source.
    pub symmetric_rtp: bool,
    pub manager: mpsc::UnboundedSender<ManagerMsg>,
    /// Locates SIP servers (RFC 3263) for requests outside a dialog.
    pub resolver: crate::sip::dns::Resolver,
    /// `[sip] stun_server`, asked for the public RTP address behind a NAT.
    pub stun_server: Option<String>,
}

/// What the handle asks of the manager.
#[derive(Debug)]
pub(crate) enum CommandMsg {
    Command(
        Command,
        oneshot::Sender<Result<serde_json::Value, CommandError>>,
    ),
    /// The current state as events (registrations, live calls).
    Snapshot(oneshot::Sender<Vec<Event>>),
}

/// Handle to a running phone (cheap to clone).
#[derive(Clone, Debug)]
pub struct PhoneHandle {
    commands: mpsc::Sender<CommandMsg>,
    events: broadcast::Sender<Arc<Event>>,
    sip_addr: SocketAddr,
    closed: watch::Receiver<bool>,
    trace: crate::sip::transport::Transport,
}

impl PhoneHandle {
    /// Starts the phone: binds the SIP port, opens audio and history,
    /// registers the accounts.
    pub async fn start(config: Config) -> anyhow::Result<PhoneHandle> {
        manager::start(config).await
    }

    /// Runs one command; the reply object is the `...result` of docs/control.md.
    pub async fn execute(&self, command: Command) -> Result<serde_json::Value, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(CommandMsg::Command(command, tx))
            .await
            .map_err(|_| CommandError::new("shutting_down", "the phone is shutting down"))?;
        rx.await.unwrap_or_else(|_| {
            Err(CommandError::new(
                "shutting_down",
                "the phone is shutting down",
            ))
        })
    }

    /// The current state as events: one `registration` per registering
    /// account whose state is known and one `call` per live call. A
    /// subscriber that takes this after [`PhoneHandle::events`] misses nothing.
    pub async fn snapshot(&self) -> Vec<Event> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(CommandMsg::Snapshot(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Subscribes to the trace of SIP messages (for the SIP ladder view).
    pub fn sip_trace(&self) -> broadcast::Receiver<Arc<SipTrace>> {
        self.trace.trace()
    }

    /// Subscribes to the event stream.
    pub fn events(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// The SIP listening address (for the status line / tests).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_addr
    }

    /// Resolves when the phone has shut down (after `quit`).
    pub async fn closed(&self) {
        let mut rx = self.closed.clone();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Registration updates come on their own channel.
pub(crate) type RegistrationRx = mpsc::UnboundedReceiver<RegistrationStatus>;
