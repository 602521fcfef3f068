//! An LDAP or Active Directory source (`ldap3`, TLS by rustls): the
//! forward search (the query, RFC 4515-escaped, put into the configured
//! filter) and the reverse lookup of a number, each one connection with a
//! simple bind and time limits on the connect, the bind and the search.
//! Blocking: callers run it on a thread of their own. The filters and the
//! mapping of attributes to entries are pure and table-tested; this module
//! must not know SIP or calls.

use super::{DirectoryError, Entry};
use crate::config::LdapDirectory;
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use std::collections::HashMap;
use std::time::Duration;

/// How long the connect, the bind and the search may each take.
pub const LDAP_TIMEOUT: Duration = Duration::from_secs(3);
/// Trailing digits of a number a reverse lookup matches on.
const REVERSE_DIGITS: usize = 7;

/// `value` escaped for a filter (RFC 4515 §3): `* ( ) \` and NUL as `\XX`.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// The configured filter with `{q}` replaced by the escaped query.
pub fn search_filter(template: &str, query: &str) -> String {
    template.replace("{q}", &escape(query.trim()))
}

/// The filter finding entries whose number ends in the same digits as
/// `number` (the last [`REVERSE_DIGITS`] of them), whatever the separators
/// the directory writes between them: `(|(telephoneNumber=*1*2*3*4*5*6*7)…)`.
/// It may find more than the number; the caller keeps what matches
/// (`NameIndex`). `None` when `number` is not a number (`sip:alice@x`).
pub fn reverse_filter(number_attributes: &[String], number: &str) -> Option<String> {
    let lower = number.trim().to_ascii_lowercase();
    let rest = ["sips:", "sip:", "tel:"]
        .iter()
        .find_map(|s| lower.strip_prefix(s))
        .unwrap_or(&lower);
    let user = rest.split(['@', ';', '?']).next().unwrap_or("");
    if user.is_empty()
        || !user
            .chars()
            .all(|c| c.is_ascii_digit() || " +-./()".contains(c))
    {
        return None;
    }
    let digits: Vec<char> = user.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(REVERSE_DIGITS)..];
    if tail.is_empty() || number_attributes.is_empty() {
        return None;
    }
    let pattern: String = tail.iter().map(|d| format!("*{d}")).collect();
    let parts: String = number_attributes
        .iter()
        .map(|a| format!("({a}={pattern})"))
        .collect();
    Some(format!("(|{parts})"))
}

/// The kind of number an attribute holds.
fn kind_of(attribute: &str) -> &'static str {
    match attribute.to_ascii_lowercase().as_str() {
        "telephonenumber" => "work",
        "mobile" => "cell",
        "homephone" => "home",
        "ipphone" => "ip",
        "facsimiletelephonenumber" => "fax",
        _ => "other",
    }
}

/// The entries of one directory object: its name (the first name
/// attribute it has), one entry per value of each number attribute.
/// Attribute names are matched without regard to case, as LDAP does.
pub fn entries_of(
    attrs: &HashMap<String, Vec<String>>,
    source: &LdapDirectory,
    dn: &str,
) -> Vec<Entry> {
    let get = |name: &str| {
        attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let name = source
        .name_attributes
        .iter()
        .filter_map(|a| get(a)?.iter().map(|v| v.trim()).find(|v| !v.is_empty()))
        .next()
        .unwrap_or(dn)
        .to_string();
    source
        .number_attributes
        .iter()
        .flat_map(|a| {
            get(a)
                .into_iter()
                .flatten()
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(|number| Entry {
                    name: name.clone(),
                    number: number.to_string(),
                    source: source.url.clone(),
                    kind: kind_of(a).to_string(),
                })
        })
        .collect()
}

fn ldap_error(source: &LdapDirectory, message: String) -> DirectoryError {
    DirectoryError::Ldap {
        url: source.url.clone(),
        message,
    }
}

/// Connects, binds (simple bind when `bind_dn` is set, else anonymous) and
/// runs `filter` under `base`, at most `limit` objects. A refused bind is
/// an error naming the server's result code and text.
pub fn query(
    source: &LdapDirectory,
    filter: &str,
    limit: usize,
) -> Result<Vec<Entry>, DirectoryError> {
    let settings = LdapConnSettings::new().set_conn_timeout(LDAP_TIMEOUT);
    let mut conn = LdapConn::with_settings(settings, &source.url)
        .map_err(|e| ldap_error(source, format!("cannot connect: {e}")))?;
    if let Some(dn) = &source.bind_dn {
        let password = source.password.as_deref().unwrap_or("");
        let bound = conn
            .with_timeout(LDAP_TIMEOUT)
            .simple_bind(dn, password)
            .map_err(|e| ldap_error(source, format!("bind as `{dn}` failed: {e}")))?;
        if bound.rc != 0 {
            let _ = conn.unbind();
            return Err(ldap_error(
                source,
                format!(
                    "bind as `{dn}` refused (result {}{}): check bind_dn and password",
                    bound.rc,
                    if bound.text.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", bound.text)
                    }
                ),
            ));
        }
    }
    let mut attributes: Vec<&str> = source.name_attributes.iter().map(String::as_str).collect();
    attributes.extend(source.number_attributes.iter().map(String::as_str));
    let searched = conn
        .with_timeout(LDAP_TIMEOUT)
        .with_search_options(
            ldap3::SearchOptions::new().sizelimit(limit.min(i32::MAX as usize) as i32),
        )
        .search(&source.base, Scope::Subtree, filter, attributes)
        .map_err(|e| ldap_error(source, format!("search failed: {e}")))?;
    let _ = conn.unbind();
    // A size limit reached (4) still returns the entries found.
    if searched.1.rc != 0 && searched.1.rc != 4 {
        return Err(ldap_error(
            source,
            format!(
                "search refused (result {}, {})",
                searched.1.rc, searched.1.text
            ),
        ));
    }
    Ok(searched
        .0
        .into_iter()
        .map(SearchEntry::construct)
        .flat_map(|e| entries_of(&e.attrs, source, &e.dn))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> LdapDirectory {
        LdapDirectory {
            url: "ldap://dir.example".into(),
            base: "dc=example".into(),
            bind_dn: None,
            password: None,
            filter: LdapDirectory::DEFAULT_FILTER.into(),
            name_attributes: vec!["displayName".into(), "cn".into()],
            number_attributes: vec!["telephoneNumber".into(), "mobile".into()],
        }
    }

    #[test]
    fn queries_are_escaped_into_the_filter() {
        for (query, want) in [
            ("anna", "(cn=*anna*)"),
            (" anna ", "(cn=*anna*)"),
            ("a*b", "(cn=*a\\2ab*)"),
            ("(x)", "(cn=*\\28x\\29*)"),
            ("back\\slash", "(cn=*back\\5cslash*)"),
            ("nul\0", "(cn=*nul\\00*)"),
            ("Müller", "(cn=*Müller*)"),
        ] {
            assert_eq!(search_filter("(cn=*{q}*)", query), want, "{query:?}");
        }
        assert_eq!(
            search_filter(LdapDirectory::DEFAULT_FILTER, "3301"),
            "(|(cn=*3301*)(displayName=*3301*)(telephoneNumber=*3301*)(mobile=*3301*))"
        );
    }

    #[test]
    fn reverse_filters_match_the_trailing_digits() {
        let attrs = vec!["telephoneNumber".to_string(), "mobile".to_string()];
        for (number, want) in [
            (
                "sip:+49891234567@pbx;user=phone",
                Some("(|(telephoneNumber=*1*2*3*4*5*6*7)(mobile=*1*2*3*4*5*6*7))"),
            ),
            (
                "3301",
                Some("(|(telephoneNumber=*3*3*0*1)(mobile=*3*3*0*1))"),
            ),
            (
                "tel:+49-89-1234567",
                Some("(|(telephoneNumber=*1*2*3*4*5*6*7)(mobile=*1*2*3*4*5*6*7))"),
            ),
            ("sip:alice@pbx", None),
            ("sip:*)(cn=*@pbx", None),
            ("", None),
        ] {
            assert_eq!(reverse_filter(&attrs, number).as_deref(), want, "{number}");
        }
        assert_eq!(reverse_filter(&[], "3301"), None);
    }

    #[test]
    fn objects_become_one_entry_per_number() {
        let attrs: HashMap<String, Vec<String>> = [
            ("cn".to_string(), vec!["Anna Berg".to_string()]),
            ("displayname".to_string(), vec!["Berg, Anna".to_string()]),
            (
                "telephoneNumber".to_string(),
                vec!["+49 89 1234-567".to_string(), " ".to_string()],
            ),
            ("mobile".to_string(), vec!["0171 555".to_string()]),
        ]
        .into_iter()
        .collect();
        let got: Vec<(String, String, String)> = entries_of(&attrs, &source(), "cn=x")
            .into_iter()
            .map(|e| (e.name, e.number, e.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("Berg, Anna".into(), "+49 89 1234-567".into(), "work".into()),
                ("Berg, Anna".into(), "0171 555".into(), "cell".into()),
            ]
        );
        let nameless: HashMap<String, Vec<String>> =
            [("mobile".to_string(), vec!["1".to_string()])]
                .into_iter()
                .collect();
        assert_eq!(entries_of(&nameless, &source(), "cn=x")[0].name, "cn=x");
    }
}
