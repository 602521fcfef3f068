//! What an interface needs of a phone, wherever the phone runs: a way to
//! run a [`Command`] ([`PhoneLink`]) and a [`Feed`] of what happens (events
//! and the SIP trace). The TUI is written against these only, so it shows
//! the same typed [`crate::phone::Status`] and events whether the phone
//! runs in this process ([`PhoneHandle`]) or behind the control socket
//! (`control::remote`). Holds no state and starts nothing.

use super::{Event, PhoneHandle, SipTrace};
use crate::command::{Command, CommandError};
use serde_json::Value;
use std::future::Future;

/// Runs commands on a phone.
pub trait PhoneLink: Clone + Send + Sync + 'static {
    /// Runs one command; the reply object is the `...result` of docs/control.md.
    fn execute(&self, command: Command)
        -> impl Future<Output = Result<Value, CommandError>> + Send;
}

impl PhoneLink for PhoneHandle {
    fn execute(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<Value, CommandError>> + Send {
        PhoneHandle::execute(self, command)
    }
}

/// One thing an interface is told about.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    Event(Event),
    Trace(SipTrace),
}
