//! The layering the docs describe (README "Design notes", the map in
//! `src/lib.rs`), checked on the code: every `src/**/*.rs` file of the
//! library is read, the references that leave its top module are collected
//! (`use crate::…` trees, `crate::x::…` paths in code, `pub use`
//! re-exports, `super::…` paths that climb out of the top module) and each
//! must be an edge of [`LAYERS`]. Comments, doc comments and literals do not
//! count. A failure names the file, the line and the rule broken.
//!
//! Changing the layering means changing [`LAYERS`] and those docs together.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Each top module of the crate, what it may use besides itself, and the
/// rule that says so.
const LAYERS: &[(&str, &[&str], &str)] = &[
    (
        "ui",
        &["phone", "command", "config", "timer"],
        "`ui` goes through `phone` (and the leaves `command`, `config`, `timer`): \
         it never names `sip`, `media`, `store` or `control`",
    ),
    (
        "control",
        &["phone", "command", "config", "timer"],
        "`control` goes through `phone` (and the leaves `command`, `config`, `timer`): \
         it never names `sip`, `media`, `store` or `ui`",
    ),
    (
        "phone",
        &["sip", "media", "store", "rtp_types", "command", "config", "timer"],
        "`phone` sits on `sip`, `media`, `store` and the leaves; it never uses `ui` or `control`",
    ),
    (
        "sip",
        &["rtp_types", "config", "timer"],
        "`sip` knows no media, calls or interface: it uses only `rtp_types`, `config`, `timer`",
    ),
    (
        "media",
        &["rtp_types", "config", "timer"],
        "`media` knows no SIP, calls or interface: it uses only `rtp_types`, `config`, `timer`",
    ),
    (
        "store",
        &["config", "timer"],
        "`store` is below `phone`: it uses only `config` and `timer`",
    ),
    (
        "rtp_types",
        &[],
        "`rtp_types` is a leaf (shared by `sip::sdp`, `media`, `phone`): it uses nothing else of the crate",
    ),
    (
        "config",
        &[],
        "`config` is a leaf: it uses nothing else of the crate",
    ),
    (
        "command",
        &[],
        "`command` is a leaf: it uses nothing else of the crate",
    ),
    (
        "timer",
        &[],
        "`timer` is a leaf: it uses nothing else of the crate",
    ),
];

/// One reference from a file to another top module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    line: usize,
    to: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Other(char),
}

/// Identifiers and punctuation with their line, without comments,
/// string, byte-string, raw-string and char literals.
fn tokens(src: &str) -> Vec<(usize, Tok)> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"' || (ch == 'b' && at(i + 1) == '"') {
            i += if ch == 'b' { 2 } else { 1 };
            while i < c.len() && c[i] != '"' {
                line += usize::from(c[i] == '\n');
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if (ch == 'r' && matches!(at(i + 1), '"' | '#'))
            || (ch == 'b' && at(i + 1) == 'r' && matches!(at(i + 2), '"' | '#'))
        {
            // Raw string (r"…", r#"…"#, br"…"), unless it is a raw identifier.
            let mut j = i + if ch == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                // r#ident
                let start = j;
                while at(j).is_alphanumeric() || at(j) == '_' {
                    j += 1;
                }
                out.push((line, Tok::Ident(c[start..j].iter().collect())));
                i = j;
                continue;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                line += usize::from(c[j] == '\n');
                j += 1;
            }
            i = j;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 3; // past the quote, the backslash and the escaped char
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((line, Tok::Ident(c[start..i].iter().collect())));
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((line, Tok::PathSep));
            i += 2;
        } else {
            out.push((
                line,
                match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    other => Tok::Other(other),
                },
            ));
            i += 1;
        }
    }
    out
}

/// The first segment of each path that starts at `toks[i]` (a single
/// segment, or each element of a `{…}` group), with its line.
fn heads(toks: &[(usize, Tok)], i: usize) -> Vec<(usize, String)> {
    match toks.get(i) {
        Some((line, Tok::Ident(name))) => vec![(*line, name.clone())],
        Some((_, Tok::Open)) => {
            let mut found = Vec::new();
            let (mut depth, mut expect, mut j) = (0, true, i);
            while let Some((line, tok)) = toks.get(j) {
                match tok {
                    Tok::Open => {
                        depth += 1;
                        expect = depth == 1;
                    }
                    Tok::Close => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Tok::Comma if depth == 1 => expect = true,
                    Tok::Ident(name) if expect && depth == 1 => {
                        found.push((*line, name.clone()));
                        expect = false;
                    }
                    _ => expect = false,
                }
                j += 1;
            }
            found
        }
        _ => Vec::new(),
    }
}

/// The top modules `src` (the file of module `module`, e.g. `["ui",
/// "view", "ladder"]`) refers to outside its own top module.
fn edges(module: &[String], src: &str) -> Vec<Edge> {
    let toks = tokens(src);
    let mut path: Vec<String> = module.to_vec();
    // Inline `mod name {`: the brace depth at which each one closes.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut found = Vec::new();
    let mut add = |line: usize, to: String, path: &[String]| {
        if path.first() != Some(&to) && to != "self" {
            found.push(Edge { line, to });
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let prev = i.checked_sub(1).map(|p| &toks[p].1);
        match &toks[i].1 {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth -= 1;
                if inline.last() == Some(&depth) {
                    inline.pop();
                    path.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some((_, Tok::Ident(name))), Some((_, Tok::Open))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    path.push(name.clone());
                    inline.push(depth);
                }
            }
            Tok::Ident(kw)
                if kw == "crate"
                    && prev != Some(&Tok::PathSep)
                    && toks.get(i + 1).map(|t| &t.1) == Some(&Tok::PathSep) =>
            {
                for (line, to) in heads(&toks, i + 2) {
                    add(line, to, &path);
                }
            }
            Tok::Ident(kw) if kw == "super" && prev != Some(&Tok::PathSep) => {
                let mut ups = 0;
                let mut j = i;
                while matches!(&toks.get(j).map(|t| &t.1), Some(Tok::Ident(s)) if s == "super")
                    && toks.get(j + 1).map(|t| &t.1) == Some(&Tok::PathSep)
                {
                    ups += 1;
                    j += 2;
                }
                if ups > 0 && ups >= path.len() {
                    for (line, to) in heads(&toks, j) {
                        add(line, to, &path);
                    }
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The module path of a library file: `src/ui/view/ladder.rs` → `ui::view::ladder`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let fail = |e: std::io::Error| -> ! { panic!("{}: {e}", dir.display()) };
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| fail(e))
        .map(|e| e.unwrap_or_else(|e| fail(e)).path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn rule(module: &str) -> Option<(&'static [&'static str], &'static str)> {
    LAYERS
        .iter()
        .find(|(m, _, _)| *m == module)
        .map(|(_, allowed, why)| (*allowed, *why))
}

/// Every edge of the library that the layering forbids, as
/// `file:line: from → to: rule`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut bad = Vec::new();
    for file in files {
        let Ok(rel) = file.strip_prefix(src) else {
            continue;
        };
        // The binary is a crate of its own on top of the library.
        if rel == Path::new("main.rs") || rel.starts_with("bin") {
            continue;
        }
        let module = module_of(rel);
        let Some(top) = module.first() else {
            continue; // lib.rs: the map, only `mod` lines.
        };
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let shown = Path::new("src").join(rel);
        let Some((allowed, why)) = rule(top) else {
            bad.push(format!(
                "{}: top module `{top}` has no row in the LAYERS table",
                shown.display()
            ));
            continue;
        };
        for e in edges(&module, &text) {
            if !allowed.contains(&e.to.as_str()) {
                let reason = if rule(&e.to).is_none() {
                    format!("`{}` is not a module of the LAYERS table", e.to)
                } else {
                    why.to_string()
                };
                bad.push(format!(
                    "{}:{}: {top} → {}: {reason}",
                    shown.display(),
                    e.line,
                    e.to
                ));
            }
        }
    }
    bad
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_code_keeps_the_documented_layers() {
    let bad = violations(&src_dir());
    assert!(
        bad.is_empty(),
        "{} reference(s) break the layering (README \"Design notes\", src/lib.rs):\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_top_module_has_a_row() {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
                .and_then(|rest| rest.strip_suffix(';'))
        })
        .collect();
    let table: BTreeSet<&str> = LAYERS.iter().map(|(m, _, _)| *m).collect();
    assert_eq!(declared, table, "src/lib.rs modules vs the LAYERS table");
    for (m, allowed, _) in LAYERS {
        for a in *allowed {
            assert!(table.contains(a), "{m} may use unknown `{a}`");
            assert_ne!(a, m, "{m} lists itself");
        }
    }
}

fn module(path: &str) -> Vec<String> {
    path.split("::").map(str::to_string).collect()
}

fn targets(path: &str, src: &str) -> Vec<(usize, String)> {
    edges(&module(path), src)
        .into_iter()
        .map(|e| (e.line, e.to))
        .collect()
}

#[test]
fn use_trees_paths_and_re_exports_are_edges() {
    let src = "use crate::phone::Event;\n\
               use crate::{\n    config::Config,\n    sip::{trace::SipTrace, msg},\n    ui::App,\n};\n\
               pub use crate::media::Codec;\n\
               fn f() -> crate::store::History { crate::store::open() }\n\
               pub(crate) fn g() {}\n";
    assert_eq!(
        targets("ui::app", src),
        [
            (1, "phone".to_string()),
            (3, "config".to_string()),
            (4, "sip".to_string()),
            (7, "media".to_string()),
            (8, "store".to_string()),
            (8, "store".to_string()),
        ]
    );
}

#[test]
fn super_counts_only_when_it_leaves_the_top_module() {
    let src = "use super::key::Key;\nuse super::super::sip::trace;\nuse super::super::{media, ui::App};\n";
    assert_eq!(
        targets("ui::view", src),
        [(2, "sip".to_string()), (3, "media".to_string())]
    );
    // An inline module adds a level: `super` of `tests` is the file's module.
    let src = "mod tests {\n    use super::*;\n    use super::super::config::X;\n}\nuse super::media::Y;\n";
    assert_eq!(
        targets("sip", src),
        [(3, "config".to_string()), (5, "media".to_string())]
    );
}

#[test]
fn comments_and_literals_are_not_edges() {
    let src = "//! See [`crate::sip::trace`].\n\
               /* use crate::media::X; /* nested */ crate::store */\n\
               const A: &str = \"crate::sip::x\";\n\
               const B: &str = r#\"use crate::media::\"#;\n\
               const C: char = '\"'; fn f<'a>(x: &'a str) {}\n\
               const D: &[u8] = b\"crate::store\";\n\
               use crate::phone::Event; // crate::media\n";
    assert_eq!(targets("ui::app", src), [(7, "phone".to_string())]);
}

#[test]
fn a_forbidden_edge_is_reported_with_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let ui = dir.path().join("ui");
    fs::create_dir_all(&ui).unwrap();
    fs::write(
        ui.join("ladder.rs"),
        "//! Ladder.\n\nuse crate::phone::Event;\nuse crate::sip::trace::SipTrace;\n",
    )
    .unwrap();
    let bad = violations(dir.path());
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].starts_with("src/ui/ladder.rs:4: ui → sip: `ui` goes through `phone`"),
        "{}",
        bad[0]
    );
}
