//! The keymap file format: per mode a table with one line per binding,
//! `keymap = [ { on = "a", run = "answer", desc = "answer" }, ... ]`, `on` a
//! key or a list of keys; a top-level `unbound` list. Also reads the form
//! before it, `[[normal]]` tables of `on` / `run` / `desc`, so a user's old
//! `keymap.toml` keeps working. Turns a file's text into checked bindings
//! or a [`KeymapError`] naming file, line and key; merging is the parent's.

use super::{Binding, KeyMode, KeymapError};
use crate::ui::action::Action;
use crate::ui::key::Key;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// A parsed file: bindings per mode (in [`KeyMode::ALL`] order, file order
/// within) and the `unbound` list.
pub(super) struct Parsed {
    pub modes: [Vec<Binding>; KeyMode::ALL.len()],
    pub unbound: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeymap {
    #[serde(default)]
    unbound: Vec<String>,
    #[serde(default)]
    normal: RawSection,
    #[serde(default)]
    blf: RawSection,
    #[serde(default)]
    prompt: RawSection,
    #[serde(default)]
    detail: RawSection,
    #[serde(default)]
    confirm: RawSection,
}

/// One mode's bindings: `[mode] keymap = [...]`, or the older `[[mode]]`
/// array of tables.
#[derive(Default)]
struct RawSection(Vec<RawBinding>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: Spanned<OnKeys>,
    run: Spanned<String>,
    #[serde(default)]
    desc: Option<String>,
}

/// `on = "a"` or `on = ["<Esc>", "<F1>"]`.
struct OnKeys(Vec<String>);

impl<'de> Deserialize<'de> for RawSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SectionVisitor;
        impl<'de> Visitor<'de> for SectionVisitor {
            type Value = RawSection;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table with `keymap = [ { on = \"a\", run = \"answer\", desc = \"answer\" }, ... ]`")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSection, A::Error> {
                let mut bindings = Vec::new();
                while let Some(field) = map.next_key::<String>()? {
                    if field != "keymap" {
                        return Err(de::Error::unknown_field(&field, &["keymap"]));
                    }
                    bindings = map.next_value()?;
                }
                Ok(RawSection(bindings))
            }

            /// The older form: `[[normal]]` tables, one per binding.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSection, A::Error> {
                let mut bindings = Vec::new();
                while let Some(b) = seq.next_element()? {
                    bindings.push(b);
                }
                Ok(RawSection(bindings))
            }
        }
        d.deserialize_any(SectionVisitor)
    }
}

impl<'de> Deserialize<'de> for OnKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OnVisitor;
        impl<'de> Visitor<'de> for OnVisitor {
            type Value = OnKeys;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key (\"a\", \"<C-c>\") or a list of keys ([\"<Esc>\", \"<F1>\"])")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<OnKeys, E> {
                Ok(OnKeys(vec![s.to_string()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OnKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = seq.next_element::<String>()? {
                    keys.push(k);
                }
                if keys.is_empty() {
                    return Err(de::Error::custom("`on` is an empty list"));
                }
                Ok(OnKeys(keys))
            }
        }
        d.deserialize_any(OnVisitor)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// Parses a keymap file's text.
pub(super) fn parse(text: &str, file: &Path) -> Result<Parsed, KeymapError> {
    let raw: RawKeymap = toml::from_str(text).map_err(|e| KeymapError {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        key: None,
        mode: None,
        message: e.message().trim().to_string(),
    })?;
    let sections = [raw.normal, raw.blf, raw.prompt, raw.detail, raw.confirm];
    let mut modes: [Vec<Binding>; KeyMode::ALL.len()] = Default::default();
    for ((mode, section), out) in KeyMode::ALL.into_iter().zip(sections).zip(&mut modes) {
        for b in section.0 {
            let at = |span: std::ops::Range<usize>, key: String, message: String| KeymapError {
                file: file.to_path_buf(),
                line: line_of(text, span.start),
                key: Some(key),
                mode: Some(mode),
                message,
            };
            let on = b.on.get_ref().0.join(" ");
            let keys =
                b.on.get_ref()
                    .0
                    .iter()
                    .map(|name| Key::parse(name).map_err(|m| at(b.on.span(), name.clone(), m)))
                    .collect::<Result<Vec<_>, _>>()?;
            let action =
                Action::parse(b.run.get_ref()).map_err(|m| at(b.run.span(), on.clone(), m))?;
            mode.check(&action).map_err(|m| {
                at(
                    b.run.span(),
                    on.clone(),
                    format!("`{}` {m}", b.run.get_ref()),
                )
            })?;
            let run = b
                .run
                .get_ref()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let desc = b.desc.unwrap_or_else(|| b.run.get_ref().clone());
            out.extend(keys.into_iter().map(|key| Binding {
                key,
                run: run.clone(),
                action: action.clone(),
                desc: desc.clone(),
            }));
        }
    }
    Ok(Parsed {
        modes,
        unbound: raw.unbound,
    })
}
