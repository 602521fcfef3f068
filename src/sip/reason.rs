//! The `Reason` header (RFC 3326) as far as the phone reads it: the SIP
//! cause among its values (`SIP ;cause=200 ;text="Call completed
//! elsewhere"`, beside `Q.850;cause=16` and others). Pure; what a cause
//! means for a call is the phone's question.

/// The Reason value of a CANCEL for a call answered elsewhere (a pickup
/// took it): the phones it still rings at end it as answered elsewhere,
/// not as a missed call (RFC 3326).
pub const COMPLETED_ELSEWHERE: &str = r#"SIP;cause=200;text="Call completed elsewhere""#;

/// The `cause` of the `SIP` protocol value in a Reason header value, if
/// there is one that reads as a status code.
pub fn sip_cause(value: &str) -> Option<u16> {
    split_values(value).into_iter().find_map(|v| {
        let mut parts = v.split(';');
        let protocol = parts.next()?.trim();
        if !protocol.eq_ignore_ascii_case("SIP") {
            return None;
        }
        parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("cause")
                .then(|| v.trim().parse::<u16>().ok())
                .flatten()
                .filter(|c| (100..700).contains(c))
        })
    })
}

/// The comma-separated values of a header, commas inside quotes kept.
fn split_values(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sip_cause_is_read_among_other_values() {
        let cases = [
            (
                r#"SIP;cause=200;text="Call completed elsewhere""#,
                Some(200),
            ),
            (
                r#"SIP ;cause=200 ;text="Call completed elsewhere""#,
                Some(200),
            ),
            (r#"sip;Cause=600;text="Busy Everywhere""#, Some(600)),
            (
                r#"Q.850;cause=16;text="Normal, clearing", SIP;cause=200"#,
                Some(200),
            ),
            (r#"Q.850;cause=16;text="a, SIP;cause=200""#, None),
            ("Q.850;cause=16", None),
            ("SIP;text=\"x\"", None),
            ("SIP;cause=abc", None),
            ("SIP;cause=99999", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(sip_cause(value), want, "{value}");
        }
    }
}
