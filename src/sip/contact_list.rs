//! The Contacts of a redirect (3xx, RFC 3261 §8.1.3.4 and §20.10) as the
//! targets to try: comma lists split outside quotes and `<…>`, each URI
//! read with its `q` (1.0 when absent), ordered by falling `q` (equal `q`
//! keep their order). Only `sip:`/`sips:` URIs that parse are kept, and
//! without their `?headers` part, so a peer's text never adds headers to
//! a request of ours. Pure: which targets were tried already is the
//! caller's question.

use super::uri::SipUri;

/// One target of a redirect.
#[derive(Debug, Clone, PartialEq)]
pub struct RedirectTarget {
    pub uri: String,
    /// The preference, 0.0 to 1.0.
    pub q: f32,
}

/// Splits a header value at the commas that separate its entries (not
/// those inside quotes or `<…>`).
fn split_entries(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

/// The `q` of an entry (RFC 3261 §20.10: 0 to 1, at most three decimals);
/// `None` when present but not a number in that range.
fn q_of(entry: &str) -> Option<f32> {
    match super::headers::param(entry, "q") {
        None => Some(1.0),
        Some(q) => q
            .parse::<f32>()
            .ok()
            .filter(|q| (0.0..=1.0).contains(q) && !q.is_nan()),
    }
}

/// The URI of an entry, without `?headers`, when it is a SIP URI we can
/// send to.
fn uri_of(entry: &str) -> Option<String> {
    let uri = super::headers::uri_of(entry);
    let uri = uri.split('?').next().unwrap_or_default().trim();
    let lower = uri.to_ascii_lowercase();
    if !(lower.starts_with("sip:") || lower.starts_with("sips:")) {
        return None;
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    SipUri::parse(uri).ok()?;
    Some(uri.to_string())
}

/// The targets of the Contact header values `values` (each may be a comma
/// list), best first.
pub fn redirect_targets(values: &[&str]) -> Vec<RedirectTarget> {
    let mut targets: Vec<RedirectTarget> = values
        .iter()
        .flat_map(|v| split_entries(v))
        .filter_map(|entry| {
            Some(RedirectTarget {
                uri: uri_of(entry)?,
                q: q_of(entry)?,
            })
        })
        .collect();
    // Stable: equal q keep the order they came in.
    targets.sort_by(|a, b| b.q.total_cmp(&a.q));
    targets
}

/// Whether two SIP URIs name the same target for loop detection: scheme,
/// user and host compared without case, the port with its default.
pub fn same_target(a: &str, b: &str) -> bool {
    let key = |u: &str| {
        SipUri::parse(u).ok().map(|p| {
            (
                p.user.map(str::to_ascii_lowercase),
                p.host.to_ascii_lowercase(),
                p.port.unwrap_or(super::uri::default_port(p.protocol())),
                p.protocol(),
            )
        })
    };
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.eq_ignore_ascii_case(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(values: &[&str]) -> Vec<String> {
        redirect_targets(values)
            .into_iter()
            .map(|t| t.uri)
            .collect()
    }

    #[test]
    fn targets_come_best_q_first() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["<sip:a@h>"], &["sip:a@h"]),
            (&["sip:a@h;q=0.5"], &["sip:a@h"]),
            (
                &["<sip:a@h>;q=0.1, <sip:b@h>;q=1.0, <sip:c@h>;q=0.5"],
                &["sip:b@h", "sip:c@h", "sip:a@h"],
            ),
            (&["<sip:a@h>;q=0.5", "<sip:b@h>"], &["sip:b@h", "sip:a@h"]),
            (&["<sip:a@h>", "<sip:b@h>"], &["sip:a@h", "sip:b@h"]),
            (
                &["\"Smith, J\" <sip:j@h>;q=0.7, <sip:k@h;transport=tcp>;q=0.9"],
                &["sip:k@h;transport=tcp", "sip:j@h"],
            ),
            (&["<sip:a@h?Replaces=x%40y>"], &["sip:a@h"]),
            (&["<tel:+4930123>", "<mailto:a@b>"], &[]),
            (&["<sip:a@h>;q=2", "<sip:b@h>;q=x"], &[]),
            (&["*"], &[]),
            (&[""], &[]),
            (&["<sip:a b@h>"], &[]),
        ];
        for (values, want) in cases {
            assert_eq!(uris(values), *want, "{values:?}");
        }
    }

    #[test]
    fn same_target_ignores_case_and_default_ports() {
        let cases = [
            ("sip:a@h", "sip:a@H:5060", true),
            ("sip:a@h", "sip:A@h", true),
            (
                "sip:a@127.0.0.1:5070",
                "sip:a@127.0.0.1:5070;transport=udp",
                true,
            ),
            ("sip:a@h", "sip:b@h", false),
            ("sip:a@h:5070", "sip:a@h", false),
            ("sip:a@h", "sips:a@h", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(same_target(a, b), want, "{a} vs {b}");
        }
    }
}
