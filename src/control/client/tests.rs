//! `ctl` against a served fake phone: replies, exit codes, event streaming,
//! socket path precedence; `call_until_ended` following one call.

use super::*;
use crate::control::server::serve;
use crate::control::server::tests::{call_event, FakePhone};
use std::time::Duration;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

async fn run(path: &Path, line: &str) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ctl(path, &words(line), &mut out, &mut err).await;
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[tokio::test]
async fn replies_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sock");
    let (fake, _tx) = FakePhone::new(4);
    let _server = serve(&path, fake.clone()).await.unwrap();

    assert_eq!(
        run(&path, "dial 1002").await,
        (
            0,
            "{\"id\":1,\"ok\":true,\"call\":\"c1\"}\n".into(),
            String::new()
        )
    );
    assert_eq!(
        run(&path, "hangup c9").await,
        (
            1,
            "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"no_such_call\",\"message\":\"no call `c9`\"}}\n"
                .into(),
            String::new()
        )
    );
    // Parsed locally: never reaches the phone.
    let (code, out, _) = run(&path, "frobnicate now").await;
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"unknown_command\",\"message\":\"unknown command `frobnicate`\"}}\n"
    );
    let (code, out, _) = run(&path, "history limit=lots").await;
    assert_eq!(code, 1);
    assert!(out.contains("\"code\":\"bad_argument\""), "{out}");
    assert_eq!(
        fake.seen.lock().unwrap().as_slice(),
        &[
            Command::Dial {
                to: "1002".into(),
                account: None
            },
            Command::Hangup {
                call: Some("c9".into())
            },
        ]
    );
}

#[tokio::test]
async fn unreachable_phone_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobody.sock");
    let (code, out, err) = run(&path, "status").await;
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.starts_with("termphone: the phone is not reachable on "),
        "{err}"
    );
    assert!(err.contains("nobody.sock"), "{err}");
}

#[tokio::test]
async fn events_are_printed_until_the_socket_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sock");
    let (fake, tx) = FakePhone::new(16);
    let _server = serve(&path, fake.clone()).await.unwrap();
    let client_path = path.clone();
    let client = tokio::spawn(async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = ctl(&client_path, &words("events"), &mut out, &mut err).await;
        (code, String::from_utf8(out).unwrap())
    });
    for _ in 0..500 {
        if tx.receiver_count() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tx.send(
        Event::Dtmf {
            call: "c1".into(),
            digit: "#".into(),
        }
        .into(),
    )
    .unwrap();
    tx.send(
        Event::Registration {
            account: "a".into(),
            registered: false,
            reason: Some("timeout".into()),
        }
        .into(),
    )
    .unwrap();
    fake.close_events();
    drop(tx);
    let (code, out) = tokio::time::timeout(Duration::from_secs(5), client)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "{\"event\":\"dtmf\",\"call\":\"c1\",\"digit\":\"#\"}\n\
         {\"event\":\"registration\",\"account\":\"a\",\"registered\":false,\"reason\":\"timeout\"}\n"
    );
}

#[test]
fn socket_path_precedence() {
    let _env = crate::config::tests::ENV
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "control = \"from-config.sock\"\n").unwrap();
    assert_eq!(
        socket_path(Some("/x/given.sock".into()), Some(config.clone())).unwrap(),
        PathBuf::from("/x/given.sock")
    );
    assert_eq!(
        socket_path(None, Some(config.clone())).unwrap(),
        dir.path().join("from-config.sock")
    );
    std::fs::write(&config, "[phone]\ndnd = true\n").unwrap();
    assert_eq!(
        socket_path(None, Some(config.clone())).unwrap(),
        Config::default_control_path()
    );
    std::fs::write(&config, "control = [\n").unwrap();
    assert!(socket_path(None, Some(config)).is_err());
}

fn ended(id: &str, answered: bool, reason: &str) -> Event {
    let mut e = call_event(id, CallState::Ended);
    if let Event::Call { call } = &mut e {
        call.answered_at = answered.then(|| "2026-01-01T10:00:02Z".to_string());
        call.ended_at = Some("2026-01-01T10:00:09Z".into());
        call.end_reason = Some(reason.into());
    }
    e
}

#[tokio::test]
async fn call_until_ended_follows_only_its_call() {
    let (fake, tx) = FakePhone::new(16);
    let phone = fake.clone();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        let r = call_until_ended(&phone, "1002", |e| seen.push(e.clone())).await;
        (r, seen)
    });
    for _ in 0..500 {
        if tx.receiver_count() > 0 && !fake.seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tx.send(call_event("c1", CallState::Alerting).into())
        .unwrap();
    tx.send(ended("c2", true, "hangup").into()).unwrap();
    tx.send(call_event("c1", CallState::Active).into()).unwrap();
    tx.send(ended("c1", true, "remote_hangup").into()).unwrap();
    let (result, seen) = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    let call = result.unwrap();
    assert_eq!(call.id, "c1");
    assert!(ended_normally(&call));
    assert_eq!(seen.len(), 3);
    assert_eq!(
        fake.seen.lock().unwrap().as_slice(),
        &[Command::Dial {
            to: "1002".into(),
            account: None
        }]
    );
}

#[tokio::test]
async fn call_until_ended_reports_dial_errors_and_a_stopped_phone() {
    let (fake, tx) = FakePhone::new(4);
    let err = call_until_ended(&fake, "busy", |_| {}).await.unwrap_err();
    assert_eq!(err.code, "busy");
    fake.close_events();
    drop(tx);
    let err = call_until_ended(&fake, "1002", |_| {}).await.unwrap_err();
    assert_eq!(err.code, "phone_stopped");
}

#[test]
fn what_counts_as_a_normal_end() {
    let call = |e: Event| match e {
        Event::Call { call } => call,
        _ => unreachable!(),
    };
    assert!(ended_normally(&call(ended("c1", true, "hangup"))));
    assert!(ended_normally(&call(ended("c1", true, "remote_hangup"))));
    assert!(!ended_normally(&call(ended("c1", false, "486 Busy Here"))));
    assert!(!ended_normally(&call(ended("c1", false, "cancelled"))));
    assert!(!ended_normally(&call(ended("c1", true, "rtp_timeout"))));
    assert!(!ended_normally(&call(ended("c1", true, "interrupted"))));
    assert!(!ended_normally(&call(ended("c1", true, "transport error"))));
}

#[tokio::test]
async fn trace_lines_are_printed_backlog_first() {
    use crate::phone::{SipTrace, TraceDirection};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sock");
    let (fake, tx) = FakePhone::new(4);
    let server = serve(&path, fake.clone()).await.unwrap();
    let trace = |n: u64| {
        std::sync::Arc::new(SipTrace {
            at_ms: n,
            direction: TraceDirection::In,
            peer: "udp:127.0.0.1:5070".into(),
            call_id: None,
            summary: "OPTIONS".into(),
            cseq: None,
            text: String::new(),
        })
    };
    fake.traces.send(trace(1)).unwrap();
    // what ctl prints, line by line as it prints it
    struct Lines(std::sync::mpsc::Sender<String>);
    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let client_path = path.clone();
    let client = tokio::spawn(async move {
        let (mut out, mut err) = (Lines(lines_tx), Vec::new());
        ctl(&client_path, &words("trace"), &mut out, &mut err).await
    });
    for _ in 0..500 {
        if fake.traces.receiver_count() > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fake.traces.send(trace(2)).unwrap();
    let mut out = String::new();
    for _ in 0..500 {
        while let Ok(piece) = lines_rx.try_recv() {
            out.push_str(&piece);
        }
        if out.lines().count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    fake.close_events();
    drop(tx);
    server.shutdown().await;
    let code = tokio::time::timeout(Duration::from_secs(5), client)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(r#"{"event":"sip","at_ms":1,"#),
        "{out}"
    );
    assert!(
        lines[1].starts_with(r#"{"event":"sip","at_ms":2,"#),
        "{out}"
    );
}
