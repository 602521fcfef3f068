//! Child processes that cannot outlive the test: each runs in its own process
//! group, and the guard kills the whole group on drop (also when a test panics).

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Sends `signal` (e.g. "TERM", "KILL") to a pid, or to a process group when `pid` is negative.
pub fn signal(pid: i32, signal: &str) {
    let _ = Command::new("kill")
        .arg("-s")
        .arg(signal)
        .arg("--")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// A child process (and its process group), killed on drop.
pub struct ProcGuard {
    child: Child,
    name: String,
    status: Option<ExitStatus>,
}

impl ProcGuard {
    /// Spawns `cmd` in a new process group with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> std::io::Result<ProcGuard> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let err = out.try_clone()?;
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn()?;
        Ok(ProcGuard {
            child,
            name: name.to_string(),
            status: None,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_status() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM to the group, then SIGKILL after `grace`; reaps the child.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.try_status().is_none() {
            signal(-self.pid(), "TERM");
            if self.wait_timeout(grace).is_none() {
                signal(-self.pid(), "KILL");
            }
        }
        self.kill_group();
        self.wait_timeout(Duration::from_secs(5))
    }

    /// SIGKILL to the process and its group at once (crash simulation).
    pub fn kill9(&mut self) {
        signal(-self.pid(), "KILL");
        let _ = self.child.kill();
        let _ = self.wait_timeout(Duration::from_secs(5));
    }

    /// SIGKILL to whatever is left in the process group.
    fn kill_group(&mut self) {
        signal(-self.pid(), "KILL");
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

/// Stops the process whose pid a pid file names (a phone `termphone`
/// started in the background): SIGTERM, then SIGKILL after `grace`. Returns
/// whether there was one running.
pub fn stop_pid_file(path: &Path, grace: Duration) -> bool {
    let Some(pid) = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|pid| *pid > 1)
    else {
        return false;
    };
    if !alive(pid) {
        return false;
    }
    signal(pid, "TERM");
    let end = Instant::now() + grace;
    while alive(pid) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    if alive(pid) {
        signal(pid, "KILL");
    }
    true
}
