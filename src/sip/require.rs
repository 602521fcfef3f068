//! The `Require` check of a UAS (RFC 3261 §8.2.2.3): which option tags of a
//! request's `Require` headers we do not support, for the `420 Bad
//! Extension` that names them in `Unsupported`. The options we support are
//! listed once, in [`super::SUPPORTED`]; this module only compares against
//! it. Pure: no IO, no response building (the caller answers).

use super::headers::headers_all;
use super::msg::{Headers, Method};

/// Whether `option` is one of ours (option tags compare case-insensitively).
pub fn is_supported(option: &str) -> bool {
    super::SUPPORTED
        .split(',')
        .map(str::trim)
        .any(|s| s.eq_ignore_ascii_case(option))
}

/// The option tags a request of `method` requires that we do not support,
/// each once, in order; empty when it may go on. ACK and CANCEL are never
/// refused for their `Require` (RFC 3261 §8.2.2.3).
pub fn unsupported(method: &Method, headers: &Headers) -> Vec<String> {
    if matches!(method, Method::Ack | Method::Cancel) {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for value in headers_all(headers, "Require") {
        for option in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if !is_supported(option) && !out.iter().any(|o| o.eq_ignore_ascii_case(option)) {
                out.push(option.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::headers::add_header;

    fn with_require(values: &[&str]) -> Headers {
        let mut h = Headers::default();
        add_header(&mut h, "Call-ID", "x");
        for v in values {
            add_header(&mut h, "Require", *v);
        }
        h
    }

    #[test]
    fn unknown_options_are_named_once_in_order() {
        let cases: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["replaces"], &[]),
            (&["Replaces"], &[]),
            (&["foo"], &["foo"]),
            (&["foo, bar"], &["foo", "bar"]),
            (&["foo", "replaces,bar", "foo"], &["foo", "bar"]),
            (&[" , "], &[]),
        ];
        for (require, want) in cases {
            assert_eq!(
                unsupported(&Method::Invite, &with_require(require)),
                *want,
                "Require: {require:?}"
            );
        }
    }

    #[test]
    fn ack_and_cancel_are_never_refused() {
        let h = with_require(&["foo"]);
        assert!(unsupported(&Method::Ack, &h).is_empty());
        assert!(unsupported(&Method::Cancel, &h).is_empty());
        assert_eq!(unsupported(&Method::Bye, &h), ["foo"]);
        assert_eq!(unsupported(&Method::Options, &h), ["foo"]);
    }

    #[test]
    fn every_supported_option_passes() {
        for option in crate::sip::SUPPORTED.split(',').map(str::trim) {
            assert!(is_supported(option), "{option}");
            assert!(unsupported(&Method::Invite, &with_require(&[option])).is_empty());
        }
    }
}
