//! Control socket server: a Unix socket (created 0600 under a 0177 umask,
//! in a 0700 dir; only our own user is served, see `server/guard.rs`), one task per
//! connection, refuses to start when another instance owns the socket.
//!
//! Each request line gets one reply line. `events` is answered with `ok`,
//! then the connection carries event lines until the client closes it (or
//! the phone stops). Bad lines get an error reply; the connection stays.
//! The socket file is removed when the [`ControlServer`] is shut down or
//! dropped (only if it is still ours).

use super::backlog::Backlog;
use super::protocol::{error_line, event_line, ok_line, parse_request, reply_line, trace_line};
use crate::command::{Command, CommandError};
use crate::phone::{Event, PhoneHandle, SipTrace};
use serde_json::Value;
use std::future::Future;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};

mod guard;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Longest accepted request line (bytes).
pub const MAX_LINE: usize = 64 * 1024;

/// What the server needs from the phone: run a command, subscribe to events.
pub trait Dispatch: Clone + Send + Sync + 'static {
    fn execute(&self, command: Command)
        -> impl Future<Output = Result<Value, CommandError>> + Send;
    fn events(&self) -> broadcast::Receiver<Arc<Event>>;
    /// The current state as events, sent first on an `events` stream.
    fn snapshot(&self) -> impl Future<Output = Vec<Event>> + Send {
        async { Vec::new() }
    }
    /// The SIP trace, for `trace` streams (`None`: the phone has none).
    fn sip_trace(&self) -> Option<broadcast::Receiver<Arc<SipTrace>>> {
        None
    }
}

impl Dispatch for PhoneHandle {
    fn execute(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<Value, CommandError>> + Send {
        PhoneHandle::execute(self, command)
    }
    fn events(&self) -> broadcast::Receiver<Arc<Event>> {
        PhoneHandle::events(self)
    }
    fn snapshot(&self) -> impl Future<Output = Vec<Event>> + Send {
        PhoneHandle::snapshot(self)
    }
    fn sip_trace(&self) -> Option<broadcast::Receiver<Arc<SipTrace>>> {
        Some(PhoneHandle::sip_trace(self))
    }
}

/// Why the control socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("another termphone is running on {}", .0.display())]
    InUse(PathBuf),
    #[error("control socket {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
}

fn io_err(path: &Path, message: impl std::fmt::Display) -> ControlError {
    ControlError::Io {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// A running control socket. Stops accepting and removes the socket file
/// on [`ControlServer::shutdown`] or drop.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    /// (device, inode) of the socket we bound, to never remove someone else's.
    identity: (u64, u64),
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
    /// Connection tasks, so shutdown lets replies in flight (e.g. to `quit`) reach the client.
    connections: TaskTracker,
}

impl ControlServer {
    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the socket file, stops accepting and ends open connections:
    /// a client that sees its connection end finds the socket gone.
    pub async fn shutdown(mut self) {
        self.remove_socket();
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.connections.close();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(1), self.connections.wait()).await;
        self.remove_socket();
    }

    fn remove_socket(&self) {
        if let Ok(md) = std::fs::symlink_metadata(&self.path) {
            if (md.dev(), md.ino()) == self.identity {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.remove_socket();
    }
}

/// Serves the control socket at `path` for `phone`.
pub async fn serve(path: &Path, phone: impl Dispatch) -> Result<ControlServer, ControlError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        prepare_dir(dir)?;
    }
    clear_stale(path).await?;
    let listener = guard::bind_private(path).map_err(|e| io_err(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err(path, e))?;
    let md = std::fs::symlink_metadata(path).map_err(|e| io_err(path, e))?;
    let cancel = CancellationToken::new();
    let connections = TaskTracker::new();
    let backlog = Backlog::start(phone.sip_trace(), cancel.clone());
    let task = tokio::spawn(accept_loop(
        listener,
        phone,
        backlog,
        cancel.clone(),
        connections.clone(),
    ));
    Ok(ControlServer {
        path: path.to_path_buf(),
        identity: (md.dev(), md.ino()),
        cancel,
        task: Some(task),
        connections,
    })
}

/// Creates the socket's directory with mode 0700 when missing; an existing
/// one must be a directory of ours (or root's, like `/tmp`).
fn prepare_dir(dir: &Path) -> Result<(), ControlError> {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_err(dir, format!("cannot create the directory: {e}")))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_err(dir, e))
        }
        Err(e) => Err(io_err(dir, e)),
        Ok(md) if !md.is_dir() => Err(io_err(dir, "not a directory")),
        Ok(md) => {
            let uid = rustix::process::getuid().as_raw();
            if md.uid() != uid && md.uid() != 0 {
                Err(io_err(
                    dir,
                    format!("the directory belongs to user {}, not to you", md.uid()),
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// Fails with [`ControlError::InUse`] when a live instance answers on
/// `path`. Lets a caller refuse to start before doing anything else;
/// [`serve`] checks again.
pub async fn ensure_not_running(path: &Path) -> Result<(), ControlError> {
    match UnixStream::connect(path).await {
        Ok(_) => Err(ControlError::InUse(path.to_path_buf())),
        Err(_) => Ok(()),
    }
}

/// Refuses when a live instance answers on `path`; removes a stale socket.
async fn clear_stale(path: &Path) -> Result<(), ControlError> {
    let md = match std::fs::symlink_metadata(path) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path, e)),
    };
    if !md.file_type().is_socket() {
        return Err(io_err(path, "exists and is not a socket (not removing it)"));
    }
    match UnixStream::connect(path).await {
        Ok(_) => Err(ControlError::InUse(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing a stale control socket");
            std::fs::remove_file(path).map_err(|e| io_err(path, e))
        }
        Err(e) => Err(io_err(
            path,
            format!("cannot check the existing socket: {e}"),
        )),
    }
}

async fn accept_loop(
    listener: UnixListener,
    phone: impl Dispatch,
    backlog: Backlog,
    cancel: CancellationToken,
    connections: TaskTracker,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match guard::check_peer(&stream) {
                    Ok(()) => {
                        connections.spawn(connection(stream, phone.clone(), backlog.clone(), cancel.child_token()));
                    }
                    Err(why) => tracing::warn!("control socket connection refused: {why}"),
                },
                Err(e) => {
                    // e.g. out of file descriptors: back off, keep serving.
                    tracing::warn!("control socket accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

enum Line {
    Data,
    TooLong,
    Eof,
}

/// Reads one `\n`-terminated line into `buf` (without the newline), keeping
/// at most [`MAX_LINE`] bytes; the rest of a longer line is discarded.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if buf.is_empty() {
                Line::Eof
            } else {
                Line::Data
            });
        }
        let (chunk, used, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if buf.len() + chunk.len() > MAX_LINE {
            too_long = true;
            buf.clear();
        } else if !too_long {
            buf.extend_from_slice(chunk);
        }
        r.consume(used);
        if done {
            return Ok(if too_long { Line::TooLong } else { Line::Data });
        }
    }
}

async fn send(w: &mut OwnedWriteHalf, line: String) -> io::Result<()> {
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    w.write_all(&bytes).await
}

async fn connection<D: Dispatch>(
    stream: UnixStream,
    phone: D,
    backlog: Backlog,
    cancel: CancellationToken,
) {
    let (rd, mut wr) = stream.into_split();
    let mut reader = BufReader::new(rd);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let line = tokio::select! {
            _ = cancel.cancelled() => return,
            line = read_line(&mut reader, &mut buf) => line,
        };
        let reply = match line {
            Err(_) | Ok(Line::Eof) => return,
            Ok(Line::TooLong) => error_line(
                &Value::Null,
                &CommandError::new(
                    "line_too_long",
                    format!("a request line may have at most {MAX_LINE} bytes"),
                ),
            ),
            Ok(Line::Data) => {
                let Ok(text) = std::str::from_utf8(&buf) else {
                    let e = CommandError::new("bad_json", "malformed JSON: not UTF-8");
                    if send(&mut wr, error_line(&Value::Null, &e)).await.is_err() {
                        return;
                    }
                    continue;
                };
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let (id, parsed) = parse_request(text);
                match parsed {
                    Ok(Command::Events) => {
                        // Subscribe first, then replay the current state:
                        // nothing falls between the two.
                        let rx = phone.events();
                        let mut lines = vec![ok_line(&id, &Value::Null)];
                        lines.extend(phone.snapshot().await.iter().map(event_line));
                        for line in lines {
                            if send(&mut wr, line).await.is_err() {
                                return;
                            }
                        }
                        stream_events(reader, wr, rx, cancel, &phone).await;
                        return;
                    }
                    Ok(Command::Trace) => {
                        let subscription = backlog.subscribe().await;
                        let Some((kept, rx)) = subscription else {
                            let e = CommandError::new("unsupported", "this phone has no SIP trace");
                            if send(&mut wr, error_line(&id, &e)).await.is_err() {
                                return;
                            }
                            continue;
                        };
                        let mut lines = vec![ok_line(&id, &Value::Null)];
                        lines.extend(kept.iter().map(|t| trace_line(t)));
                        for line in lines {
                            if send(&mut wr, line).await.is_err() {
                                return;
                            }
                        }
                        stream_lines(reader, wr, rx, cancel, trace_line, None::<&D>).await;
                        return;
                    }
                    Ok(Command::Detach) => {
                        let _ = send(&mut wr, ok_line(&id, &Value::Null)).await;
                        return;
                    }
                    Ok(command) => {
                        tracing::debug!(%command, "control request");
                        reply_line(&id, &phone.execute(command).await)
                    }
                    Err(e) => error_line(&id, &e),
                }
            }
        };
        if send(&mut wr, reply).await.is_err() {
            return;
        }
    }
}

/// Writes event lines until the client closes, the phone's event stream
/// ends, or the server shuts down. Input from the client is ignored. A
/// client too slow for the broadcast gets the current state again (as
/// after `events`), so it never stays out of step.
async fn stream_events<D: Dispatch>(
    reader: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    rx: broadcast::Receiver<Arc<Event>>,
    cancel: CancellationToken,
    phone: &D,
) {
    stream_lines(reader, wr, rx, cancel, event_line, Some(phone)).await;
}

/// Writes one line per broadcast item (`line` spells it) until the client
/// closes, the broadcast ends, or the server shuts down; after skipped
/// items, the lines of `resync`'s snapshot. Input from the client is
/// ignored.
async fn stream_lines<T, D: Dispatch>(
    mut reader: BufReader<OwnedReadHalf>,
    mut wr: OwnedWriteHalf,
    mut rx: broadcast::Receiver<Arc<T>>,
    cancel: CancellationToken,
    line: impl Fn(&T) -> String,
    resync: Option<&D>,
) {
    let mut sink = [0u8; 1024];
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            read = reader.read(&mut sink) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            item = rx.recv() => match item {
                Ok(item) => {
                    if send(&mut wr, line(&item)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!("control client lagged, {n} lines skipped");
                    if let Some(phone) = resync {
                        for event in phone.snapshot().await {
                            if send(&mut wr, event_line(&event)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
