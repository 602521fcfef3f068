//! The phone: the `CallManager` actor (accounts, registrations, policy) and
//! one actor per call. Takes [`Command`]s, publishes [`Event`]s. The only
//! module that joins `sip`, `media` and `store`.

mod event;

pub use event::{CallDirection, CallInfo, CallState, Event};

use crate::command::{Command, CommandError};
use crate::config::Config;
use tokio::sync::broadcast;

/// Handle to a running phone (cheap to clone).
#[derive(Clone, Debug)]
pub struct PhoneHandle {}

impl PhoneHandle {
    /// Starts the phone: binds the SIP port, opens audio and history,
    /// registers the accounts.
    pub async fn start(config: Config) -> anyhow::Result<PhoneHandle> {
        let _ = config;
        todo!()
    }
    /// Runs one command; the reply object is the `...result` of CONTROL.md.
    pub async fn execute(&self, command: Command) -> Result<serde_json::Value, CommandError> {
        let _ = command;
        todo!()
    }
    /// Subscribes to the event stream.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        todo!()
    }
    /// The SIP listening address (for the status line / tests).
    pub fn sip_addr(&self) -> std::net::SocketAddr {
        todo!()
    }
    /// Resolves when the phone has shut down (after `quit`).
    pub async fn closed(&self) {
        todo!()
    }
}
