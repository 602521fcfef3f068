//! Reverse lookup: the name the directory gives a caller's number. Built
//! once from the loaded entries (digits-normalised keys), then looked up
//! without IO, so the phone can name a call without delaying its ring.
//! Pure; never reads files and knows nothing of calls.

use super::Entry;
use std::collections::HashMap;

/// Shortest number matched by its trailing digits (`+49 89 1234567` and
/// `089 1234567` are the same number); shorter numbers (extensions) must
/// match exactly.
const MIN_SUFFIX_DIGITS: usize = 7;

/// Directory names by normalised number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameIndex {
    by_key: HashMap<String, String>,
}

/// The key of a number or SIP address: for a URI its user part; digits
/// only with the international/national prefixes (`+`, `00`, `0`)
/// dropped; a non-numeric user (`alice`) lower-cased. `None` for nothing.
fn key(number: &str) -> Option<String> {
    let n = number.trim();
    let lower = n.to_ascii_lowercase();
    let rest = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|s| lower.strip_prefix(s))
        .unwrap_or(&lower);
    let user = rest
        .split(['@', ';', '?'])
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| c == '<' || c == '>');
    let numeric = !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_digit() || " +-./()".contains(c));
    if numeric {
        let digits: String = user.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        (!digits.is_empty()).then(|| digits.to_string())
    } else {
        (!user.is_empty()).then(|| user.to_string())
    }
}

impl NameIndex {
    /// The index of `entries`: each named number once (the first source
    /// naming it wins); entries without a name (history) are left out.
    pub fn build(entries: &[Entry]) -> NameIndex {
        let mut by_key = HashMap::new();
        for e in entries.iter().filter(|e| !e.name.trim().is_empty()) {
            if let Some(k) = key(&e.number) {
                by_key.entry(k).or_insert_with(|| e.name.trim().to_string());
            }
        }
        NameIndex { by_key }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The name for `remote` (a URI or a number): an exact key, else a
    /// directory number of at least [`MIN_SUFFIX_DIGITS`] digits that ends
    /// the same as the caller's (or the other way round).
    pub fn lookup(&self, remote: &str) -> Option<&str> {
        let k = key(remote)?;
        if let Some(name) = self.by_key.get(&k) {
            return Some(name);
        }
        if k.len() < MIN_SUFFIX_DIGITS || !k.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        self.by_key
            .iter()
            .filter(|(d, _)| {
                d.len() >= MIN_SUFFIX_DIGITS
                    && d.chars().all(|c| c.is_ascii_digit())
                    && (d.ends_with(k.as_str()) || k.ends_with(d.as_str()))
            })
            // The longest (most specific) match; ties by key, so the
            // answer does not depend on the map's order.
            .max_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| b.0.cmp(a.0)))
            .map(|(_, name)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, number: &str) -> Entry {
        Entry {
            name: name.into(),
            number: number.into(),
            source: "test.vcf".into(),
            kind: "work".into(),
        }
    }

    #[test]
    fn numbers_in_any_format_find_their_name() {
        let index = NameIndex::build(&[
            entry("Anna Berg", "+49 89 1234-567"),
            entry("Reception", "3301"),
            entry("Carl", "sip:carl@pbx.example"),
            entry("", "4444"),
            entry("Second Anna", "+49891234567"),
        ]);
        for (remote, want) in [
            ("sip:+49891234567@pbx.example", Some("Anna Berg")),
            ("sip:0891234567@pbx.example;user=phone", Some("Anna Berg")),
            ("tel:+49-89-1234567", Some("Anna Berg")),
            ("00491234567", None),
            ("sip:3301@127.0.0.1:5060", Some("Reception")),
            ("sip:33011@127.0.0.1", None),
            ("301", None),
            ("sip:Carl@other.example", Some("Carl")),
            ("sip:4444@pbx", None),
            ("sip:@pbx", None),
            ("", None),
            ("sip:+4989 1234567@x", Some("Anna Berg")),
        ] {
            assert_eq!(index.lookup(remote), want, "{remote}");
        }
    }

    #[test]
    fn empty_index_names_nobody() {
        let index = NameIndex::build(&[]);
        assert!(index.is_empty());
        assert_eq!(index.lookup("sip:1000@x"), None);
    }
}
