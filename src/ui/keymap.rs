//! Keymaps: the embedded `keymaps/default.toml` overlaid key by key, mode by
//! mode, by the user's `keymap.toml` (helix `merge_keys`, yazi bindings
//! `{ on, run, desc }`). One section per mode the interface has
//! ([`KeyMode`]); which actions a mode may bind is checked here. A bad user
//! file is reported with its file, line and key, and the defaults stay in
//! force. The file format itself is [`file`]'s; what the keys do is the
//! app's (`ui::app::keys`).

mod file;
#[cfg(test)]
mod tests;

use super::action::Action;
use super::key::Key;
use std::fmt;
use std::path::{Path, PathBuf};

/// The keymap shipped in the binary.
pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.toml");

/// The modes with their own keys, one section of the keymap file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyMode {
    /// The views: calls, history, SIP log.
    Normal,
    /// The BLF panel has the selection; keys not bound here work as in
    /// [`KeyMode::Normal`].
    Blf,
    /// The dial prompt and the `:` line; unbound characters are typed.
    Prompt,
    /// One SIP message's full text; unbound keys close it.
    Detail,
    /// `quit` with calls up; unbound keys answer no.
    Confirm,
}

impl KeyMode {
    pub const ALL: [KeyMode; 5] = [
        KeyMode::Normal,
        KeyMode::Blf,
        KeyMode::Prompt,
        KeyMode::Detail,
        KeyMode::Confirm,
    ];

    /// The section name in the keymap file.
    pub fn name(self) -> &'static str {
        match self {
            KeyMode::Normal => "normal",
            KeyMode::Blf => "blf",
            KeyMode::Prompt => "prompt",
            KeyMode::Detail => "detail",
            KeyMode::Confirm => "confirm",
        }
    }

    /// The mode as the help names it.
    pub fn title(self) -> &'static str {
        match self {
            KeyMode::Normal => "normal",
            KeyMode::Blf => "BLF panel",
            KeyMode::Prompt => "input line",
            KeyMode::Detail => "SIP message",
            KeyMode::Confirm => "quit question",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether `action` means something in this mode.
    pub fn allows(self, action: &Action) -> bool {
        match (self, action) {
            (_, Action::Nothing) => true,
            (KeyMode::Prompt, a) => matches!(a, Action::Line(_)),
            (KeyMode::Detail, a) => matches!(a, Action::Scroll(_) | Action::Close),
            (KeyMode::Confirm, a) => {
                matches!(a, Action::Confirm(_)) || a.command_name() == Some("detach")
            }
            (KeyMode::Normal | KeyMode::Blf, a) => !matches!(
                a,
                Action::Line(_) | Action::Scroll(_) | Action::Close | Action::Confirm(_)
            ),
        }
    }

    /// [`KeyMode::allows`], else where the action belongs and what this
    /// mode binds.
    pub fn check(self, action: &Action) -> Result<(), String> {
        if self.allows(action) {
            return Ok(());
        }
        let home = KeyMode::ALL
            .into_iter()
            .find(|m| m.allows(action))
            .map_or_else(String::new, |m| format!("belongs in [{}]; ", m.name()));
        Err(format!(
            "{home}[{}] binds {}",
            self.name(),
            match self {
                KeyMode::Normal | KeyMode::Blf => "commands and interface actions",
                KeyMode::Prompt =>
                    "`prompt submit|cancel|complete|history_prev|history_next|delete_back|clear`",
                KeyMode::Detail => "`scroll <rows>` and `close`",
                KeyMode::Confirm => "`confirm yes`, `confirm no` and `detach`",
            }
        ))
    }
}

impl fmt::Display for KeyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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
pub struct KeymapError {
    pub file: PathBuf,
    pub line: usize,
    /// The offending key (`on` value), when the error is about one binding.
    pub key: Option<String>,
    /// The section of that binding.
    pub mode: Option<KeyMode>,
    pub message: String,
}

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`")?;
            if let Some(mode) = self.mode {
                write!(f, " in [{mode}]")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// The live keymap: bindings per mode and the commands left unbound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    modes: [Vec<Binding>; KeyMode::ALL.len()],
    unbound: Vec<String>,
}

impl Keymap {
    fn empty() -> Keymap {
        Keymap {
            modes: Default::default(),
            unbound: Vec::new(),
        }
    }

    /// The embedded default keymap.
    pub fn defaults() -> Keymap {
        let mut k = Keymap::empty();
        // The shipped file is checked by tests; an error is never reached in
        // a build that passed them.
        let _ = k.overlay_text(DEFAULT_KEYMAP, Path::new("keymaps/default.toml"));
        k
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
                    mode: None,
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

    /// Overlays a file's text key by key in each mode; on error nothing
    /// changes.
    pub fn overlay_text(&mut self, text: &str, file: &Path) -> Result<(), KeymapError> {
        let parsed = file::parse(text, file)?;
        for (mine, theirs) in self.modes.iter_mut().zip(parsed.modes) {
            overlay(mine, theirs);
        }
        for u in parsed.unbound {
            if !self.unbound.contains(&u) {
                self.unbound.push(u);
            }
        }
        Ok(())
    }

    /// What `key` does in `mode` (only that mode's own section).
    pub fn lookup(&self, mode: KeyMode, key: &Key) -> Option<&Action> {
        self.bindings(mode)
            .iter()
            .find(|b| &b.key == key)
            .map(|b| &b.action)
    }

    /// A mode's bindings, in help order.
    pub fn bindings(&self, mode: KeyMode) -> &[Binding] {
        &self.modes[mode.index()]
    }

    /// Commands the keymap leaves to the `:` line on purpose.
    pub fn unbound(&self) -> &[String] {
        &self.unbound
    }

    /// The first key bound in `mode` to exactly this `run` text, for hints.
    pub fn key_for(&self, mode: KeyMode, run: &str) -> Option<Key> {
        self.bindings(mode)
            .iter()
            .find(|b| b.run == run)
            .map(|b| b.key)
    }
}

/// Replaces, adds or (`nothing`) removes `bindings` key by key.
fn overlay(mode: &mut Vec<Binding>, bindings: Vec<Binding>) {
    for b in bindings {
        let existing = mode.iter().position(|x| x.key == b.key);
        match (existing, &b.action) {
            (Some(i), Action::Nothing) => {
                mode.remove(i);
            }
            (None, Action::Nothing) => {}
            (Some(i), _) => mode[i] = b,
            (None, _) => mode.push(b),
        }
    }
}
