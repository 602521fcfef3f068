//! Fuzzy ranking of directory entries for `search` (the `nucleo` matcher
//! helix uses): the query against each entry's name and number, a number
//! also matched with its separators dropped (`0891234` finds
//! `+49 89 1234-567`'s digits). Pure and table-tested; never reads files.

use super::Entry;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// The digits (and a leading `+`) of a number.
fn digits(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// The best `limit` entries for `query`, best first (equal scores keep the
/// sources' order: the directory before the history). An empty query
/// matches nothing. History entries whose number a contact or a BLF lamp
/// has are left out, and lamps whose number a contact has: the contact
/// names it.
pub fn rank(query: &str, entries: &[Entry], limit: usize) -> Vec<Entry> {
    let query = query.trim();
    if query.is_empty() || limit == 0 {
        return Vec::new();
    }
    // Numbers named by the contacts, and by the contacts or the lamps.
    let named_by = |skip: &[&str]| -> std::collections::HashSet<String> {
        entries
            .iter()
            .filter(|e| !skip.contains(&e.source.as_str()))
            .map(|e| digits(&e.number))
            .filter(|d| !d.is_empty())
            .collect()
    };
    let contacts = named_by(&["history", "blf"]);
    let known = named_by(&["history"]);
    let redundant = |e: &Entry| match e.source.as_str() {
        "history" => known.contains(&digits(&e.number)),
        "blf" => contacts.contains(&digits(&e.number)),
        _ => false,
    };
    let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, usize)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !redundant(e))
        .filter_map(|(i, e)| {
            let haystacks = [format!("{} {}", e.name, e.number), digits(&e.number)];
            haystacks
                .iter()
                .filter_map(|h| pattern.score(Utf32Str::new(h, &mut buf), &mut matcher))
                .max()
                .map(|score| (score, i))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(limit)
        .filter_map(|(_, i)| entries.get(i).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, number: &str, source: &str) -> Entry {
        Entry {
            name: name.into(),
            number: number.into(),
            source: source.into(),
            kind: "work".into(),
        }
    }

    fn directory() -> Vec<Entry> {
        vec![
            entry("Anna Schmidt", "+49 89 1234-567", "a.vcf"),
            entry("Anna Schmidt", "3301", "a.vcf"),
            entry("Hannah Arendt", "3310", "a.vcf"),
            entry("Bernd Müller", "089/555", "b.vcf"),
            entry("Empfang", "1000", "b.vcf"),
            // lamps: one a contact names, one it does not
            entry("Reception desk", "sip:1000@pbx", "blf"),
            entry("Lager", "sip:2200@pbx", "blf"),
            entry("", "sip:2200@pbx", "history"),
            entry("", "sip:3301@pbx", "history"),
            entry("", "sip:4711@pbx", "history"),
            entry("", "+49 89 1234567", "history"),
        ]
    }

    fn names_numbers(query: &str, limit: usize) -> Vec<String> {
        rank(query, &directory(), limit)
            .into_iter()
            .map(|e| format!("{}|{}", e.name, e.number))
            .collect()
    }

    #[test]
    fn ranking() {
        let cases: &[(&str, usize, &[&str])] = &[
            // every number of the contact; the exact word before the fuzzy one
            (
                "anna",
                10,
                &[
                    "Anna Schmidt|+49 89 1234-567",
                    "Anna Schmidt|3301",
                    "Hannah Arendt|3310",
                ],
            ),
            (
                "schmidt",
                10,
                &["Anna Schmidt|+49 89 1234-567", "Anna Schmidt|3301"],
            ),
            ("mueller", 10, &[]),
            ("muller", 10, &["Bernd Müller|089/555"]),
            ("empf", 10, &["Empfang|1000"]),
            // a number finds its contact, separators or not
            ("891234567", 10, &["Anna Schmidt|+49 89 1234-567"]),
            // history: what no contact names
            ("4711", 10, &["|sip:4711@pbx"]),
            // a lamp: its label and number; a contact's number is the contact's
            ("lager", 10, &["Lager|sip:2200@pbx"]),
            ("2200", 10, &["Lager|sip:2200@pbx"]),
            ("reception", 10, &[]),
            ("anna", 1, &["Anna Schmidt|+49 89 1234-567"]),
            ("", 10, &[]),
            ("zzz", 10, &[]),
        ];
        for (query, limit, want) in cases {
            assert_eq!(names_numbers(query, *limit), *want, "query {query:?}");
        }
    }
}
