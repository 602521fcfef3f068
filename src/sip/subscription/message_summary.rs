//! RFC 3842 message summary (`application/simple-message-summary`):
//! `Messages-Waiting`, `Message-Account` and the per-class counts such as
//! `Voice-Message: 2/8 (0/0)`. Pure; tolerant of case, spacing and unknown
//! lines, never panics.

/// New / old (and urgent) counts of one message class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub new: u32,
    pub old: u32,
    pub urgent_new: u32,
    pub urgent_old: u32,
}

/// A parsed message summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSummary {
    /// `Messages-Waiting: yes`.
    pub waiting: bool,
    pub account: Option<String>,
    /// `Voice-Message` counts, when present.
    pub voice: Option<Counts>,
}

impl MessageSummary {
    /// New and old voice messages (0/0 when the server sent no counts; a
    /// bare "yes" counts as one new message).
    pub fn new_old(&self) -> (u32, u32) {
        match self.voice {
            Some(c) => (c.new, c.old),
            None => (u32::from(self.waiting), 0),
        }
    }
}

fn pair(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('/')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

fn counts(value: &str) -> Option<Counts> {
    let (main, urgent) = match value.split_once('(') {
        Some((m, u)) => (m, Some(u.trim_end().trim_end_matches(')'))),
        None => (value, None),
    };
    let (new, old) = pair(main)?;
    let (urgent_new, urgent_old) = urgent.and_then(pair).unwrap_or((0, 0));
    Some(Counts {
        new,
        old,
        urgent_new,
        urgent_old,
    })
}

/// Parses a message-summary body; `None` when it has no `Messages-Waiting` line.
pub fn parse(body: &str) -> Option<MessageSummary> {
    let mut out = MessageSummary::default();
    let mut seen = false;
    for line in body.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "messages-waiting" => {
                seen = true;
                out.waiting = value.eq_ignore_ascii_case("yes");
            }
            "message-account" => out.account = Some(value.to_string()),
            "voice-message" => out.voice = counts(value),
            _ => {}
        }
    }
    seen.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3842_example() {
        let body = "Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n\
                    Voice-Message: 2/8 (0/2)\r\nFax-Message: 0/0\r\n";
        let s = parse(body).unwrap();
        assert!(s.waiting);
        assert_eq!(s.account.as_deref(), Some("sip:alice@vmail.example.com"));
        let v = s.voice.unwrap();
        assert_eq!((v.new, v.old, v.urgent_new, v.urgent_old), (2, 8, 0, 2));
        assert_eq!(s.new_old(), (2, 8));
    }

    #[test]
    fn variants() {
        let s = parse("messages-waiting:no\nvoice-message: 0/3\n").unwrap();
        assert!(!s.waiting);
        assert_eq!(s.new_old(), (0, 3));
        assert_eq!(parse("Messages-Waiting: yes").unwrap().new_old(), (1, 0));
        assert_eq!(parse("Voice-Message: 1/1"), None);
        assert_eq!(parse(""), None);
        let junk = parse("Messages-Waiting: yes\nVoice-Message: x/y (z\n:::\n\u{0}").unwrap();
        assert_eq!(junk.voice, None);
        assert_eq!(
            parse("Messages-Waiting: yes\nVoice-Message: 99999999999/1")
                .unwrap()
                .voice,
            None
        );
    }
}
