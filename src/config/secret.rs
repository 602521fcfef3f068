//! Runs an account's `password_cmd` (`sh -c`) once at load time, for at
//! most [`PASSWORD_CMD_TIMEOUT`]; a command still running then is killed
//! with its whole process group. The password itself never appears in an
//! error message, and the buffers that held it are wiped.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a `password_cmd` may run (long enough to type a passphrase
/// into a pinentry prompt).
pub(crate) const PASSWORD_CMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` and returns its trimmed standard output, or a description of
/// the failure (exit status and the first line of standard error).
pub(crate) fn run_password_cmd(cmd: &str) -> Result<String, String> {
    run_password_cmd_within(cmd, PASSWORD_CMD_TIMEOUT)
}

/// [`run_password_cmd`] with the time limit given.
pub(crate) fn run_password_cmd_within(cmd: &str, limit: Duration) -> Result<String, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not run `sh -c`: {e}"))?;
    // Read both pipes beside the wait, so a chatty command cannot block on
    // a full pipe; a reader left behind by a killed command just ends.
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let status = match wait_until(&mut child, Instant::now() + limit) {
        Some(status) => status,
        None => {
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "did not finish within {} s and was stopped (does it wait for input?)",
                limit.as_secs()
            ));
        }
    };
    let stdout = Zeroizing::new(stdout.join().unwrap_or_default());
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        let status = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        };
        return Err(if first.is_empty() {
            format!("failed ({status})")
        } else {
            format!("failed ({status}): {}", truncate(first, 200))
        });
    }
    let stdout = std::str::from_utf8(&stdout)
        .map_err(|_| "printed something that is not UTF-8".to_string())?;
    let password = stdout.trim();
    if password.is_empty() {
        return Err("printed nothing".into());
    }
    Ok(password.to_string())
}

/// Reads `pipe` to its end on a thread.
fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut out);
        }
        out
    })
}

/// Waits for `child` until `deadline`; `None` when it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_output() {
        assert_eq!(
            run_password_cmd("printf '  s3cret\\n\\n'").as_deref(),
            Ok("s3cret")
        );
    }

    #[test]
    fn failure_names_status_and_stderr_not_stdout() {
        let err = run_password_cmd("echo topsecret; echo 'no such entry' >&2; exit 3").unwrap_err();
        assert!(err.contains("exit status 3"), "{err}");
        assert!(err.contains("no such entry"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        assert_eq!(run_password_cmd("true").unwrap_err(), "printed nothing");
    }

    #[test]
    fn a_command_that_hangs_is_stopped_with_a_clear_error() {
        let started = Instant::now();
        // The grandchild `sleep` holds the pipes open too: it must go as well.
        let err =
            run_password_cmd_within("sleep 30; echo late", Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("did not finish within"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waited {:?} for a hung command",
            started.elapsed()
        );
    }
}
