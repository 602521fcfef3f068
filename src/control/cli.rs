//! The command line's generated texts, all from the command specs
//! (`command::SPECS`, the source of docs/control.md's command table) and
//! docs/control.md itself: the list of control commands `termphone ctl
//! --help` shows ([`ctl_command_list`]), shell completions that know every
//! `ctl` command and its argument names ([`write_completions`]), and the man
//! page with the config keys and the control commands ([`write_man_page`]).
//! It takes the binary's clap tree as it is and only adds to a copy of it;
//! it must not parse a command line or touch the socket.

use crate::command::{Kind, Presence, Spec, SPECS};
use clap_complete::Shell;
use std::io::{self, Write};

/// docs/control.md, for the config keys of the man page.
const CONTROL_MD: &str = include_str!("../../docs/control.md");
/// The heading of docs/control.md's section of config keys.
const CONFIG_HEADING: &str = "## Config keys the tests rely on (TOML)";

/// One command's arguments as usage words: `to [account]`.
fn usage(spec: &Spec) -> String {
    spec.args
        .iter()
        .map(|a| match a.presence {
            Presence::Required | Presence::Either(_) => a.name.to_string(),
            Presence::Optional | Presence::Default(_) => format!("[{}]", a.name),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The control commands, one a line with their arguments and help: what
/// `termphone ctl --help` shows after its options.
pub fn ctl_command_list() -> String {
    let rows: Vec<(String, &str)> = SPECS
        .iter()
        .map(|s| {
            (
                format!("{} {}", s.name, usage(s)).trim().to_string(),
                s.help,
            )
        })
        .collect();
    let width = rows.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    let mut out = String::from("Commands (docs/control.md):\n");
    for (u, help) in rows {
        out.push_str(&format!("  {u:width$}  {help}\n"));
    }
    out.push_str(
        "\nArguments are positional in the order shown, or `name=value` in any order \
         (e.g. `termphone ctl transfer call=c1 to=1003`).",
    );
    out
}

/// The words completion offers after a command: `name=` for each argument,
/// and `name=value` for the values its kind allows.
fn argument_words(spec: &Spec) -> Vec<String> {
    let mut words = Vec::new();
    for arg in spec.args {
        words.push(format!("{}=", arg.name));
        if matches!(arg.kind, Kind::OneOf { .. } | Kind::Flag) || !arg.suggest.is_empty() {
            words.extend(
                arg.candidates()
                    .into_iter()
                    .map(|v| format!("{}={v}", arg.name)),
            );
        }
    }
    words
}

/// `ctl` as completion and the man page see it: one subcommand per control
/// command (from the specs), each offering its argument names.
fn ctl_tree(ctl: clap::Command) -> clap::Command {
    let socket = ctl
        .get_arguments()
        .find(|a| a.get_id() == "socket")
        .cloned();
    let mut tree = clap::Command::new("ctl")
        .about(ctl.get_about().cloned().unwrap_or_default())
        .subcommand_value_name("CMD")
        .subcommand_help_heading("Control commands");
    if let Some(socket) = socket {
        tree = tree.arg(socket);
    }
    for spec in SPECS {
        let words = argument_words(spec);
        let mut sub = clap::Command::new(spec.name).about(spec.help);
        if !words.is_empty() {
            sub = sub.arg(
                clap::Arg::new("args")
                    .value_name("ARG")
                    .num_args(0..)
                    .value_parser(clap::builder::PossibleValuesParser::new(words)),
            );
        }
        tree = tree.subcommand(sub);
    }
    tree
}

/// The binary's clap tree with `ctl` spelled out per command (for
/// completion and the man page; never used to parse).
pub fn documented_tree(cli: clap::Command) -> clap::Command {
    cli.mut_subcommand("ctl", ctl_tree)
}

/// fish: clap_complete completes two levels of subcommands, so the
/// arguments of each `ctl` command are added here.
fn fish_ctl_arguments(bin: &str) -> String {
    let mut out = String::from("# the arguments of each ctl command\n");
    for spec in SPECS {
        let words = argument_words(spec);
        if words.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "complete -c {bin} -n \"__fish_{bin}_using_subcommand ctl; and __fish_seen_subcommand_from {}\" -f -a \"{}\"\n",
            spec.name,
            words.join(" ")
        ));
    }
    out
}

/// Writes the completion script for `shell`; `cli` is the binary's clap tree.
pub fn write_completions(shell: Shell, cli: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let mut tree = documented_tree(cli);
    let name = tree.get_name().to_string();
    // Made whole first: the generator panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut tree, name.clone(), &mut script);
    if shell == Shell::Fish {
        script.extend_from_slice(fish_ctl_arguments(&name).as_bytes());
    }
    out.write_all(&script)?;
    out.flush()
}

/// Text for a roff line: backslashes escaped, a leading `.` or `'` kept
/// from being read as a request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// docs/control.md's config keys: the TOML block of its config section.
fn config_block() -> Option<&'static str> {
    let section = CONTROL_MD.split_once(CONFIG_HEADING)?.1;
    let block = section.split_once("```toml\n")?.1;
    Some(block.split_once("```")?.0)
}

/// The subcommands, each with its arguments, in this one page (clap_mangen
/// would refer to a page per subcommand).
fn write_subcommands(cli: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SH SUBCOMMANDS")?;
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let args: Vec<String> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .map(|a| match (a.get_long(), a.get_value_names()) {
                (Some(long), Some(v)) => format!("[\\-\\-{long} {}]", roff(&v.join(" "))),
                (Some(long), None) => format!("[\\-\\-{long}]"),
                (None, Some(v)) => roff(&v.join(" ")),
                (None, None) => roff(&a.get_id().to_string().to_uppercase()),
            })
            .collect();
        let args = if sub.get_name() == "ctl" {
            let mut a = args;
            a.push("CMD [ARGS]...".to_string());
            a
        } else {
            args
        };
        writeln!(out, ".TP")?;
        writeln!(
            out,
            "\\fBtermphone {}\\fR {}",
            roff(sub.get_name()),
            args.join(" ")
        )?;
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(ToString::to_string)
            .unwrap_or_default();
        writeln!(out, "{}", roff(&about.replace('`', "")))?;
    }
    Ok(())
}

/// The man page's own sections: control commands and configuration.
fn write_extra_sections(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SH \"CONTROL COMMANDS\"")?;
    writeln!(
        out,
        "Given to \\fBtermphone ctl\\fR, the TUI's \\fB:\\fR line or the control socket \
         (JSON lines, see docs/control.md). Arguments are positional in the order shown, \
         or \\fIname\\fR=\\fIvalue\\fR in any order."
    )?;
    for spec in SPECS {
        writeln!(out, ".TP")?;
        writeln!(out, "\\fB{}\\fR {}", roff(spec.name), roff(&usage(spec)))?;
        writeln!(out, "{}", roff(spec.help))?;
        writeln!(out, ".br")?;
        writeln!(out, "{}", roff(&spec.effect.replace('`', "")))?;
    }
    writeln!(out, ".SH CONFIGURATION")?;
    writeln!(
        out,
        "$XDG_CONFIG_HOME/termphone/config.toml, or the file \\fB\\-\\-config\\fR names. \
         Unknown keys are errors naming the file, line and key. The keys:"
    )?;
    writeln!(out, ".PP")?;
    writeln!(out, ".nf")?;
    writeln!(out, ".ft CR")?;
    for line in config_block().unwrap_or("").lines() {
        writeln!(out, "{}", roff(line))?;
    }
    writeln!(out, ".ft R")?;
    writeln!(out, ".fi")?;
    writeln!(out, ".SH \"SEE ALSO\"")?;
    writeln!(
        out,
        "docs/control.md (the control protocol, events and every key), README.md."
    )?;
    Ok(())
}

/// Writes the man page (section 1) of `cli`, the binary's clap tree: the
/// usual sections from clap, then the control commands and the config keys.
pub fn write_man_page(cli: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man_cli = documented_tree(cli);
    let man = clap_mangen::Man::new(man_cli.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    write_subcommands(&man_cli, out)?;
    write_extra_sections(out)?;
    man.render_version_section(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> clap::Command {
        clap::Command::new("termphone")
            .version("0.1.0")
            .about("A phone")
            .subcommand(
                clap::Command::new("ctl")
                    .about("Send one command")
                    .arg(clap::Arg::new("socket").long("socket"))
                    .arg(clap::Arg::new("words").num_args(1..).trailing_var_arg(true)),
            )
    }

    #[test]
    fn the_ctl_list_has_every_command_with_its_arguments() {
        let list = ctl_command_list();
        for spec in SPECS {
            assert!(
                list.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{} ", spec.name))
                        && l.contains(spec.help)),
                "{} missing:\n{list}",
                spec.name
            );
        }
        assert!(list.contains("  dial to [account]"), "{list}");
        assert!(list.contains("  transfer to [call]"), "{list}");
    }

    #[test]
    fn completion_knows_commands_and_argument_names() {
        let tree = documented_tree(cli());
        tree.clone().debug_assert();
        let ctl = tree.find_subcommand("ctl").unwrap();
        assert!(ctl.get_arguments().any(|a| a.get_id() == "socket"));
        let names: Vec<&str> = ctl.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(names, SPECS.iter().map(|s| s.name).collect::<Vec<_>>());
        let words = argument_words(crate::command::Spec::named("dnd").unwrap());
        assert!(words.contains(&"on=".to_string()), "{words:?}");
        assert!(words.contains(&"via=presence".to_string()), "{words:?}");
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            write_completions(shell, cli(), &mut script).unwrap();
            let script = String::from_utf8(script).unwrap();
            assert!(
                script.contains("normalize"),
                "{shell}: commands in the script"
            );
            assert!(
                script.contains("number="),
                "{shell}: argument names in the script"
            );
        }
    }

    #[test]
    fn the_man_page_has_commands_and_config_keys() {
        let block = config_block().unwrap();
        assert!(block.contains("[[account]]"), "{block}");
        let mut page = Vec::new();
        write_man_page(cli(), &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..80]);
        assert!(page.contains(".SH \"CONTROL COMMANDS\""));
        assert!(page.contains("\\fBdial\\fR to [account]"), "{page}");
        assert!(page.contains(".SH CONFIGURATION"));
        assert!(page.contains("country_code = \"49\""), "{page}");
        assert!(page.contains("\\fBtermphone ctl\\fR"), "{page}");
        assert!(
            !page.contains("termphone-ctl(1)"),
            "no pages that are not written"
        );
    }

    #[test]
    fn roff_text_cannot_start_a_request() {
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("'q"), "\\&'q");
        assert_eq!(roff("a\\b-c"), "a\\eb\\-c");
    }
}
