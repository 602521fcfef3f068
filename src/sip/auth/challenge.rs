//! Parsing of `WWW-Authenticate` / `Proxy-Authenticate` digest challenges
//! (RFC 7235 auth-param syntax): case-insensitive names, quoted strings with
//! backslash escapes, tokens, stray whitespace and empty list elements.

use crate::sip::{Result, SipError};

/// Digest algorithms we can answer (RFC 7616, RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "MD5-SESS" => Some(Algorithm::Md5Sess),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-256-SESS" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    pub fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Preference when a server offers several: SHA-256 first.
    pub fn rank(self) -> u8 {
        match self {
            Algorithm::Sha256 => 0,
            Algorithm::Sha256Sess => 1,
            Algorithm::Md5 => 2,
            Algorithm::Md5Sess => 3,
        }
    }
}

/// One digest challenge, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    /// The algorithm token as sent (`None`: absent, meaning MD5).
    pub algorithm: Option<String>,
    /// The qop options offered (lower-case), empty when absent.
    pub qop: Vec<String>,
    pub stale: bool,
}

impl Challenge {
    /// The algorithm to use, or an error naming the unsupported one.
    pub fn algorithm(&self) -> Result<Algorithm> {
        match &self.algorithm {
            None => Ok(Algorithm::Md5),
            Some(name) => Algorithm::parse(name)
                .ok_or_else(|| SipError::Auth(format!("unsupported digest algorithm {name:?}"))),
        }
    }

    /// `Some("auth")` when qop=auth is offered, `None` for a legacy (RFC 2069)
    /// challenge; an error when only other qops (auth-int) are offered.
    pub fn qop(&self) -> Result<Option<&'static str>> {
        if self.qop.is_empty() {
            return Ok(None);
        }
        if self.qop.iter().any(|q| q == "auth") {
            return Ok(Some("auth"));
        }
        Err(SipError::Auth(format!(
            "unsupported qop {:?} (only auth is implemented)",
            self.qop.join(",")
        )))
    }
}

/// Parses the value of one challenge header; several challenges may be in
/// one value. Challenges of other schemes (Basic, ...) are skipped.
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    let mut current: Option<Challenge> = None;
    let mut p = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(|c| c == b',' || c.is_ascii_whitespace());
        if p.done() {
            break;
        }
        let name = p.token();
        if name.is_empty() {
            p.i += 1; // stray character: skip it
            continue;
        }
        p.skip(|c| c == b' ' || c == b'\t');
        if p.peek() != Some(b'=') {
            // A scheme name starts a new challenge.
            if let Some(c) = current.take() {
                out.push(c);
            }
            if name.eq_ignore_ascii_case("digest") {
                current = Some(Challenge::default());
            } else {
                current = None;
            }
            continue;
        }
        let value = p.param_value();
        let Some(c) = current.as_mut() else {
            continue;
        };
        match name.to_ascii_lowercase().as_str() {
            "realm" => c.realm = value,
            "nonce" => c.nonce = value,
            "opaque" => c.opaque = Some(value),
            "algorithm" => c.algorithm = Some(value),
            "stale" => c.stale = value.eq_ignore_ascii_case("true"),
            "qop" => {
                c.qop = value
                    .split(',')
                    .map(|q| q.trim().to_ascii_lowercase())
                    .filter(|q| !q.is_empty())
                    .collect()
            }
            _ => {}
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// Reads `realm` from a credentials header value (to replace old ones).
pub fn realm_of(value: &str) -> Option<String> {
    let mut p = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(|c| c == b',' || c.is_ascii_whitespace());
        if p.done() {
            return None;
        }
        let name = p.token();
        if name.is_empty() {
            p.i += 1;
            continue;
        }
        p.skip(|c| c == b' ' || c == b'\t');
        if p.peek() != Some(b'=') {
            continue;
        }
        let v = p.param_value();
        if name.eq_ignore_ascii_case("realm") {
            return Some(v);
        }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> String {
        let start = self.i;
        self.skip(|c| !(c == b',' || c == b'=' || c == b'"' || c.is_ascii_whitespace()));
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn quoted(&mut self) -> String {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    /// At `=`: steps over it and blanks, then reads a quoted string or a token.
    fn param_value(&mut self) -> String {
        self.i += 1;
        self.skip(|c| c == b' ' || c == b'\t');
        if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            self.token()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_kamailio_challenge() {
        let c = parse_challenges(
            r#"Digest realm="test.local", nonce="ZmQ2YjE3YTAtZmI0Ny0xMWVm:ab==", qop="auth""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].realm, "test.local");
        assert_eq!(c[0].nonce, "ZmQ2YjE3YTAtZmI0Ny0xMWVm:ab==");
        assert_eq!(c[0].qop, vec!["auth"]);
        assert_eq!(c[0].algorithm().unwrap(), Algorithm::Md5);
    }

    #[test]
    fn odd_spacing_case_escapes_and_empty_elements() {
        let c = parse_challenges(
            "  digest REALM = \"a \\\"quoted\\\", realm\" ,,nonce=abc123,\tQOP=\"auth-int, AUTH\",\
             algorithm=sha-256 ,opaque=\"\",stale=TRUE,foo=\"bar,baz\"",
        );
        assert_eq!(c.len(), 1);
        let c = &c[0];
        assert_eq!(c.realm, "a \"quoted\", realm");
        assert_eq!(c.nonce, "abc123");
        assert_eq!(c.qop, vec!["auth-int", "auth"]);
        assert_eq!(c.qop().unwrap(), Some("auth"));
        assert_eq!(c.algorithm().unwrap(), Algorithm::Sha256);
        assert_eq!(c.opaque.as_deref(), Some(""));
        assert!(c.stale);
    }

    #[test]
    fn several_challenges_and_other_schemes() {
        let c = parse_challenges(
            r#"Basic realm="x", Digest realm="r1", nonce="n1", algorithm=SHA-256, Digest realm="r1", nonce="n2""#,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].nonce, "n1");
        assert_eq!(c[1].nonce, "n2");
        assert_eq!(c[1].algorithm().unwrap(), Algorithm::Md5);
    }

    #[test]
    fn unsupported_algorithm_and_qop_are_errors() {
        let c = &parse_challenges(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#)[0];
        let err = c.algorithm().unwrap_err().to_string();
        assert!(err.contains("SHA-512-256"), "{err}");
        let c = &parse_challenges(r#"Digest realm="r", nonce="n", qop="auth-int""#)[0];
        assert!(c.qop().unwrap_err().to_string().contains("auth-int"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            "Digest",
            "Digest =",
            "Digest realm=\"unterminated",
            "\"\"\"",
            "=,=,",
        ] {
            let _ = parse_challenges(s);
            let _ = realm_of(s);
        }
        assert_eq!(
            realm_of(r#"Digest username="u", realm="r""#).as_deref(),
            Some("r")
        );
    }
}
