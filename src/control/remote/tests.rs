//! The remote link against a served fake phone: replies read back as the
//! phone gave them, events and the SIP trace in the feed, the feed ending
//! with the phone, and a phone that is not there.

use super::*;
use crate::control::server::serve;
use crate::control::server::tests::{call_event, FakePhone};
use crate::phone::{CallState, Event, SipTrace, TraceDirection};
use std::sync::Arc;
use std::time::Duration;

async fn next(feed: &mut mpsc::UnboundedReceiver<Feed>) -> Option<Feed> {
    tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .expect("timed out waiting for the feed")
}

#[tokio::test]
async fn commands_events_and_trace_over_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sock");
    let (fake, tx) = FakePhone::new(16);
    let server = serve(&path, fake.clone()).await.unwrap();
    // a message from before the attach comes first, from the backlog
    let early = SipTrace {
        at_ms: 1,
        direction: TraceDirection::Out,
        peer: "udp:127.0.0.1:5070".into(),
        call_id: Some("x@h".into()),
        summary: "REGISTER".into(),
        cseq: Some("1 REGISTER".into()),
        text: "REGISTER sip:h SIP/2.0\r\n\r\n".into(),
    };
    fake.traces.send(Arc::new(early.clone())).unwrap();
    let (remote, mut feed) = Remote::attach(&path).await.unwrap();
    assert_eq!(remote.path(), path.as_path());
    assert_eq!(next(&mut feed).await, Some(Feed::Trace(early)));

    let dial = remote
        .execute(Command::Dial {
            to: "1002".into(),
            account: Some("office".into()),
        })
        .await;
    assert_eq!(dial, Ok(serde_json::json!({"call": "c1"})));
    assert_eq!(remote.execute(Command::Quit).await, Ok(Value::Null));
    let err = remote
        .execute(Command::Hangup {
            call: Some("c9".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("no_such_call", "no call `c9`")
    );
    let status = remote.execute(Command::Status).await.unwrap();
    assert_eq!(status["dnd"], Value::Bool(false));

    // both streams are subscribed once attach returns
    for _ in 0..500 {
        if tx.receiver_count() > 0 && fake.traces.receiver_count() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let held = call_event("c1", CallState::Held);
    tx.send(Arc::new(held.clone())).unwrap();
    assert_eq!(next(&mut feed).await, Some(Feed::Event(held)));
    let trace = SipTrace {
        at_ms: 5,
        direction: TraceDirection::In,
        peer: "udp:127.0.0.1:5070".into(),
        call_id: None,
        summary: "200 OK".into(),
        cseq: Some("2 REGISTER".into()),
        text: "SIP/2.0 200 OK\r\n\r\n".into(),
    };
    fake.traces.send(Arc::new(trace.clone())).unwrap();
    assert_eq!(next(&mut feed).await, Some(Feed::Trace(trace)));

    // the phone stops: the feed ends
    fake.close_events();
    drop(tx);
    server.shutdown().await;
    assert_eq!(next(&mut feed).await, None);
    let gone = remote.execute(Command::Status).await.unwrap_err();
    assert_eq!(gone.code, "unreachable");
}

#[tokio::test]
async fn attaching_to_nobody_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sock");
    let err = Remote::attach(&path).await.unwrap_err();
    assert!(matches!(err, AttachError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("none.sock"), "{err}");
}

#[tokio::test]
async fn detach_on_the_socket_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.sock");
    let (fake, _tx) = FakePhone::new(4);
    let _server = serve(&path, fake.clone()).await.unwrap();
    let (reply, mut conn) = request(&path, &Command::Detach).await.unwrap();
    assert_eq!(reply, Ok(Value::Null));
    assert_eq!(conn.lines.next_line().await.unwrap(), None);
    assert!(
        fake.seen.lock().unwrap().is_empty(),
        "the phone is not asked"
    );
}

#[test]
fn reply_lines_read_back() {
    assert_eq!(read_reply(r#"{"id":1,"ok":true}"#), Ok(Value::Null));
    assert_eq!(
        read_reply(r#"{"id":1,"ok":true,"result":5}"#),
        Ok(Value::from(5))
    );
    assert_eq!(
        read_reply(r#"{"id":1,"ok":true,"calls":[],"dnd":true}"#),
        Ok(serde_json::json!({"calls": [], "dnd": true}))
    );
    let e =
        read_reply(r#"{"id":1,"ok":false,"error":{"code":"busy","message":"486"}}"#).unwrap_err();
    assert_eq!((e.code.as_str(), e.message.as_str()), ("busy", "486"));
    assert_eq!(read_reply("[").unwrap_err().code, "bad_reply");
}

#[test]
fn unused_event_kinds_do_not_stop_the_feed() {
    // a newer phone's event the reader does not know is skipped
    assert!(parse_stream_line(r#"{"event":"weather","sky":"blue"}"#).is_none());
    let e = Event::Dtmf {
        call: "c1".into(),
        digit: "5".into(),
    };
    assert!(parse_stream_line(&crate::control::protocol::event_line(&e)).is_some());
}
