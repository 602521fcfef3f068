//! The command line's conventions, checked with the tools users run them
//! with: `termphone completions bash` loads in bash and completes `ctl`
//! commands and their argument names; `termphone man` renders with `man -l`
//! (no troff warnings) and carries the control commands and config keys;
//! `termphone ctl --help` lists every command of docs/control.md's table.

mod support;

use std::process::{Command, Output};
use support::phone::bin;
use support::TestDir;

fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}); scripts/install-test-deps.sh installs it")
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The commands of docs/control.md's generated table, in its order.
fn documented_commands() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/control.md"))
        .expect("docs/control.md");
    let table = doc
        .split("<!-- commands: generated")
        .nth(1)
        .and_then(|t| t.split("<!-- end of commands -->").next())
        .expect("the command table's markers");
    table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// What bash completes for `words` (the last one being typed).
fn bash_complete(words: &str) -> Vec<String> {
    let script = format!(
        r#"source <("{bin}" completions bash) || exit 3
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="{words}"; COMP_POINT=${{#COMP_LINE}}
_termphone termphone "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        bin = bin().display()
    );
    let out = run(Command::new("bash").arg("-c").arg(script), "bash");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_loads_and_knows_ctl_commands_and_arguments() {
    let out = run(
        Command::new("bash").arg("-c").arg(format!(
            "source <(\"{}\" completions bash) && complete -p termphone",
            bin().display()
        )),
        "bash",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("-F _termphone termphone"),
        "{}",
        text(&out.stdout)
    );
    let subcommands = bash_complete("termphone c");
    for want in ["ctl", "call", "completions"] {
        assert!(
            subcommands.iter().any(|w| w == want),
            "{want}: {subcommands:?}"
        );
    }
    let commands = bash_complete("termphone ctl d");
    for want in ["dial", "dnd", "dtmf", "deflect", "detach"] {
        assert!(commands.iter().any(|w| w == want), "{want}: {commands:?}");
    }
    let all = bash_complete("termphone ctl ''");
    for name in documented_commands() {
        assert!(all.contains(&name), "{name} not completed: {all:?}");
    }
    let args = bash_complete("termphone ctl normalize ''");
    assert!(args.iter().any(|w| w == "number="), "{args:?}");
    assert!(args.iter().any(|w| w == "account="), "{args:?}");
    let values = bash_complete("termphone ctl dnd v");
    assert_eq!(values, ["via=", "via=line", "via=presence"]);
}

#[test]
fn the_man_page_renders_with_man() {
    let t = TestDir::new("cli-man");
    let out = run(Command::new(bin()).arg("man"), "termphone man");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = t.path().join("termphone.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let shown = run(
        Command::new("man")
            .arg("--warnings")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "100"),
        "man (man-db)",
    );
    let (stdout, stderr) = (text(&shown.stdout), text(&shown.stderr));
    assert!(shown.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "troff warnings: {stderr}");
    for want in [
        "NAME",
        "SYNOPSIS",
        "SUBCOMMANDS",
        "termphone completions",
        "CONTROL COMMANDS",
        "CONFIGURATION",
        "country_code = \"49\"",
        "[[account]]",
    ] {
        assert!(stdout.contains(want), "{want} missing:\n{stdout}");
    }
    for name in documented_commands() {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} ")) || l.trim() == name),
            "{name} not in the man page:\n{stdout}"
        );
    }
}

#[test]
fn ctl_help_lists_every_documented_command() {
    let out = run(
        Command::new(bin()).args(["ctl", "--help"]),
        "termphone ctl --help",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let listed: Vec<String> = help
        .split("Commands (docs/control.md):")
        .nth(1)
        .expect("the command list")
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert_eq!(listed, documented_commands(), "{help}");
}
