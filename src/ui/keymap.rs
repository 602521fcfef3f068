//! Keymaps: the embedded `keymaps/default.toml` overlaid key by key by the
//! user's `keymap.toml` (helix `merge_keys`, yazi bindings `{on, run, desc}`).
//! A bad user file is reported with its file, line and key, and the defaults
//! stay in force.

use super::action::Action;
use super::key::Key;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The keymap shipped in the binary.
pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.toml");

/// One bound key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub key: Key,
    /// The `run` text as written (shown in help).
    pub run: String,
    pub action: Action,
    pub desc: String,
}

/// A keymap file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {}{message}", file.display(), key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
pub struct KeymapError {
    pub file: PathBuf,
    pub line: usize,
    /// The offending key (`on` value), when the error is about one binding.
    pub key: Option<String>,
    pub message: String,
}

/// The live keymap of the normal mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
    unbound: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeymap {
    #[serde(default)]
    unbound: Vec<String>,
    #[serde(default)]
    normal: Vec<RawBinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    on: Spanned<String>,
    run: Spanned<String>,
    #[serde(default)]
    desc: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// Parses a keymap file's text into bindings (in file order) and the unbound list.
fn parse(text: &str, file: &Path) -> Result<(Vec<Binding>, Vec<String>), KeymapError> {
    let raw: RawKeymap = toml::from_str(text).map_err(|e| KeymapError {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        key: None,
        message: e.message().trim().to_string(),
    })?;
    let mut bindings = Vec::new();
    for b in raw.normal {
        let at = |span: std::ops::Range<usize>, message: String| KeymapError {
            file: file.to_path_buf(),
            line: line_of(text, span.start),
            key: Some(b.on.get_ref().clone()),
            message,
        };
        let key = Key::parse(b.on.get_ref()).map_err(|m| at(b.on.span(), m))?;
        let action = Action::parse(b.run.get_ref()).map_err(|m| at(b.run.span(), m))?;
        bindings.push(Binding {
            key,
            run: b
                .run
                .get_ref()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            action,
            desc: b.desc.unwrap_or_else(|| b.run.get_ref().clone()),
        });
    }
    Ok((bindings, raw.unbound))
}

impl Keymap {
    /// The embedded default keymap.
    pub fn defaults() -> Keymap {
        match parse(DEFAULT_KEYMAP, Path::new("keymaps/default.toml")) {
            Ok((bindings, unbound)) => {
                let mut k = Keymap {
                    bindings: Vec::new(),
                    unbound,
                };
                k.overlay(bindings);
                k
            }
            // The shipped file is checked by tests; never reached in a build that passed them.
            Err(_) => Keymap {
                bindings: Vec::new(),
                unbound: Vec::new(),
            },
        }
    }

    /// Defaults overlaid by the user's file, if it exists. A bad file leaves
    /// the defaults in force and is returned as the error to show.
    pub fn load(user: Option<&Path>) -> (Keymap, Option<KeymapError>) {
        let mut keymap = Keymap::defaults();
        let Some(path) = user.filter(|p| p.exists()) else {
            return (keymap, None);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let err = KeymapError {
                    file: path.to_path_buf(),
                    line: 1,
                    key: None,
                    message: e.to_string(),
                };
                return (keymap, Some(err));
            }
        };
        match keymap.overlay_text(&text, path) {
            Ok(()) => (keymap, None),
            Err(e) => (keymap, Some(e)),
        }
    }

    /// Overlays a user file's text key by key; on error nothing changes.
    pub fn overlay_text(&mut self, text: &str, file: &Path) -> Result<(), KeymapError> {
        let (bindings, unbound) = parse(text, file)?;
        self.overlay(bindings);
        for u in unbound {
            if !self.unbound.contains(&u) {
                self.unbound.push(u);
            }
        }
        Ok(())
    }

    fn overlay(&mut self, bindings: Vec<Binding>) {
        for b in bindings {
            let existing = self.bindings.iter().position(|x| x.key == b.key);
            match (existing, &b.action) {
                (Some(i), Action::Nothing) => {
                    self.bindings.remove(i);
                }
                (None, Action::Nothing) => {}
                (Some(i), _) => self.bindings[i] = b,
                (None, _) => self.bindings.push(b),
            }
        }
    }

    /// What `key` does in normal mode.
    pub fn lookup(&self, key: &Key) -> Option<&Action> {
        self.bindings
            .iter()
            .find(|b| &b.key == key)
            .map(|b| &b.action)
    }

    /// All bindings, in help order.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Commands the keymap leaves to the `:` line on purpose.
    pub fn unbound(&self) -> &[String] {
        &self.unbound
    }

    /// The first key bound to exactly this `run` text, for hints.
    pub fn key_for(&self, run: &str) -> Option<Key> {
        self.bindings.iter().find(|b| b.run == run).map(|b| b.key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::command::SPECS;

    #[test]
    fn defaults_load_and_every_run_parses() {
        let (bindings, _) = parse(DEFAULT_KEYMAP, Path::new("keymaps/default.toml")).unwrap();
        assert!(bindings.len() > 20);
        let k = Keymap::defaults();
        assert_eq!(
            k.lookup(&Key::char('a')),
            Some(&Action::Run("answer".into()))
        );
        assert_eq!(k.lookup(&Key::char('?')), Some(&Action::Help));
        for b in k.bindings() {
            assert_eq!(Action::parse(&b.run).unwrap(), b.action);
        }
    }

    #[test]
    fn every_command_is_bound_or_deliberately_unbound() {
        let k = Keymap::defaults();
        for name in SPECS.iter().map(|s| s.name) {
            let bound = k
                .bindings()
                .iter()
                .any(|b| b.action.command_name() == Some(name));
            let unbound = k.unbound().iter().any(|u| u == name);
            assert!(
                bound || unbound,
                "command `{name}` is neither bound nor listed in `unbound`"
            );
            assert!(
                !(bound && unbound),
                "command `{name}` is bound and listed in `unbound`"
            );
        }
        for u in k.unbound() {
            assert!(
                SPECS.iter().any(|s| s.name == u),
                "unbound `{u}` is no command"
            );
        }
    }

    #[test]
    fn no_key_is_bound_twice_in_the_defaults() {
        let (bindings, _) = parse(DEFAULT_KEYMAP, Path::new("d")).unwrap();
        for (i, b) in bindings.iter().enumerate() {
            assert!(
                bindings[..i].iter().all(|x| x.key != b.key),
                "{} bound twice",
                b.key
            );
        }
    }

    #[test]
    fn user_file_overrides_single_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keymap.toml");
        std::fs::write(
            &path,
            "[[normal]]\non = \"a\"\nrun = \"hangup\"\ndesc = \"mine\"\n\n[[normal]]\non = \"<C-d>\"\nrun = \"dial 1002\"\n\n[[normal]]\non = \"x\"\nrun = \"nothing\"\n",
        )
        .unwrap();
        let (k, err) = Keymap::load(Some(&path));
        assert_eq!(err, None);
        assert_eq!(
            k.lookup(&Key::char('a')),
            Some(&Action::Run("hangup".into()))
        );
        assert_eq!(
            k.lookup(&Key::parse("<C-d>").unwrap()),
            Some(&Action::Run("dial 1002".into()))
        );
        assert_eq!(k.lookup(&Key::char('x')), None);
        // untouched keys keep their defaults
        assert_eq!(k.lookup(&Key::char('h')), Some(&Action::HoldToggle));
    }

    #[test]
    fn bad_files_name_file_line_and_key_and_keep_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keymap.toml");
        let cases = [
            (
                "[[normal]]\non = \"a\"\nrun = \"hangup\"\n\n[[normal]]\non = \"z\"\nrun = \"frobnicate\"\n",
                7,
                Some("z"),
                "`frobnicate`",
            ),
            (
                "[[normal]]\non = \"<Hyper-q>\"\nrun = \"hangup\"\n",
                2,
                Some("<Hyper-q>"),
                "not a key",
            ),
            ("[[normal]]\non = \"a\"\nrun = \"reject code=42\"\n", 3, Some("a"), "reject code"),
            ("[[normal]]\non = \"a\"\nrun = \"hangup\"\ncolour = 1\n", 4, None, "colour"),
            ("[[normal]\n", 1, None, ""),
        ];
        for (text, line, key, needle) in cases {
            std::fs::write(&path, text).unwrap();
            let (k, err) = Keymap::load(Some(&path));
            let err = err.unwrap_or_else(|| panic!("no error for {text}"));
            assert_eq!(err.file, path);
            assert_eq!(err.line, line, "{err}");
            assert_eq!(err.key.as_deref(), key, "{err}");
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("{}:{line}: ", path.display())),
                "{shown}"
            );
            assert!(shown.contains(needle), "{shown}");
            assert_eq!(k, Keymap::defaults(), "defaults stay in force");
        }
    }

    #[test]
    fn missing_user_file_is_fine() {
        let (k, err) = Keymap::load(Some(Path::new("/nonexistent/keymap.toml")));
        assert_eq!(err, None);
        assert_eq!(k, Keymap::defaults());
    }
}
