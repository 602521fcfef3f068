//! The history schema and its migrations, versioned with `PRAGMA user_version`.

use rusqlite::Connection;

/// The schema version this build writes.
pub(crate) const VERSION: i64 = 3;

/// Brings the database to [`VERSION`]; refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if version > VERSION {
        return Err(format!(
            "the database has schema version {version}, newer than this termphone understands ({VERSION})"
        ));
    }
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    if version < 1 {
        tx.execute_batch(
            "CREATE TABLE calls (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                call        TEXT NOT NULL,
                account     TEXT NOT NULL,
                direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                remote      TEXT NOT NULL,
                started_at  TEXT NOT NULL,
                answered_at TEXT,
                ended_at    TEXT,
                end_reason  TEXT,
                missed      INTEGER NOT NULL DEFAULT 0,
                owner_pid   INTEGER NOT NULL DEFAULT 0
             );
             CREATE INDEX calls_missed ON calls (missed, id);
             PRAGMA user_version = 1;",
        )
        .map_err(|e| e.to_string())?;
    }
    if version < 2 {
        // The target a redirect (3xx) sent an outgoing call to.
        tx.execute_batch(
            "ALTER TABLE calls ADD COLUMN redirected_to TEXT;
             PRAGMA user_version = 2;",
        )
        .map_err(|e| e.to_string())?;
    }
    if version < 3 {
        // The name shown for the other party (directory or display name).
        tx.execute_batch(
            "ALTER TABLE calls ADD COLUMN name TEXT;
             PRAGMA user_version = 3;",
        )
        .map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())
}
