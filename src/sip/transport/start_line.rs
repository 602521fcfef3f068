//! The request line of a received request, checked before anything takes
//! it (RFC 3261 §7.1, §25.1): a SIP version other than 2.0 gets 505, a
//! Request-URI in angle brackets (a name-addr where only an addr-spec may
//! stand) gets 400. Pure; `inspect` answers with the code returned.

/// What is wrong with a request line: the status code and the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: &'static str,
}

/// Checks the first line of a header block. Ok for any line that is not
/// a request line (a response, or something the parser refuses anyway).
pub fn check(head: &str) -> Result<(), Refusal> {
    let line = head.split("\r\n").next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(());
    };
    if method.is_empty() || method.starts_with("SIP/") {
        return Ok(());
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(Refusal {
            code: 505,
            reason: "only SIP/2.0 is spoken",
        });
    }
    if uri.starts_with('<') || uri.ends_with('>') {
        return Err(Refusal {
            code: 400,
            reason: "Request-URI in angle brackets",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let version = Err(Refusal {
            code: 505,
            reason: "only SIP/2.0 is spoken",
        });
        let brackets = Err(Refusal {
            code: 400,
            reason: "Request-URI in angle brackets",
        });
        let table: &[(&str, Result<(), Refusal>)] = &[
            ("INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: x", Ok(())),
            (
                "OPTIONS sip:1001@127.0.0.1:5060;transport=udp SIP/2.0",
                Ok(()),
            ),
            ("OPTIONS sip:1001@h sip/2.0", Ok(())),
            ("INVITE sip:1001@127.0.0.1 SIP/3.0\r\nVia: x", version),
            ("OPTIONS sip:1001@127.0.0.1 SIP/1.0", version),
            ("OPTIONS sip:1001@127.0.0.1 HTTP/1.1", version),
            ("INVITE <sip:1001@127.0.0.1> SIP/2.0\r\nVia: x", brackets),
            ("OPTIONS <sip:1001@127.0.0.1 SIP/2.0", brackets),
            ("OPTIONS sip:1001@127.0.0.1> SIP/2.0", brackets),
            // Not a request line: left to the parser and the other checks.
            ("SIP/2.0 200 OK\r\nVia: x", Ok(())),
            ("SIP/3.0 200 OK", Ok(())),
            ("INVITE  SIP/2.0", Ok(())),
            ("garbage", Ok(())),
            ("", Ok(())),
        ];
        for (head, want) in table {
            assert_eq!(check(head), *want, "{head:?}");
        }
    }
}
