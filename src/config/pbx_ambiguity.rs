//! Prefix ambiguities between the feature codes of one PBX profile, pure:
//! a PBX that matches the dialled digits one by one acts on the first code
//! that is complete, so a code that is a prefix of another (group pickup
//! `*8` beside `*80`), or a code that takes a number where the number's
//! first digits could spell another code (`*8{target}` beside `*8`, or
//! `*1{target}` beside `*12{target}`), makes one of them unreachable or
//! wrong. Used by the profile tests; it must not change any code.

use super::pbx::FeatureCodes;

/// One code as the PBX sees it: its fixed digits, and whether a number
/// follows them.
fn shape(code: &str) -> (&str, bool) {
    match code.find("{target}") {
        Some(i) => (&code[..i], true),
        None => (code, false),
    }
}

/// Whether dialling `a` can be mistaken for the start of `b` (or be the same).
fn shadows(a: &str, b: &str) -> bool {
    let ((fa, open_a), (fb, _)) = (shape(a), shape(b));
    let Some(rest) = fb.strip_prefix(fa) else {
        return false;
    };
    if !open_a {
        // A complete code that starts another one (or equals it).
        return true;
    }
    // A number follows `a`: its digits can spell the rest of `b`, unless
    // that rest starts with a key no number has (`*`, `#`).
    rest.chars().next().is_none_or(|c| c.is_ascii_digit())
}

/// Every pair of keys whose codes are ambiguous, as `"key_a `code` / key_b
/// `code`"`; empty when the profile is free of them.
pub fn prefix_ambiguities(codes: &FeatureCodes) -> Vec<String> {
    let set: Vec<(&str, &str)> = codes
        .named()
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| (k, c))
        })
        .collect();
    let mut found = Vec::new();
    for (i, (ka, a)) in set.iter().enumerate() {
        for (kb, b) in set.iter().skip(i + 1) {
            if shadows(a, b) || shadows(b, a) {
                found.push(format!("{ka} `{a}` / {kb} `{b}`"));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::pbx::{builtin_profile, BUILTIN_PROFILES};

    #[test]
    fn pairs() {
        // (a, b, ambiguous)
        let table = [
            ("*8", "*8{target}", true),
            ("*8", "*80", true),
            ("*8", "*8", true),
            ("*1{target}", "*12{target}", true),
            ("*1{target}", "*12", true),
            ("*8{target}", "*8#", false),
            ("**{target}", "*8", false),
            ("*72{target}", "*73", false),
            ("*11{target}", "#11", false),
            ("*97", "*98", false),
        ];
        for (a, b, want) in table {
            let codes = FeatureCodes {
                directed_pickup: Some(a.into()),
                group_pickup: Some(b.into()),
                ..FeatureCodes::default()
            };
            assert_eq!(!prefix_ambiguities(&codes).is_empty(), want, "{a} / {b}");
        }
    }

    #[test]
    fn every_builtin_profile_is_free_of_prefix_ambiguities() {
        for (name, _) in BUILTIN_PROFILES {
            let p = builtin_profile(name).unwrap();
            let found = prefix_ambiguities(&p.codes);
            assert!(found.is_empty(), "profile {name}: {found:?}");
        }
    }

    #[test]
    fn every_example_config_is_free_of_prefix_ambiguities() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                // The `[pbx]` section only: its profile, then its own codes
                // (loading the whole config would run password commands).
                let text = std::fs::read_to_string(&path).unwrap();
                let doc: toml::Table = toml::from_str(&text).unwrap();
                let pbx = doc.get("pbx").and_then(|v| v.as_table());
                let profile = pbx
                    .and_then(|t| t.get("profile"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("generic");
                let keys: Vec<&str> = FeatureCodes::default()
                    .named()
                    .iter()
                    .map(|(k, _)| *k)
                    .collect();
                let own: toml::Table = pbx
                    .map(|t| {
                        t.iter()
                            .filter(|(k, _)| keys.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let own: FeatureCodes = own.try_into().unwrap();
                let codes = builtin_profile(profile)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .codes
                    .overridden_by(&own);
                let found = prefix_ambiguities(&codes);
                assert!(found.is_empty(), "{}: {found:?}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 4, "only {checked} examples in {}", dir.display());
    }
}
