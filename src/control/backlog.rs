//! The recent SIP trace, kept for `trace` streams: a client that attaches
//! late (a TUI coming back after a detach) first gets the last
//! [`KEEP`] messages, then the live ones, with nothing in between lost.
//! A task of its own owns the messages;
//! connections ask it for them over a channel. Knows only the trace type,
//! not where it comes from.

use crate::phone::SipTrace;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How many messages are kept.
pub const KEEP: usize = 200;

type Subscription = (Vec<Arc<SipTrace>>, broadcast::Receiver<Arc<SipTrace>>);

/// Handle to the backlog task (cheap to clone).
#[derive(Debug, Clone)]
pub struct Backlog {
    requests: mpsc::Sender<oneshot::Sender<Subscription>>,
}

impl Backlog {
    /// Starts the backlog task keeping what `trace` brings (subscribed by
    /// the caller, so nothing sent after this call is missed) until
    /// `cancel` or the trace ends. Without a trace it answers no one.
    pub fn start(
        trace: Option<broadcast::Receiver<Arc<SipTrace>>>,
        cancel: CancellationToken,
    ) -> Backlog {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(keep(trace, rx, cancel));
        Backlog { requests: tx }
    }

    /// The messages kept, oldest first, and a receiver of every later one.
    /// `None` when the backlog task has ended or there is no trace.
    pub async fn subscribe(&self) -> Option<Subscription> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(tx).await.ok()?;
        rx.await.ok()
    }
}

async fn keep(
    mut trace: Option<broadcast::Receiver<Arc<SipTrace>>>,
    mut requests: mpsc::Receiver<oneshot::Sender<Subscription>>,
    cancel: CancellationToken,
) {
    let mut kept: VecDeque<Arc<SipTrace>> = VecDeque::with_capacity(16);
    let push = |kept: &mut VecDeque<Arc<SipTrace>>, t| {
        if kept.len() == KEEP {
            kept.pop_front();
        }
        kept.push_back(t);
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            t = next(&mut trace) => match t {
                Ok(t) => push(&mut kept, t),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            Some(reply) = requests.recv() => {
                let Some(rx) = trace.as_mut() else {
                    continue; // no trace: the reply is dropped
                };
                // Later messages go to the new receiver; those already sent
                // (still queued here) into the backlog first.
                let later = rx.resubscribe();
                while let Ok(t) = rx.try_recv() {
                    push(&mut kept, t);
                }
                let _ = reply.send((kept.iter().cloned().collect(), later));
            }
        }
    }
}

/// The next message once subscribed; pending for ever before.
async fn next(
    trace: &mut Option<broadcast::Receiver<Arc<SipTrace>>>,
) -> Result<Arc<SipTrace>, broadcast::error::RecvError> {
    match trace {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::TraceDirection;

    fn msg(n: usize) -> Arc<SipTrace> {
        Arc::new(SipTrace {
            at_ms: n as u64,
            direction: TraceDirection::Out,
            peer: "udp:127.0.0.1:5060".into(),
            call_id: None,
            summary: format!("m{n}"),
            cseq: None,
            text: String::new(),
        })
    }

    #[tokio::test]
    async fn late_subscribers_get_the_last_messages_then_the_live_ones() {
        let (tx, _) = broadcast::channel(KEEP * 2);
        let cancel = CancellationToken::new();
        let backlog = Backlog::start(Some(tx.subscribe()), cancel.clone());
        for n in 0..KEEP + 5 {
            tx.send(msg(n)).unwrap();
        }
        let (kept, mut live) = backlog.subscribe().await.unwrap();
        let numbers: Vec<u64> = kept.iter().map(|t| t.at_ms).collect();
        let expected: Vec<u64> = (5..KEEP as u64 + 5).collect();
        assert_eq!(numbers, expected, "the last {KEEP}, oldest first");
        tx.send(msg(9999)).unwrap();
        assert_eq!(live.recv().await.unwrap().at_ms, 9999);
        cancel.cancel();
        for _ in 0..100 {
            if backlog.subscribe().await.is_none() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the backlog task did not end");
    }

    #[tokio::test]
    async fn no_trace_no_subscription() {
        let backlog = Backlog::start(None, CancellationToken::new());
        assert!(backlog.subscribe().await.is_none());
    }
}
