//! The command table of docs/control.md, generated from the specs, and the
//! test that keeps the file in step with them. Test-only: touches nothing
//! but that one table between its marker comments.

use super::spec::{Arg, Kind, Presence, Spec};
use super::SPECS;

const BEGIN: &str = "<!-- commands: generated from src/command/*.rs; `cargo test --lib command::docs -- --ignored` rewrites it -->";
const END: &str = "<!-- end of commands -->";

fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/control.md")
}

/// One argument as the table shows it: `name`, `name?` when it may be left
/// out, then its choices, default and note in parentheses.
fn arg_cell(arg: &Arg) -> String {
    let mark = match arg.presence {
        Presence::Required | Presence::Either(_) => "",
        Presence::Optional | Presence::Default(_) => "?",
    };
    let default = match arg.presence {
        Presence::Default(d) => Some(d),
        _ => None,
    };
    let mut parts: Vec<String> = Vec::new();
    match (arg.kind, default) {
        (Kind::OneOf { values, .. }, None) => parts.push(
            values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join("/"),
        ),
        (Kind::OneOf { values, .. }, Some(d)) => {
            parts.push(format!("`{d}` default"));
            parts.extend(values.iter().filter(|v| **v != d).map(|v| format!("`{v}`")));
        }
        (_, Some(d)) => parts.push(format!("{d} default")),
        (_, None) => {}
    }
    if !arg.note.is_empty() {
        parts.push(arg.note.to_string());
    }
    let mut cell = format!("`{}{mark}`", arg.name);
    if !parts.is_empty() {
        cell.push_str(&format!(" ({})", parts.join(", ")));
    }
    cell
}

/// The args cell: the arguments in positional order; a pair of which one
/// must be given reads "`a` or `b`".
fn args_cell(spec: &Spec) -> String {
    let mut cells: Vec<String> = Vec::new();
    for (i, arg) in spec.args.iter().enumerate() {
        match arg.presence {
            Presence::Either(other) if spec.args[..i].iter().any(|a| a.name == other) => {}
            Presence::Either(other) => cells.push(format!("{} or `{other}`", arg_cell(arg))),
            _ => cells.push(arg_cell(arg)),
        }
    }
    cells.join(", ")
}

fn effect_cell(spec: &Spec) -> String {
    if spec.surfaces == super::EVERYWHERE {
        return spec.effect.to_string();
    }
    let surfaces: Vec<&str> = spec.surfaces.iter().map(|s| s.describe()).collect();
    format!("{} Only on {}.", spec.effect, surfaces.join(", "))
}

/// The table, markers included, as docs/control.md must hold it.
pub fn table() -> String {
    let mut out = format!("{BEGIN}\n| cmd | args | effect (SIP) |\n|---|---|---|\n");
    for spec in SPECS {
        let args = args_cell(spec);
        let args = if args.is_empty() {
            String::new()
        } else {
            format!(" {args}")
        };
        out.push_str(&format!(
            "| `{}` |{args} | {} |\n",
            spec.name,
            effect_cell(spec)
        ));
    }
    out.push_str(END);
    out
}

/// `text` with the part between the markers (inclusive) replaced by `table`.
fn replaced(text: &str, table: &str) -> Option<String> {
    let start = text.find(BEGIN)?;
    let end = text[start..].find(END)? + start + END.len();
    Some(format!("{}{table}{}", &text[..start], &text[end..]))
}

#[test]
fn docs_table_matches_the_specs() {
    let text = std::fs::read_to_string(path()).unwrap();
    let expected = table();
    let updated = replaced(&text, &expected)
        .unwrap_or_else(|| panic!("docs/control.md lacks the markers {BEGIN} … {END}"));
    assert!(
        updated == text,
        "docs/control.md's command table differs from the specs; run \
         `cargo test --lib command::docs -- --ignored` or paste:\n\n{expected}\n"
    );
}

/// Rewrites the table in docs/control.md from the specs.
#[test]
#[ignore = "writes docs/control.md"]
fn write_docs_table() {
    let text = std::fs::read_to_string(path()).unwrap();
    let updated = replaced(&text, &table()).unwrap();
    std::fs::write(path(), updated).unwrap();
}

#[test]
fn arg_cells_keep_the_contract_wording() {
    let cell = |name: &str| args_cell(Spec::named(name).unwrap());
    assert_eq!(
        cell("reject"),
        "`call?`, `code?` (486 default, 603 decline)"
    );
    assert_eq!(cell("dnd"), "`on`, `via?` (`line` default, `presence`)");
    assert_eq!(cell("conf_add"), "`to` or `call`");
    assert!(cell("forward").starts_with("`when` (`always`/`busy`/`no_answer`), `to`, "));
    assert_eq!(cell("status"), "");
}
