//! History: the call lifecycle, queries, WAL, and recovery after a crash
//! (both a dropped handle and a child process killed with SIGKILL).

use super::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/history.db");
    (dir, path)
}

#[test]
fn lifecycle_and_queries() {
    let (_dir, path) = temp_db();
    let h = History::open(&path).unwrap();
    let a = h
        .start(
            "c1",
            "office",
            "out",
            "sip:1002@test.local",
            "2026-01-01T10:00:00Z",
        )
        .unwrap();
    h.answered(a, "2026-01-01T10:00:05Z").unwrap();
    h.ended(a, "2026-01-01T10:01:00Z", "hangup", false).unwrap();
    let b = h
        .start(
            "c2",
            "office",
            "in",
            "sip:1003@test.local",
            "2026-01-01T11:00:00Z",
        )
        .unwrap();
    h.ended(b, "2026-01-01T11:00:30Z", "cancelled", true)
        .unwrap();
    let c = h
        .start(
            "c3",
            "home",
            "in",
            "sip:2002@home.test",
            "2026-01-01T12:00:00Z",
        )
        .unwrap();

    let all = h.list(10).unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![c, b, a]);
    assert_eq!(h.list(2).unwrap().len(), 2);
    assert_eq!(
        all[2],
        HistoryEntry {
            id: a,
            account: "office".into(),
            direction: "out".into(),
            remote: "sip:1002@test.local".into(),
            started_at: "2026-01-01T10:00:00Z".into(),
            answered_at: Some("2026-01-01T10:00:05Z".into()),
            ended_at: Some("2026-01-01T10:01:00Z".into()),
            end_reason: Some("hangup".into()),
            missed: false,
            redirected_to: None,
            name: None,
            call: "c1".into(),
        }
    );
    assert_eq!(all[0].ended_at, None);
    assert_eq!(h.last_missed().unwrap().map(|e| e.id), Some(b));
    assert_eq!(
        h.get(b).unwrap().unwrap().end_reason.as_deref(),
        Some("cancelled")
    );
    assert_eq!(h.get(9999).unwrap(), None);
    h.named(b, "Anna Berg").unwrap();
    assert_eq!(
        h.get(b).unwrap().unwrap().name.as_deref(),
        Some("Anna Berg")
    );
    let json = serde_json::to_value(h.get(b).unwrap().unwrap()).unwrap();
    assert_eq!(json["name"], "Anna Berg");
    assert!(serde_json::to_value(&all[2]).unwrap().get("name").is_none());

    let json = serde_json::to_value(&all[2]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "id": a, "account": "office", "direction": "out",
            "remote": "sip:1002@test.local", "started_at": "2026-01-01T10:00:00Z",
            "answered_at": "2026-01-01T10:00:05Z", "ended_at": "2026-01-01T10:01:00Z",
            "end_reason": "hangup", "missed": false
        })
    );
}

#[test]
fn history_can_be_shared_between_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<History>();
}

#[test]
fn errors_instead_of_panics() {
    let (_dir, path) = temp_db();
    let h = History::open(&path).unwrap();
    assert!(h.start("c1", "a", "sideways", "x", "t").is_err());
    assert!(h.answered(42, "t").is_err());
    assert!(h.ended(42, "t", "hangup", false).is_err());
    assert_eq!(h.last_missed().unwrap(), None);
}

#[test]
fn wal_mode_and_normal_sync_and_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_db();
    let h = History::open(&path).unwrap();
    assert_eq!(h.journal_mode().unwrap(), "wal");
    let sync: i64 = h
        .conn()
        .unwrap()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 1, "NORMAL");
    let version: i64 = h
        .conn()
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::VERSION);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
}

#[test]
fn newer_schema_is_refused() {
    let (_dir, path) = temp_db();
    drop(History::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = History::open(&path).unwrap_err().to_string();
    assert!(err.contains("schema version 99"), "{err}");
}

#[test]
fn dropped_without_ending_is_interrupted_on_reopen() {
    let (_dir, path) = temp_db();
    let (out, missed_in) = {
        let h = History::open(&path).unwrap();
        let out = h
            .start("c1", "office", "out", "sip:a@b", "2026-01-01T10:00:00Z")
            .unwrap();
        h.answered(out, "2026-01-01T10:00:04Z").unwrap();
        let missed_in = h
            .start("c2", "office", "in", "sip:c@d", "2026-01-01T10:00:10Z")
            .unwrap();
        (out, missed_in)
    };
    let h = History::open(&path).unwrap();
    let out = h.get(out).unwrap().unwrap();
    assert_eq!(out.end_reason.as_deref(), Some("interrupted"));
    assert_eq!(out.ended_at.as_deref(), Some("2026-01-01T10:00:04Z"));
    assert!(!out.missed);
    let missed_in = h.get(missed_in).unwrap().unwrap();
    assert_eq!(missed_in.end_reason.as_deref(), Some("interrupted"));
    assert_eq!(missed_in.ended_at.as_deref(), Some("2026-01-01T10:00:10Z"));
    assert!(missed_in.missed);
}

const CRASH_DB: &str = "TERMPHONE_TEST_CRASH_DB";

/// Run by [`killed_process_loses_nothing`] in a child process: records two
/// calls, announces the ids in a marker file and waits to be killed.
#[test]
#[ignore = "helper run as a child process by killed_process_loses_nothing"]
fn crash_child() {
    let Some(db) = std::env::var_os(CRASH_DB) else {
        return;
    };
    let db = PathBuf::from(db);
    let h = History::open(&db).unwrap();
    let a = h
        .start("c1", "office", "out", "sip:1002@x", "2026-02-01T09:00:00Z")
        .unwrap();
    h.answered(a, "2026-02-01T09:00:03Z").unwrap();
    let b = h
        .start("c2", "office", "in", "sip:1003@x", "2026-02-01T09:00:20Z")
        .unwrap();
    let marker = db.with_extension("ready");
    std::fs::write(marker.with_extension("tmp"), format!("{a} {b}")).unwrap();
    std::fs::rename(marker.with_extension("tmp"), &marker).unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn killed_process_loses_nothing() {
    let (_dir, path) = temp_db();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::crash_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CRASH_DB, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = path.with_extension("ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    let ids = loop {
        if let Ok(text) = std::fs::read_to_string(&marker) {
            break text;
        }
        assert!(Instant::now() < deadline, "child never got ready");
        assert!(child.try_wait().unwrap().is_none(), "child exited early");
        std::thread::sleep(Duration::from_millis(20));
    };
    let ids: Vec<i64> = ids.split(' ').map(|s| s.parse().unwrap()).collect();

    // While the child runs, its calls are live: another process opening
    // the history must not close them.
    {
        let h = History::open(&path).unwrap();
        assert_eq!(h.get(ids[0]).unwrap().unwrap().ended_at, None);
        assert_eq!(h.get(ids[1]).unwrap().unwrap().ended_at, None);
    }

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let h = History::open(&path).unwrap();
    let a = h.get(ids[0]).unwrap().unwrap();
    assert_eq!(a.answered_at.as_deref(), Some("2026-02-01T09:00:03Z"));
    assert_eq!(a.ended_at.as_deref(), Some("2026-02-01T09:00:03Z"));
    assert_eq!(a.end_reason.as_deref(), Some("interrupted"));
    let b = h.get(ids[1]).unwrap().unwrap();
    assert_eq!(b.ended_at.as_deref(), Some("2026-02-01T09:00:20Z"));
    assert_eq!(b.end_reason.as_deref(), Some("interrupted"));
    assert!(b.missed);
    assert_eq!(h.last_missed().unwrap().map(|e| e.id), Some(ids[1]));
}

#[test]
fn a_redirect_target_is_kept_and_shown() {
    let (_dir, path) = temp_db();
    let h = History::open(&path).unwrap();
    let id = h.start("c1", "a", "out", "sip:1002@h", "t").unwrap();
    h.redirected(id, "sip:1003@h").unwrap();
    let e = h.get(id).unwrap().unwrap();
    assert_eq!(e.redirected_to.as_deref(), Some("sip:1003@h"));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["redirected_to"], "sip:1003@h");
    assert!(h.redirected(4242, "sip:x@h").is_err());
}

#[test]
fn a_version_1_database_gains_the_redirect_column() {
    let (_dir, path) = temp_db();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
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
             INSERT INTO calls (call, account, direction, remote, started_at, ended_at, end_reason)
               VALUES ('c1', 'a', 'out', 'sip:old@h', 't', 't', 'hangup');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let h = History::open(&path).unwrap();
    let all = h.list(10).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].remote, "sip:old@h");
    assert_eq!(all[0].redirected_to, None);
}
