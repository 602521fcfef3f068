//! RFC 6910 call completion, the SIP side: where a busy or unanswered
//! INVITE's response offers it (a `Call-Info` with
//! `purpose=call-completion`, naming the monitor to subscribe to), and the
//! `application/call-completion` bodies of the monitor's NOTIFYs
//! (`cc-state: queued` / `ready`, an optional `cc-URI` to call). Pure
//! parsing: it knows no calls and no subscriptions.

use crate::sip::headers::headers_all;
use crate::sip::msg::Headers;

/// The `Content-Type` (and `Accept`) of call-completion NOTIFY bodies.
pub const CONTENT_TYPE: &str = "application/call-completion";

/// The monitor URI a response offers call completion at (RFC 6910 §9:
/// `Call-Info: <uri>;purpose=call-completion;m=BS|NR|NL`), if any.
pub fn offered(headers: &Headers) -> Option<String> {
    headers_all(headers, "Call-Info")
        .into_iter()
        .flat_map(split_list)
        .find_map(monitor_of)
}

/// One Call-Info value's URI when its purpose is call completion.
fn monitor_of(value: &str) -> Option<String> {
    let value = value.trim();
    let rest = value.strip_prefix('<')?;
    let (uri, params) = rest.split_once('>')?;
    let purpose = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .any(|(k, v)| {
            k.trim().eq_ignore_ascii_case("purpose")
                && v.trim()
                    .trim_matches('"')
                    .eq_ignore_ascii_case("call-completion")
        });
    let uri = uri.trim();
    (purpose && !uri.is_empty()).then(|| uri.to_string())
}

/// Splits a header value at the commas between its entries (not those
/// inside `<…>` or quotes).
fn split_list(value: &str) -> Vec<&str> {
    let (mut out, mut start, mut angle, mut quote) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' if !angle => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !angle && !quote => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// The `cc-state` of a NOTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CcState {
    /// Waiting for the callee to be free.
    Queued,
    /// The callee is free: call now.
    Ready,
}

/// A parsed call-completion NOTIFY body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCompletion {
    pub state: CcState,
    /// Where to place the completion call (`cc-URI`), when the monitor names one.
    pub uri: Option<String>,
}

/// Parses an `application/call-completion` body (`name: value` lines,
/// names case-insensitive); `None` without a known `cc-state`.
pub fn parse(body: &str) -> Option<CallCompletion> {
    let mut state = None;
    let mut uri = None;
    for line in body.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "cc-state" => {
                state = match value.to_ascii_lowercase().as_str() {
                    "queued" => Some(CcState::Queued),
                    "ready" => Some(CcState::Ready),
                    _ => None,
                }
            }
            "cc-uri" if !value.is_empty() => {
                uri = Some(
                    value
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                )
            }
            _ => {}
        }
    }
    Some(CallCompletion { state: state?, uri })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::headers::add_header;

    fn headers(values: &[&str]) -> Headers {
        let mut h = Headers::default();
        for v in values {
            add_header(&mut h, "Call-Info", *v);
        }
        h
    }

    #[test]
    fn offers() {
        let table: [(&[&str], Option<&str>); 6] = [
            (&[], None),
            (&["<sip:cc@pbx>;purpose=call-completion;m=BS"], Some("sip:cc@pbx")),
            (&["<http://x/a.png>;purpose=icon"], None),
            (
                &["<http://x/a.png>;purpose=icon, <sip:m@pbx;x=1>;m=NR;purpose=\"Call-Completion\""],
                Some("sip:m@pbx;x=1"),
            ),
            (&["<http://x/a.png>;purpose=icon", "<sip:cc@pbx>;purpose=call-completion"], Some("sip:cc@pbx")),
            (&["sip:cc@pbx;purpose=call-completion"], None),
        ];
        for (values, want) in table {
            assert_eq!(offered(&headers(values)).as_deref(), want, "{values:?}");
        }
    }

    #[test]
    fn bodies() {
        let table = [
            ("cc-state: queued\r\n", Some((CcState::Queued, None))),
            (
                "CC-State: READY\r\ncc-URI: <sip:1002@pbx;m=BS>\r\n",
                Some((CcState::Ready, Some("sip:1002@pbx;m=BS"))),
            ),
            (
                "cc-state: ready\ncc-uri: sip:x@y\n",
                Some((CcState::Ready, Some("sip:x@y"))),
            ),
            ("cc-state: other\r\n", None),
            ("", None),
            ("garbage without colon", None),
        ];
        for (body, want) in table {
            let got = parse(body).map(|c| (c.state, c.uri));
            let want = want.map(|(s, u)| (s, u.map(str::to_string)));
            assert_eq!(got, want, "{body:?}");
        }
    }
}
