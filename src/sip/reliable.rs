//! The headers of reliable provisional responses (RFC 3262) and option tags:
//! reading `RSeq` and `RAck`, writing `RAck`, and whether a `Require` or
//! `Supported` header names an option such as `100rel`. Plain parsing, no
//! state: which response is acknowledged, and when, is the call's
//! (`phone::call::step::prack`). Malformed values read as `None`, never a
//! panic.

use super::message::headers_all;
use super::msg::{Headers, Method};

/// The option tag of reliable provisional responses.
pub const OPTION_100REL: &str = "100rel";

/// Largest RSeq a UAS may pick for its first reliable response (RFC 3262 §3:
/// between 1 and 2**31 - 1).
pub const MAX_FIRST_RSEQ: u32 = (1 << 31) - 1;

/// What a PRACK acknowledges: `RAck: <rseq> <cseq> <method>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: u32,
    pub method: Method,
}

impl RAck {
    /// Parses an RAck value; `None` when it is not three well-formed parts.
    pub fn parse(value: &str) -> Option<RAck> {
        let mut parts = value.split_whitespace();
        let rseq = number(parts.next()?)?;
        let cseq = number(parts.next()?)?;
        let method = parts.next()?.parse::<Method>().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(RAck { rseq, cseq, method })
    }

    /// The header value: `5 1 INVITE`.
    pub fn value(&self) -> String {
        format!("{} {} {}", self.rseq, self.cseq, self.method)
    }
}

/// A 1..=2**32-1 decimal of at most 10 digits (RFC 3262 `1*DIGIT`).
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok().filter(|n| *n > 0)
}

/// The RSeq of a response; `None` when absent or malformed.
pub fn rseq(headers: &Headers) -> Option<u32> {
    headers_all(headers, "RSeq")
        .first()
        .and_then(|v| number(v.trim()))
}

/// The RAck of a PRACK; `None` when absent or malformed (answer 400).
pub fn rack(headers: &Headers) -> Option<RAck> {
    headers_all(headers, "RAck")
        .first()
        .and_then(|v| RAck::parse(v))
}

/// Whether the header `name` (e.g. `Require`, `Supported`, with its compact
/// form) lists `option`, in any of its comma-separated values.
pub fn lists_option(headers: &Headers, name: &str, option: &str) -> bool {
    let compact = match name.to_ascii_lowercase().as_str() {
        "supported" => Some("k"),
        _ => None,
    };
    let values = headers_all(headers, name)
        .into_iter()
        .chain(compact.into_iter().flat_map(|c| headers_all(headers, c)));
    values
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(option))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::add_header;

    fn headers(list: &[(&str, &str)]) -> Headers {
        let mut h = Headers::default();
        for (name, value) in list {
            add_header(&mut h, name, *value);
        }
        h
    }

    type Parts = Option<(u32, u32, Method)>;
    type List<'a> = &'a [(&'a str, &'a str)];

    #[test]
    fn rack_values() {
        let cases: &[(&str, Parts)] = &[
            ("776656 1 INVITE", Some((776656, 1, Method::Invite))),
            ("  1   314  INVITE ", Some((1, 314, Method::Invite))),
            ("4294967295 2 INVITE", Some((u32::MAX, 2, Method::Invite))),
            ("", None),
            ("1 INVITE", None),
            ("x 1 INVITE", None),
            ("1 2", None),
            ("1 2 INVITE extra", None),
            ("0 1 INVITE", None),
            ("-1 1 INVITE", None),
            ("4294967296 1 INVITE", None),
            ("99999999999 1 INVITE", None),
            ("1 +2 INVITE", None),
        ];
        for (text, want) in cases {
            let got = RAck::parse(text).map(|r| (r.rseq, r.cseq, r.method));
            assert_eq!(&got, want, "{text:?}");
        }
    }

    #[test]
    fn rack_round_trip() {
        let r = RAck {
            rseq: 7,
            cseq: 3,
            method: Method::Invite,
        };
        assert_eq!(r.value(), "7 3 INVITE");
        assert_eq!(RAck::parse(&r.value()), Some(r));
    }

    #[test]
    fn rseq_values() {
        let cases: &[(List, Option<u32>)] = &[
            (&[("RSeq", "1")], Some(1)),
            (&[("RSeq", " 988789 ")], Some(988789)),
            (&[("rseq", "5")], Some(5)),
            (&[("RSeq", "0")], None),
            (&[("RSeq", "abc")], None),
            (&[("RSeq", "")], None),
            (&[("RSeq", "12345678901")], None),
            (&[], None),
        ];
        for (list, want) in cases {
            assert_eq!(rseq(&headers(list)), *want, "{list:?}");
        }
        let h = headers(&[("RAck", "3 1 INVITE")]);
        assert_eq!(rack(&h).map(|r| r.rseq), Some(3));
        assert_eq!(rack(&headers(&[("RAck", "bad")])), None);
    }

    #[test]
    fn option_tags() {
        let cases: &[(List, &str, bool)] = &[
            (&[("Require", "100rel")], "Require", true),
            (&[("Require", "timer, 100rel")], "Require", true),
            (
                &[("Require", "timer"), ("Require", "100REL")],
                "Require",
                true,
            ),
            (&[("Supported", "replaces,100rel")], "Supported", true),
            (&[("k", "100rel")], "Supported", true),
            (&[("Supported", "100relx")], "Supported", false),
            (&[("Supported", "100rel")], "Require", false),
            (&[], "Require", false),
        ];
        for (list, name, want) in cases {
            assert_eq!(
                lists_option(&headers(list), name, OPTION_100REL),
                *want,
                "{list:?} {name}"
            );
        }
    }
}
