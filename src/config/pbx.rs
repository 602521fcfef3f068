//! PBX profiles and call-policy settings: feature access codes as data
//! (directed / group pickup, call forwarding on/off per condition, DND on/off,
//! voicemail, callback when free), the built-in profiles (the top-level `pbx/*.toml`, embedded in the
//! binary: add a file there and a line to [`BUILTIN_PROFILES`]), a user profile file and per-key overrides from `[pbx]`; and the
//! pattern that tells internal callers from external ones.

use serde::Deserialize;
use std::path::Path;

/// Built-in profiles: name and file text.
pub const BUILTIN_PROFILES: [(&str, &str); 3] = [
    (
        "openscape4000",
        include_str!("../../pbx/openscape4000.toml"),
    ),
    ("asterisk", include_str!("../../pbx/asterisk.toml")),
    ("generic", include_str!("../../pbx/generic.toml")),
];

/// Feature access codes of one PBX. A code containing `{target}` has the
/// number put there, otherwise the number is appended ([`FeatureCodes::dial`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureCodes {
    pub directed_pickup: Option<String>,
    pub group_pickup: Option<String>,
    pub forward_always_on: Option<String>,
    pub forward_always_off: Option<String>,
    pub forward_busy_on: Option<String>,
    pub forward_busy_off: Option<String>,
    pub forward_no_answer_on: Option<String>,
    pub forward_no_answer_off: Option<String>,
    pub dnd_on: Option<String>,
    pub dnd_off: Option<String>,
    pub voicemail: Option<String>,
    /// Callback when free ("Rückruf"): dialled with the busy or absent
    /// party's number; the PBX rings us back when that party is free.
    pub callback: Option<String>,
    /// Cancels the PBX's pending callbacks.
    pub callback_off: Option<String>,
}

impl FeatureCodes {
    /// `self`, with every code that `over` sets taken from `over`.
    pub fn overridden_by(&self, over: &FeatureCodes) -> FeatureCodes {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        FeatureCodes {
            directed_pickup: pick(&self.directed_pickup, &over.directed_pickup),
            group_pickup: pick(&self.group_pickup, &over.group_pickup),
            forward_always_on: pick(&self.forward_always_on, &over.forward_always_on),
            forward_always_off: pick(&self.forward_always_off, &over.forward_always_off),
            forward_busy_on: pick(&self.forward_busy_on, &over.forward_busy_on),
            forward_busy_off: pick(&self.forward_busy_off, &over.forward_busy_off),
            forward_no_answer_on: pick(&self.forward_no_answer_on, &over.forward_no_answer_on),
            forward_no_answer_off: pick(&self.forward_no_answer_off, &over.forward_no_answer_off),
            dnd_on: pick(&self.dnd_on, &over.dnd_on),
            dnd_off: pick(&self.dnd_off, &over.dnd_off),
            voicemail: pick(&self.voicemail, &over.voicemail),
            callback: pick(&self.callback, &over.callback),
            callback_off: pick(&self.callback_off, &over.callback_off),
        }
    }

    /// Every code with its key name, set or not.
    pub fn named(&self) -> [(&'static str, &Option<String>); 13] {
        [
            ("directed_pickup", &self.directed_pickup),
            ("group_pickup", &self.group_pickup),
            ("forward_always_on", &self.forward_always_on),
            ("forward_always_off", &self.forward_always_off),
            ("forward_busy_on", &self.forward_busy_on),
            ("forward_busy_off", &self.forward_busy_off),
            ("forward_no_answer_on", &self.forward_no_answer_on),
            ("forward_no_answer_off", &self.forward_no_answer_off),
            ("dnd_on", &self.dnd_on),
            ("dnd_off", &self.dnd_off),
            ("voicemail", &self.voicemail),
            ("callback", &self.callback),
            ("callback_off", &self.callback_off),
        ]
    }

    /// The digits to dial for `code` with an optional target number; `None`
    /// when the code is unset or empty.
    pub fn dial(code: &Option<String>, target: Option<&str>) -> Option<String> {
        let code = code.as_deref().map(str::trim).filter(|c| !c.is_empty())?;
        let target = target.unwrap_or("").trim();
        Some(if code.contains("{target}") {
            code.replace("{target}", target)
        } else {
            format!("{code}{target}")
        })
    }
}

/// A profile file: a description and the codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the codes were checked against a real PBX of this kind
    /// (default false: the codes are an example to check).
    #[serde(default)]
    pub verified: bool,
    #[serde(flatten)]
    pub codes: FeatureCodes,
}

/// Why a profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown PBX profile `{0}` (built in: openscape4000, asterisk, generic)")]
    Unknown(String),
    #[error("PBX profile {0}")]
    Bad(String),
}

/// Parses profile text.
pub fn parse_profile(text: &str) -> Result<ProfileFile, ProfileError> {
    toml::from_str(text).map_err(|e| ProfileError::Bad(e.message().trim().to_string()))
}

/// A built-in profile by name.
pub fn builtin_profile(name: &str) -> Result<ProfileFile, ProfileError> {
    let text = BUILTIN_PROFILES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, t)| *t)
        .ok_or_else(|| ProfileError::Unknown(name.to_string()))?;
    parse_profile(text)
}

/// Reads a user profile file.
pub fn load_profile_file(path: &Path) -> Result<ProfileFile, ProfileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProfileError::Bad(format!("{}: {e}", path.display())))?;
    parse_profile(&text).map_err(|e| ProfileError::Bad(format!("{}: {e}", path.display())))
}

/// `[pbx]`: the resolved profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxConfig {
    /// Profile name (`generic` when unset).
    pub profile: String,
    pub description: Option<String>,
    /// The profile's `verified` (a `profile_file`'s own, when one is used).
    pub verified: bool,
    /// Codes after the profile file and the `[pbx]` overrides.
    pub codes: FeatureCodes,
}

impl Default for PbxConfig {
    fn default() -> Self {
        PbxConfig {
            profile: "generic".into(),
            description: builtin_profile("generic").ok().and_then(|p| p.description),
            verified: builtin_profile("generic").is_ok_and(|p| p.verified),
            codes: FeatureCodes::default(),
        }
    }
}

/// Decides whether a caller is internal (forwarding rules with a scope),
/// the way a PBX admin describes the numbering plan: `[phone]`
/// `external_prefixes` (numbers starting so are external: the trunk's `0`,
/// `00`, `+`), then `internal_numbers` (number ranges such as `"100-399"`)
/// when set, else `internal_pattern` (extension lengths or domains).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternalPattern {
    /// `internal_pattern`: extension lengths or domains.
    pub kind: InternalKind,
    /// `internal_numbers`: when not empty, the only internal numbers.
    pub numbers: Vec<NumberRange>,
    /// `external_prefixes`: a caller whose number starts with one is external.
    pub external_prefixes: Vec<String>,
}

/// The `internal_pattern` key: what an internal caller looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InternalKind {
    /// A caller whose user part is all digits with a length in this range.
    ExtensionLength { min: usize, max: usize },
    /// A caller whose URI host is one of these domains (lower case).
    Domains(Vec<String>),
}

impl Default for InternalKind {
    /// Extensions of 2 to 6 digits.
    fn default() -> Self {
        InternalKind::ExtensionLength { min: 2, max: 6 }
    }
}

/// A range of extension numbers (`"100-399"`, or one number `"500"`): a
/// number is in it when it has as many digits as the bounds and lies
/// between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRange {
    digits: usize,
    low: u64,
    high: u64,
}

impl NumberRange {
    /// Parses `"100-399"` or `"500"`: digits only, both bounds as long.
    pub fn parse(s: &str) -> Result<NumberRange, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`{s}` is not a number range like \"100-399\" (both bounds with as many digits)"
            )
        };
        let (a, b) = t.split_once('-').unwrap_or((t, t));
        let (a, b) = (a.trim(), b.trim());
        let digits_only =
            |v: &str| !v.is_empty() && v.len() <= 18 && v.bytes().all(|c| c.is_ascii_digit());
        if !digits_only(a) || !digits_only(b) || a.len() != b.len() {
            return Err(bad());
        }
        let low: u64 = a.parse().map_err(|_| bad())?;
        let high: u64 = b.parse().map_err(|_| bad())?;
        if low > high {
            return Err(bad());
        }
        Ok(NumberRange {
            digits: a.len(),
            low,
            high,
        })
    }

    /// Whether `number` (digits) lies in the range.
    pub fn contains(&self, number: &str) -> bool {
        number.len() == self.digits
            && number.bytes().all(|c| c.is_ascii_digit())
            && number
                .parse::<u64>()
                .is_ok_and(|n| (self.low..=self.high).contains(&n))
    }
}

impl InternalPattern {
    /// Parses the `internal_pattern` key: `"4"`, `"3-5"` (extension
    /// lengths) or a comma list of domains (`"example.com, pbx.local"`,
    /// optionally prefixed `domain:`). No ranges, no external prefixes.
    pub fn parse(s: &str) -> Result<InternalPattern, String> {
        Ok(InternalPattern {
            kind: InternalKind::parse(s)?,
            ..InternalPattern::default()
        })
    }

    /// Whether `caller` (a SIP URI, name-addr or bare number) is internal.
    pub fn is_internal(&self, caller: &str) -> bool {
        let (user, host) = user_host(caller);
        if self
            .external_prefixes
            .iter()
            .any(|p| !p.is_empty() && user.starts_with(p.as_str()))
        {
            return false;
        }
        if !self.numbers.is_empty() {
            return self.numbers.iter().any(|r| r.contains(&user));
        }
        self.kind.matches(&user, host.as_deref())
    }
}

impl InternalKind {
    /// Parses `"4"`, `"3-5"` or a comma list of domains (see
    /// [`InternalPattern::parse`]).
    pub fn parse(s: &str) -> Result<InternalKind, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`{s}` is neither an extension length range like \"3-5\" nor domains like \"example.com, pbx.local\""
            )
        };
        if t.is_empty() {
            return Err(bad());
        }
        if t.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
        {
            let (a, b) = t.split_once('-').unwrap_or((t, t));
            let min: usize = a.trim().parse().map_err(|_| bad())?;
            let max: usize = b.trim().parse().map_err(|_| bad())?;
            if min == 0 || min > max || max > 32 {
                return Err(bad());
            }
            return Ok(InternalKind::ExtensionLength { min, max });
        }
        let list = t.strip_prefix("domain:").unwrap_or(t);
        let domains: Vec<String> = list
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        if domains.is_empty() || domains.iter().any(|d| d.contains(char::is_whitespace)) {
            return Err(bad());
        }
        Ok(InternalKind::Domains(domains))
    }

    fn matches(&self, user: &str, host: Option<&str>) -> bool {
        match self {
            InternalKind::ExtensionLength { min, max } => {
                !user.is_empty()
                    && user.chars().all(|c| c.is_ascii_digit())
                    && (*min..=*max).contains(&user.len())
            }
            InternalKind::Domains(ds) => host.is_some_and(|h| ds.iter().any(|d| d == h)),
        }
    }
}

/// User part and lower-case host of a caller (`"A" <sip:1002@h:5060;x>` → `1002`, `h`).
/// Kept here rather than in `sip::uri` because `config` is a leaf and the
/// internal-caller pattern it serves is config: it also takes a bare number,
/// a `tel:` URI and a name-addr, and never fails.
pub fn user_host(caller: &str) -> (String, Option<String>) {
    let uri = match (caller.find('<'), caller.find('>')) {
        (Some(a), Some(b)) if a < b => &caller[a + 1..b],
        _ => caller,
    }
    .trim();
    let rest = ["sip:", "sips:", "tel:"]
        .iter()
        .find_map(|p| {
            uri.get(..p.len())
                .filter(|s| s.eq_ignore_ascii_case(p))
                .map(|_| &uri[p.len()..])
        })
        .unwrap_or(uri);
    let rest = rest.split([';', '?', '>']).next().unwrap_or("");
    match rest.split_once('@') {
        Some((u, h)) => {
            let host = match h.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(""),
                None => h.split(':').next().unwrap_or(""),
            };
            (u.to_string(), Some(host.to_ascii_lowercase()))
        }
        None => (rest.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse_and_have_their_codes() {
        for (name, _) in BUILTIN_PROFILES {
            builtin_profile(name).unwrap();
        }
        let os = builtin_profile("OpenScape4000").unwrap();
        assert_eq!(os.description.as_deref(), Some("Unify OpenScape 4000"));
        assert!(os.codes.directed_pickup.is_some() && os.codes.dnd_on.is_some());
        let ast = builtin_profile("asterisk").unwrap();
        assert_eq!(
            FeatureCodes::dial(&ast.codes.directed_pickup, Some("1002")).as_deref(),
            Some("**1002")
        );
        assert_eq!(
            FeatureCodes::dial(&ast.codes.forward_always_on, Some("1009")).as_deref(),
            Some("*721009")
        );
        assert_eq!(
            FeatureCodes::dial(&ast.codes.dnd_on, None).as_deref(),
            Some("*78")
        );
        let generic = builtin_profile("generic").unwrap();
        assert_eq!(generic.codes, FeatureCodes::default());
        assert_eq!(FeatureCodes::dial(&generic.codes.group_pickup, None), None);
        assert!(matches!(
            builtin_profile("nope"),
            Err(ProfileError::Unknown(_))
        ));
    }

    /// Every file in `pbx/` is shipped under its file name, and every
    /// shipped profile is a file there.
    #[test]
    fn every_file_in_pbx_is_a_builtin_profile() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pbx");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut shipped: Vec<String> = BUILTIN_PROFILES
            .iter()
            .map(|(name, _)| name.to_string())
            .collect();
        shipped.sort();
        assert_eq!(files, shipped);
        for (name, text) in BUILTIN_PROFILES {
            let on_disk = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
            assert_eq!(on_disk, text, "{name}");
        }
    }

    #[test]
    fn overrides_and_templates() {
        let base = builtin_profile("asterisk").unwrap().codes;
        let over = FeatureCodes {
            voicemail: Some("8500".into()),
            directed_pickup: Some("*8{target}#".into()),
            ..FeatureCodes::default()
        };
        let c = base.overridden_by(&over);
        assert_eq!(c.voicemail.as_deref(), Some("8500"));
        assert_eq!(c.dnd_on.as_deref(), Some("*78"));
        assert_eq!(
            FeatureCodes::dial(&c.directed_pickup, Some("1002")).as_deref(),
            Some("*81002#")
        );
        assert_eq!(FeatureCodes::dial(&Some("  ".into()), None), None);
        assert!(parse_profile("dnd_on = 5").is_err());
        assert!(parse_profile("unknown_code = \"*1\"").is_err());
    }

    #[test]
    fn internal_patterns() {
        let ext = InternalPattern::parse("3-5").unwrap();
        assert!(ext.is_internal("sip:1002@test.local"));
        assert!(ext.is_internal("\"Bob\" <sip:123@pbx;user=phone>;tag=x"));
        assert!(ext.is_internal("1002"));
        assert!(!ext.is_internal("sip:004930123456@trunk"));
        assert!(!ext.is_internal("sip:+4930@trunk"));
        assert!(!ext.is_internal("sip:alice@test.local"));
        assert_eq!(
            InternalPattern::parse("4").unwrap().kind,
            InternalKind::ExtensionLength { min: 4, max: 4 }
        );
        let dom = InternalPattern::parse("domain:Test.Local, pbx.example").unwrap();
        assert!(dom.is_internal("sip:alice@test.local:5060"));
        assert!(dom.is_internal("<SIP:9@PBX.example>"));
        assert!(!dom.is_internal("sip:1002@elsewhere.net"));
        assert!(!dom.is_internal("1002"));
        for bad in ["", "5-3", "0", "99-100", "a b, c", "-"] {
            assert!(InternalPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(InternalPattern::default().is_internal("sip:1002@x"));
    }

    #[test]
    fn numbering_plans_as_pbx_admins_write_them() {
        // OpenScape-style: extensions 100-399 and 2000-2999, the trunk
        // delivers outside callers with the outside-line 0 in front.
        let office = InternalPattern {
            numbers: vec![
                NumberRange::parse("100-399").unwrap(),
                NumberRange::parse("2000 - 2999").unwrap(),
            ],
            external_prefixes: vec!["0".into(), "+".into()],
            ..InternalPattern::default()
        };
        for (caller, internal) in [
            ("sip:100@pbx", true),
            ("sip:399@pbx", true),
            ("sip:400@pbx", false),
            ("sip:2500@pbx", true),
            ("sip:0250@pbx", false),
            ("sip:089123456@pbx", false),
            ("sip:+4989123456@pbx", false),
            ("sip:25@pbx", false),
            ("sip:alice@pbx", false),
            ("\"Front desk\" <sip:2000@pbx;user=phone>", true),
        ] {
            assert_eq!(office.is_internal(caller), internal, "{caller}");
        }
        // Lengths, with the national/international prefixes external: a
        // 4-digit "0301" from the trunk is not a colleague.
        let lengths = InternalPattern {
            external_prefixes: vec!["0".into()],
            ..InternalPattern::parse("3-5").unwrap()
        };
        assert!(lengths.is_internal("sip:1002@x"));
        assert!(!lengths.is_internal("sip:0301@x"));
        for bad in ["", "3-", "399-100", "10-200", "1a-2b", "-5"] {
            assert!(NumberRange::parse(bad).is_err(), "{bad}");
        }
        assert!(NumberRange::parse("500").unwrap().contains("500"));
    }

    #[test]
    fn user_host_parts() {
        assert_eq!(
            user_host("sip:1002@Test.Local:5060;transport=tcp"),
            ("1002".into(), Some("test.local".into()))
        );
        assert_eq!(user_host("1002"), ("1002".into(), None));
        assert_eq!(user_host("tel:+4930123"), ("+4930123".into(), None));
        assert_eq!(
            user_host("sip:a@[::1]:5060"),
            ("a".into(), Some("::1".into()))
        );
        assert_eq!(user_host(""), (String::new(), None));
        assert_eq!(user_host("<é"), ("<é".into(), None));
    }
}
