//! A tmux server on its own socket with one pane running a command (the
//! `termphone` interface), driven by keys and read by screen captures;
//! killing the server is how a test drops a terminal.

use super::{tail, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A tmux server on its own socket, killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(name: &str, cwd: &Path, env: &[(String, PathBuf)], argv: &[String]) -> Tmux {
        let socket = format!("termphone-{name}-{}", std::process::id());
        let tmux = Tmux { socket };
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &tmux.socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "100",
            "-y",
            "30",
        ])
        .arg("-c")
        .arg(cwd);
        for (k, v) in env {
            cmd.arg("-e").arg(format!("{k}={}", v.display()));
        }
        cmd.arg("--").args(argv);
        let status = cmd.status().expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "0", k]);
            // separate keys so Esc is never read as Alt-<next key>
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "0", "-l", text]);
        std::thread::sleep(Duration::from_millis(60));
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "0"])
    }

    /// Waits until the screen satisfies `f`; returns the last screen.
    pub fn wait_screen(&self, what: &str, log: &Path, f: impl Fn(&str) -> bool) -> String {
        let found = wait_for(Duration::from_secs(15), || {
            let s = self.screen();
            f(&s).then_some(s)
        });
        match found {
            Some(s) => s,
            None => panic!(
                "screen never showed {what}:\n{}\n--- log ---\n{}",
                self.screen(),
                tail(log, 40)
            ),
        }
    }
}

impl Tmux {
    /// Kills the tmux server and with it the pane's terminal (what a
    /// dropped SSH connection does to a session).
    pub fn kill(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The line of the call list showing call `id`.
pub fn call_line<'a>(screen: &'a str, id: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.contains(&format!("{id}  ")) && (l.contains('→') || l.contains('←')))
}
