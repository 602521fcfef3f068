//! What a key does: a command line of the phone's command language
//! (`hold`, `dial echo`, `transfer` = ask for the missing `to`), or one of the
//! interface's own actions (`view log`, `prompt dial`, `select down`, the
//! input line's `prompt submit`, the message view's `scroll 10`, ...).
//! Parses `run` texts; which mode may use which action is [`super::keymap`]'s.

use crate::command::{Command, Spec, Surface, SPECS};

/// The views that fill the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Calls,
    History,
    Log,
}

impl View {
    pub const ALL: [View; 3] = [View::Calls, View::History, View::Log];

    pub fn name(self) -> &'static str {
        match self {
            View::Calls => "calls",
            View::History => "history",
            View::Log => "log",
        }
    }
}

/// The kinds of input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Enter dials what was typed.
    Dial,
    /// Enter runs a `:` command line.
    Command,
}

/// A bound action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A phone command line; when it lacks a required argument the key opens
    /// the `:` line with it written out, for the user to complete.
    Run(String),
    View(View),
    /// Cycles through the views.
    NextView,
    Prompt(PromptKind),
    /// Moves the selection by this many rows.
    Select(i32),
    /// Enter on a row: the full SIP message in the log, callback in history.
    Open,
    Help,
    /// `hold` or `resume`, whatever the selected call needs.
    HoldToggle,
    /// `mute on` or `mute off`, whatever the selected call needs.
    MuteToggle,
    /// `dnd on` or `dnd off` (on the line, or via presence), whatever the
    /// status bar shows is needed.
    DndToggle {
        presence: bool,
    },
    /// Gives the BLF panel the selection, or gives it back.
    FocusBlf,
    /// Dials the voicemail box.
    Voicemail,
    /// Removes a default binding (in a user keymap).
    Nothing,
    /// Edits or leaves the input line (dial prompt, `:` line).
    Line(LineEdit),
    /// Scrolls the SIP message by this many rows (negative: up).
    Scroll(i32),
    /// Closes the SIP message.
    Close,
    /// Answers the quit question: hang up and quit, or stay.
    Confirm(bool),
}

/// What a key does to the input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEdit {
    /// Dials / runs what was typed.
    Submit,
    /// Leaves the line, clearing the message line.
    Cancel,
    /// Completes the word before the cursor.
    Complete,
    /// The previous (older) line typed.
    HistoryPrev,
    /// The next (newer) line typed.
    HistoryNext,
    /// Deletes the last character; on an empty line leaves it.
    DeleteBack,
    /// Empties the line.
    Clear,
}

/// Interface actions by name, for parsing and for the `unbound` check.
const UI_ACTIONS: &[&str] = &[
    "view calls",
    "view history",
    "view log",
    "view next",
    "prompt dial",
    "prompt command",
    "select up",
    "select down",
    "select first",
    "select last",
    "open",
    "help",
    "hold_toggle",
    "mute_toggle",
    "dnd_toggle",
    "dnd_toggle presence",
    "focus blf",
    "voicemail",
    "nothing",
];

/// The input line's actions, by name.
pub const LINE_ACTIONS: &[(&str, LineEdit)] = &[
    ("prompt submit", LineEdit::Submit),
    ("prompt cancel", LineEdit::Cancel),
    ("prompt complete", LineEdit::Complete),
    ("prompt history_prev", LineEdit::HistoryPrev),
    ("prompt history_next", LineEdit::HistoryNext),
    ("prompt delete_back", LineEdit::DeleteBack),
    ("prompt clear", LineEdit::Clear),
];

impl Action {
    /// Parses a keymap `run` value.
    pub fn parse(run: &str) -> Result<Action, String> {
        let words: Vec<&str> = run.split_whitespace().collect();
        let action = match words.as_slice() {
            [] => return Err("`run` is empty (use \"nothing\" to unbind a key)".into()),
            ["view", "calls"] => Action::View(View::Calls),
            ["view", "history"] => Action::View(View::History),
            ["view", "log"] => Action::View(View::Log),
            ["view", "next"] => Action::NextView,
            ["prompt", "dial"] => Action::Prompt(PromptKind::Dial),
            ["prompt", "command"] => Action::Prompt(PromptKind::Command),
            ["select", "up"] => Action::Select(-1),
            ["select", "down"] => Action::Select(1),
            ["select", "first"] => Action::Select(i32::MIN),
            ["select", "last"] => Action::Select(i32::MAX),
            ["open"] => Action::Open,
            ["help"] => Action::Help,
            ["hold_toggle"] => Action::HoldToggle,
            ["mute_toggle"] => Action::MuteToggle,
            ["dnd_toggle"] => Action::DndToggle { presence: false },
            ["dnd_toggle", "presence"] => Action::DndToggle { presence: true },
            ["focus", "blf"] => Action::FocusBlf,
            ["voicemail"] => Action::Voicemail,
            ["nothing"] => Action::Nothing,
            ["prompt", edit] => LINE_ACTIONS
                .iter()
                .find(|(n, _)| n.strip_prefix("prompt ") == Some(*edit))
                .map(|(_, e)| Action::Line(*e))
                .ok_or_else(|| {
                    format!(
                        "`prompt {edit}`: the prompt actions are dial, command and {}",
                        LINE_ACTIONS
                            .iter()
                            .filter_map(|(n, _)| n.strip_prefix("prompt "))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
            ["scroll", rows] => Action::Scroll(rows.parse().map_err(|_| {
                format!(
                    "`scroll {rows}`: scroll takes a number of rows, e.g. `scroll 10`, `scroll -1`"
                )
            })?),
            ["close"] => Action::Close,
            ["confirm", "yes"] => Action::Confirm(true),
            ["confirm", "no"] => Action::Confirm(false),
            [name, ..] => {
                let Some(spec) = Spec::named(name) else {
                    return Err(format!(
                        "`{name}` is neither a command ({}) nor an interface action ({})",
                        SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                        ui_action_names().join(", ")
                    ));
                };
                if !spec.offers(Surface::Key) {
                    let offered: Vec<&str> = spec.surfaces.iter().map(|s| s.describe()).collect();
                    return Err(format!(
                        "`{name}` ({}) cannot be bound to a key; it is offered on {}",
                        spec.help,
                        offered.join(", ")
                    ));
                }
                match Command::parse_line(run) {
                    Ok(_) => {}
                    Err(e) if is_missing_argument(&e.message) => {}
                    Err(e) => return Err(format!("`{run}`: {}", e.message)),
                }
                Action::Run(words.join(" "))
            }
        };
        Ok(action)
    }

    /// The command name this action runs, if it is a phone command.
    pub fn command_name(&self) -> Option<&str> {
        match self {
            Action::Run(line) => line.split_whitespace().next(),
            _ => None,
        }
    }
}

/// Every interface action's name (with examples for `scroll`), for messages.
fn ui_action_names() -> Vec<&'static str> {
    let mut names = UI_ACTIONS.to_vec();
    names.extend(LINE_ACTIONS.iter().map(|(n, _)| *n));
    names.extend([
        "scroll 1",
        "scroll -10",
        "close",
        "confirm yes",
        "confirm no",
    ]);
    names
}

/// Whether a parse error only says a required argument is missing.
pub fn is_missing_argument(message: &str) -> bool {
    message.contains(" needs `")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_ui_actions_parse() {
        assert_eq!(Action::parse("hold").unwrap(), Action::Run("hold".into()));
        assert_eq!(
            Action::parse("dial  echo").unwrap(),
            Action::Run("dial echo".into())
        );
        assert_eq!(
            Action::parse("transfer").unwrap(),
            Action::Run("transfer".into())
        );
        assert_eq!(Action::parse("view log").unwrap(), Action::View(View::Log));
        assert_eq!(Action::parse("select up").unwrap(), Action::Select(-1));
        for ui in ui_action_names() {
            assert!(Action::parse(ui).is_ok(), "{ui}");
        }
        assert_eq!(
            Action::parse("prompt history_prev").unwrap(),
            Action::Line(LineEdit::HistoryPrev)
        );
        assert_eq!(Action::parse("scroll -10").unwrap(), Action::Scroll(-10));
        assert_eq!(Action::parse("confirm yes").unwrap(), Action::Confirm(true));
    }

    #[test]
    fn bad_runs_are_errors() {
        assert!(Action::parse("").is_err());
        assert!(Action::parse("holdd").unwrap_err().contains("`holdd`"));
        assert!(Action::parse("reject code=99").is_err());
        assert_eq!(
            Action::parse("events").unwrap_err(),
            "`events` (stream events) cannot be bound to a key; it is offered on the control socket"
        );
        assert!(Action::parse("view nowhere").is_err());
        assert!(Action::parse("prompt nowhere")
            .unwrap_err()
            .contains("submit"));
        assert!(Action::parse("scroll far").is_err());
        assert!(Action::parse("confirm maybe").is_err());
    }
}
