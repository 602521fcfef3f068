//! `termphone ctl`: sends one command and prints the reply, or streams
//! events (`events`) or the SIP trace (`trace`).
//! Also the core of `termphone call`: dial through a [`Dispatch`] and follow
//! that call until it ends.
//!
//! Exit codes of `ctl`: 0 when the reply is `ok`, 1 when it is not (also for
//! a command that does not parse locally: an error reply is printed), 2 when
//! the phone cannot be reached (message on stderr).

use super::protocol::error_line;
use super::server::Dispatch;
use crate::command::{Command, CommandError};
use crate::config::Config;
use crate::phone::{CallInfo, CallState, Event, Status};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::broadcast;

/// The id `ctl` puts on its request.
const REQUEST_ID: u64 = 1;

/// Runs `termphone ctl`; returns the process exit code.
pub async fn run_ctl(socket: Option<PathBuf>, config: Option<PathBuf>, words: Vec<String>) -> i32 {
    let path = match socket_path(socket, config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("termphone: {e}");
            return 2;
        }
    };
    ctl(
        &path,
        &words,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await
}

/// Where `ctl` connects: `--socket`, else the `control` key of `--config`
/// (or of the default config file, when it exists), else the default path.
pub fn socket_path(
    socket: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<PathBuf, crate::config::ConfigError> {
    if let Some(s) = socket {
        return Ok(s);
    }
    let config = config.or_else(|| Config::default_path().filter(|p| p.is_file()));
    if let Some(file) = config {
        if let Some(control) = Config::load_control_path(&file)? {
            return Ok(control);
        }
    }
    Ok(Config::default_control_path())
}

/// Sends `words` as one request on the socket at `path`; prints the reply
/// (or, for `events`, the event lines) to `out`.
pub async fn ctl(path: &Path, words: &[String], out: &mut impl Write, err: &mut impl Write) -> i32 {
    let id = Value::from(REQUEST_ID);
    let request = match build_request(words) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "{}", error_line(&id, &e));
            return 1;
        }
    };
    let streaming = matches!(
        request.get("cmd").and_then(Value::as_str),
        Some("events" | "trace")
    );
    let stream = match UnixStream::connect(path).await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(
                err,
                "termphone: the phone is not reachable on {}: {e}",
                path.display()
            );
            return 2;
        }
    };
    let (rd, mut wr) = stream.into_split();
    let mut line = request.to_string();
    line.push('\n');
    if let Err(e) = wr.write_all(line.as_bytes()).await {
        let _ = writeln!(err, "termphone: sending to {}: {e}", path.display());
        return 2;
    }
    let mut reader = BufReader::new(rd);
    let mut reply = String::new();
    match reader.read_line(&mut reply).await {
        Ok(0) => {
            let _ = writeln!(
                err,
                "termphone: the phone on {} closed the connection without a reply",
                path.display()
            );
            return 2;
        }
        Ok(_) => {}
        Err(e) => {
            let _ = writeln!(err, "termphone: reading from {}: {e}", path.display());
            return 2;
        }
    }
    let reply = reply.trim_end();
    let ok = match serde_json::from_str::<Value>(reply) {
        Ok(v) => v.get("ok") == Some(&Value::Bool(true)),
        Err(_) => {
            let _ = writeln!(
                err,
                "termphone: {} answered something that is not a JSON reply",
                path.display()
            );
            return 2;
        }
    };
    if !(streaming && ok) {
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
        return if ok { 0 } else { 1 };
    }
    // `events`, `trace`: one line each until the phone closes the socket.
    let mut event = String::new();
    loop {
        event.clear();
        match reader.read_line(&mut event).await {
            Ok(0) => return 0,
            Ok(_) => {
                if writeln!(out, "{}", event.trim_end()).is_err() || out.flush().is_err() {
                    return 0; // our reader went away (e.g. a closed pipe)
                }
            }
            Err(e) => {
                let _ = writeln!(err, "termphone: reading events: {e}");
                return 2;
            }
        }
    }
}

/// `words` → the request object (with `id`), checked like the phone will.
fn build_request(words: &[String]) -> Result<Value, CommandError> {
    let mut request = Command::words_to_json(words)?;
    Command::from_json(&request)?;
    if let Value::Object(members) = &mut request {
        members.insert("id".into(), Value::from(REQUEST_ID));
    }
    Ok(request)
}

/// Whether a finished call counts as a success for `termphone call`: it was
/// answered and did not end on an error (`end_reason` mentioning an error,
/// a failure, a timeout, a lost connection or an interruption).
pub fn ended_normally(call: &CallInfo) -> bool {
    let reason = call
        .end_reason
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    call.answered_at.is_some()
        && ![
            "error",
            "fail",
            "timeout",
            "timed out",
            "lost",
            "interrupted",
        ]
        .iter()
        .any(|bad| reason.contains(bad))
}

/// Dials `to` and follows that call until it ends; `on_event` sees each of
/// its state changes. Returns the call as it ended.
pub async fn call_until_ended<D: Dispatch>(
    phone: &D,
    to: &str,
    mut on_event: impl FnMut(&Event),
) -> Result<CallInfo, CommandError> {
    let mut events = phone.events();
    let reply = phone
        .execute(Command::Dial {
            to: to.to_string(),
            account: None,
        })
        .await?;
    let id = reply
        .get("call")
        .and_then(Value::as_str)
        .ok_or_else(|| CommandError::new("internal", "dial returned no call id"))?
        .to_string();
    loop {
        match events.recv().await {
            Ok(event) => {
                if let Event::Call { call } = &*event {
                    if call.id == id {
                        on_event(&event);
                        if call.state == CallState::Ended {
                            return Ok((**call).clone());
                        }
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // The end of the call may be among the skipped events: ask.
                tracing::warn!("{n} events skipped while following call {id}");
                let status = phone.execute(Command::Status).await?;
                let live = serde_json::from_value::<Status>(status).is_ok_and(|s| {
                    s.calls
                        .iter()
                        .any(|c| c.id == id && c.state != CallState::Ended)
                });
                if !live {
                    return Err(CommandError::new(
                        "lost_track",
                        format!("call {id} ended while its events were being skipped"),
                    ));
                }
            }
            Err(broadcast::error::RecvError::Closed) => {
                return Err(CommandError::new(
                    "phone_stopped",
                    format!("the phone stopped before call {id} ended"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
