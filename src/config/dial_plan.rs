//! The dial plan of an account: what was typed or pasted (`+49 89 1234-567`,
//! `089/1234567`, `0049…`, `tel:+49…`) made into the digits the PBX expects
//! (international and national prefixes, the outside-line prefix), internal
//! numbers, names and SIP URIs left as they are. Pure: the keys come from
//! `[[account]]` (resolved in `raw.rs`), [`DialPlan::normalize`] is a
//! function of them and the text. It must not build SIP URIs or know
//! anything of calls: the phone makes its Request-URI of the result.

/// The dial plan keys of one `[[account]]`; an account without any of them
/// has none and dials what is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialPlan {
    /// Our country's calling code without `+` (`49`): numbers in it are
    /// dialled nationally.
    pub country_code: Option<String>,
    /// Our area code without the national prefix (`89`), put before local
    /// numbers (longer than `internal_digits`, without any prefix).
    pub area_code: Option<String>,
    /// What precedes a country code (`00`); `+` makes every external
    /// number E.164 (`+4989…`), as SIP trunks want.
    pub international_prefix: String,
    /// What precedes an area code (`0`); may be empty.
    pub national_prefix: String,
    /// The digits that get an outside line (OpenScape's `0`), before
    /// every external number.
    pub outside_line: Option<String>,
    /// Numbers of at most this many digits (no prefix) are extensions,
    /// dialled as they are.
    pub internal_digits: Option<usize>,
}

/// The default `international_prefix`.
pub const DEFAULT_INTERNATIONAL_PREFIX: &str = "00";
/// The default `national_prefix`.
pub const DEFAULT_NATIONAL_PREFIX: &str = "0";

impl Default for DialPlan {
    fn default() -> DialPlan {
        DialPlan {
            country_code: None,
            area_code: None,
            international_prefix: DEFAULT_INTERNATIONAL_PREFIX.to_string(),
            national_prefix: DEFAULT_NATIONAL_PREFIX.to_string(),
            outside_line: None,
            internal_digits: None,
        }
    }
}

/// Which rule made the result: the `rule` of `normalize`'s reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A `sip:`/`sips:` URI or `user@host`: unchanged.
    Uri,
    /// Not a number (`alice`, `echo`): unchanged.
    Name,
    /// A feature code (`*`, `#`): separators dropped, otherwise unchanged.
    FeatureCode,
    /// An extension: separators dropped, otherwise unchanged.
    Internal,
    /// A subscriber number without area code: area code and prefixes put before it.
    Local,
    /// A number in our country.
    National,
    /// A number abroad.
    International,
}

impl Rule {
    /// The word for it in replies.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Uri => "uri",
            Rule::Name => "name",
            Rule::FeatureCode => "feature_code",
            Rule::Internal => "internal",
            Rule::Local => "local",
            Rule::National => "national",
            Rule::International => "international",
        }
    }
}

/// What to dial and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The digits for the PBX, or the URI or name as typed.
    pub target: String,
    pub rule: Rule,
}

/// Why a text cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialPlanError {
    #[error("nothing to dial")]
    Empty,
    #[error("not a phone number: `{0}`")]
    NotANumber(String),
}

/// Characters people write inside numbers: dropped.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '/' | '(' | ')' | '[' | ']' | '\u{2010}'..='\u{2015}'
        )
}

impl DialPlan {
    /// What to dial for `input` under this plan.
    pub fn normalize(&self, input: &str) -> Result<Normalized, DialPlanError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(DialPlanError::Empty);
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("sip:") || lower.starts_with("sips:") {
            return Ok(unchanged(text, Rule::Uri));
        }
        let number = if lower.starts_with("tel:") {
            // RFC 3966: the number, then `;` parameters we do not use.
            let rest = &text[4..];
            let number = rest.split(';').next().unwrap_or("").trim();
            if number.is_empty() {
                return Err(DialPlanError::NotANumber(text.to_string()));
            }
            number
        } else if text.contains('@') {
            return Ok(unchanged(text, Rule::Uri));
        } else {
            text
        };
        // `+49 (0)89 …`: the national prefix written for people at home.
        let number = if number.starts_with('+') {
            number.replacen("(0)", "", 1)
        } else {
            number.to_string()
        };
        let compact: String = number.chars().filter(|c| !is_separator(*c)).collect();
        if let Some(digits) = compact.strip_prefix('+') {
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(DialPlanError::NotANumber(text.to_string()));
            }
            return Ok(self.international(digits));
        }
        if compact.is_empty() {
            return Err(DialPlanError::NotANumber(text.to_string()));
        }
        if !compact
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            return Ok(unchanged(text, Rule::Name));
        }
        if compact.contains(['*', '#']) {
            return Ok(unchanged(&compact, Rule::FeatureCode));
        }
        if self.internal_digits.is_some_and(|n| compact.len() <= n) {
            return Ok(unchanged(&compact, Rule::Internal));
        }
        // What people type before a country code; `00` where the PBX wants `+`.
        let international = match self.international_prefix.as_str() {
            "+" => DEFAULT_INTERNATIONAL_PREFIX,
            p => p,
        };
        if !international.is_empty() {
            if let Some(rest) = compact.strip_prefix(international) {
                if !rest.is_empty() {
                    return Ok(self.international(rest));
                }
            }
        }
        if !self.national_prefix.is_empty() {
            if let Some(rest) = compact.strip_prefix(self.national_prefix.as_str()) {
                if !rest.is_empty() {
                    return Ok(self.national(rest, Rule::National));
                }
            }
        }
        match (&self.internal_digits, &self.area_code) {
            (Some(_), Some(area)) => Ok(self.national(&format!("{area}{compact}"), Rule::Local)),
            (Some(_), None) => Ok(Normalized {
                target: format!("{}{compact}", self.outside()),
                rule: Rule::Local,
            }),
            // Without `internal_digits` every number without a prefix is ours.
            (None, _) => Ok(unchanged(&compact, Rule::Internal)),
        }
    }

    /// `digits`: a country code and the number in that country.
    fn international(&self, digits: &str) -> Normalized {
        if let Some(cc) = &self.country_code {
            if let Some(national) = digits.strip_prefix(cc.as_str()) {
                if !national.is_empty() {
                    return self.national(national, Rule::National);
                }
            }
        }
        Normalized {
            target: self.external(digits),
            rule: Rule::International,
        }
    }

    /// `significant`: a number in our country without its national prefix.
    fn national(&self, significant: &str, rule: Rule) -> Normalized {
        let target = match (&self.country_code, self.international_prefix.as_str()) {
            (Some(cc), "+") => self.external(&format!("{cc}{significant}")),
            _ => format!("{}{}{significant}", self.outside(), self.national_prefix),
        };
        Normalized { target, rule }
    }

    /// A country code and number, as dialled abroad.
    fn external(&self, digits: &str) -> String {
        format!("{}{}{digits}", self.outside(), self.international_prefix)
    }

    fn outside(&self) -> &str {
        self.outside_line.as_deref().unwrap_or("")
    }

    /// Checks the keys' values; the error names the key.
    pub fn check(&self) -> Result<(), String> {
        let digits = |key: &str, v: &str, allow_empty: bool| {
            if (v.is_empty() && !allow_empty) || !v.chars().all(|c| c.is_ascii_digit()) {
                Err(format!("key `account.{key}` must be digits, not `{v}`"))
            } else {
                Ok(())
            }
        };
        if let Some(cc) = &self.country_code {
            digits("country_code", cc.trim_start_matches('+'), false)?;
        }
        if let Some(area) = &self.area_code {
            digits("area_code", area, false)?;
        }
        if self.international_prefix != "+" {
            digits("international_prefix", &self.international_prefix, false)?;
        }
        digits("national_prefix", &self.national_prefix, true)?;
        if let Some(line) = &self.outside_line {
            if line.is_empty()
                || !line
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return Err(format!(
                    "key `account.outside_line` must be digits (or `*`, `#`), not `{line}`"
                ));
            }
        }
        if let Some(n) = self.internal_digits {
            if !(1..=15).contains(&n) {
                return Err(format!(
                    "key `account.internal_digits` must be 1 to 15, not {n}"
                ));
            }
        }
        Ok(())
    }
}

fn unchanged(text: &str, rule: Rule) -> Normalized {
    Normalized {
        target: text.to_string(),
        rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OpenScape behind `0` for an outside line, in Munich, with
    /// four- and five-digit extensions.
    fn openscape() -> DialPlan {
        DialPlan {
            country_code: Some("49".into()),
            area_code: Some("89".into()),
            outside_line: Some("0".into()),
            internal_digits: Some(5),
            ..DialPlan::default()
        }
    }

    /// A SIP trunk that wants E.164, Berlin, three-digit extensions.
    fn e164() -> DialPlan {
        DialPlan {
            country_code: Some("49".into()),
            area_code: Some("30".into()),
            international_prefix: "+".into(),
            internal_digits: Some(3),
            ..DialPlan::default()
        }
    }

    fn check(plan: &DialPlan, table: &[(&str, &str, Rule)]) {
        for (input, want, rule) in table {
            let got = plan.normalize(input).unwrap();
            assert_eq!(
                (got.target.as_str(), got.rule),
                (*want, *rule),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn openscape_style() {
        use Rule::*;
        check(
            &openscape(),
            &[
                ("+49 89 1234-567", "00891234567", National),
                ("089/1234567", "00891234567", National),
                ("0049 89 1234567", "00891234567", National),
                ("0049891234567", "00891234567", National),
                ("+49 (0)89 1234567", "00891234567", National),
                ("+49 30 1234567", "00301234567", National),
                ("(089) 123 45 67", "00891234567", National),
                ("+1 (212) 555-0100", "00012125550100", International),
                ("0033 1 23 45 67 89", "00033123456789", International),
                ("1234567", "00891234567", Local),
                ("3344", "3344", Internal),
                ("33 44", "3344", Internal),
                ("12345", "12345", Internal),
                ("tel:+49-89-1234567", "00891234567", National),
                (
                    "tel:+1-212-555-0100;phone-context=x",
                    "00012125550100",
                    International,
                ),
                ("TEL:089 1234567", "00891234567", National),
                ("sip:1001@pbx.example", "sip:1001@pbx.example", Uri),
                ("SIPS:op@pbx", "SIPS:op@pbx", Uri),
                ("bob@example.com", "bob@example.com", Uri),
                ("alice", "alice", Name),
                ("echo", "echo", Name),
                ("*21*3344#", "*21*3344#", FeatureCode),
                ("  3344  ", "3344", Internal),
            ],
        );
    }

    #[test]
    fn e164_trunk() {
        use Rule::*;
        check(
            &e164(),
            &[
                ("089 1234567", "+49891234567", National),
                ("+49 89 1234567", "+49891234567", National),
                ("0049 89 1234567", "+49891234567", National),
                ("0033 1 23 45 67 89", "+33123456789", International),
                ("+1 212 555 0100", "+12125550100", International),
                ("1234567", "+49301234567", Local),
                ("100", "100", Internal),
                ("tel:+44 20 7946 0000", "+442079460000", International),
            ],
        );
    }

    #[test]
    fn without_a_country_code_prefixes_are_kept() {
        use Rule::*;
        let plan = DialPlan {
            outside_line: Some("0".into()),
            ..DialPlan::default()
        };
        check(
            &plan,
            &[
                ("089/1234567", "00891234567", National),
                ("+49 89 1234-567", "00049891234567", International),
                ("0049 89 1234567", "00049891234567", International),
                // no internal_digits: a number without prefix is ours
                ("1234567", "1234567", Internal),
            ],
        );
        let no_area = DialPlan {
            internal_digits: Some(4),
            outside_line: Some("9".into()),
            ..DialPlan::default()
        };
        check(
            &no_area,
            &[("5550100", "95550100", Local), ("200", "200", Internal)],
        );
    }

    #[test]
    fn what_is_no_number_is_an_error() {
        let plan = openscape();
        for bad in ["", "   ", "+", "+49 abc", "tel:", "tel:;x=1", "- / ()"] {
            assert!(plan.normalize(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            plan.normalize("+4 9x").unwrap_err().to_string(),
            "not a phone number: `+4 9x`"
        );
    }

    #[test]
    fn checked_keys() {
        assert!(openscape().check().is_ok());
        assert!(e164().check().is_ok());
        let bad = |plan: DialPlan, key: &str| {
            let err = plan.check().unwrap_err();
            assert!(err.contains(key), "{err}");
        };
        bad(
            DialPlan {
                country_code: Some("4x".into()),
                ..DialPlan::default()
            },
            "country_code",
        );
        bad(
            DialPlan {
                international_prefix: "".into(),
                ..DialPlan::default()
            },
            "international_prefix",
        );
        bad(
            DialPlan {
                outside_line: Some("".into()),
                ..DialPlan::default()
            },
            "outside_line",
        );
        bad(
            DialPlan {
                internal_digits: Some(0),
                ..DialPlan::default()
            },
            "internal_digits",
        );
        assert!(DialPlan {
            national_prefix: "".into(),
            ..DialPlan::default()
        }
        .check()
        .is_ok());
    }
}
