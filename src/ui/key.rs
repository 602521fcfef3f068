//! Key names as written in keymap files (`a`, `A`, `?`, `<Enter>`, `<C-c>`,
//! `<Up>`) and their match against crossterm key events.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

/// One key with its Ctrl/Alt modifiers (Shift is part of the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

const NAMED: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Space", KeyCode::Char(' ')),
    ("lt", KeyCode::Char('<')),
];

impl Key {
    /// A plain character key.
    pub fn char(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    /// Parses `a`, `<Enter>`, `<C-c>`, `<A-x>`, `<F5>`, `<Space>`, `<lt>`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut chars = s.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if c.is_control() {
                return Err(format!("`{}` is not a key name", s.escape_default()));
            }
            return Ok(Key::char(c));
        }
        let inner = s
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .ok_or_else(|| {
                format!("`{s}` is not a key: use one character or a name like <Enter>, <C-c>, <F1>")
            })?;
        let mut key = Key::char(' ');
        let mut rest = inner;
        loop {
            if let Some(r) = rest.strip_prefix("C-") {
                key.ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("A-") {
                key.alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        key.code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => {
                if let Some(n) = rest.strip_prefix('F').and_then(|n| n.parse::<u8>().ok()) {
                    if (1..=12).contains(&n) {
                        KeyCode::F(n)
                    } else {
                        return Err(format!("`{s}`: function keys are F1 to F12"));
                    }
                } else {
                    NAMED
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(rest))
                        .map(|(_, c)| *c)
                        .ok_or_else(|| format!("`{s}` is not a key name (known: Enter, Esc, Tab, Up, Down, Space, F1..F12, C-x, ...)"))?
                }
            }
        };
        Ok(key)
    }

    /// The key as running text names it: `j`, `Enter`, `C-c` (the file's
    /// name without the angle brackets).
    pub fn label(&self) -> String {
        if self.code == KeyCode::Char('<') && !self.ctrl && !self.alt {
            return "<".to_string();
        }
        let name = self.to_string();
        match name.strip_prefix('<').and_then(|n| n.strip_suffix('>')) {
            Some(inner) => inner.to_string(),
            None => name,
        }
    }

    /// The key of a terminal event.
    pub fn from_event(ev: &KeyEvent) -> Key {
        Key {
            code: ev.code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.code {
            KeyCode::Char('<') => "lt".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            code => NAMED
                .iter()
                .find(|(_, c)| *c == code)
                .map_or_else(|| format!("{code:?}"), |(n, _)| (*n).to_string()),
        };
        let plain = !self.ctrl && !self.alt && name.chars().count() == 1;
        if plain {
            return f.write_str(&name);
        }
        f.write_str("<")?;
        if self.ctrl {
            f.write_str("C-")?;
        }
        if self.alt {
            f.write_str("A-")?;
        }
        write!(f, "{name}>")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            "a", "A", "?", ":", "<Enter>", "<C-c>", "<A-C-x>", "<F5>", "<Space>", "<lt>", "<Up>",
        ] {
            let k = Key::parse(s).unwrap();
            let again = Key::parse(&k.to_string()).unwrap();
            assert_eq!(k, again, "{s}");
        }
        assert_eq!(Key::parse("<C-c>").unwrap().to_string(), "<C-c>");
        assert_eq!(Key::parse("<enter>").unwrap().code, KeyCode::Enter);
    }

    #[test]
    fn labels_drop_the_brackets() {
        for (s, label) in [
            ("j", "j"),
            ("<Enter>", "Enter"),
            ("<C-c>", "C-c"),
            ("<lt>", "<"),
        ] {
            assert_eq!(Key::parse(s).unwrap().label(), label);
        }
    }

    #[test]
    fn bad_names_are_errors() {
        for s in ["", "ab", "<Nope>", "<F13>", "<C->x", "\u{7}"] {
            assert!(Key::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn events_ignore_shift_on_characters() {
        let ev = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), Key::parse("A").unwrap());
        let ev = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&ev), Key::parse("<C-c>").unwrap());
    }
}
