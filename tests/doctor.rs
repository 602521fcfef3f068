//! `termphone doctor` against real peers on loopback: an account
//! registered at kamailio is reported ok (kamailio logs the OPTIONS), an
//! account whose proxy is a dead port fails with its fix and makes the exit
//! code 1; a control directory open to others fails with `chmod 700`; a
//! config that does not parse fails on its first line; a good set-up exits
//! 0 with one ok line per check. The audio backend is the null one, which
//! opens on any machine.

mod support;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use support::config::{Account, Config};
use support::kamailio::Kamailio;
use support::phone::bin;
use support::{free_port, TestDir};

/// Runs `termphone doctor --config <file>`: (exit code, the report lines).
fn doctor(config: &Path) -> (i32, Vec<String>) {
    let out = Command::new(bin())
        .arg("doctor")
        .arg("--config")
        .arg(config)
        .output()
        .expect("run termphone doctor");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

fn write(t: &TestDir, name: &str, config: &Config, control: &Path) -> std::path::PathBuf {
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let path = t.path().join(name);
    std::fs::write(&path, config.render(control, listen)).expect("write the config");
    path
}

fn line<'a>(lines: &'a [String], what: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line for {what}: {lines:#?}"))
}

#[test]
fn doctor_reports_each_check_with_its_fix() {
    let t = TestDir::new("doctor");
    let k = Kamailio::start(&t.sub("kamailio"));
    let dead = free_port();
    let control = t.path().join("run/control.sock");

    let good = Config::new().account(Account::registered("office", "1001", &k));
    let path = write(&t, "good.toml", &good, &control);
    let (code, lines) = doctor(&path);
    assert_eq!(code, 0, "{lines:#?}");
    assert!(lines.iter().all(|l| l.starts_with("ok    ")), "{lines:#?}");
    assert!(line(&lines, "config").contains("good.toml parses"));
    let office = line(&lines, "registrar of account `office`");
    assert!(
        office.contains(&format!("answers OPTIONS at {} over UDP", k.addr())),
        "{office}"
    );
    assert!(
        k.log().contains("REQ OPTIONS from=sip:1001@test.local"),
        "kamailio saw no OPTIONS:\n{}",
        k.log()
    );
    assert!(line(&lines, "audio").contains("null backend"));
    assert!(line(&lines, "control socket").contains("made 0700"));
    assert!(
        line(&lines, "local address").contains(&format!("toward {}", k.addr())),
        "{lines:#?}"
    );

    // A proxy on a port where nothing listens: the fix, and exit 1.
    let broken = Config::new()
        .account(Account::registered("office", "1001", &k))
        .account(Account::via(
            "old",
            "1005",
            format!("127.0.0.1:{dead}").parse().unwrap(),
        ));
    let path = write(&t, "broken.toml", &broken, &control);
    let (code, lines) = doctor(&path);
    assert_eq!(code, 1, "{lines:#?}");
    assert!(line(&lines, "`office`").starts_with("ok    "), "{lines:#?}");
    let old = line(&lines, "`old`");
    assert!(old.starts_with("FAIL  "), "{old}");
    assert!(
        old.contains(&format!("nothing listens at 127.0.0.1:{dead}")),
        "{old}"
    );
    assert!(old.contains("; fix: is the PBX running?"), "{old}");

    // A control directory others can enter.
    let open = t.sub("open");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = write(&t, "open.toml", &good, &open.join("control.sock"));
    let (code, lines) = doctor(&path);
    assert_eq!(code, 1, "{lines:#?}");
    let socket = line(&lines, "control socket");
    assert!(
        socket.starts_with("FAIL  ")
            && socket.contains(&format!("fix: chmod 700 {}", open.display())),
        "{socket}"
    );

    // A config that does not parse: its position, and nothing else checked.
    let bad = t.path().join("bad.toml");
    std::fs::write(&bad, "[phone]\ndnd = 3\n").unwrap();
    let (code, lines) = doctor(&bad);
    assert_eq!(code, 1, "{lines:#?}");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with(&format!("FAIL  config: {}:2:7: ", bad.display())),
        "{lines:#?}"
    );
    assert!(lines[0].contains("; fix: "), "{lines:#?}");
}
