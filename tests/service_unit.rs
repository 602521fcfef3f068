//! The shipped systemd user unit (`examples/termphone.service`) runs the
//! phone as it says: its `ExecStart` arguments, given to the binary under
//! test with the XDG dirs of a test, start a phone whose default control
//! socket answers `termphone ctl status`, and its `KillSignal` stops it
//! cleanly (exit 0, socket removed).

mod support;

use std::process::Command;
use std::time::Duration;
use support::phone::bin;
use support::proc::{signal, ProcGuard};
use support::{tail, wait_until, TestDir};

fn unit() -> String {
    std::fs::read_to_string(support::tests_path("../examples/termphone.service"))
        .expect("examples/termphone.service")
}

/// The value of `key=` in the unit.
fn value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in the unit"))
}

#[test]
fn the_example_unit_runs_and_stops_the_phone() {
    let unit = unit();
    let exec = value(&unit, "ExecStart");
    let mut words = exec.split_whitespace();
    let program = words.next().expect("a program");
    assert!(program.ends_with("/termphone"), "{exec}");
    let args: Vec<&str> = words.collect();
    assert_eq!(value(&unit, "KillSignal"), "SIGTERM");
    assert_eq!(value(&unit, "WantedBy"), "default.target");

    let t = TestDir::new("service-unit");
    let home = t.sub("home");
    let mut cmd = Command::new(bin());
    cmd.args(&args).current_dir(&home);
    for (var, sub) in [
        ("XDG_CONFIG_HOME", "xdg/config"),
        ("XDG_DATA_HOME", "xdg/data"),
        ("XDG_STATE_HOME", "xdg/state"),
        ("XDG_RUNTIME_DIR", "xdg/runtime"),
    ] {
        let d = home.join(sub);
        std::fs::create_dir_all(&d).expect("XDG dir");
        cmd.env(var, &d);
    }
    let runtime = home.join("xdg/runtime");
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    cmd.env("HOME", &home);
    let log = home.join("unit.log");
    let mut phone = ProcGuard::spawn("termphone", cmd, &log).expect("start");
    let socket = runtime.join("termphone/control.sock");
    let answered = wait_until(Duration::from_secs(15), || {
        Command::new(bin())
            .arg("ctl")
            .arg("--socket")
            .arg(&socket)
            .arg("status")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        answered,
        "no answer on {}:\n{}",
        socket.display(),
        tail(&log, 30)
    );
    signal(phone.pid(), "TERM");
    let status = phone.wait_timeout(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        tail(&log, 30)
    );
    assert!(!socket.exists(), "socket removed");
}
