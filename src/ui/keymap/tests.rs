//! The shipped keymap and the merge of user files: every command bound or
//! deliberately unbound, per-mode overrides, the older `[[normal]]` form,
//! errors naming file, line and key.

use super::file::parse;
use super::*;
use crate::command::SPECS;
use crate::ui::action::LineEdit;

fn load(text: &str) -> (Keymap, Option<KeymapError>, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keymap.toml");
    std::fs::write(&path, text).unwrap();
    let (k, err) = Keymap::load(Some(&path));
    (k, err, dir, path)
}

#[test]
fn defaults_load_and_every_run_parses_in_its_mode() {
    let parsed = parse(DEFAULT_KEYMAP, Path::new("keymaps/default.toml")).unwrap();
    assert!(parsed.modes[KeyMode::Normal.index()].len() > 20);
    let k = Keymap::defaults();
    assert_eq!(
        k.lookup(KeyMode::Normal, &Key::char('a')),
        Some(&Action::Run("answer".into()))
    );
    assert_eq!(
        k.lookup(KeyMode::Normal, &Key::char('?')),
        Some(&Action::Help)
    );
    for mode in KeyMode::ALL {
        assert!(!k.bindings(mode).is_empty(), "[{mode}] is empty");
        for b in k.bindings(mode) {
            let action = Action::parse(&b.run).unwrap();
            assert_eq!(action, b.action);
            assert!(mode.allows(&action), "[{mode}] {}", b.run);
        }
    }
}

#[test]
fn the_hard_wired_keys_of_before_are_the_defaults() {
    let k = Keymap::defaults();
    let key = |s: &str| Key::parse(s).unwrap();
    let prompt = [
        ("<Enter>", LineEdit::Submit),
        ("<Esc>", LineEdit::Cancel),
        ("<C-c>", LineEdit::Cancel),
        ("<Tab>", LineEdit::Complete),
        ("<Up>", LineEdit::HistoryPrev),
        ("<Down>", LineEdit::HistoryNext),
        ("<Backspace>", LineEdit::DeleteBack),
        ("<C-u>", LineEdit::Clear),
    ];
    for (name, edit) in prompt {
        assert_eq!(
            k.lookup(KeyMode::Prompt, &key(name)),
            Some(&Action::Line(edit)),
            "{name}"
        );
    }
    let detail = [
        ("j", 1),
        ("<Down>", 1),
        ("k", -1),
        ("<Up>", -1),
        ("<Space>", 10),
        ("<PageDown>", 10),
        ("<PageUp>", -10),
    ];
    for (name, rows) in detail {
        assert_eq!(
            k.lookup(KeyMode::Detail, &key(name)),
            Some(&Action::Scroll(rows)),
            "{name}"
        );
    }
    for name in ["y", "Y"] {
        assert_eq!(
            k.lookup(KeyMode::Confirm, &key(name)),
            Some(&Action::Confirm(true))
        );
    }
    for (name, action) in [
        ("j", Action::Select(1)),
        ("k", Action::Select(-1)),
        ("<Enter>", Action::Open),
        ("b", Action::FocusBlf),
    ] {
        assert_eq!(k.lookup(KeyMode::Blf, &key(name)), Some(&action), "{name}");
    }
}

#[test]
fn every_command_is_bound_or_deliberately_unbound() {
    let k = Keymap::defaults();
    let bound = |name: &str| {
        [KeyMode::Normal, KeyMode::Blf].iter().any(|m| {
            k.bindings(*m)
                .iter()
                .any(|b| b.action.command_name() == Some(name))
        })
    };
    for name in SPECS.iter().map(|s| s.name) {
        let unbound = k.unbound().iter().any(|u| u == name);
        assert!(
            bound(name) || unbound,
            "command `{name}` is neither bound nor listed in `unbound`"
        );
        assert!(
            !(bound(name) && unbound),
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
fn no_key_is_bound_twice_in_a_mode_of_the_defaults() {
    let parsed = parse(DEFAULT_KEYMAP, Path::new("d")).unwrap();
    for (mode, bindings) in KeyMode::ALL.iter().zip(&parsed.modes) {
        for (i, b) in bindings.iter().enumerate() {
            assert!(
                bindings[..i].iter().all(|x| x.key != b.key),
                "{} bound twice in [{mode}]",
                b.key
            );
        }
    }
}

#[test]
fn user_file_overrides_single_keys_per_mode() {
    let (k, err, _dir, _) = load(
        r#"
[normal]
keymap = [
    { on = "a", run = "hangup", desc = "mine" },
    { on = ["<C-d>", "<F5>"], run = "dial 1002" },
    { on = "x", run = "nothing" },
]

[prompt]
keymap = [
    { on = "<C-w>", run = "prompt clear", desc = "clear" },
    { on = "<C-u>", run = "nothing" },
]

[detail]
keymap = [ { on = "q", run = "close" } ]
"#,
    );
    assert_eq!(err, None);
    let key = |s: &str| Key::parse(s).unwrap();
    assert_eq!(
        k.lookup(KeyMode::Normal, &key("a")),
        Some(&Action::Run("hangup".into()))
    );
    for name in ["<C-d>", "<F5>"] {
        assert_eq!(
            k.lookup(KeyMode::Normal, &key(name)),
            Some(&Action::Run("dial 1002".into()))
        );
    }
    assert_eq!(k.lookup(KeyMode::Normal, &key("x")), None);
    assert_eq!(
        k.lookup(KeyMode::Prompt, &key("<C-w>")),
        Some(&Action::Line(LineEdit::Clear))
    );
    assert_eq!(k.lookup(KeyMode::Prompt, &key("<C-u>")), None);
    assert_eq!(k.lookup(KeyMode::Detail, &key("q")), Some(&Action::Close));
    // untouched keys and modes keep their defaults
    assert_eq!(
        k.lookup(KeyMode::Normal, &key("h")),
        Some(&Action::HoldToggle)
    );
    assert_eq!(
        k.lookup(KeyMode::Prompt, &key("<Enter>")),
        Some(&Action::Line(LineEdit::Submit))
    );
    assert_eq!(
        k.bindings(KeyMode::Blf),
        Keymap::defaults().bindings(KeyMode::Blf)
    );
    assert_eq!(
        k.bindings(KeyMode::Confirm),
        Keymap::defaults().bindings(KeyMode::Confirm)
    );
}

#[test]
fn the_older_array_of_tables_form_still_works() {
    let (k, err, _dir, _) = load(
        "[[normal]]\non = \"a\"\nrun = \"hangup\"\ndesc = \"mine\"\n\n[[normal]]\non = \"<C-d>\"\nrun = \"dial 1002\"\n\n[[normal]]\non = \"x\"\nrun = \"nothing\"\n",
    );
    assert_eq!(err, None);
    assert_eq!(
        k.lookup(KeyMode::Normal, &Key::char('a')),
        Some(&Action::Run("hangup".into()))
    );
    assert_eq!(
        k.lookup(KeyMode::Normal, &Key::parse("<C-d>").unwrap()),
        Some(&Action::Run("dial 1002".into()))
    );
    assert_eq!(k.lookup(KeyMode::Normal, &Key::char('x')), None);
    assert_eq!(
        k.lookup(KeyMode::Normal, &Key::char('h')),
        Some(&Action::HoldToggle)
    );
    // a bad entry in the old form is still found by line and key
    let (_, err, _dir, _) = load("[[normal]]\non = \"a\"\nrun = \"hangup\"\n\n[[normal]]\non = \"z\"\nrun = \"frobnicate\"\n");
    let err = err.unwrap();
    assert_eq!((err.line, err.key.as_deref()), (7, Some("z")), "{err}");
}

#[test]
fn bad_files_name_file_line_and_key_and_keep_defaults() {
    let cases = [
        (
            "[normal]\nkeymap = [\n  { on = \"a\", run = \"hangup\" },\n  { on = \"z\", run = \"frobnicate\" },\n]\n",
            4,
            Some("z"),
            "`frobnicate`",
        ),
        (
            "[normal]\nkeymap = [ { on = \"<Hyper-q>\", run = \"hangup\" } ]\n",
            2,
            Some("<Hyper-q>"),
            "not a key",
        ),
        (
            "[blf]\nkeymap = [\n  { on = [\"a\", \"<Nope>\"], run = \"hangup\" },\n]\n",
            3,
            Some("<Nope>"),
            "not a key name",
        ),
        (
            "[normal]\nkeymap = [ { on = \"a\", run = \"reject code=42\" } ]\n",
            2,
            Some("a"),
            "reject code",
        ),
        (
            "[normal]\nkeymap = [ { on = \"a\", run = \"prompt submit\" } ]\n",
            2,
            Some("a"),
            "belongs in [prompt]",
        ),
        (
            "[prompt]\nkeymap = [\n\n  { on = [\"<C-a>\", \"<C-b>\"], run = \"hangup\" } ]\n",
            4,
            Some("<C-a> <C-b>"),
            "in [prompt]: `hangup` belongs in [normal]",
        ),
        (
            "[detail]\nkeymap = [ { on = \"J\", run = \"scroll lots\" } ]\n",
            2,
            Some("J"),
            "scroll takes a number",
        ),
        (
            "[normal]\nkeymap = [ { on = \"a\", run = \"hangup\", colour = 1 } ]\n",
            2,
            None,
            "colour",
        ),
        // the section's header line
        ("\n[normal]\nkeys = []\n", 2, None, "expected `keymap`"),
        ("[visual]\nkeymap = []\n", 1, None, "visual"),
        ("[normal]\nkeymap = [ { on = [], run = \"hangup\" } ]\n", 2, None, "empty"),
        ("[[normal]\n", 1, None, ""),
    ];
    for (text, line, key, needle) in cases {
        let (k, err, _dir, path) = load(text);
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

#[test]
fn the_readme_example_loads() {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("```toml\n[normal]")
        .expect("README has a keymap example")
        + "```toml\n".len();
    let len = readme[start..].find("```").unwrap();
    let mut k = Keymap::defaults();
    k.overlay_text(&readme[start..start + len], Path::new("README.md"))
        .unwrap();
    assert_eq!(
        k.lookup(KeyMode::Normal, &Key::parse("<C-a>").unwrap()),
        Some(&Action::Run("answer".into()))
    );
    assert_eq!(
        k.lookup(KeyMode::Prompt, &Key::parse("<C-w>").unwrap()),
        Some(&Action::Line(LineEdit::Clear))
    );
}
