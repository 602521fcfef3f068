//! Crash-safe call history in SQLite (WAL): a row is written when a call
//! starts and updated at each step, so `kill -9` during a call loses nothing.
//! Knows nothing about SIP or the UI. [`log_file`] is the TUI's rotating
//! log file; [`directory`] the contacts `search` ranks.
//!
//! Each row notes the process that owns it; [`History::open`] closes rows
//! whose owner is gone (a crash) as "interrupted", ending them at the last
//! time known (answered, else started). `synchronous=NORMAL` in WAL mode
//! survives a process crash; only a power loss may drop the last commits.

pub mod directory;
pub mod log_file;
mod schema;
mod time;

pub use time::{now_rfc3339, rfc3339_from_unix};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history database: {0}")]
    Db(String),
}

/// One history entry (docs/control.md `history`). Times are RFC 3339 UTC strings.
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
    /// The target a redirect (3xx) sent our call to, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// Who the other party was (the call's `name`: the directory's, else
    /// the SIP display name), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The call id of the process that made the entry (`c1`, ...).
    #[serde(skip)]
    pub call: String,
}

/// The history database.
#[derive(Debug)]
pub struct History {
    conn: Mutex<Connection>,
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

const COLUMNS: &str =
    "id, call, account, direction, remote, started_at, answered_at, ended_at, end_reason, missed, \
     redirected_to, name";

fn entry(row: &Row<'_>) -> rusqlite::Result<HistoryEntry> {
    Ok(HistoryEntry {
        id: row.get(0)?,
        call: row.get(1)?,
        account: row.get(2)?,
        direction: row.get(3)?,
        remote: row.get(4)?,
        started_at: row.get(5)?,
        answered_at: row.get(6)?,
        ended_at: row.get(7)?,
        end_reason: row.get(8)?,
        missed: row.get(9)?,
        redirected_to: row.get(10)?,
        name: row.get(11)?,
    })
}

/// Whether process `pid` still runs (a different process than ours).
fn other_process_alive(pid: i64) -> bool {
    let ours = i64::from(rustix::process::getpid().as_raw_nonzero().get());
    if pid == ours {
        return false;
    }
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

impl History {
    /// Opens (creating) the database; rows left open by a crash are closed
    /// with end_reason "interrupted".
    pub fn open(path: &Path) -> Result<History, StoreError> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| db(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        // Created private before SQLite opens it (SQLite gives the WAL and
        // shared-memory files the database file's mode).
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| db(format!("{}: {e}", path.display())))?;
        }
        let mut conn =
            Connection::open(path).map_err(|e| db(format!("{}: {e}", path.display())))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| db(format!("{}: {e}", path.display())))?;
        // Another termphone writing the same history: wait for its lock.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(db(format!(
                "{}: cannot switch to WAL journal mode (got `{mode}`)",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        // A page cache of 128 KiB, not SQLite's 2 MiB: the history is written
        // a row at a time and read a page of entries at a time, and the
        // cache (allocated outside jemalloc, never handed back) grew with
        // every call of a burst.
        conn.pragma_update(None, "cache_size", -128).map_err(db)?;
        schema::migrate(&mut conn).map_err(|e| db(format!("{}: {e}", path.display())))?;
        let history = History {
            conn: Mutex::new(conn),
        };
        history.close_interrupted()?;
        Ok(history)
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| db("the connection lock was poisoned"))
    }

    /// Closes rows that are still open but whose process is gone.
    fn close_interrupted(&self) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let open: Vec<(i64, i64)> = conn
            .prepare("SELECT id, owner_pid FROM calls WHERE ended_at IS NULL")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(db)?;
        for (id, pid) in open {
            if other_process_alive(pid) {
                continue;
            }
            conn.execute(
                "UPDATE calls SET ended_at = COALESCE(answered_at, started_at),
                        end_reason = 'interrupted',
                        missed = (direction = 'in' AND answered_at IS NULL)
                 WHERE id = ?1 AND ended_at IS NULL",
                params![id],
            )
            .map_err(db)?;
        }
        Ok(())
    }

    /// The journal mode in use (`wal`).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        self.conn()?
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(db)
    }

    fn update(&self, sql: &str, params: impl rusqlite::Params, id: i64) -> Result<(), StoreError> {
        match self.conn()?.execute(sql, params).map_err(db)? {
            0 => Err(db(format!("no history entry {id}"))),
            _ => Ok(()),
        }
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
        if direction != "in" && direction != "out" {
            return Err(db(format!(
                "direction must be `in` or `out`, not `{direction}`"
            )));
        }
        let pid = i64::from(rustix::process::getpid().as_raw_nonzero().get());
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO calls (call, account, direction, remote, started_at, owner_pid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![call, account, direction, remote, started_at, pid],
        )
        .map_err(db)?;
        Ok(conn.last_insert_rowid())
    }
    pub fn answered(&self, id: i64, at: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE calls SET answered_at = ?2 WHERE id = ?1",
            params![id, at],
            id,
        )
    }
    /// `missed`: an incoming call that was never answered.
    pub fn ended(&self, id: i64, at: &str, reason: &str, missed: bool) -> Result<(), StoreError> {
        self.update(
            "UPDATE calls SET ended_at = ?2, end_reason = ?3, missed = ?4 WHERE id = ?1",
            params![id, at, reason, missed],
            id,
        )
    }
    /// The target a redirect sent the call to.
    pub fn redirected(&self, id: i64, to: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE calls SET redirected_to = ?2 WHERE id = ?1",
            params![id, to],
            id,
        )
    }
    /// The name shown for the call's other party.
    pub fn named(&self, id: i64, name: &str) -> Result<(), StoreError> {
        self.update(
            "UPDATE calls SET name = ?2 WHERE id = ?1",
            params![id, name],
            id,
        )
    }
    /// Newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn()?;
        let mut st = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM calls ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(db)?;
        let rows = st
            .query_map(params![limit], entry)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db)?;
        Ok(rows)
    }
    /// The newest missed call, if any (the default of `callback`).
    pub fn last_missed(&self) -> Result<Option<HistoryEntry>, StoreError> {
        self.conn()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM calls WHERE missed = 1 ORDER BY id DESC LIMIT 1"),
                [],
                entry,
            )
            .optional()
            .map_err(db)
    }
    /// One entry by id.
    pub fn get(&self, id: i64) -> Result<Option<HistoryEntry>, StoreError> {
        self.conn()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM calls WHERE id = ?1"),
                params![id],
                entry,
            )
            .optional()
            .map_err(db)
    }
}

#[cfg(test)]
mod tests;
