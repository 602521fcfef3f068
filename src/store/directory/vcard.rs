//! vCard 2.1, 3.0 and 4.0 (RFC 6350) read for names and numbers: folded
//! lines joined, `FN` (else `N`), every `TEL` with its type, SIP addresses
//! from `IMPP`/`X-SIP`, escapes undone. Pure: text in, entries out;
//! anything else in a card is ignored, and a malformed card gives what
//! could be read of it, never a panic.

use super::Entry;

/// Lines with folding undone (a line starting with a space or tab
/// continues the one before).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        match (line.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(line.to_string()),
        }
    }
    lines
}

/// `\,` `\;` `\\` `\n` undone.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A property line: its name (group and case dropped), its parameters
/// (upper case) and its value.
fn property(line: &str) -> Option<(String, Vec<String>, &str)> {
    let (head, value) = line.split_once(':')?;
    let mut parts = head.split(';');
    let name = parts.next()?;
    let name = name
        .rsplit('.')
        .next()
        .unwrap_or(name)
        .trim()
        .to_ascii_uppercase();
    let params = parts.map(|p| p.trim().to_ascii_uppercase()).collect();
    Some((name, params, value))
}

/// The kind of a `TEL` from its parameters (`TYPE=work,voice`, `TYPE=CELL`,
/// vCard 2.1's bare `WORK`).
fn tel_kind(params: &[String]) -> &'static str {
    let types: Vec<&str> = params
        .iter()
        .flat_map(|p| {
            p.strip_prefix("TYPE=")
                .unwrap_or(p)
                .trim_matches('"')
                .split(',')
                .collect::<Vec<_>>()
        })
        .collect();
    for (word, kind) in [
        ("CELL", "cell"),
        ("FAX", "fax"),
        ("WORK", "work"),
        ("HOME", "home"),
    ] {
        if types.contains(&word) {
            return kind;
        }
    }
    "other"
}

/// `N:Family;Given;…` as `Given Family`.
fn from_n(value: &str) -> String {
    let parts: Vec<String> = value.split(';').map(unescape).collect();
    let family = parts.first().map(String::as_str).unwrap_or("");
    let given = parts.get(1).map(String::as_str).unwrap_or("");
    format!("{given} {family}").trim().to_string()
}

/// A card being read: `FN`, `N`, and its numbers with their kinds.
type Card = (Option<String>, Option<String>, Vec<(String, String)>);

/// Every number of every card in `text`; `source` names the file.
pub fn parse(text: &str, source: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut card: Option<Card> = None;
    for line in unfold(text) {
        let Some((name, params, value)) = property(&line) else {
            continue;
        };
        match name.as_str() {
            "BEGIN" if value.trim().eq_ignore_ascii_case("VCARD") => {
                card = Some((None, None, Vec::new()))
            }
            "END" if value.trim().eq_ignore_ascii_case("VCARD") => {
                if let Some((full, n, numbers)) = card.take() {
                    let name = full.filter(|f| !f.is_empty()).or(n).unwrap_or_default();
                    out.extend(numbers.into_iter().map(|(number, kind)| Entry {
                        name: name.clone(),
                        number,
                        source: source.to_string(),
                        kind,
                    }));
                }
            }
            _ => {
                let Some((full, n, numbers)) = card.as_mut() else {
                    continue;
                };
                match name.as_str() {
                    "FN" => *full = Some(unescape(value).trim().to_string()),
                    "N" => *n = Some(from_n(value)),
                    "TEL" => {
                        let v = unescape(value);
                        let v = v.trim();
                        let number = v.strip_prefix("tel:").unwrap_or(v).trim();
                        if !number.is_empty() {
                            numbers.push((number.to_string(), tel_kind(&params).into()));
                        }
                    }
                    "IMPP" | "X-SIP" => {
                        let v = unescape(value).trim().to_string();
                        if v.to_ascii_lowercase().starts_with("sip:") || name == "X-SIP" {
                            numbers.push((v, "sip".into()));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARDS: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Schmidt\r\nN:Schmidt;Anna;;;\r\nTEL;TYPE=work,voice:+49 89 1234-567\r\nTEL;TYPE=CELL:+49 170 1\r\n 234567\r\nitem1.TEL:3301\r\nIMPP:sip:anna@pbx.example\r\nEMAIL:anna@example.com\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller\\, Jr.;Bernd\r\nTEL;HOME;VOICE:089/555\r\nEND:VCARD\r\nBEGIN:VCARD\nVERSION:4.0\nFN:Empfang\nTEL;VALUE=uri;TYPE=\"work\":tel:+49-89-1000\nEND:VCARD\nTEL:999\nBEGIN:VCARD\nFN:Broken";

    #[test]
    fn every_number_of_every_card_with_name_and_kind() {
        let got: Vec<(String, String, String)> = parse(CARDS, "a.vcf")
            .into_iter()
            .map(|e| (e.name, e.number, e.kind))
            .collect();
        let want = [
            ("Anna Schmidt", "+49 89 1234-567", "work"),
            ("Anna Schmidt", "+49 170 1234567", "cell"),
            ("Anna Schmidt", "3301", "other"),
            ("Anna Schmidt", "sip:anna@pbx.example", "sip"),
            ("Bernd Müller, Jr.", "089/555", "home"),
            ("Empfang", "+49-89-1000", "work"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(parse(CARDS, "a.vcf").iter().all(|e| e.source == "a.vcf"));
    }

    #[test]
    fn garbage_gives_nothing_and_no_panic() {
        for text in [
            "",
            "TEL:1",
            "BEGIN:VCARD",
            ":::",
            "BEGIN:VCARD\nTEL;TYPE=:\nEND:VCARD",
            "\\",
        ] {
            let _ = parse(text, "x");
        }
        assert!(
            parse("BEGIN:VCARD\nFN:x\nEND:VCARD", "x").is_empty(),
            "no number, no entry"
        );
    }
}
