//! End to end: the real `termphone` binary with its terminal interface in a
//! tmux pane, driven by keys, against a SIPp UAS that answers. Keys dial, the
//! peer answers, the screen shows the call active; a key holds and resumes
//! (SIPp checks the re-INVITEs' direction); a key hangs up, the screen shows
//! it ended and SIPp got its BYE. A `termphone ctl dial` from outside
//! shows up on the screen at once; `q` asks first when a call is up and the
//! binary exits cleanly.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::config::{Account, Config};
use support::phone::bin;
use support::sipp::Sipp;
use support::tmux::{call_line, Tmux};
use support::{free_port, tail, wait_for, TestDir};

/// termphone with its interface in a tmux pane, with its files under `home`.
struct Tui {
    tmux: Tmux,
    home: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    status_file: PathBuf,
    sip_port: u16,
}

impl Tui {
    fn start(t: &TestDir, name: &str) -> Tui {
        Tui::start_with(t, name, Account::direct("direct", "1001"))
    }

    /// Like [`Tui::start`], with `account` instead of the plain direct one.
    fn start_with(t: &TestDir, name: &str, account: Account) -> Tui {
        Tui::start_configured(t, name, Config::new().account(account))
    }

    /// Like [`Tui::start`], with the accounts and settings of `config`.
    fn start_configured(t: &TestDir, name: &str, config: Config) -> Tui {
        let home = t.sub("phone");
        let socket = home.join("control.sock");
        let config_text = config;
        let config = home.join("config.toml");
        let sip_port = free_port();
        let text = config_text
            .ui("bell", true)
            .ui("notify", true)
            .render(&socket, SocketAddr::from(([127, 0, 0, 1], sip_port)));
        std::fs::write(&config, text).expect("write config.toml");
        std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod config.toml");
        let mut env = Vec::new();
        for (var, sub) in [
            ("XDG_CONFIG_HOME", "xdg/config"),
            ("XDG_DATA_HOME", "xdg/data"),
            ("XDG_STATE_HOME", "xdg/state"),
            ("XDG_RUNTIME_DIR", "xdg/runtime"),
        ] {
            let d = home.join(sub);
            std::fs::create_dir_all(&d).expect("create XDG dir");
            env.push((var.to_string(), d));
        }
        env.push(("HOME".to_string(), home.clone()));
        env.push(("TERM".to_string(), PathBuf::from("xterm-256color")));
        let log = home.join("xdg/state/termphone/termphone.log");
        // A shell in the pane waits for termphone and records its exit status.
        let status_file = home.join("exit-status");
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            "\"$0\" --config \"$1\"; echo $? > \"$2\"".to_string(),
            bin().display().to_string(),
            config.display().to_string(),
            status_file.display().to_string(),
        ];
        let tmux = Tmux::start(name, &home, &env, &argv);
        let tui = Tui {
            tmux,
            home,
            socket,
            log,
            status_file,
            sip_port,
        };
        // The whole first frame: tmux may show a frame while it is still
        // being written, so wait for its last line (the key hints) too.
        tui.wait_screen("the empty call list and the key hints", |s| {
            s.contains("Calls (0)") && s.contains("No calls") && s.contains("d dial")
        });
        tui
    }

    fn wait_screen(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        self.tmux.wait_screen(what, &self.log, f)
    }

    /// The pid file of the phone `termphone` started in the background.
    fn pid_file(&self) -> PathBuf {
        self.socket.with_extension("pid")
    }

    /// Waits for termphone to exit; its exit status.
    fn exit_status(&self) -> Option<i32> {
        wait_for(Duration::from_secs(15), || {
            std::fs::read_to_string(&self.status_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
        })
    }
}

impl Drop for Tui {
    /// The phone outlives its interface: stop it too (a test that failed
    /// half-way leaves no phone behind).
    fn drop(&mut self) {
        support::proc::stop_pid_file(&self.pid_file(), Duration::from_secs(5));
    }
}

#[test]
fn keys_dial_answer_hang_up_and_quit_in_tmux() {
    let t = TestDir::new("tui-tmux");
    let tui = Tui::start(&t, "dial");
    let (tmux, log, socket) = (&tui.tmux, &tui.log, &tui.socket);
    let sipp = Sipp::new("uas_hold", &t.sub("sipp")).timeout(40).spawn();

    // keys dial the peer
    tmux.keys(&["d"]);
    tmux.type_text(&format!("sip:uas@{}", sipp.addr()));
    let prompt = format!(" dial: sip:uas@{}", sipp.addr());
    tmux.wait_screen("the dial prompt", log, |s| s.contains(&prompt));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_screen("c1 active", log, |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("active"))
    });
    assert!(s.contains("Calls (1)"), "{s}");
    assert!(s.contains("PCMU"), "codec shown:\n{s}");

    // the SIP log of the call shows the ladder
    tmux.keys(&["L"]);
    let s = tmux.wait_screen("the ladder", log, |s| {
        s.contains("SIP log: c1") && s.contains("200 OK")
    });
    assert!(s.contains("─ INVITE "), "{s}");
    assert!(s.contains("◀ 180 Ringing"), "{s}");
    tmux.keys(&["F1"]);
    tmux.wait_screen("the call list again", log, |s| s.contains("┌ Calls "));

    // a key holds (the peer sees a re-INVITE with sendonly) and resumes
    tmux.keys(&["h"]);
    let s = tmux.wait_screen("c1 held", log, |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("held")) && s.contains("[HOLD]")
    });
    assert!(s.contains("Calls (1)"), "{s}");
    tmux.keys(&["h"]);
    tmux.wait_screen("c1 active again", log, |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("active")) && !s.contains("[HOLD]")
    });

    // a key hangs up; the peer gets its BYE
    tmux.keys(&["x"]);
    let s = tmux.wait_screen("c1 ended", log, |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("ended"))
    });
    assert!(s.contains("Calls (0)"), "{s}");
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());

    // the control socket works while the interface runs
    let out = Command::new(bin())
        .args(["ctl", "--socket"])
        .arg(socket)
        .args(["dial", "echo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctl dial: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    tmux.wait_screen("c2 (from ctl) active", log, |s| {
        call_line(s, "c2").is_some_and(|l| l.contains("echo") && l.contains("active"))
    });

    // q asks while a call is up; n keeps running, y quits cleanly
    tmux.keys(&["q"]);
    tmux.wait_screen("the quit question", log, |s| {
        s.contains("hang up and quit? (y/n)")
    });
    tmux.keys(&["n"]);
    tmux.wait_screen("quit cancelled", log, |s| s.contains("quit cancelled"));
    tmux.keys(&["q"]);
    tmux.wait_screen("the quit question", log, |s| {
        s.contains("hang up and quit? (y/n)")
    });
    tmux.keys(&["y"]);
    let code = tui.exit_status();
    assert_eq!(
        code,
        Some(0),
        "exit status; screen:\n{}\n{}",
        tmux.screen(),
        tail(log, 40)
    );
    assert!(!socket.exists(), "control socket removed on exit");
    let after = tmux.screen();
    assert!(
        !after.contains("┌ Calls") && !after.contains("dial"),
        "terminal restored (alternate screen left):\n{after}"
    );
}

/// The dial prompt searches the `[[directory]]` as you type: part of a
/// name shows the contact's numbers, Tab picks one, Enter dials the pick
/// (the peer is called at the picked SIP address, not at what was typed).
#[test]
fn dial_prompt_searches_the_directory_as_you_type() {
    let t = TestDir::new("tui-tmux-search");
    let sipp = Sipp::new("uas_answer", &t.sub("sipp")).timeout(40).spawn();
    let cards = t.sub("contacts").join("office.vcf");
    let alice = format!("sip:alice@{}", sipp.addr());
    std::fs::write(
        &cards,
        format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Alice Smith\r\nTEL;TYPE=work:2001\r\n\
             IMPP:{alice}\r\nEND:VCARD\r\n\
             BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Jones\r\nTEL;TYPE=cell:2002\r\nEND:VCARD\r\n"
        ),
    )
    .expect("write the vCard");
    let config = Config::new()
        .account(Account::direct("direct", "1001"))
        .vcard_directory(&cards);
    let tui = Tui::start_configured(&t, "search", config);

    tui.tmux.keys(&["d"]);
    tui.tmux.type_text("alic");
    let s = tui.wait_screen("Alice's numbers in the directory list", |s| {
        s.contains("┌ directory") && s.contains("2001") && s.contains("sip:alice@")
    });
    assert!(s.contains("Alice Smith"), "{s}");
    assert!(!s.contains("Bob Jones"), "only what matches:\n{s}");
    // Tab until the SIP address is the pick (▸), then Enter dials it. (The
    // list may shorten a long address: its start is enough.)
    let picked = |s: &str| {
        s.lines()
            .any(|l| l.contains('▸') && l.contains("sip:alice@"))
    };
    for _ in 0..3 {
        if picked(&tui.tmux.screen()) {
            break;
        }
        tui.tmux.keys(&["Tab"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    tui.wait_screen("Alice's SIP address picked", picked);
    tui.tmux.keys(&["Enter"]);
    let s = tui.wait_screen("c1 active", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("active"))
    });
    assert!(
        call_line(&s, "c1").is_some_and(|l| l.contains("Alice") || l.contains("alice@")),
        "the call names the picked contact:\n{s}"
    );
    tui.tmux.keys(&["x"]);
    let r = sipp.wait(Duration::from_secs(15));
    assert!(
        r.success(),
        "the picked address was called and hung up: {}",
        r.describe()
    );
    tui.tmux.keys(&["q"]);
    assert_eq!(tui.exit_status(), Some(0), "{}", tail(&tui.log, 40));
}

#[test]
fn incoming_call_is_highlighted_and_answered_by_key() {
    let t = TestDir::new("tui-tmux-in");
    let tui = Tui::start(&t, "incoming");
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], tui.sip_port));
    let sipp = Sipp::new("uac_nomedia", &t.sub("sipp"))
        .target(target)
        .service("1001")
        .arg("-d")
        .arg("1500")
        .timeout(30)
        .spawn();
    let s = tui.wait_screen("the ringing call", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("RINGING") && l.contains('←'))
    });
    assert!(s.contains("incoming call c1 from"), "{s}");
    assert!(s.contains("(a answers)"), "{s}");
    tui.tmux.keys(&["a"]);
    tui.wait_screen("c1 active", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("active"))
    });
    // the peer hangs up after its pause
    tui.wait_screen("c1 ended", |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("ended"))
    });
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());
    // the History view lists it
    tui.tmux.keys(&["F2"]);
    tui.wait_screen("the history entry", |s| {
        s.contains("┌ History") && s.lines().any(|l| l.contains('←') && l.contains("sipp"))
    });
    tui.tmux.keys(&["q"]);
    assert_eq!(tui.exit_status(), Some(0), "{}", tail(&tui.log, 40));
    assert!(tui.home.exists());
}

#[test]
fn voicemail_key_and_conference_group_in_tmux() {
    let t = TestDir::new("tui-tmux-conf");
    let tui = Tui::start_with(
        &t,
        "conf",
        Account::direct("direct", "1001").voicemail("echo"),
    );
    let (tmux, log) = (&tui.tmux, &tui.log);
    // V dials the account's voicemail number (the echo test here)
    tmux.keys(&["V"]);
    tmux.wait_screen("c1 (voicemail) active", log, |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("echo") && l.contains("active"))
    });
    tmux.keys(&["e"]);
    tmux.wait_screen("c2 active", log, |s| {
        call_line(s, "c2").is_some_and(|l| l.contains("active"))
    });
    // M joins both into the conference: the group header with our level
    tmux.keys(&["M"]);
    let s = tmux.wait_screen("the conference group", log, |s| {
        s.contains("Conference (2)")
    });
    assert!(s.contains(" us "), "{s}");
    // the members' levels are refreshed on the tick: the meters are shown
    let members = s
        .lines()
        .filter(|l| l.contains(" dB ") || l.contains("silent"))
        .count();
    assert!(members >= 3, "own level and two member levels:\n{s}");
    // S splits the selected member off, J brings it back
    tmux.keys(&["g", "S"]);
    let s = tmux.wait_screen("the split member", log, |s| s.contains("[SPLIT]"));
    assert!(s.contains("private with c1"), "{s}");
    tmux.keys(&["J"]);
    tmux.wait_screen("the member rejoined", log, |s| {
        s.contains("Conference (2)") && !s.contains("[SPLIT]")
    });
    // X removes the selected member; the other stays
    tmux.keys(&["X"]);
    tmux.wait_screen("c1 ended", log, |s| {
        call_line(s, "c1").is_some_and(|l| l.contains("ended"))
    });
    tmux.keys(&["q"]);
    tmux.wait_screen("the quit question", log, |s| {
        s.contains("hang up and quit? (y/n)")
    });
    tmux.keys(&["y"]);
    assert_eq!(tui.exit_status(), Some(0), "{}", tail(log, 40));
}
