//! Command dispatch: one line per [`Command`], each calling the method of
//! the concern that owns it, and how a command's reply goes back ([`Reply`]).
//! No command logic lives here; `quit` is handed back to the run loop
//! ([`Flow::Quit`]), the only place that can stop taking commands.

use super::{devices, CallManager};
use crate::command::{Command, CommandError};
use crate::phone::call::CallHandle;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::oneshot;

/// Where a command's result goes.
pub(super) type ReplyTx = oneshot::Sender<Result<Value, CommandError>>;

/// A command's result: known at once, or computed by a task (a call actor's
/// answer) so that the manager never waits on a call.
pub(super) enum Reply {
    Now(Result<Value, CommandError>),
    Later(Pin<Box<dyn Future<Output = Result<Value, CommandError>> + Send>>),
}

impl From<Result<Value, CommandError>> for Reply {
    fn from(result: Result<Value, CommandError>) -> Reply {
        Reply::Now(result)
    }
}

impl Reply {
    pub(super) fn later(
        f: impl Future<Output = Result<Value, CommandError>> + Send + 'static,
    ) -> Reply {
        Reply::Later(Box::pin(f))
    }

    /// Sends the result, from a task of its own when it is not known yet.
    fn send(self, reply: ReplyTx) {
        match self {
            Reply::Now(result) => {
                let _ = reply.send(result);
            }
            Reply::Later(f) => {
                tokio::spawn(async move {
                    let _ = reply.send(f.await);
                });
            }
        }
    }
}

/// What the run loop does after a command.
pub(super) enum Flow {
    Continue,
    /// `quit`: the run loop answers it and ends the phone.
    Quit(ReplyTx),
}

impl CallManager {
    pub(super) async fn on_command(&mut self, cmd: Command, reply: ReplyTx) -> Flow {
        let answer = match cmd {
            Command::Status => self.status_reply().into(),
            Command::History { limit } => self.history_list(limit).into(),
            Command::Dial { to, account } => self.dial(&to, account.as_deref()).into(),
            Command::Answer { call } => self.answer(call.as_deref()),
            Command::Hangup { call } => self.hangup(call.as_deref()),
            Command::Reject { call, code } => self.reject(call.as_deref(), code),
            Command::Events => Err(events_elsewhere()).into(),
            Command::Trace => Err(CommandError::new(
                "bad_request",
                "`trace` streams on the control socket (termphone ctl trace)",
            ))
            .into(),
            // Nothing to detach from inside the phone: the interface that
            // asked closes itself.
            Command::Detach => Ok(Value::Null).into(),
            Command::Hold { call } => self.hold(call.as_deref()),
            Command::Resume { call } => self.resume(call.as_deref()),
            Command::Switch { call } => self.switch(call.as_deref()),
            Command::Mute { call, on } => self.mute(call.as_deref(), on),
            Command::Dtmf { call, digits } => self.dtmf(call.as_deref(), digits),
            Command::Deflect { call, to } => self.deflect(call.as_deref(), &to),
            Command::Transfer { call, to } => self.transfer(call.as_deref(), &to),
            Command::Consult { call, to } => self.consult(call.as_deref(), &to).into(),
            Command::Connect { call, consult } => self.connect(&call, &consult),
            Command::Callback { entry } => self.callback(entry).into(),
            Command::CallbackFree { entry, to } => self.cmd_callback_free(entry, to).await,
            Command::CallbackAccept { id } => self.cmd_callback_accept(id.as_deref()).into(),
            Command::CallbackCancel { id } => self.cmd_callback_cancel(&id).into(),
            Command::Conference { calls } => self.conference(calls),
            Command::ConfAdd { to, call } => self.conf_add(to, call),
            Command::ConfRemove { call } => self.conf_remove(&call),
            Command::ConfSplit { call } => self.conf_split(&call, true).into(),
            Command::ConfJoin { call } => self.conf_split(&call, false).into(),
            Command::Dnd { on, via } => self.cmd_dnd(on, via).await.into(),
            Command::Forward {
                when,
                scope,
                to,
                after_s,
                via,
            } => self.cmd_forward(&when, &scope, &to, after_s, &via),
            Command::ForwardClear => self.cmd_forward_clear(),
            Command::Pickup { target } => self.cmd_pickup(target.as_deref()).into(),
            Command::Blf => self.cmd_blf().into(),
            Command::Record { call, on, path } => self.record(call.as_deref(), on, path),
            Command::Normalize { number, account } => {
                self.normalize(&number, account.as_deref()).into()
            }
            Command::Search { q, limit } => self.search(&q, limit),
            Command::Devices => devices::list(),
            Command::Gain { call, mic, speaker } => self.gain(call.as_deref(), mic, speaker).into(),
            Command::Device { role, name } => devices::choose(&self.env.audio, &role, name).into(),
            Command::Quit => return Flow::Quit(reply),
        };
        answer.send(reply);
        Flow::Continue
    }

    /// Runs a command on `call` without blocking the manager on the call
    /// actor; the reply is `{call}`.
    pub(super) fn call_command<F, Fut>(call: Result<CallHandle, CommandError>, f: F) -> Reply
    where
        F: FnOnce(CallHandle) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), CommandError>> + Send,
    {
        match call {
            Err(e) => Reply::Now(Err(e)),
            Ok(handle) => Reply::later(async move {
                let id = handle.id.clone();
                f(handle).await.map(|_| json!({ "call": id }))
            }),
        }
    }

    /// Like [`CallManager::call_command`] for commands that also take a
    /// target (`to`), made a SIP URI on the call's account first.
    pub(super) fn call_command_to<F, Fut>(
        &self,
        call: Result<CallHandle, CommandError>,
        to: &str,
        f: F,
    ) -> Reply
    where
        F: FnOnce(CallHandle, String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), CommandError>> + Send,
    {
        let uri = match &call {
            Ok(h) => self.target_uri(to, Some(h)),
            Err(_) => Ok(String::new()),
        };
        match uri {
            Ok(uri) => Self::call_command(call, move |h| f(h, uri)),
            Err(e) => Reply::Now(Err(e)),
        }
    }
}

/// `events` is a stream: only the control socket can carry it.
fn events_elsewhere() -> CommandError {
    CommandError::new(
        "bad_request",
        "`events` streams on the control socket (termphone ctl events)",
    )
}
