//! The name a call shows (`name` of the Call object): the directory's name
//! for the remote number, else the display name the SIP headers give
//! (P-Asserted-Identity before From when the account trusts its PBX, else
//! From; for our own calls the callee's To of a 18x, `remote_name`). Pure
//! decisions only: the directory lookup itself is
//! `store::directory::NameIndex`, and the manager applies the result.

use crate::sip::message as m;
use crate::sip::msg::Headers;

/// The display name of an incoming request: the first P-Asserted-Identity's
/// when `trust_asserted` and it has one, else From's.
pub(crate) fn from_headers(headers: &Headers, trust_asserted: bool) -> Option<String> {
    let asserted = trust_asserted
        .then(|| m::header(headers, "P-Asserted-Identity"))
        .flatten()
        .and_then(|value| {
            // The first identity (a display name may hold a comma).
            let first = match value.find('>') {
                Some(end) => &value[..=end],
                None => value.split(',').next().unwrap_or(value),
            };
            m::display_name(first)
        });
    asserted.or_else(|| m::header(headers, "From").and_then(m::display_name))
}

/// What a call shows: the directory's name, else the name the call's SIP
/// gave (`header`), else the callee's display name (`remote_name`).
pub(crate) fn shown(
    directory: Option<&str>,
    header: Option<&str>,
    remote_name: Option<&str>,
) -> Option<String> {
    [directory, header, remote_name]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|n| !n.is_empty())
        .map(str::to_string)
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

    #[test]
    fn asserted_identity_first_only_when_trusted() {
        let from = ("From", "\"Front Desk\" <sip:1000@pbx>;tag=a");
        let pai = (
            "P-Asserted-Identity",
            "\"Berg, Anna\" <sip:+49891234567@pbx>, <tel:+49891234567>",
        );
        let bare_pai = ("P-Asserted-Identity", "<sip:1000@pbx>");
        for (list, trust, want) in [
            (vec![from, pai], true, Some("Berg, Anna")),
            (vec![from, pai], false, Some("Front Desk")),
            (vec![from, bare_pai], true, Some("Front Desk")),
            (vec![("From", "<sip:1000@pbx>;tag=a"), pai], false, None),
            (vec![("From", "sip:1000@pbx;tag=a")], true, None),
            (vec![], true, None),
        ] {
            assert_eq!(
                from_headers(&headers(&list), trust).as_deref(),
                want,
                "{list:?} trust={trust}"
            );
        }
    }

    #[test]
    fn directory_before_headers_before_callee() {
        for (dir, header, remote, want) in [
            (Some("Anna"), Some("Front Desk"), Some("x"), Some("Anna")),
            (None, Some("Front Desk"), Some("x"), Some("Front Desk")),
            (None, None, Some("Bob"), Some("Bob")),
            (Some(" "), Some(""), Some("Bob"), Some("Bob")),
            (None, None, None, None),
        ] {
            assert_eq!(shown(dir, header, remote).as_deref(), want);
        }
    }
}
