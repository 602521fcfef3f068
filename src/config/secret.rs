//! Runs an account's `password_cmd` (`sh -c`) once at load time. The
//! password itself never appears in an error message.

use std::process::{Command, Stdio};

/// Runs `cmd` and returns its trimmed standard output, or a description of
/// the failure (exit status and the first line of standard error).
pub(crate) fn run_password_cmd(cmd: &str) -> Result<String, String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not run `sh -c`: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        };
        return Err(if first.is_empty() {
            format!("failed ({status})")
        } else {
            format!("failed ({status}): {}", truncate(first, 200))
        });
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| "printed something that is not UTF-8".to_string())?;
    let password = stdout.trim();
    if password.is_empty() {
        return Err("printed nothing".into());
    }
    Ok(password.to_string())
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::run_password_cmd;

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
}
