//! Starting a phone in the background for `termphone` (no arguments) when
//! none answers on the control socket: this binary again with `--background`
//! (which makes it a session of its own, away from the terminal), stdin from
//! `/dev/null`, stdout and stderr appended to a log file; then waiting until
//! its control socket answers. The phone's pid is kept next to the socket
//! ([`pid_path`]) while it runs. Never talks the control protocol itself
//! ([`super::remote`] does).

use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a background phone may take until its socket answers.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the background phone did not come up.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot start {}: {source}", exe.display())]
    Spawn { exe: PathBuf, source: io::Error },
    #[error("cannot open the log {}: {source}", log.display())]
    Log { log: PathBuf, source: io::Error },
    #[error("the background phone exited ({status}); see {}", log.display())]
    Exited { status: String, log: PathBuf },
    #[error("the background phone did not answer on {} within {}s; see {}", socket.display(), START_TIMEOUT.as_secs(), log.display())]
    Timeout { socket: PathBuf, log: PathBuf },
}

/// What to start: the binary, its config file (if any) and socket.
#[derive(Debug, Clone)]
pub struct Launch {
    pub exe: PathBuf,
    pub config: Option<PathBuf>,
    pub control: PathBuf,
    pub log: PathBuf,
}

impl Launch {
    /// The arguments the background phone gets.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec!["--background".into()];
        if let Some(config) = &self.config {
            args.push("--config".into());
            args.push(absolute(config).into_os_string());
        }
        args.push("--control".into());
        args.push(absolute(&self.control).into_os_string());
        args
    }

    /// Starts the phone and waits until its control socket answers.
    /// Returns its pid.
    pub fn start(&self) -> Result<u32, LaunchError> {
        if let Some(dir) = self.log.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| LaunchError::Log {
                    log: self.log.clone(),
                    source,
                })?;
        }
        let open = || {
            use std::os::unix::fs::OpenOptionsExt;
            // Private from creation, as the phone's own log files are.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&self.log)
                .map_err(|source| LaunchError::Log {
                    log: self.log.clone(),
                    source,
                })
        };
        let (out, err) = (open()?, open()?);
        let mut child = Command::new(&self.exe)
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| LaunchError::Spawn {
                exe: self.exe.clone(),
                source,
            })?;
        let end = Instant::now() + START_TIMEOUT;
        loop {
            if UnixStream::connect(&self.control).is_ok() {
                return Ok(child.id());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(LaunchError::Exited {
                    status: status.to_string(),
                    log: self.log.clone(),
                });
            }
            if Instant::now() >= end {
                return Err(LaunchError::Timeout {
                    socket: self.control.clone(),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// `path` made absolute against the current directory (the background
/// phone reads it later, from wherever it runs).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Where a phone started in the background keeps its pid: beside its
/// control socket, `control.sock` → `control.pid`.
pub fn pid_path(socket: &Path) -> PathBuf {
    socket.with_extension("pid")
}

/// Writes our pid to [`pid_path`]; the returned guard removes the file.
pub fn write_pid(socket: &Path) -> io::Result<PidFile> {
    let path = pid_path(socket);
    std::fs::write(&path, format!("{}\n", std::process::id()))?;
    Ok(PidFile { path })
}

/// The pid file of a running background phone; removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            == Some(std::process::id());
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_absolute_paths() {
        let launch = Launch {
            exe: "/usr/bin/termphone".into(),
            config: Some("rel/c.toml".into()),
            control: "/run/user/1/termphone/control.sock".into(),
            log: "/tmp/l.log".into(),
        };
        let args = launch.args();
        assert_eq!(args[0], "--background");
        assert_eq!(args[1], "--config");
        assert!(Path::new(&args[2]).is_absolute(), "{args:?}");
        assert!(Path::new(&args[2]).ends_with("rel/c.toml"), "{args:?}");
        assert_eq!(args[3], "--control");
        assert_eq!(args[4], "/run/user/1/termphone/control.sock");
        let bare = Launch {
            config: None,
            ..launch
        };
        assert_eq!(bare.args().len(), 3);
    }

    #[test]
    fn pid_file_beside_the_socket_is_removed_when_ours() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("control.sock");
        assert_eq!(pid_path(&socket), dir.path().join("control.pid"));
        let pid = write_pid(&socket).unwrap();
        let text = std::fs::read_to_string(pid_path(&socket)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        drop(pid);
        assert!(!pid_path(&socket).exists());
        // someone else's pid file stays
        let pid = write_pid(&socket).unwrap();
        std::fs::write(pid_path(&socket), "1\n").unwrap();
        drop(pid);
        assert!(pid_path(&socket).exists());
    }

    #[test]
    fn a_binary_that_exits_at_once_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let launch = Launch {
            exe: "/bin/false".into(),
            config: None,
            control: dir.path().join("control.sock"),
            log: dir.path().join("state/termphone.log"),
        };
        let err = launch.start().unwrap_err();
        assert!(matches!(err, LaunchError::Exited { .. }), "{err}");
        assert!(err.to_string().contains("termphone.log"), "{err}");
        // The log and its directory are private from creation.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("state/termphone.log")), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        let missing = Launch {
            exe: dir.path().join("no-such-binary"),
            ..launch
        };
        assert!(matches!(
            missing.start().unwrap_err(),
            LaunchError::Spawn { .. }
        ));
    }
}
