//! The `termphone ctl` binary against a control socket served by the
//! library for a scripted phone: stdout, stderr and exit codes.

use serde_json::{json, Value};
use std::process::Output;
use std::sync::Arc;
use termphone::command::{Command, CommandError};
use termphone::control::server::{serve, Dispatch};
use termphone::phone::Event;
use tokio::sync::broadcast;

#[derive(Clone)]
struct Scripted {
    events: broadcast::Sender<Arc<Event>>,
}

impl Dispatch for Scripted {
    async fn execute(&self, command: Command) -> Result<Value, CommandError> {
        match command {
            Command::Dial { to, .. } => Ok(json!({"call": "c1", "to": to})),
            Command::Answer { .. } => Err(CommandError::new("no_call", "nothing is ringing")),
            _ => Ok(Value::Null),
        }
    }
    fn events(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }
}

async fn termphone(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_termphone"))
        .args(args)
        .env_remove("TERMPHONE_LOG")
        .output()
        .await
        .expect("run termphone")
}

#[tokio::test]
async fn ctl_prints_one_reply_line_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let (events, _) = broadcast::channel(8);
    let _server = serve(&sock, Scripted { events }).await.unwrap();
    let s = sock.to_str().unwrap();

    let out = termphone(&["ctl", "--socket", s, "dial", "sip:bob@127.0.0.1:5070"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"id\":1,\"ok\":true,\"call\":\"c1\",\"to\":\"sip:bob@127.0.0.1:5070\"}\n"
    );

    let out = termphone(&["ctl", "--socket", s, "answer"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"no_call\",\"message\":\"nothing is ringing\"}}\n"
    );

    // `--control` works as the socket for ctl too.
    let out = termphone(&["--control", s, "ctl", "quit"]).await;
    assert_eq!(out.status.code(), Some(0));

    let out = termphone(&["ctl", "--socket", s, "dial"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("\"bad_argument\""));

    let gone = dir.path().join("gone.sock");
    let out = termphone(&["ctl", "--socket", gone.to_str().unwrap(), "status"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("not reachable"));
}

#[tokio::test]
async fn ctl_events_streams_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("control.sock");
    let (events, _) = broadcast::channel(8);
    let server = serve(
        &sock,
        Scripted {
            events: events.clone(),
        },
    )
    .await
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_termphone"))
        .args(["ctl", "--socket", sock.to_str().unwrap(), "events"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..500 {
        if events.receiver_count() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    events
        .send(
            Event::Dtmf {
                call: "c1".into(),
                digit: "7".into(),
            }
            .into(),
        )
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line)
        .await
        .unwrap();
    assert_eq!(
        line,
        "{\"event\":\"dtmf\",\"call\":\"c1\",\"digit\":\"7\"}\n"
    );
    server.shutdown().await; // closes the stream: ctl exits 0
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
