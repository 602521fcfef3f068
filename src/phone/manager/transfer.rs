//! Transfers: blind (`transfer`), consultation (`consult`), attended
//! (`connect`, REFER with Replaces falling back to blind; while the
//! consultation still rings, `semi_attended.rs`) and its clean-up,
//! and the peer's REFER: the call placed for it and the progress reported
//! back (NOTIFY sipfrag). The REFER/NOTIFY messages themselves are the call
//! actor's.

use super::commands::Reply;
use super::CallManager;
use crate::command::CommandError;
use crate::phone::event::{CallInfo, CallState};
use crate::phone::ManagerMsg;
use crate::sip::replaces::{refer_target, ReferReplaces};
use serde_json::{json, Value};
use std::time::Duration;

impl CallManager {
    /// `transfer`: blind transfer (REFER) of `call` (the active one by default).
    pub(super) fn transfer(&self, call: Option<&str>, to: &str) -> Reply {
        self.call_command_to(self.select_call(call, false), to, |h, uri| async move {
            h.transfer(uri).await
        })
    }

    /// Holds `call` (the active one by default) and dials `to` on its account.
    pub(super) fn consult(&mut self, call: Option<&str>, to: &str) -> Result<Value, CommandError> {
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
    pub(super) fn connect(&mut self, call: &str, consult: &str) -> Reply {
        let (first, second) = match (
            self.select_call(Some(call), false),
            self.select_call(Some(consult), false),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Reply::Now(Err(e)),
        };
        let ringing = self
            .calls
            .get(&second.id)
            .and_then(|c| super::semi_attended::ringing_target(&c.info));
        if let Some(target) = ringing {
            // Still ringing there: CANCEL it, transfer the held party blind.
            return Reply::later(async move {
                let _ = second.hangup().await;
                first
                    .transfer(target)
                    .await
                    .map(|_| json!({ "call": first.id, "consult": second.id }))
            });
        }
        // Linked before the REFER goes out: the transferred leg may end
        // before the 202 is processed here.
        self.attended.insert(first.id.clone(), second.id.clone());
        let manager = self.env.manager.clone();
        Reply::later(async move {
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
            result.map(|_| json!({ "call": first.id, "consult": second.id }))
        })
    }

    /// An attended transfer of `call` failed: its consultation stays.
    pub(super) fn attended_transfer_failed(&mut self, call: &str) {
        self.attended.remove(call);
    }

    /// The transferred leg of an attended transfer ended after its REFER was
    /// accepted (the peer BYEs us or our NOTIFY said 200): the consultation
    /// leg goes too. The target should BYE it when it takes the Replaces; a
    /// short grace lets it, then we do (RFC 5589 §7).
    pub(super) fn finish_attended(&mut self, info: &CallInfo) {
        let Some(consult) = self.attended.remove(&info.id) else {
            return;
        };
        let Some(h) = self.handle(&consult) else {
            return;
        };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = h.hangup().await;
        });
    }

    /// The peer of `call` asked us (REFER) to call `refer_to`. Of the
    /// Refer-To's URI headers only Replaces is taken, written anew from its
    /// parsed values (one that cannot be read fails the REFER: NOTIFY 400).
    pub(super) fn on_refer(
        &mut self,
        call: String,
        account: String,
        refer_to: String,
        referred_by: Option<String>,
    ) {
        let target = refer_target(&refer_to);
        let uri = target.uri;
        let mut headers = Vec::new();
        if let Some(by) = referred_by {
            headers.push(("Referred-By".to_string(), by));
        }
        match target.replaces {
            ReferReplaces::None => {}
            ReferReplaces::Valid(r) => headers.push(("Replaces".to_string(), r.header_value())),
            ReferReplaces::Invalid => {
                tracing::info!(%call, "REFER with an unreadable Replaces in its Refer-To");
                if let Some(c) = self.calls.get(&call) {
                    c.handle
                        .refer_progress(400, "Bad Request (unreadable Replaces)".into());
                }
                return;
            }
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
    pub(super) fn report_refer_progress(&mut self, info: &CallInfo) {
        let Some(orig) = self.refer_links.get(&info.id).cloned() else {
            return;
        };
        let Some(handle) = self.handle(&orig) else {
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
}
