//! The SIP trace: every message the transport sends or receives, as a
//! broadcast for the SIP ladder view and logs. Credentials are redacted
//! before a message leaves this module. Costs nothing without subscribers.

use super::message::{self as m, redact};
use super::msg::SipMessage;
use super::transport::Peer;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceDirection {
    In,
    Out,
}

/// One traced message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SipTrace {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub direction: TraceDirection,
    /// The far end (`udp:127.0.0.1:5070`).
    pub peer: String,
    /// The SIP Call-ID, when the message has one.
    pub call_id: Option<String>,
    /// Request method or response code and reason: `INVITE`, `180 Ringing`.
    pub summary: String,
    /// CSeq value (`1 INVITE`), to tell transactions apart.
    pub cseq: Option<String>,
    /// The whole message with Authorization headers redacted.
    pub text: String,
}

/// The sending side of the trace (held by the transport).
#[derive(Debug, Clone)]
pub struct Tracer {
    tx: broadcast::Sender<Arc<SipTrace>>,
}

impl Default for Tracer {
    fn default() -> Self {
        Tracer {
            tx: broadcast::channel(512).0,
        }
    }
}

impl Tracer {
    /// Subscribes to the trace.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<SipTrace>> {
        self.tx.subscribe()
    }

    /// Publishes one message if anybody listens.
    /// Whether anyone watches the ladder (else [`Self::record`] does nothing).
    pub fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn record(&self, direction: TraceDirection, message: &SipMessage, peer: &Peer) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let headers = match message {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        };
        let summary = match message {
            SipMessage::Request(r) => r.method.to_string(),
            SipMessage::Response(r) => m::status_text(r),
        };
        let proto = match peer.protocol {
            super::transport::Protocol::Udp => "udp",
            super::transport::Protocol::Tcp => "tcp",
            super::transport::Protocol::Tls => "tls",
        };
        let _ = self.tx.send(Arc::new(SipTrace {
            at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            direction,
            peer: format!("{proto}:{}", peer.addr),
            call_id: m::call_id(headers).ok(),
            summary,
            cseq: m::header(headers, "CSeq").map(str::to_string),
            text: redact(&String::from_utf8_lossy(&message.to_bytes())),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::transport::Protocol;

    #[test]
    fn tls_hops_show_as_tls() {
        let tracer = Tracer::default();
        let mut rx = tracer.subscribe();
        let msg = SipMessage::try_from(
            "OPTIONS sip:pbx.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5062;branch=z9hG4bK1\r\n\
From: <sip:1001@test.local>;tag=a\r\nTo: <sip:pbx.test>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let peer = Peer {
            protocol: Protocol::Tls,
            addr: "127.0.0.1:5061".parse().unwrap(),
        };
        tracer.record(TraceDirection::Out, &msg, &peer);
        let t = rx.try_recv().unwrap();
        assert_eq!(t.peer, "tls:127.0.0.1:5061");
        assert!(t.text.contains("SIP/2.0/TLS"), "{}", t.text);
    }

    #[test]
    fn records_redacted_messages_for_subscribers() {
        let tracer = Tracer::default();
        let msg = SipMessage::try_from(
            "REGISTER sip:test.local SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
From: <sip:1001@test.local>;tag=a\r\nTo: <sip:1001@test.local>\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\n\
Authorization: Digest username=\"1001\", response=\"0123456789abcdef\"\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        let peer = Peer {
            protocol: Protocol::Udp,
            addr: "127.0.0.1:5070".parse().unwrap(),
        };
        tracer.record(TraceDirection::Out, &msg, &peer); // nobody listens: dropped
        let mut rx = tracer.subscribe();
        tracer.record(TraceDirection::Out, &msg, &peer);
        let t = rx.try_recv().unwrap();
        assert_eq!(t.summary, "REGISTER");
        assert_eq!(t.call_id.as_deref(), Some("r1"));
        assert_eq!(t.cseq.as_deref(), Some("2 REGISTER"));
        assert_eq!(t.peer, "udp:127.0.0.1:5070");
        assert!(!t.text.contains("0123456789abcdef"), "{}", t.text);
        assert!(rx.try_recv().is_err());
    }
}
