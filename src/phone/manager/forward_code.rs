//! Forwarding switched at the PBX by feature code: the code call's outcome
//! ([`outcome`], pure) and what the manager does with it. A rule becomes
//! active only when the PBX confirms the code (a 2xx, or early media with
//! its confirmation tone), is dropped by an off code only when that is
//! confirmed, and a refusal (4xx/5xx/6xx, or the call ending unanswered)
//! is an error carrying the PBX's reason. The code call is released (BYE or
//! CANCEL) as soon as it is confirmed. The `forward` / `forward_clear`
//! command waits for the outcome, at most [`WAIT`]. This module owns the
//! pending code calls; the rules themselves live in the persisted policy
//! ([`crate::phone::policy::Policy::pbx_forward`]) and the commands in
//! [`super::dnd_forward`]; it must not touch the client rules.

use super::CallManager;
use crate::command::CommandError;
use crate::phone::call::CallHandle;
use crate::phone::event::{CallInfo, CallState};
use crate::phone::policy::{PbxForwardRule, When};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a command waits for the PBX to confirm a code.
pub(super) const WAIT: Duration = Duration::from_secs(10);

/// What a code call has come to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Still ringing or dialling: no answer yet.
    Waiting,
    /// The PBX took the code (2xx, or early media with a confirmation tone).
    Confirmed,
    /// The PBX refused it; the reason as the call ended.
    Refused(String),
}

/// The outcome of a code call from its latest state.
pub(super) fn outcome(info: &CallInfo) -> Outcome {
    match info.state {
        CallState::Active | CallState::Held | CallState::Transferring => Outcome::Confirmed,
        // 183 with SDP: the PBX plays its confirmation tone as early media.
        CallState::Ringing | CallState::Alerting if info.codec.is_some() => Outcome::Confirmed,
        CallState::Ended if info.answered_at.is_some() => Outcome::Confirmed,
        CallState::Ended => Outcome::Refused(
            info.end_reason
                .clone()
                .unwrap_or_else(|| "the PBX ended the call".into()),
        ),
        _ => Outcome::Waiting,
    }
}

/// A code call waiting for the PBX's answer.
pub(super) struct PendingCode {
    /// The code call's id.
    pub(super) call: String,
    pub(super) when: When,
    /// The target of an on code; `None` for an off code.
    pub(super) to: Option<String>,
    reply: Option<oneshot::Sender<Result<(), String>>>,
}

/// What a command waits for: the PBX's answer to one code call.
pub(super) struct CodeWait {
    rx: oneshot::Receiver<Result<(), String>>,
    /// The code call, to cancel when the PBX does not answer in time.
    handle: Option<CallHandle>,
    /// The dialled code, for the error text.
    code: String,
}

impl CodeWait {
    /// `Ok` once confirmed, else the error (refused, or no answer in [`WAIT`]).
    pub(super) async fn outcome(self) -> Result<(), CommandError> {
        let code = &self.code;
        match tokio::time::timeout(WAIT, self.rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(reason))) => Err(CommandError::new(
                "feature_code_refused",
                format!("the PBX refused the code {code}: {reason}"),
            )),
            Ok(Err(_)) => Err(CommandError::new(
                "feature_code_refused",
                format!("the code call {code} ended without an answer"),
            )),
            Err(_) => {
                if let Some(h) = self.handle {
                    let _ = h.hangup().await;
                }
                Err(CommandError::new(
                    "timeout",
                    format!(
                        "the PBX did not confirm the code {code} within {} s",
                        WAIT.as_secs()
                    ),
                ))
            }
        }
    }
}

impl CallManager {
    /// Dials `code` for a forwarding (`to` for an on code) and notes it as
    /// pending; returns what the command waits for.
    pub(super) fn dial_forward_code(
        &mut self,
        code: &str,
        when: When,
        to: Option<String>,
    ) -> Result<CodeWait, CommandError> {
        let call = self.dial_with(code, None, Vec::new())?;
        let (tx, rx) = oneshot::channel();
        let handle = self.calls.get(&call).map(|c| c.handle.clone());
        self.pbx.pending_codes.push(PendingCode {
            call: call.clone(),
            when,
            to,
            reply: Some(tx),
        });
        // The call's first state may already be known.
        if let Some(info) = self.calls.get(&call).map(|c| c.info.clone()) {
            self.forward_code_update(&info);
        }
        Ok(CodeWait {
            rx,
            handle,
            code: code.to_string(),
        })
    }

    /// A call's new state: settles the pending code it belongs to, if any.
    pub(super) fn forward_code_update(&mut self, info: &CallInfo) {
        let Some(i) = self
            .pbx
            .pending_codes
            .iter()
            .position(|p| p.call == info.id)
        else {
            return;
        };
        let result = match outcome(info) {
            Outcome::Waiting => return,
            Outcome::Confirmed => Ok(()),
            Outcome::Refused(reason) => Err(reason),
        };
        let mut pending = self.pbx.pending_codes.remove(i);
        if result.is_ok() {
            let rules = &mut self.pbx.policy.pbx_forward;
            rules.retain(|r| r.when != pending.when);
            if let Some(to) = pending.to.take() {
                rules.push(PbxForwardRule {
                    when: pending.when,
                    to,
                });
            }
            if let Err(e) = self.pbx.save() {
                tracing::warn!("forwarding not saved: {}", e.message);
            }
            self.emit_forward();
            // Confirmed: release the code call (BYE, or CANCEL in early media).
            if info.state != CallState::Ended {
                if let Some(h) = self.calls.get(&info.id).map(|c| c.handle.clone()) {
                    tokio::spawn(async move {
                        let _ = h.hangup().await;
                    });
                }
            }
        }
        if let Some(reply) = pending.reply.take() {
            let _ = reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::event::CallDirection;

    fn info(state: CallState, codec: bool, answered: bool, reason: Option<&str>) -> CallInfo {
        let mut i: CallInfo = serde_json::from_value(serde_json::json!({
            "id": "c1", "account": "a", "direction": "out", "remote": "sip:*21@x",
            "state": "dialing", "held": false, "remote_held": false, "muted": false,
            "conference": false, "started_at": "t", "sip_call_id": "x"
        }))
        .unwrap();
        assert_eq!(i.direction, CallDirection::Out);
        i.state = state;
        i.codec = codec.then(|| "PCMU".into());
        i.answered_at = answered.then(|| "t".into());
        i.end_reason = reason.map(Into::into);
        i
    }

    #[test]
    fn outcomes() {
        use CallState::*;
        let refused = |r: &str| Outcome::Refused(r.into());
        let table = [
            (info(Dialing, false, false, None), Outcome::Waiting),
            // 180 without media is no confirmation.
            (info(Alerting, false, false, None), Outcome::Waiting),
            (info(Alerting, true, false, None), Outcome::Confirmed),
            (info(Active, true, true, None), Outcome::Confirmed),
            (info(Ended, true, true, Some("hangup")), Outcome::Confirmed),
            (
                info(Ended, false, false, Some("486 Busy Here")),
                refused("486 Busy Here"),
            ),
            (
                info(Ended, false, false, None),
                refused("the PBX ended the call"),
            ),
        ];
        for (i, (call, want)) in table.into_iter().enumerate() {
            assert_eq!(outcome(&call), want, "row {i}");
        }
    }
}
