//! The call history as the manager uses it: each call's row written as its
//! updates come (started, answered, ended and whether it was missed), rows
//! for calls that never rang here (DND, forwarded), and the commands that
//! read it (`history`, `callback`). The store itself is `store::History`.

use super::CallManager;
use crate::command::CommandError;
use crate::config::Account;
use crate::phone::event::{CallInfo, CallState};
use serde_json::{json, Value};

impl CallManager {
    /// Writes what `info` adds to its call's history row: the row itself the
    /// first time, the answer time once, the end with its reason.
    pub(super) fn record_in_history(&mut self, info: &CallInfo) {
        let Some(entry) = self.calls.get_mut(&info.id) else {
            return;
        };
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
        let Some(hid) = entry.history_id else {
            return;
        };
        if let (Some(name), true) = (&info.name, info.name != entry.history_name) {
            entry.history_name = info.name.clone();
            if let Err(e) = self.history.named(hid, name) {
                tracing::error!("history: {e}");
            }
        }
        if let (Some(at), false) = (&info.answered_at, entry.answered_recorded) {
            entry.answered_recorded = true;
            if let Err(e) = self.history.answered(hid, at) {
                tracing::error!("history: {e}");
            }
        }
        if info.state == CallState::Ended {
            if let Some(to) = &info.redirected_to {
                if let Err(e) = self.history.redirected(hid, to) {
                    tracing::error!("history: {e}");
                }
            }
            let reason = info.end_reason.clone().unwrap_or_default();
            let missed = crate::phone::missed::is_missed(
                info.direction,
                info.answered_at.is_some(),
                &reason,
            );
            let at = info
                .ended_at
                .clone()
                .unwrap_or_else(crate::store::now_rfc3339);
            if let Err(e) = self.history.ended(hid, &at, &reason, missed) {
                tracing::error!("history: {e}");
            }
        }
    }

    /// A call that never rang here (DND, forwarded) still goes into history.
    pub(super) fn record_unanswered(
        &mut self,
        account: &Account,
        remote: &str,
        reason: &str,
        missed: bool,
    ) {
        let id = self.new_id();
        let now = crate::store::now_rfc3339();
        match self.history.start(&id, &account.name, "in", remote, &now) {
            Ok(hid) => {
                if let Some(name) = self.directory_name(remote) {
                    if let Err(e) = self.history.named(hid, &name) {
                        tracing::error!("history: {e}");
                    }
                }
                if let Err(e) = self.history.ended(hid, &now, reason, missed) {
                    tracing::error!("history: {e}");
                }
            }
            Err(e) => tracing::error!("history: {e}"),
        }
    }

    /// `history`: the newest `limit` rows (default 50).
    pub(super) fn history_list(&self, limit: Option<usize>) -> Result<Value, CommandError> {
        self.history
            .list(limit.unwrap_or(50))
            .map(|h| json!({ "history": h }))
            .map_err(|e| CommandError::new("store_error", e.to_string()))
    }

    /// Dials the remote party of a history entry (default: the last missed call).
    pub(super) fn callback(&mut self, entry: Option<i64>) -> Result<Value, CommandError> {
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
}
