//! The headers of SIP session timers (RFC 4028): reading and writing
//! `Session-Expires` (compact `x`) with its `refresher` parameter and
//! `Min-SE`, and whether a `Supported` / `Require` list names an option.
//! Malformed values read as absent, never a panic. Owns no decision about
//! calls or timers (that is `phone::call::step::session_timer`).

use super::headers::headers_all;
use super::msg::Headers;

/// RFC 4028 §4: the smallest session interval anyone may ask for.
pub const RFC_MIN_SE: u32 = 90;

/// Who sends the refreshes (`refresher=uac|uas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

impl Refresher {
    pub fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// A `Session-Expires` value: the interval in seconds and who refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    pub delta: u32,
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses `1800;refresher=uac` (parameters in any case, unknown ones
    /// ignored); None when the delta is no number.
    pub fn parse(value: &str) -> Option<SessionExpires> {
        let mut parts = value.split(';');
        let delta = parts.next()?.trim().parse::<u32>().ok()?;
        let mut refresher = None;
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("refresher") {
                let v = v.trim();
                refresher = if v.eq_ignore_ascii_case("uac") {
                    Some(Refresher::Uac)
                } else if v.eq_ignore_ascii_case("uas") {
                    Some(Refresher::Uas)
                } else {
                    None
                };
            }
        }
        Some(SessionExpires { delta, refresher })
    }

    /// The header value: `1800` or `1800;refresher=uac`.
    pub fn value(&self) -> String {
        match self.refresher {
            Some(r) => format!("{};refresher={}", self.delta, r.as_str()),
            None => self.delta.to_string(),
        }
    }

    /// The first well-formed `Session-Expires` (or `x`) of a message.
    pub fn of(headers: &Headers) -> Option<SessionExpires> {
        first(headers, &["Session-Expires", "x"]).and_then(SessionExpires::parse)
    }
}

/// Parses a `Min-SE` value (`90`, parameters ignored).
pub fn parse_min_se(value: &str) -> Option<u32> {
    value.split(';').next()?.trim().parse().ok()
}

/// The `Min-SE` of a message, when there is a well-formed one.
pub fn min_se(headers: &Headers) -> Option<u32> {
    first(headers, &["Min-SE"]).and_then(parse_min_se)
}

/// Whether the `Supported` (`k`) headers list `option` (e.g. "timer").
pub fn supports(headers: &Headers, option: &str) -> bool {
    lists(headers, &["Supported", "k"], option)
}

/// Whether the `Require` headers list `option`.
pub fn requires(headers: &Headers, option: &str) -> bool {
    lists(headers, &["Require"], option)
}

fn first<'a>(headers: &'a Headers, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers_all(headers, n).into_iter().next())
}

fn lists(headers: &Headers, names: &[&str], option: &str) -> bool {
    names.iter().any(|n| {
        headers_all(headers, n)
            .iter()
            .flat_map(|v| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case(option))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::headers::add_header;

    #[test]
    fn session_expires_values() {
        let uac = Some(Refresher::Uac);
        let uas = Some(Refresher::Uas);
        type Want = Option<(u32, Option<Refresher>)>;
        let table: &[(&str, Want)] = &[
            ("1800", Some((1800, None))),
            (" 90 ; refresher=uac", Some((90, uac))),
            ("90;REFRESHER=UAS", Some((90, uas))),
            ("90;refresher=both", Some((90, None))),
            ("90;foo;refresher", Some((90, None))),
            ("600;x=1;refresher=uas;y", Some((600, uas))),
            ("", None),
            ("abc", None),
            ("-5", None),
            ("99999999999999", None),
            (";refresher=uac", None),
        ];
        for (text, want) in table {
            let got = SessionExpires::parse(text).map(|s| (s.delta, s.refresher));
            assert_eq!(got, *want, "{text:?}");
        }
    }

    #[test]
    fn session_expires_writes_what_it_reads() {
        for se in [
            SessionExpires {
                delta: 1800,
                refresher: None,
            },
            SessionExpires {
                delta: 90,
                refresher: Some(Refresher::Uac),
            },
            SessionExpires {
                delta: 120,
                refresher: Some(Refresher::Uas),
            },
        ] {
            assert_eq!(SessionExpires::parse(&se.value()), Some(se));
        }
    }

    #[test]
    fn min_se_values() {
        let table: &[(&str, Option<u32>)] = &[
            ("90", Some(90)),
            (" 120 ", Some(120)),
            ("300;lr", Some(300)),
            ("", None),
            ("x", None),
            ("-1", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_min_se(text), *want, "{text:?}");
        }
    }

    #[test]
    fn headers_of_a_message() {
        let mut h = Headers::default();
        add_header(&mut h, "x", "300;refresher=uas");
        add_header(&mut h, "Min-SE", "120");
        add_header(&mut h, "Supported", "replaces, Timer");
        add_header(&mut h, "Require", "100rel");
        assert_eq!(
            SessionExpires::of(&h),
            Some(SessionExpires {
                delta: 300,
                refresher: Some(Refresher::Uas)
            })
        );
        assert_eq!(min_se(&h), Some(120));
        assert!(supports(&h, "timer"));
        assert!(!supports(&h, "100rel"));
        assert!(requires(&h, "100rel"));
        assert!(!requires(&h, "timer"));
        let empty = Headers::default();
        assert_eq!(SessionExpires::of(&empty), None);
        assert_eq!(min_se(&empty), None);
        assert!(!supports(&empty, "timer"));
    }
}
