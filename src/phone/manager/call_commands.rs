//! The commands on one call: answer (holding the active call first), hangup,
//! reject, hold, resume, switch, mute, DTMF, deflect and record. Each picks
//! its call ([`super::calls`]) and leaves the work to the call actor; the
//! conference's own hangup and the transfers live in their modules.

use super::commands::Reply;
use super::CallManager;
use crate::config::OnAnswerOther;
use std::path::PathBuf;

impl CallManager {
    /// `answer`: another active call (on any line) goes on hold first, or
    /// is hung up with `[phone] on_answer_other = "hangup"` (call waiting).
    pub(super) fn answer(&self, call: Option<&str>) -> Reply {
        let target = self.select_call(call, true);
        let others = match &target {
            Ok(t) => self.active_calls_except(Some(&t.id)),
            Err(_) => Vec::new(),
        };
        let policy = self.config.phone.on_answer_other;
        Self::call_command(target, move |h| async move {
            for other in others {
                let done = match policy {
                    OnAnswerOther::Hold => other.hold().await,
                    OnAnswerOther::Hangup => other.hangup().await,
                };
                if let Err(e) = done {
                    tracing::warn!(call = %other.id, "could not {policy:?} before answering: {e}");
                }
            }
            h.answer().await
        })
    }

    /// `hangup`: the given call, else the conference when there is one,
    /// else the active call.
    pub(super) fn hangup(&mut self, call: Option<&str>) -> Reply {
        if call.is_none() {
            if let Some(reply) = self.hangup_conference() {
                return reply;
            }
        }
        Self::call_command(self.select_call(call, false), |h| async move {
            h.hangup().await
        })
    }

    /// `reject` (the ringing call by default).
    pub(super) fn reject(&self, call: Option<&str>, code: u16) -> Reply {
        Self::call_command(self.select_call(call, true), move |h| async move {
            h.reject(code).await
        })
    }

    pub(super) fn hold(&self, call: Option<&str>) -> Reply {
        Self::call_command(
            self.select_call(call, false),
            |h| async move { h.hold().await },
        )
    }

    pub(super) fn resume(&self, call: Option<&str>) -> Reply {
        Self::call_command(self.select_held(call), |h| async move { h.resume().await })
    }

    /// `switch`: holds the active call and resumes `id` (default: another
    /// held call).
    pub(super) fn switch(&self, id: Option<&str>) -> Reply {
        let active = self.active_calls_except(id);
        Self::call_command(self.select_held(id), |h| async move {
            for a in active {
                a.hold().await?;
            }
            h.resume().await
        })
    }

    pub(super) fn mute(&self, call: Option<&str>, on: bool) -> Reply {
        Self::call_command(self.select_call(call, false), move |h| async move {
            h.mute(on).await
        })
    }

    pub(super) fn dtmf(&self, call: Option<&str>, digits: String) -> Reply {
        Self::call_command(self.select_call(call, false), move |h| async move {
            h.dtmf(digits).await
        })
    }

    /// `deflect`: 302 (the ringing call by default).
    pub(super) fn deflect(&self, call: Option<&str>, to: &str) -> Reply {
        self.call_command_to(self.select_call(call, true), to, |h, uri| async move {
            h.deflect(uri).await
        })
    }

    /// `record`: starts (to `path`, else a file named after the call in
    /// [`CallManager::recordings_dir`]) or stops; the reply is `{call, path}`.
    pub(super) fn record(&self, call: Option<&str>, on: bool, path: Option<String>) -> Reply {
        let h = match self.select_call(call, false) {
            Ok(h) => h,
            Err(e) => return Reply::Now(Err(e)),
        };
        let file = on.then(|| {
            path.map(PathBuf::from).unwrap_or_else(|| {
                let sip_id = self
                    .calls
                    .get(&h.id)
                    .map(|c| c.info.sip_call_id.clone())
                    .unwrap_or_default();
                let stamp = crate::store::now_rfc3339().replace(':', "");
                self.recordings_dir()
                    .join(format!("{stamp}-{}.wav", sip_id.replace(['/', '@'], "_")))
            })
        });
        let shown = file.as_ref().map(|f| f.display().to_string());
        Reply::later(async move {
            let id = h.id.clone();
            h.record(file)
                .await
                .map(|_| serde_json::json!({ "call": id, "path": shown }))
        })
    }

    /// Where `record` puts files without a `path`: beside the history.
    fn recordings_dir(&self) -> PathBuf {
        self.config
            .history_path
            .parent()
            .map(|d| d.join("recordings"))
            .unwrap_or_else(|| PathBuf::from("recordings"))
    }
}
