//! Crash-safe call history in SQLite (WAL): a row is written when a call
//! starts and updated at each step, so `kill -9` during a call loses nothing.
//! Knows nothing about SIP or the UI.

use serde::Serialize;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history database: {0}")]
    Db(String),
}

/// One history entry (CONTROL.md `history`). Times are RFC 3339 UTC strings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// Stable entry id (database row id).
    pub id: i64,
    pub account: String,
    /// "in" or "out".
    pub direction: String,
    pub remote: String,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    /// None while the call is up (shown as the recovery time after a crash).
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
    pub missed: bool,
    /// The call id of the process that made the entry (`c1`, ...).
    #[serde(skip)]
    pub call: String,
}

/// The history database.
#[derive(Debug)]
pub struct History {}

impl History {
    /// Opens (creating) the database; rows left open by a crash are closed
    /// with end_reason "interrupted".
    pub fn open(path: &Path) -> Result<History, StoreError> {
        let _ = path;
        todo!()
    }
    /// Records a new call; returns the entry id.
    pub fn start(
        &self,
        call: &str,
        account: &str,
        direction: &str,
        remote: &str,
        started_at: &str,
    ) -> Result<i64, StoreError> {
        let _ = (call, account, direction, remote, started_at);
        todo!()
    }
    pub fn answered(&self, id: i64, at: &str) -> Result<(), StoreError> {
        let _ = (id, at);
        todo!()
    }
    /// `missed`: an incoming call that was never answered.
    pub fn ended(&self, id: i64, at: &str, reason: &str, missed: bool) -> Result<(), StoreError> {
        let _ = (id, at, reason, missed);
        todo!()
    }
    /// Newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let _ = limit;
        todo!()
    }
}

/// Now as an RFC 3339 UTC string.
pub fn now_rfc3339() -> String {
    todo!()
}
