//! RFC 4733 telephone-events: the digit mapping, the per-tick sender state
//! machine (one event ≈ 100 ms, volume 10, three end packets, a gap before
//! the next digit) and the receiver that reports each event once.

use std::collections::VecDeque;

/// Packets (20 ms each) carrying one event before its end packets: 100 ms.
const EVENT_TICKS: u16 = 5;
/// Copies of the end packet (RFC 4733 2.5.1.4).
const END_PACKETS: u8 = 3;
/// Ticks between digits (audio flows again meanwhile): 60 ms.
const GAP_TICKS: u8 = 3;
/// Volume field: -10 dBm0.
const VOLUME: u8 = 10;
/// Samples per tick at 8 kHz.
const TICK_SAMPLES: u16 = 160;

/// Event code of a DTMF character (0-9, *, #, A-D).
pub fn event_code(c: char) -> Option<u8> {
    match c.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        l @ 'A'..='D' => Some(l as u8 - b'A' + 12),
        _ => None,
    }
}

/// The character of an event code.
pub fn event_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

impl EventPayload {
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    pub fn parse(b: &[u8]) -> Option<EventPayload> {
        if b.len() < 4 {
            return None;
        }
        Some(EventPayload {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }
}

/// What the sender wants sent this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    pub payload: EventPayload,
    /// Marker bit and start of a new event: the event's timestamp is this
    /// tick's.
    pub marker: bool,
}

#[derive(Debug, Clone, Copy)]
enum SendState {
    Idle,
    Event { code: u8, ticks: u16, ends_sent: u8 },
    Gap(u8),
}

/// Queued digits and the event in progress.
#[derive(Debug)]
pub struct DtmfSender {
    queue: VecDeque<u8>,
    state: SendState,
}

impl Default for DtmfSender {
    fn default() -> Self {
        DtmfSender::new()
    }
}

impl DtmfSender {
    pub fn new() -> DtmfSender {
        DtmfSender {
            queue: VecDeque::new(),
            state: SendState::Idle,
        }
    }

    /// Queues the digits; characters that are not DTMF are skipped.
    /// Returns how many were queued.
    pub fn queue(&mut self, digits: &str) -> usize {
        let before = self.queue.len();
        self.queue.extend(digits.chars().filter_map(event_code));
        self.queue.len() - before
    }

    /// True when nothing is queued or in progress.
    pub fn idle(&self) -> bool {
        matches!(self.state, SendState::Idle) && self.queue.is_empty()
    }

    /// Advances one 20 ms tick; `Some` when an event packet is due now
    /// (send it instead of audio).
    pub fn tick(&mut self) -> Option<EventPacket> {
        if let SendState::Gap(n) = self.state {
            self.state = if n > 1 {
                SendState::Gap(n - 1)
            } else {
                SendState::Idle
            };
            return None;
        }
        if let SendState::Idle = self.state {
            let code = self.queue.pop_front()?;
            self.state = SendState::Event {
                code,
                ticks: 0,
                ends_sent: 0,
            };
        }
        let SendState::Event {
            code,
            ticks,
            ends_sent,
        } = self.state
        else {
            return None;
        };
        if ticks < EVENT_TICKS {
            self.state = SendState::Event {
                code,
                ticks: ticks + 1,
                ends_sent,
            };
            return Some(EventPacket {
                payload: EventPayload {
                    event: code,
                    end: false,
                    volume: VOLUME,
                    duration: (ticks + 1) * TICK_SAMPLES,
                },
                marker: ticks == 0,
            });
        }
        let ends_sent = ends_sent + 1;
        self.state = if ends_sent >= END_PACKETS {
            SendState::Gap(GAP_TICKS)
        } else {
            SendState::Event {
                code,
                ticks,
                ends_sent,
            }
        };
        Some(EventPacket {
            payload: EventPayload {
                event: code,
                end: true,
                volume: VOLUME,
                duration: EVENT_TICKS * TICK_SAMPLES,
            },
            marker: false,
        })
    }
}

/// Turns received telephone-event packets into one digit per event.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    /// Timestamp and code of the event seen last, and whether it was reported.
    current: Option<(u32, u8, bool)>,
}

impl DtmfReceiver {
    /// Feeds one packet; returns the digits completed by it. Each event
    /// (one timestamp) is reported once, at its first end packet; an event
    /// whose end packets were all lost is reported when the next one begins.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Vec<char> {
        let Some(p) = EventPayload::parse(payload) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match self.current {
            Some((ts, _, _)) if ts == timestamp => {}
            Some((_, code, false)) => {
                out.extend(event_char(code));
                self.current = Some((timestamp, p.event, false));
            }
            _ => self.current = Some((timestamp, p.event, false)),
        }
        if p.end {
            if let Some((ts, code, false)) = self.current {
                out.extend(event_char(code));
                self.current = Some((ts, code, true));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_mapping_round_trips() {
        for c in "0123456789*#ABCD".chars() {
            let code = event_code(c);
            assert!(code.is_some());
            assert_eq!(code.and_then(event_char), Some(c));
        }
        assert_eq!(event_code('a'), Some(12));
        assert_eq!(event_code('x'), None);
        assert_eq!(event_char(16), None);
    }

    #[test]
    fn one_event_is_five_packets_three_ends_and_a_gap() {
        let mut s = DtmfSender::new();
        assert_eq!(s.queue("1x2"), 2);
        let mut packets = Vec::new();
        for _ in 0..30 {
            packets.push(s.tick());
        }
        assert!(s.idle());
        let first: Vec<EventPacket> = packets[..8].iter().flatten().copied().collect();
        assert_eq!(first.len(), 8);
        assert!(first[0].marker);
        assert!(first[1..].iter().all(|p| !p.marker));
        assert_eq!(first[4].payload.duration, 800);
        assert!(first[..5]
            .iter()
            .all(|p| !p.payload.end && p.payload.event == 1));
        assert!(first[5..]
            .iter()
            .all(|p| p.payload.end && p.payload.duration == 800));
        assert!(packets[8..11].iter().all(Option::is_none));
        assert_eq!(
            packets[11].map(|p| (p.payload.event, p.marker)),
            Some((2, true))
        );
        let b = first[5].payload.to_bytes();
        assert_eq!(b, [1, 0x80 | 10, 0x03, 0x20]);
        assert_eq!(EventPayload::parse(&b), Some(first[5].payload));
    }

    #[test]
    fn receiver_reports_each_event_once() {
        let mut r = DtmfReceiver::default();
        let mut got = Vec::new();
        let ev = |code: u8, end: bool, d: u16| {
            EventPayload {
                event: code,
                end,
                volume: 10,
                duration: d,
            }
            .to_bytes()
        };
        for d in 1..=5 {
            got.extend(r.on_packet(1000, &ev(5, false, d * 160)));
        }
        for _ in 0..3 {
            got.extend(r.on_packet(1000, &ev(5, true, 800)));
        }
        // Next event loses all its end packets; the one after reveals it.
        got.extend(r.on_packet(3000, &ev(11, false, 160)));
        got.extend(r.on_packet(5000, &ev(12, false, 160)));
        got.extend(r.on_packet(5000, &ev(12, true, 320)));
        assert_eq!(got, vec!['5', '#', 'A']);
        assert!(r.on_packet(5000, &[1, 2]).is_empty());
    }
}
