//! What the phone writes is ours alone: the data directory it creates is
//! 0700, the call history and a call's recording (in `recordings/` beside
//! the history) are 0600.

mod support;

use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use support::callctl::{dial_active, wait_state};
use support::setup::{direct_phone, PhoneOpts};
use support::sipp::Sipp;
use support::TestDir;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn data_dir_history_and_recordings_are_private() {
    let t = TestDir::new("private-files");
    let mut p = direct_phone(&t, PhoneOpts::new()).phone;
    let uas = Sipp::new("uas_answer", &t.sub("sipp")).timeout(30).spawn();
    let id = dial_active(&mut p, &format!("sip:uas@{}", uas.addr()));
    let reply = p.ok(json!({"cmd": "record", "call": id, "on": true}));
    let recording = reply["path"]
        .as_str()
        .expect("record names its file")
        .to_string();
    p.ok(json!({"cmd": "record", "call": id, "on": false}));
    p.ok(json!({"cmd": "hangup", "call": id}));
    wait_state(&mut p, &id, "ended", 5);
    let r = uas.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());

    let data = t.path().join("phone/xdg/data/termphone");
    assert_eq!(mode(&data), 0o700, "data dir {}", data.display());
    assert_eq!(mode(&data.join("history.db")), 0o600, "history");
    let recording = Path::new(&recording);
    assert_eq!(mode(recording), 0o600, "recording {}", recording.display());
    assert_eq!(mode(recording.parent().unwrap()), 0o700, "recordings dir");
}
