//! Golden JSON-lines transcripts against a fake phone, events streaming,
//! the second-instance guard, stale sockets and file modes.

use super::*;
use crate::phone::{CallDirection, CallInfo, CallState};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A phone that answers from a script and publishes what the test sends.
#[derive(Clone)]
pub(crate) struct FakePhone {
    events: Arc<Mutex<Option<broadcast::Sender<Arc<Event>>>>>,
    pub(crate) seen: Arc<Mutex<Vec<Command>>>,
    /// What the test publishes as the SIP trace.
    pub(crate) traces: broadcast::Sender<Arc<SipTrace>>,
    /// The state `snapshot` replays.
    pub(crate) state: Arc<Mutex<Vec<Event>>>,
}

impl FakePhone {
    pub(crate) fn new(capacity: usize) -> (FakePhone, broadcast::Sender<Arc<Event>>) {
        let (tx, _) = broadcast::channel(capacity);
        let fake = FakePhone {
            events: Arc::new(Mutex::new(Some(tx.clone()))),
            seen: Arc::new(Mutex::new(Vec::new())),
            traces: broadcast::channel(16).0,
            state: Arc::new(Mutex::new(Vec::new())),
        };
        (fake, tx)
    }

    /// Drops the phone's own sender (as a phone that stopped would).
    pub(crate) fn close_events(&self) {
        self.events.lock().unwrap().take();
    }
}

impl Dispatch for FakePhone {
    fn execute(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<Value, CommandError>> + Send {
        self.seen.lock().unwrap().push(command.clone());
        async move {
            match command {
                Command::Status => Ok(json!({"accounts": [], "calls": [], "dnd": false})),
                Command::Dial { to, .. } if to == "busy" => {
                    Err(CommandError::new("busy", "486 Busy Here"))
                }
                Command::Dial { .. } => Ok(json!({"call": "c1"})),
                Command::Hangup { call: Some(c) } => {
                    Err(CommandError::new("no_such_call", format!("no call `{c}`")))
                }
                _ => Ok(Value::Null),
            }
        }
    }

    fn events(&self) -> broadcast::Receiver<Arc<Event>> {
        match &*self.events.lock().unwrap() {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    fn sip_trace(&self) -> Option<broadcast::Receiver<Arc<SipTrace>>> {
        Some(self.traces.subscribe())
    }

    fn snapshot(&self) -> impl Future<Output = Vec<Event>> + Send {
        let state = self.state.lock().unwrap().clone();
        async move { state }
    }
}

pub(crate) fn call_event(id: &str, state: CallState) -> Event {
    Event::Call {
        call: Box::new(CallInfo {
            id: id.into(),
            account: "office".into(),
            direction: CallDirection::Out,
            remote: "sip:1002@test.local".into(),
            remote_name: None,
            name: None,
            state,
            held: false,
            remote_held: false,
            muted: false,
            conference: false,
            started_at: "2026-01-01T10:00:00Z".into(),
            answered_at: None,
            ended_at: None,
            end_reason: None,
            codec: None,
            codec_rate: None,
            red: false,
            stats: None,
            sip_call_id: "abc@127.0.0.1".into(),
            local_sip: None,
            local_media: None,
            media_encryption: None,
            redirected_to: None,
            signalling: None,
            transfer_status: None,
            recording: None,
        }),
    }
}

struct Client {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl Client {
    async fn connect(path: &Path) -> Client {
        let (r, w) = UnixStream::connect(path).await.unwrap().into_split();
        Client {
            reader: BufReader::new(r),
            writer: w,
        }
    }
    async fn send(&mut self, raw: &str) {
        self.writer.write_all(raw.as_bytes()).await.unwrap();
    }
    /// The next line, or None at EOF.
    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), self.reader.read_line(&mut line))
            .await
            .expect("timed out waiting for a line")
            .unwrap();
        (n > 0).then(|| line.trim_end_matches('\n').to_string())
    }
}

fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("run/termphone/control.sock")
}

#[tokio::test]
async fn golden_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(16);
    let server = serve(&path, fake.clone()).await.unwrap();
    let mut c = Client::connect(&path).await;
    let transcript: &[(&str, &str)] = &[
        (
            r#"{"id":1,"cmd":"status"}"#,
            r#"{"id":1,"ok":true,"accounts":[],"calls":[],"dnd":false}"#,
        ),
        (
            "this is not json",
            r#"{"id":null,"ok":false,"error":{"code":"bad_json","message":"malformed JSON: expected ident at line 1 column 2"}}"#,
        ),
        (
            r#"{"id":2,"cmd":"frobnicate"}"#,
            r#"{"id":2,"ok":false,"error":{"code":"unknown_command","message":"unknown command `frobnicate`"}}"#,
        ),
        (
            r#"{"id":3,"cmd":"dial"}"#,
            r#"{"id":3,"ok":false,"error":{"code":"bad_argument","message":"`dial` needs `to`"}}"#,
        ),
        (
            r#"{"id":4,"cmd":"dial","to":"1002"}"#,
            r#"{"id":4,"ok":true,"call":"c1"}"#,
        ),
        (
            r#"{"id":"x","cmd":"dial","to":"busy"}"#,
            r#"{"id":"x","ok":false,"error":{"code":"busy","message":"486 Busy Here"}}"#,
        ),
        (
            r#"{"id":[5],"cmd":"hangup","call":"c9"}"#,
            r#"{"id":[5],"ok":false,"error":{"code":"no_such_call","message":"no call `c9`"}}"#,
        ),
        (r#"{"cmd":"quit"}"#, r#"{"id":null,"ok":true}"#),
    ];
    for (request, reply) in transcript {
        c.send(&format!("{request}\n")).await;
        assert_eq!(
            c.line().await.as_deref(),
            Some(*reply),
            "reply to {request}"
        );
    }
    // Blank lines are skipped; two requests in one write get two replies;
    // a last line without newline is still answered before EOF.
    c.send("\n  \n{\"id\":6,\"cmd\":\"status\"}\n{\"id\":7,\"cmd\":\"quit\"}\n{\"id\":8,\"cmd\":\"quit\"}")
        .await;
    assert!(c.line().await.unwrap().starts_with(r#"{"id":6,"ok":true"#));
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":7,"ok":true}"#));
    c.writer.shutdown().await.unwrap();
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":8,"ok":true}"#));
    assert_eq!(c.line().await, None);
    assert_eq!(
        fake.seen.lock().unwrap().as_slice(),
        &[
            Command::Status,
            Command::Dial {
                to: "1002".into(),
                account: None
            },
            Command::Dial {
                to: "busy".into(),
                account: None
            },
            Command::Hangup {
                call: Some("c9".into())
            },
            Command::Quit,
            Command::Status,
            Command::Quit,
            Command::Quit,
        ]
    );
    server.shutdown().await;
    assert!(!path.exists(), "socket removed on shutdown");
}

#[tokio::test]
async fn oversized_and_non_utf8_lines_keep_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(16);
    let _server = serve(&path, fake).await.unwrap();
    let mut c = Client::connect(&path).await;
    let long = format!(
        "{{\"id\":1,\"cmd\":\"dial\",\"to\":\"{}\"}}\n",
        "9".repeat(MAX_LINE)
    );
    c.send(&long).await;
    assert_eq!(
        c.line().await.as_deref(),
        Some(format!(r#"{{"id":null,"ok":false,"error":{{"code":"line_too_long","message":"a request line may have at most {MAX_LINE} bytes"}}}}"#).as_str())
    );
    c.writer.write_all(b"\xff\xfe\n").await.unwrap();
    assert_eq!(
        c.line().await.as_deref(),
        Some(
            r#"{"id":null,"ok":false,"error":{"code":"bad_json","message":"malformed JSON: not UTF-8"}}"#
        )
    );
    c.send("{\"id\":2,\"cmd\":\"quit\"}\n").await;
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":2,"ok":true}"#));
}

#[tokio::test]
async fn events_stream_until_the_client_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, tx) = FakePhone::new(2);
    let _server = serve(&path, fake.clone()).await.unwrap();
    let mut c = Client::connect(&path).await;
    c.send("{\"id\":\"ev\",\"cmd\":\"events\"}\n").await;
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":"ev","ok":true}"#));
    assert_eq!(tx.receiver_count(), 1, "subscribed before the ok reply");

    tx.send(
        Event::Registration {
            account: "office".into(),
            registered: true,
            reason: None,
        }
        .into(),
    )
    .unwrap();
    assert_eq!(
        c.line().await.as_deref(),
        Some(r#"{"event":"registration","account":"office","registered":true}"#)
    );
    tx.send(call_event("c1", CallState::Alerting).into())
        .unwrap();
    assert_eq!(
        c.line().await.as_deref(),
        Some(
            r#"{"event":"call","call":{"id":"c1","account":"office","direction":"out","remote":"sip:1002@test.local","state":"alerting","held":false,"remote_held":false,"muted":false,"conference":false,"started_at":"2026-01-01T10:00:00Z","sip_call_id":"abc@127.0.0.1"}}"#
        )
    );

    // Lagging (capacity 2, nothing read meanwhile on this single-threaded
    // runtime): the skipped events are lost, the current state comes again
    // and the stream goes on.
    *fake.state.lock().unwrap() = vec![call_event("c1", CallState::Held)];
    for i in 0..6 {
        tx.send(
            Event::Dtmf {
                call: "c1".into(),
                digit: i.to_string(),
            }
            .into(),
        )
        .unwrap();
    }
    let resync = c.line().await.unwrap_or_default();
    assert!(
        resync.starts_with(r#"{"event":"call","call":{"id":"c1""#)
            && resync.contains(r#""state":"held""#),
        "{resync}"
    );
    assert_eq!(
        c.line().await.as_deref(),
        Some(r#"{"event":"dtmf","call":"c1","digit":"4"}"#)
    );
    assert_eq!(
        c.line().await.as_deref(),
        Some(r#"{"event":"dtmf","call":"c1","digit":"5"}"#)
    );

    // Input while streaming is ignored; closing ends the server's task.
    c.send("{\"id\":1,\"cmd\":\"status\"}\n").await;
    drop(c);
    for _ in 0..100 {
        if tx.receiver_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(tx.receiver_count(), 0, "connection task ended");
}

/// A sound device missing when the phone started is in the phone's
/// current state: each `events` subscriber, the first and a later one,
/// gets its `device_fallback` line after the ok.
#[tokio::test]
async fn each_events_subscriber_is_told_of_a_device_missing_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(4);
    *fake.state.lock().unwrap() = vec![Event::DeviceFallback {
        role: "output".into(),
        from: "USB Headset".into(),
        to: Some("Default Audio Device".into()),
    }];
    let _server = serve(&path, fake.clone()).await.unwrap();
    for id in [1, 2] {
        let mut c = Client::connect(&path).await;
        c.send(&format!("{{\"id\":{id},\"cmd\":\"events\"}}\n"))
            .await;
        assert_eq!(c.line().await, Some(format!(r#"{{"id":{id},"ok":true}}"#)));
        assert_eq!(
            c.line().await.as_deref(),
            Some(
                r#"{"event":"device_fallback","role":"output","from":"USB Headset","to":"Default Audio Device"}"#
            )
        );
    }
}

#[tokio::test]
async fn events_end_when_the_phone_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, tx) = FakePhone::new(4);
    let _server = serve(&path, fake.clone()).await.unwrap();
    let mut c = Client::connect(&path).await;
    c.send("{\"id\":1,\"cmd\":\"events\"}\n").await;
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":1,"ok":true}"#));
    fake.close_events();
    drop(tx);
    assert_eq!(c.line().await, None, "EOF once the event stream is closed");
}

#[tokio::test]
async fn second_instance_is_refused_and_stale_socket_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(4);
    let first = serve(&path, fake.clone()).await.unwrap();
    let err = serve(&path, fake.clone()).await.unwrap_err();
    assert!(matches!(err, ControlError::InUse(_)));
    assert_eq!(
        err.to_string(),
        format!("another termphone is running on {}", path.display())
    );
    // The refused attempt did not disturb the first one.
    let mut c = Client::connect(&path).await;
    c.send("{\"id\":1,\"cmd\":\"quit\"}\n").await;
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":1,"ok":true}"#));
    drop(first);
    assert!(!path.exists(), "socket removed on drop");

    // A socket file left by a killed process: nobody listens, it is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = serve(&path, fake.clone()).await.unwrap();
    let mut c = Client::connect(&path).await;
    c.send("{\"id\":2,\"cmd\":\"quit\"}\n").await;
    assert_eq!(c.line().await.as_deref(), Some(r#"{"id":2,"ok":true}"#));
    drop(server);

    // A regular file is never removed.
    std::fs::write(&path, "keep me").unwrap();
    let err = serve(&path, fake).await.unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[tokio::test]
async fn socket_0600_in_a_0700_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(4);
    let server = serve(&path, fake).await.unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(path.parent().unwrap().parent().unwrap()), 0o700);
    assert_eq!(server.path(), path);
}

#[tokio::test]
async fn a_replaced_socket_is_not_removed_by_the_old_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(4);
    let old = serve(&path, fake.clone()).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let new = serve(&path, fake).await.unwrap();
    drop(old);
    assert!(path.exists(), "the new instance's socket stays");
    drop(new);
    assert!(!path.exists());
}

/// Another user who can reach the socket file (its modes opened by hand)
/// is still not served: the peer's UID is checked on every connection.
/// Needs root (to run the client as `nobody`), as CI has.
#[tokio::test]
async fn another_user_is_refused_even_when_the_file_modes_let_them_in() {
    assert!(
        rustix::process::getuid().is_root(),
        "this test needs root to connect as another user"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = socket_in(&dir);
    let (fake, _tx) = FakePhone::new(4);
    let _server = serve(&path, fake).await.unwrap();
    let open = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    for p in path.ancestors().skip(1).take(3) {
        open(p, 0o755).unwrap();
    }
    open(&path, 0o777).unwrap();
    let client = "import socket,sys\n\
        s=socket.socket(socket.AF_UNIX)\n\
        s.connect(sys.argv[1])\n\
        s.settimeout(5)\n\
        try:\n s.sendall(b'{\"cmd\":\"status\"}\\n'); d=s.recv(4096)\n\
        except (BrokenPipeError, ConnectionResetError): d=b''\n\
        print(repr(d))\n";
    let socket = path.clone();
    let run = move |as_nobody: bool| {
        let mut cmd = if as_nobody {
            let mut c = std::process::Command::new("setpriv");
            c.args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/usr/bin/python3",
            ]);
            c
        } else {
            std::process::Command::new("/usr/bin/python3")
        };
        cmd.args(["-c", client]).arg(&socket);
        cmd.output().expect("run the python client")
    };
    let (mine, theirs) = tokio::task::spawn_blocking(move || (run(false), run(true)))
        .await
        .unwrap();
    let mine = String::from_utf8_lossy(&mine.stdout).into_owned();
    assert!(mine.contains("ok"), "our own user was not served: {mine}");
    assert!(
        theirs.status.success(),
        "the other user's client failed to connect: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&theirs.stdout).trim(),
        "b''",
        "another user got an answer"
    );
}
