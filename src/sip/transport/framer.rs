//! Splits a TCP byte stream into SIP messages by Content-Length (RFC 3261
//! §18.3), recognizing RFC 5626 CRLF keep-alive pings and skipping stray
//! CRLFs between messages. Pure state machine, no IO.

use super::inspect::{content_length, MAX_MESSAGE};

/// One thing found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message (headers and exactly Content-Length body bytes).
    Message(Vec<u8>),
    /// A "\r\n\r\n" ping: answer "\r\n".
    Ping,
}

/// The stream cannot be framed any more: the connection must be closed.
/// `head` holds the offending header block when there was one (to answer 400).
#[derive(Debug, PartialEq, Eq)]
pub struct FrameError {
    pub reason: &'static str,
    pub head: Option<String>,
}

/// Buffers bytes of one connection.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished message are buffered (a lone CRLF,
    /// half a ping or a keep-alive of its own, is not one).
    pub fn pending(&self) -> bool {
        self.buf.iter().any(|b| !matches!(b, b'\r' | b'\n'))
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.drain(..4);
                return Ok(Some(Frame::Ping));
            }
            if self.buf.starts_with(b"\r\n") {
                // Could be the first half of a ping: wait for two more bytes.
                if self.buf.len() < 4 && self.buf.iter().all(|b| *b == b'\r' || *b == b'\n') {
                    return Ok(None);
                }
                self.buf.drain(..2);
                continue;
            }
            break;
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let Some(sep) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.buf.len() > MAX_MESSAGE {
                return Err(FrameError {
                    reason: "headers too large",
                    head: None,
                });
            }
            return Ok(None);
        };
        let head = String::from_utf8_lossy(&self.buf[..sep]).into_owned();
        let body_len = match content_length(&head) {
            Ok(Some(len)) => len,
            Ok(None) => {
                return Err(FrameError {
                    reason: "missing Content-Length",
                    head: Some(head),
                })
            }
            Err(reason) => {
                return Err(FrameError {
                    reason,
                    head: Some(head),
                })
            }
        };
        let total = sep + 4 + body_len;
        if total > MAX_MESSAGE {
            return Err(FrameError {
                reason: "message too large",
                head: Some(head),
            });
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let message: Vec<u8> = self.buf.drain(..total).collect();
        Ok(Some(Frame::Message(message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn frames_split_and_joined_messages() {
        let mut f = Framer::default();
        f.push(&MSG[..10]);
        assert_eq!(f.next_frame(), Ok(None));
        assert!(f.pending());
        f.push(&MSG[10..]);
        f.push(MSG);
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(MSG.to_vec()))));
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(MSG.to_vec()))));
        assert_eq!(f.next_frame(), Ok(None));
    }

    #[test]
    fn pings_and_stray_crlf() {
        let mut f = Framer::default();
        f.push(b"\r\n");
        assert_eq!(f.next_frame(), Ok(None));
        assert!(!f.pending(), "a lone CRLF is no message under way");
        f.push(b"\r\n");
        assert_eq!(f.next_frame(), Ok(Some(Frame::Ping)));
        f.push(b"\r\n");
        f.push(MSG);
        assert_eq!(f.next_frame(), Ok(Some(Frame::Message(MSG.to_vec()))));
    }

    #[test]
    fn missing_or_absurd_content_length_is_fatal() {
        let mut f = Framer::default();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
        let err = f.next_frame().unwrap_err();
        assert_eq!(err.reason, "missing Content-Length");
        assert!(err.head.is_some());
        let mut f = Framer::default();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: 99999999\r\n\r\n");
        assert!(f.next_frame().is_err());
        let mut f = Framer::default();
        f.push(&vec![b'a'; MAX_MESSAGE + 1]);
        assert!(f.next_frame().is_err());
    }
}
