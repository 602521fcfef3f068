//! The `Replaces` header (RFC 3891) as typed values: read strictly from an
//! INVITE's header or from a REFER's `Refer-To` URI, and written anew from
//! those values. A peer's text is never copied into a request of ours: a
//! Refer-To's URI headers are dropped, all but `Replaces`, whose Call-ID
//! and tags must be plain tokens (no spaces, no line breaks, no `;`/`,`).
//! Pure; which dialog the values name is the caller's question.

/// The dialog a `Replaces` names, with its `early-only` flag. The tags are
/// as the receiver of the INVITE sees them: `to_tag` is its own tag,
/// `from_tag` its peer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacesParams {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    pub early_only: bool,
}

/// What a Refer-To URI's `Replaces` header (if any) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferReplaces {
    /// No Replaces: a blind transfer.
    None,
    /// A Replaces with a readable Call-ID and both tags.
    Valid(ReplacesParams),
    /// A Replaces we cannot read as one (bad characters, a tag missing).
    Invalid,
}

/// The Refer-To URI to dial (without any `?headers`) and its `Replaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTarget {
    pub uri: String,
    pub replaces: ReferReplaces,
}

/// A token of RFC 3261 §25.1 (what a tag is).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// A Call-ID of RFC 3261 §25.1: `word [ "@" word ]`.
fn is_call_id(s: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~()<>:\\\"/[]?{}".contains(&b))
    };
    match s.split_once('@') {
        Some((a, b)) => word(a) && word(b),
        None => word(s),
    }
}

impl ReplacesParams {
    /// Reads a Replaces value, `call-id;to-tag=…;from-tag=…[;early-only]`;
    /// None when the Call-ID or a tag is missing or not a plain token.
    /// Unknown parameters are ignored (RFC 3891 §6.1 extension params).
    pub fn parse(value: &str) -> Option<ReplacesParams> {
        let mut parts = value.trim().split(';');
        let call_id = parts.next()?.trim();
        if !is_call_id(call_id) {
            return None;
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, val) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (p.trim(), None),
            };
            if name.eq_ignore_ascii_case("to-tag") {
                to_tag = val.filter(|v| is_token(v));
                to_tag?;
            } else if name.eq_ignore_ascii_case("from-tag") {
                from_tag = val.filter(|v| is_token(v));
                from_tag?;
            } else if name.eq_ignore_ascii_case("early-only") {
                early_only = true;
            } else if !is_token(name) || val.is_some_and(|v| !is_token(v)) {
                return None;
            }
        }
        Some(ReplacesParams {
            call_id: call_id.to_string(),
            to_tag: to_tag?.to_string(),
            from_tag: from_tag?.to_string(),
            early_only,
        })
    }

    /// The header value written from the parsed values only.
    pub fn header_value(&self) -> String {
        let early = if self.early_only { ";early-only" } else { "" };
        format!(
            "{};to-tag={};from-tag={}{early}",
            self.call_id, self.to_tag, self.from_tag
        )
    }
}

/// Undoes `%XX` escapes (RFC 3261 `hvalue`); a broken escape stays as it is.
pub fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a Refer-To URI into the URI to dial and its Replaces. Every
/// other URI header (`X-Evil=…`, `Authorization=…`, `Route=…`) is
/// dropped; two Replaces are one too many (Invalid).
pub fn refer_target(uri: &str) -> ReferTarget {
    let Some((base, headers)) = uri.split_once('?') else {
        return ReferTarget {
            uri: uri.to_string(),
            replaces: ReferReplaces::None,
        };
    };
    let mut found = headers.split('&').filter_map(|h| {
        let (name, value) = h.split_once('=').unwrap_or((h, ""));
        name.eq_ignore_ascii_case("Replaces").then_some(value)
    });
    let replaces = match (found.next(), found.next()) {
        (None, _) => ReferReplaces::None,
        (Some(v), None) => match ReplacesParams::parse(&unescape(v)) {
            Some(p) => ReferReplaces::Valid(p),
            None => ReferReplaces::Invalid,
        },
        (Some(_), Some(_)) => ReferReplaces::Invalid,
    };
    ReferTarget {
        uri: base.to_string(),
        replaces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(call_id: &str, to: &str, from: &str, early_only: bool) -> ReplacesParams {
        ReplacesParams {
            call_id: call_id.into(),
            to_tag: to.into(),
            from_tag: from.into(),
            early_only,
        }
    }

    #[test]
    fn replaces_values_are_read_strictly() {
        let table: &[(&str, Option<ReplacesParams>)] = &[
            (
                "abc@host;to-tag=t1;from-tag=f1",
                Some(params("abc@host", "t1", "f1", false)),
            ),
            (
                " abc@host ; from-tag=f1 ; To-Tag=t1 ; early-only",
                Some(params("abc@host", "t1", "f1", true)),
            ),
            (
                "abc;to-tag=t1;from-tag=f1;x-ext=1",
                Some(params("abc", "t1", "f1", false)),
            ),
            ("abc@host;to-tag=t1", None),
            ("abc@host;from-tag=f1", None),
            (";to-tag=t1;from-tag=f1", None),
            ("abc@host;to-tag=;from-tag=f1", None),
            // Line breaks and spaces smuggled into a value.
            ("abc@host;to-tag=t1;from-tag=f1\r\nX-Evil: 1", None),
            ("abc@host\r\nX-Evil: 1;to-tag=t1;from-tag=f1", None),
            ("abc host;to-tag=t1;from-tag=f1", None),
            ("abc@host;to-tag=t 1;from-tag=f1", None),
            ("abc@host;to-tag=t1,x;from-tag=f1", None),
            ("abc@@host;to-tag=t1;from-tag=f1", None),
            ("abc@host;to-tag=t1;from-tag=f1;x=a b", None),
        ];
        for (value, want) in table {
            assert_eq!(&ReplacesParams::parse(value), want, "{value:?}");
        }
    }

    #[test]
    fn the_header_is_written_from_the_values() {
        assert_eq!(
            params("abc@host", "t1", "f1", false).header_value(),
            "abc@host;to-tag=t1;from-tag=f1"
        );
        assert_eq!(
            params("abc", "t1", "f1", true).header_value(),
            "abc;to-tag=t1;from-tag=f1;early-only"
        );
        let read = ReplacesParams::parse("abc@host ;x-ext=7; from-tag=f1;to-tag=t1").unwrap();
        assert_eq!(read.header_value(), "abc@host;to-tag=t1;from-tag=f1");
    }

    #[test]
    fn refer_to_keeps_only_replaces() {
        let valid = ReferReplaces::Valid(params("abc@host", "t1", "f1", false));
        let table: &[(&str, &str, ReferReplaces)] = &[
            ("sip:c@h", "sip:c@h", ReferReplaces::None),
            ("sip:c@h;transport=tcp", "sip:c@h;transport=tcp", ReferReplaces::None),
            ("sip:c@h?X-Evil=1", "sip:c@h", ReferReplaces::None),
            (
                "sip:c@h?Replaces=abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1",
                "sip:c@h",
                valid.clone(),
            ),
            (
                "sip:c@h?X-Evil=1&Replaces=abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1&Authorization=Digest%20x",
                "sip:c@h",
                valid.clone(),
            ),
            (
                "sip:c@h?replaces=abc%40host%3Bfrom-tag%3Df1%3Bto-tag%3Dt1",
                "sip:c@h",
                valid,
            ),
            // A CRLF in the escaped value would add a header: refused.
            (
                "sip:c@h?Replaces=abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1%0D%0AX-Evil%3A%201",
                "sip:c@h",
                ReferReplaces::Invalid,
            ),
            (
                "sip:c@h?Replaces=a%3Bto-tag%3Dt%3Bfrom-tag%3Df&Replaces=b%3Bto-tag%3Dt%3Bfrom-tag%3Df",
                "sip:c@h",
                ReferReplaces::Invalid,
            ),
            ("sip:c@h?Replaces", "sip:c@h", ReferReplaces::Invalid),
        ];
        for (refer_to, uri, replaces) in table {
            let t = refer_target(refer_to);
            assert_eq!(t.uri, *uri, "{refer_to}");
            assert_eq!(&t.replaces, replaces, "{refer_to}");
        }
    }

    #[test]
    fn unescape_leaves_broken_escapes() {
        assert_eq!(unescape("%4"), "%4");
        assert_eq!(unescape("a%"), "a%");
        assert_eq!(unescape("%é"), "%é");
        assert_eq!(unescape("%41%42"), "AB");
    }
}
