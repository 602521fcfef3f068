//! Keys: normal-mode bindings from the keymap, the input line (dial and `:`),
//! DTMF digits, the quit confirmation, help and the message detail.

use super::{App, Effect, Mode, HISTORY_LIMIT};
use crate::command::{Command, Spec};
use crate::phone::CallState;
use crate::ui::action::{is_missing_argument, Action, PromptKind, View};
use crate::ui::key::Key;
use crossterm::event::{KeyCode, KeyEvent};

const DTMF_KEYS: &str = "0123456789*#";

/// Moves a selection `sel` in a list of `len` rows (`i32::MIN` / `MAX`:
/// first / last).
fn step(sel: &mut usize, len: usize, delta: i32) {
    let last = len.saturating_sub(1) as i64;
    let next = match delta {
        i32::MIN => 0,
        i32::MAX => last,
        d => (*sel as i64 + i64::from(d)).clamp(0, last),
    };
    *sel = next as usize;
}

impl App {
    /// A key press.
    pub fn on_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        let key = Key::from_event(&ev);
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            Mode::Detail { index, scroll } => {
                self.mode = match key.code {
                    KeyCode::Down | KeyCode::Char('j') => Mode::Detail {
                        index,
                        scroll: scroll.saturating_add(1),
                    },
                    KeyCode::Up | KeyCode::Char('k') => Mode::Detail {
                        index,
                        scroll: scroll.saturating_sub(1),
                    },
                    KeyCode::PageDown | KeyCode::Char(' ') => Mode::Detail {
                        index,
                        scroll: scroll.saturating_add(10),
                    },
                    KeyCode::PageUp => Mode::Detail {
                        index,
                        scroll: scroll.saturating_sub(10),
                    },
                    _ => Mode::Normal,
                };
                Vec::new()
            }
            Mode::ConfirmQuit => {
                self.mode = Mode::Normal;
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    self.info("quitting: hanging up all calls");
                    vec![Effect::Execute(Command::Quit)]
                } else {
                    self.info("quit cancelled");
                    Vec::new()
                }
            }
            Mode::Input { kind, text } => self.input_key(key, kind, text),
            Mode::Normal => self.normal_key(key),
        }
    }

    fn normal_key(&mut self, key: Key) -> Vec<Effect> {
        if let Some(action) = self.keymap.lookup(&key).cloned() {
            return self.perform(action);
        }
        if let (KeyCode::Char(c), false, false) = (key.code, key.ctrl, key.alt) {
            if DTMF_KEYS.contains(c) {
                let active = self
                    .selected_call()
                    .filter(|c| c.state == CallState::Active)
                    .or_else(|| self.calls.iter().find(|c| c.state == CallState::Active))
                    .map(|c| c.id.clone());
                return match active {
                    Some(call) => {
                        self.info(format!("{call}: DTMF {c}"));
                        vec![Effect::Execute(Command::Dtmf {
                            call: Some(call),
                            digits: c.to_string(),
                        })]
                    }
                    None => {
                        self.mode = Mode::Input {
                            kind: PromptKind::Dial,
                            text: c.to_string(),
                        };
                        Vec::new()
                    }
                };
            }
        }
        let help = self
            .keymap
            .key_for("help")
            .map(|k| format!(" ({k} shows the keys)"))
            .unwrap_or_default();
        self.error(format!("{key} is not bound{help}"));
        Vec::new()
    }

    /// Does what a bound action says.
    pub fn perform(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Run(line) => self.run_line(&line, true),
            Action::View(view) => self.show(view),
            Action::NextView => {
                let i = View::ALL.iter().position(|v| *v == self.view).unwrap_or(0);
                self.show(View::ALL[(i + 1) % View::ALL.len()])
            }
            Action::Prompt(kind) => {
                self.mode = Mode::Input {
                    kind,
                    text: String::new(),
                };
                self.input_recall = None;
                Vec::new()
            }
            Action::Select(delta) => {
                self.select(delta);
                Vec::new()
            }
            Action::Open => self.open(),
            Action::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            Action::HoldToggle => match self.selected_live_call() {
                Some((id, state)) => {
                    let cmd = if state == CallState::Held {
                        "resume"
                    } else {
                        "hold"
                    };
                    self.run_line(&format!("{cmd} {id}"), false)
                }
                None => {
                    self.error("no call to hold or resume");
                    Vec::new()
                }
            },
            Action::MuteToggle => {
                let call = self
                    .selected_call()
                    .filter(|c| c.state != CallState::Ended)
                    .map(|c| (c.id.clone(), c.muted));
                match call {
                    Some((id, muted)) => {
                        let on = if muted { "off" } else { "on" };
                        self.run_line(&format!("mute {on} {id}"), false)
                    }
                    None => {
                        self.error("no call to mute");
                        Vec::new()
                    }
                }
            }
            Action::FocusBlf => {
                if self.view != View::Calls {
                    self.view = View::Calls;
                }
                self.toggle_blf_focus();
                Vec::new()
            }
            Action::Voicemail => self.dial_voicemail(),
            Action::DndToggle { presence } => {
                let on = if self.dnd { "off" } else { "on" };
                let via = if presence { " via=presence" } else { "" };
                self.run_line(&format!("dnd {on}{via}"), false)
            }
            Action::Nothing => Vec::new(),
        }
    }

    fn selected_live_call(&self) -> Option<(String, CallState)> {
        self.selected_call()
            .filter(|c| c.state != CallState::Ended)
            .map(|c| (c.id.clone(), c.state))
    }

    fn show(&mut self, view: View) -> Vec<Effect> {
        self.view = view;
        self.blf_focus = false;
        match view {
            View::History => vec![Effect::Execute(Command::History {
                limit: Some(HISTORY_LIMIT),
            })],
            View::Log => {
                self.log_sel = self.ladder().len().saturating_sub(1);
                Vec::new()
            }
            View::Calls => Vec::new(),
        }
    }

    fn select(&mut self, delta: i32) {
        if self.view == View::Calls && !self.blf_focus {
            // move through the list as shown: the conference group first
            let order = self.call_order();
            let mut pos = order.iter().position(|i| *i == self.call_sel).unwrap_or(0);
            step(&mut pos, order.len(), delta);
            if let Some(i) = order.get(pos) {
                self.call_sel = *i;
            }
            return;
        }
        let (len, sel) = match self.view {
            View::Calls => (self.blf.len(), &mut self.blf_sel),
            View::History => (self.history.len(), &mut self.history_sel),
            View::Log => {
                let len = self.ladder().len();
                (len, &mut self.log_sel)
            }
        };
        step(sel, len, delta);
    }

    fn open(&mut self) -> Vec<Effect> {
        match self.view {
            View::Log => {
                if self.log_sel < self.ladder().len() {
                    self.mode = Mode::Detail {
                        index: self.log_sel,
                        scroll: 0,
                    };
                }
                Vec::new()
            }
            View::History => match self.history.get(self.history_sel) {
                Some(row) => {
                    let line = format!("callback {}", row.id);
                    self.run_line(&line, false)
                }
                None => Vec::new(),
            },
            View::Calls if self.blf_focus => match self.focused_blf_target() {
                Some(target) => {
                    let line = format!("dial {target}");
                    self.run_line(&line, false)
                }
                None => Vec::new(),
            },
            View::Calls => match self.selected_call() {
                Some(c) if c.state == CallState::Ringing => {
                    let line = format!("answer {}", c.id);
                    self.run_line(&line, false)
                }
                _ => Vec::new(),
            },
        }
    }

    /// Fills in what a key means implicitly: the selected call, the selected
    /// history entry.
    fn fill_from_selection(&self, line: &str) -> String {
        let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let Some(name) = words.first().cloned() else {
            return String::new();
        };
        let Some(args) = Spec::named(&name).map(Spec::arg_names) else {
            return line.to_string();
        };
        let has =
            |words: &[String], key: &str| words.iter().any(|w| w.starts_with(&format!("{key}=")));
        let positional = words[1..].iter().filter(|w| !w.contains('=')).count();
        let given = |words: &[String], key: &str| {
            has(words, key)
                || args
                    .iter()
                    .position(|a| *a == key)
                    .is_some_and(|i| i < positional)
        };
        // a focused BLF entry is the target of pickup, transfer, deflect, ...
        let mut to_from_blf = false;
        if let Some(target) = self.focused_blf_target() {
            for key in ["target", "to"] {
                if args.contains(&key) && !given(&words, key) {
                    words.push(format!("{key}={target}"));
                    to_from_blf = true;
                }
            }
        }
        if matches!(name.as_str(), "conf_remove" | "conf_split" | "conf_join")
            && !given(&words, "call")
        {
            if let Some(id) = self.conference_call_for(&name) {
                words.push(format!("call={id}"));
            }
        }
        let either_or = (name == "conf_add" && to_from_blf)
            || matches!(name.as_str(), "conf_remove" | "conf_split" | "conf_join");
        if args.contains(&"call") && !given(&words, "call") && !either_or {
            let ringing_only = matches!(name.as_str(), "answer" | "reject" | "deflect");
            if let Some(c) = self.selected_call().filter(|c| {
                c.state != CallState::Ended && (!ringing_only || c.state == CallState::Ringing)
            }) {
                words.push(format!("call={}", c.id));
            }
        }
        if args.contains(&"entry") && !given(&words, "entry") && self.view == View::History {
            if let Some(row) = self.history.get(self.history_sel) {
                words.push(format!("entry={}", row.id));
            }
        }
        words.join(" ")
    }

    /// The member a conference key acts on: the selected call when it is a
    /// member; for `conf_join` else the split member.
    fn conference_call_for(&self, name: &str) -> Option<String> {
        let selected = self
            .selected_call()
            .filter(|c| c.state != CallState::Ended && self.in_conference(&c.id))
            .map(|c| c.id.clone());
        match name {
            "conf_join" => selected
                .filter(|id| {
                    self.conference.split.is_none() || self.conference.split.as_ref() == Some(id)
                })
                .or_else(|| self.conference.split.clone()),
            _ => selected,
        }
    }

    /// Runs a command line; from a key, the selection fills in `call` /
    /// `entry`, and a missing required argument opens the `:` line.
    pub fn run_line(&mut self, line: &str, from_key: bool) -> Vec<Effect> {
        let line = if from_key {
            self.fill_from_selection(line)
        } else {
            line.to_string()
        };
        match Command::parse_line(&line) {
            Ok(cmd) => self.dispatch(cmd),
            Err(e) if from_key && is_missing_argument(&e.message) => {
                self.mode = Mode::Input {
                    kind: PromptKind::Command,
                    text: format!("{line} "),
                };
                self.info(e.message);
                Vec::new()
            }
            Err(e) => {
                self.error(format!("{} ({})", e.message, e.code));
                Vec::new()
            }
        }
    }

    fn dispatch(&mut self, cmd: Command) -> Vec<Effect> {
        match cmd {
            Command::Quit if self.live_calls() > 0 => {
                self.mode = Mode::ConfirmQuit;
                Vec::new()
            }
            Command::Events => {
                self.error("events: a stream for the control socket (`termphone ctl events`)");
                Vec::new()
            }
            Command::History { .. } => {
                self.view = View::History;
                vec![Effect::Execute(cmd)]
            }
            cmd => {
                self.info(format!("{cmd} ..."));
                vec![Effect::Execute(cmd)]
            }
        }
    }

    fn input_key(&mut self, key: Key, kind: PromptKind, mut text: String) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                self.message = None;
                Vec::new()
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                let typed = text.trim().to_string();
                if typed.is_empty() {
                    return Vec::new();
                }
                self.input_history.retain(|h| h != &typed);
                self.input_history.push(typed.clone());
                match kind {
                    PromptKind::Dial => self.dispatch(Command::Dial {
                        to: typed,
                        account: None,
                    }),
                    PromptKind::Command => {
                        let line = typed.strip_prefix(':').unwrap_or(&typed).to_string();
                        self.run_line(&line, false)
                    }
                }
            }
            KeyCode::Tab => {
                let (completed, candidates) = self.complete(kind, &text);
                if candidates.len() > 1 {
                    self.info(candidates.join("  "));
                } else if candidates.is_empty() {
                    self.info("no completion");
                }
                self.mode = Mode::Input {
                    kind,
                    text: completed,
                };
                Vec::new()
            }
            KeyCode::Backspace => {
                if text.pop().is_none() {
                    self.mode = Mode::Normal;
                } else {
                    self.mode = Mode::Input { kind, text };
                }
                Vec::new()
            }
            KeyCode::Up | KeyCode::Down => {
                let n = self.input_history.len();
                if n > 0 {
                    let pos = match (self.input_recall, key.code) {
                        (None, KeyCode::Up) => n - 1,
                        (None, _) => n - 1,
                        (Some(p), KeyCode::Up) => p.saturating_sub(1),
                        (Some(p), _) => (p + 1).min(n - 1),
                    };
                    self.input_recall = Some(pos);
                    text = self.input_history[pos].clone();
                }
                self.mode = Mode::Input { kind, text };
                Vec::new()
            }
            KeyCode::Char('u') if key.ctrl => {
                self.mode = Mode::Input {
                    kind,
                    text: String::new(),
                };
                Vec::new()
            }
            KeyCode::Char('c') if key.ctrl => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            KeyCode::Char(c) if !key.ctrl && !key.alt => {
                text.push(c);
                self.mode = Mode::Input { kind, text };
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
