//! The phone outlives its terminal: the `termphone` interface in tmux panes
//! attached to a phone over its control socket. A call to baresip stays up
//! (both sides, audio flowing) when the terminal is killed, and a new
//! interface shows it with its time running and its SIP log, and hangs
//! it up; two
//! interfaces at once see each other's actions; `termphone` alone starts a
//! phone in the background that outlives its terminal; a call the far end
//! ends while nobody watches is in the History of the next interface.
//! Every phone a test starts is stopped by it (pid file or process guard).

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::config::{Account, Config};
use support::phone::{bin, call_id_of, Phone};
use support::proc::stop_pid_file;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts};
use support::tmux::{call_line, Tmux};
use support::{free_port, tail, tone, wait_for, wait_until, TestDir};

/// The XDG dirs and HOME the phone driver gives a phone living in `home`.
fn env_of(home: &Path) -> Vec<(String, PathBuf)> {
    let mut env: Vec<(String, PathBuf)> = [
        ("XDG_CONFIG_HOME", "xdg/config"),
        ("XDG_DATA_HOME", "xdg/data"),
        ("XDG_STATE_HOME", "xdg/state"),
        ("XDG_CACHE_HOME", "xdg/cache"),
        ("XDG_RUNTIME_DIR", "xdg/runtime"),
    ]
    .iter()
    .map(|(k, sub)| {
        let d = home.join(sub);
        std::fs::create_dir_all(&d).expect("XDG dir");
        (k.to_string(), d)
    })
    .collect();
    env.push(("HOME".into(), home.to_path_buf()));
    env.push(("TERM".into(), PathBuf::from("xterm-256color")));
    env
}

/// A `termphone` interface in a tmux pane: `args` after the binary, with
/// `config`; its exit status goes to `home/<name>.exit`.
struct Pane {
    tmux: Tmux,
    log: PathBuf,
    exit_file: PathBuf,
}

impl Pane {
    fn open(name: &str, home: &Path, args: &[&str], config: &Path, log: &Path) -> Pane {
        let exit_file = home.join(format!("{name}.exit"));
        let _ = std::fs::remove_file(&exit_file);
        let mut script = "\"$0\"".to_string();
        for a in args {
            script.push(' ');
            script.push_str(a);
        }
        script.push_str(" --config \"$1\"; echo $? > \"$2\"");
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            script,
            bin().display().to_string(),
            config.display().to_string(),
            exit_file.display().to_string(),
        ];
        let pane = Pane {
            tmux: Tmux::start(name, home, &env_of(home), &argv),
            log: log.to_path_buf(),
            exit_file,
        };
        pane.wait("the call list and the key hints", |s| {
            s.contains("Calls (") && s.contains("d dial")
        });
        pane
    }

    /// `termphone attach` to the phone.
    fn attach(name: &str, phone: &Phone) -> Pane {
        Pane::open(
            name,
            &phone.home,
            &["attach"],
            &phone.config_path,
            &phone.log,
        )
    }

    fn wait(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        self.tmux.wait_screen(what, &self.log, f)
    }

    fn exit_status(&self) -> Option<i32> {
        wait_for(Duration::from_secs(15), || {
            std::fs::read_to_string(&self.exit_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
        })
    }
}

/// The duration shown on a call's line (`m:ss`), in seconds.
fn shown_secs(line: &str) -> Option<i64> {
    line.split_whitespace().find_map(|w| {
        let (m, s) = w.split_once(':')?;
        (s.len() == 2).then_some(())?;
        Some(m.parse::<i64>().ok()? * 60 + s.parse::<i64>().ok()?)
    })
}

/// Seconds of `hz` in what baresip received since sample `from`, and the
/// samples received so far.
fn received_tone(wav: &Path, from: usize, hz: f64) -> (f64, usize) {
    let Some((samples, rate)) = tone::read_mono_growing(wav) else {
        return (0.0, 0);
    };
    let new = samples.get(from..).unwrap_or(&[]);
    let secs = new.len() as f64 / f64::from(rate.max(1));
    (
        secs * tone::tone_share(new, rate, hz).max(0.0),
        samples.len(),
    )
}

#[test]
fn call_survives_the_terminal_and_a_new_interface_hangs_it_up() {
    let t = TestDir::new("attach-survive");
    let mut b = baresip(&t, "1002", PeerOpts::tone(600.0));
    let mut p = direct_phone(&t, PhoneOpts::new().tone(1000.0));
    let reply = p.ok(json!({"cmd": "dial", "to": b.direct_uri()}));
    let id = call_id_of(&reply);
    assert!(
        p.wait_call_state(&id, "active", Duration::from_secs(15))
            .is_some(),
        "call not active:\n{}",
        p.log_tail()
    );
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());

    let first = Pane::attach("survive-1", &p);
    first.wait("the call active", |s| {
        call_line(s, &id).is_some_and(|l| l.contains("active"))
    });
    // the terminal goes away, as with a dropped SSH connection
    first.tmux.kill();

    // the call is up on both sides, and baresip keeps receiving our tone
    let wav = wait_for(Duration::from_secs(5), || b.received_wavs().pop())
        .expect("baresip records what it receives");
    let (_, mark) = received_tone(&wav, 0, 1000.0);
    assert!(
        wait_until(Duration::from_secs(10), || received_tone(
            &wav, mark, 1000.0
        )
        .0 >= 1.5),
        "baresip got no more 1000 Hz after the terminal went"
    );
    assert_eq!(p.call(&id).expect("call in status")["state"], "active");
    assert!(
        b.events_of("CALL_CLOSED").is_empty(),
        "baresip saw the call close"
    );

    // a new interface shows it, with its time running
    let second = Pane::attach("survive-2", &p);
    let s = second.wait("the call active with its time", |s| {
        call_line(s, &id)
            .and_then(shown_secs)
            .is_some_and(|secs| secs >= 2)
    });
    let before = call_line(&s, &id).and_then(shown_secs).unwrap_or(0);
    second.wait("the call's time advancing", |s| {
        call_line(s, &id)
            .and_then(shown_secs)
            .is_some_and(|secs| secs > before)
    });
    // its SIP log has the messages from before this interface attached
    second.tmux.keys(&["L"]);
    let s = second.wait("the call's ladder", |s| {
        s.contains(&format!("SIP log: {id}")) && s.contains("200 OK")
    });
    assert!(s.contains("─ INVITE "), "{s}");
    second.tmux.keys(&["F1"]);
    second.wait("the call list again", |s| s.contains("┌ Calls "));
    // and hangs it up: BYE reaches baresip
    second.tmux.keys(&["x"]);
    second.wait("the call ended", |s| {
        call_line(s, &id).is_some_and(|l| l.contains("ended"))
    });
    assert!(
        b.wait_event("CALL_CLOSED", Duration::from_secs(10))
            .is_some(),
        "baresip got no BYE"
    );
    // detaching leaves the phone running
    second.tmux.keys(&["C-d"]);
    assert_eq!(second.exit_status(), Some(0), "{}", tail(&p.log, 30));
    assert!(p.running(), "the phone stopped with its interface");
}

#[test]
fn two_interfaces_see_each_others_actions() {
    let t = TestDir::new("attach-two");
    let mut peer = baresip(&t, "1002", PeerOpts::tone(600.0));
    let mut p = direct_phone(&t, PhoneOpts::new().tone(1000.0));
    let a = Pane::attach("two-a", &p);
    let b = Pane::attach("two-b", &p);
    // dial in one: the call appears in the other
    a.tmux.keys(&["d"]);
    a.tmux.type_text(&peer.direct_uri());
    a.wait("the dial prompt", |s| s.contains(" dial: sip:1002@"));
    a.tmux.keys(&["Enter"]);
    b.wait("c1 active in the other interface", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("1002") && l.contains("active"))
    });
    // hold in the other: the first shows it held
    b.tmux.keys(&["h"]);
    b.wait("c1 held in the other interface", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("held"))
    });
    a.wait("c1 held in the first interface", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("held")) && s.contains("[HOLD]")
    });
    assert_eq!(p.call("c1").expect("c1 in status")["state"], "held");
    // `q` with a call up asks, and `d` there detaches
    a.tmux.keys(&["q"]);
    a.wait("the quit question offering detach", |s| {
        s.contains("hang up and quit? (y/n)") && s.contains("d: detach")
    });
    a.tmux.keys(&["d"]);
    assert_eq!(a.exit_status(), Some(0));
    assert_eq!(p.call("c1").expect("c1 in status")["state"], "held");
    // quit from the other ends the phone, and with it that interface
    b.tmux.keys(&["q"]);
    b.wait("the quit question", |s| s.contains("hang up and quit?"));
    b.tmux.keys(&["y"]);
    assert_eq!(b.exit_status(), Some(0), "{}", p.log_tail());
    assert!(
        peer.wait_event("CALL_CLOSED", Duration::from_secs(10))
            .is_some(),
        "quit sent no BYE"
    );
    assert!(
        wait_until(Duration::from_secs(10), || !p.running()),
        "the phone did not quit"
    );
}

#[test]
fn far_end_hangs_up_while_no_interface_is_attached() {
    let t = TestDir::new("attach-history");
    let mut b = baresip(&t, "1002", PeerOpts::tone(600.0));
    let mut p = direct_phone(&t, PhoneOpts::new().tone(1000.0));
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": b.direct_uri()})));
    assert!(p
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .is_some());
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    b.hangup();
    let ended = p
        .wait_call_state(&id, "ended", Duration::from_secs(10))
        .expect("the call ended");
    assert_eq!(ended["end_reason"], "remote hangup", "{ended}");
    let history = p.ok(json!({"cmd": "history", "limit": 1}));
    assert_eq!(history["history"][0]["end_reason"], "remote hangup");

    let pane = Pane::attach("history", &p);
    pane.tmux.keys(&["F2"]);
    pane.wait("the call in History", |s| {
        s.contains("┌ History") && s.lines().any(|l| l.contains('→') && l.contains("1002"))
    });
    pane.tmux.keys(&["C-d"]);
    assert_eq!(pane.exit_status(), Some(0));
}

#[test]
fn termphone_alone_starts_a_phone_that_outlives_its_terminal() {
    let t = TestDir::new("attach-background");
    let home = t.sub("phone");
    let socket = home.join("xdg/runtime/termphone/control.sock");
    let config = home.join("config.toml");
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    std::fs::write(
        &config,
        Config::new()
            .account(Account::direct("direct", "1001"))
            .render(&socket, listen),
    )
    .expect("config");
    let log = home.join("xdg/state/termphone/termphone.log");
    let pid_file = socket.with_extension("pid");
    // whatever happens below, the background phone is stopped
    struct Stop(PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            stop_pid_file(&self.0, Duration::from_secs(5));
        }
    }
    let _stop = Stop(pid_file.clone());

    let pane = Pane::open("background", &home, &[], &config, &log);
    let pid: i32 = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    })
    .expect("the background phone's pid file");
    // in a session of its own, not the terminal's
    let sid = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(3)?.parse::<i32>().ok())
            })
    };
    assert_eq!(sid(pid), Some(pid), "the phone leads its own session");
    pane.tmux.keys(&["e"]);
    pane.wait("c1 active", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("active"))
    });
    pane.tmux.kill();

    let ctl_status = || {
        let out = Command::new(bin())
            .arg("ctl")
            .arg("--socket")
            .arg(&socket)
            .arg("status")
            .output()
            .expect("run ctl");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // the terminal's processes are gone; the phone still answers, call up
    let (code, out) = ctl_status();
    assert_eq!(code, Some(0), "ctl status: {out}\n{}", tail(&log, 30));
    let status: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(status["calls"][0]["id"], "c1", "{status}");
    assert_eq!(status["calls"][0]["state"], "active", "{status}");
    assert!(support::proc::alive(pid));
    // `ctl quit` stops it
    let quit = Command::new(bin())
        .arg("ctl")
        .arg("--socket")
        .arg(&socket)
        .arg("quit")
        .status()
        .expect("ctl quit");
    assert!(quit.success());
    assert!(
        wait_until(Duration::from_secs(10), || !support::proc::alive(pid)),
        "the phone did not quit"
    );
    assert!(!pid_file.exists(), "pid file removed on exit");
}
