//! A phone behind the control socket, seen as a [`PhoneLink`] and a
//! [`Feed`]: what `termphone attach` runs the TUI on. Each command goes on
//! a connection of its own (one request, one reply), so a slow command
//! never holds up the next; the feed is an `events` stream (the phone's
//! current state first, then every event) and a `trace` stream on two more
//! connections. Speaks only the JSON lines of docs/control.md; knows nothing
//! of the phone's insides.

use super::protocol::{parse_stream_line, StreamLine};
use crate::command::{Command, CommandError};
use crate::phone::{Feed, PhoneLink};
use serde_json::Value;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// A phone reached through its control socket (cheap to clone).
#[derive(Debug, Clone)]
pub struct Remote {
    path: PathBuf,
}

/// Why attaching failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("the phone is not reachable on {}: {source}", path.display())]
    Unreachable { path: PathBuf, source: io::Error },
    #[error("the phone on {} refused `{what}`: {message}", path.display())]
    Refused {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
}

impl Remote {
    /// Attaches to the phone on `path`: the link to run commands and the
    /// feed. The feed ends when the phone closes its `events` stream (it
    /// stopped, or the connection was lost).
    pub async fn attach(
        path: &Path,
    ) -> Result<(Remote, mpsc::UnboundedReceiver<Feed>), AttachError> {
        let events = subscribe(path, Command::Events).await?;
        // The trace is a view's extra: a phone without one still attaches.
        let trace = match subscribe(path, Command::Trace).await {
            Ok(lines) => Some(lines),
            Err(e) => {
                tracing::warn!("no SIP trace: {e}");
                None
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(pump(events, trace, tx));
        Ok((
            Remote {
                path: path.to_path_buf(),
            },
            rx,
        ))
    }

    /// The socket this link talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// An open connection: the lines still to read, and our half that keeps
/// it open (the phone ends a stream when we close our side).
struct Conn {
    lines: Lines<BufReader<OwnedReadHalf>>,
    _wr: OwnedWriteHalf,
}

/// Sends `command` (a stream: `events` or `trace`) and checks its `ok`;
/// the lines that follow are the stream.
async fn subscribe(path: &Path, command: Command) -> Result<Conn, AttachError> {
    let what = command.name();
    let unreachable = |source| AttachError::Unreachable {
        path: path.to_path_buf(),
        source,
    };
    let (reply, lines) = request(path, &command).await.map_err(unreachable)?;
    match reply {
        Ok(_) => Ok(lines),
        Err(e) => Err(AttachError::Refused {
            path: path.to_path_buf(),
            what,
            message: e.message,
        }),
    }
}

/// One request on a new connection: its reply, and the connection's
/// remaining lines.
async fn request(
    path: &Path,
    command: &Command,
) -> io::Result<(Result<Value, CommandError>, Conn)> {
    let stream = UnixStream::connect(path).await?;
    let (rd, mut wr) = stream.into_split();
    let mut request = command.to_json();
    if let Value::Object(members) = &mut request {
        members.insert("id".into(), Value::from(1));
    }
    let mut line = request.to_string();
    line.push('\n');
    wr.write_all(line.as_bytes()).await?;
    let mut lines = BufReader::new(rd).lines();
    let reply = lines.next_line().await?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the phone closed the connection without a reply",
        )
    })?;
    Ok((read_reply(&reply), Conn { lines, _wr: wr }))
}

/// A reply line as the outcome of the command.
fn read_reply(line: &str) -> Result<Value, CommandError> {
    let mut value: Value = serde_json::from_str(line).map_err(|e| {
        CommandError::new("bad_reply", format!("the phone's reply is not JSON: {e}"))
    })?;
    let Some(members) = value.as_object_mut() else {
        return Err(CommandError::new(
            "bad_reply",
            "the phone's reply is not an object",
        ));
    };
    if members.get("ok") == Some(&Value::Bool(true)) {
        members.remove("id");
        members.remove("ok");
        return Ok(match members.remove("result") {
            Some(result) if members.is_empty() => result,
            Some(result) => {
                members.insert("result".into(), result);
                value
            }
            None if members.is_empty() => Value::Null,
            None => value,
        });
    }
    let error = members.get("error");
    let text = |k: &str| {
        error
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Err(CommandError {
        code: text("code"),
        message: text("message"),
    })
}

/// Forwards the stream lines to the feed until the events stream ends
/// (or nobody reads the feed any more).
async fn pump(mut events: Conn, trace: Option<Conn>, tx: mpsc::UnboundedSender<Feed>) {
    let mut trace = trace;
    loop {
        let line = tokio::select! {
            line = events.lines.next_line() => match line {
                Ok(Some(line)) => line,
                Ok(None) | Err(_) => return,
            },
            line = next_or_never(&mut trace) => match line {
                Some(line) => line,
                None => {
                    trace = None;
                    continue;
                }
            },
            _ = tx.closed() => return,
        };
        let item = match parse_stream_line(&line) {
            Some(StreamLine::Event(e)) => Feed::Event(e),
            Some(StreamLine::Trace(t)) => Feed::Trace(t),
            None => continue,
        };
        if tx.send(item).is_err() {
            return;
        }
    }
}

/// The next line of an optional stream; pending for ever without one,
/// `None` when it ended.
async fn next_or_never(conn: &mut Option<Conn>) -> Option<String> {
    match conn {
        Some(conn) => conn.lines.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

impl PhoneLink for Remote {
    fn execute(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<Value, CommandError>> + Send {
        let path = self.path.clone();
        async move {
            match request(&path, &command).await {
                Ok((reply, _)) => reply,
                Err(e) => Err(CommandError::new(
                    "unreachable",
                    format!("the phone is not reachable on {}: {e}", path.display()),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests;
