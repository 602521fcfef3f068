//! Keys: what the keymap binds in each mode (normal, BLF focus, the input
//! line, the message detail, the quit question, help pages) performed on the
//! state, and what unbound keys do (DTMF digits, typed characters, closing).
//! Which key means what is the keymap's; no key is named here.

use super::{App, Effect, Mode, HELP_PAGES, HISTORY_LIMIT};
use crate::command::{Command, Spec};
use crate::phone::CallState;
use crate::ui::action::{is_missing_argument, Action, LineEdit, PromptKind, View};
use crate::ui::key::Key;
use crate::ui::keymap::KeyMode;
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
    /// A key press: looked up in the keymap section of the current mode.
    pub fn on_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        let key = Key::from_event(&ev);
        match self.mode.clone() {
            Mode::Help { page } => {
                // the help key again shows the next page; any other key closes
                let again = self.keymap.lookup(KeyMode::Normal, &key) == Some(&Action::Help);
                self.mode = if again && page + 1 < HELP_PAGES {
                    Mode::Help { page: page + 1 }
                } else {
                    Mode::Normal
                };
                Vec::new()
            }
            Mode::Detail { index, scroll } => {
                self.mode = match self.keymap.lookup(KeyMode::Detail, &key) {
                    Some(Action::Scroll(rows)) => Mode::Detail {
                        index,
                        scroll: scroll_by(scroll, *rows),
                    },
                    _ => Mode::Normal,
                };
                Vec::new()
            }
            Mode::ConfirmQuit => {
                self.mode = Mode::Normal;
                let action = self.keymap.lookup(KeyMode::Confirm, &key).cloned();
                if action == Some(Action::Confirm(true)) {
                    self.info("quitting: hanging up all calls");
                    vec![Effect::Execute(Command::Quit)]
                } else if let Some(Action::Run(line)) = action {
                    // `detach`, the one command the question offers
                    self.run_line(&line, true)
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
        let blf = self
            .blf_focus
            .then(|| self.keymap.lookup(KeyMode::Blf, &key))
            .flatten();
        if let Some(action) = blf
            .or_else(|| self.keymap.lookup(KeyMode::Normal, &key))
            .cloned()
        {
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
            .key_for(KeyMode::Normal, "help")
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
                self.mode = Mode::Help { page: 0 };
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
                // Each kind is switched on its own.
                let current = if presence {
                    self.dnd_presence
                } else {
                    self.dnd_line
                };
                let on = if current { "off" } else { "on" };
                let via = if presence { " via=presence" } else { "" };
                self.run_line(&format!("dnd {on}{via}"), false)
            }
            // keys of the other modes, never bound in [normal] / [blf]
            Action::Nothing
            | Action::Line(_)
            | Action::Scroll(_)
            | Action::Close
            | Action::Confirm(_) => Vec::new(),
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
        if name == "connect" && !given(&words, "call") && !given(&words, "consult") {
            if let Some((call, consult)) = super::connect_pair::connect_pair(&self.calls) {
                words.push(format!("call={call}"));
                words.push(format!("consult={consult}"));
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
        if name == "callback" && words.len() == 1 && self.view == View::Calls {
            if let Some(line) = self.callback_in_the_moment() {
                return line;
            }
        }
        if name == "callback"
            && has(&words, "when")
            && !given(&words, "to")
            && self.view == View::Calls
        {
            if let Some(c) = self.selected_call().filter(|c| c.state == CallState::Ended) {
                words.push(format!("to={}", c.remote));
            }
        }
        if args.contains(&"entry") && !given(&words, "entry") && self.view == View::History {
            if let Some(row) = self.history.get(self.history_sel) {
                words.push(format!("entry={}", row.id));
            }
        }
        words.join(" ")
    }

    /// What `callback` means in the Calls view right now: accept the
    /// callback whose target is free, or arm one for the selected call
    /// that just met busy or no answer; `None`: the last missed call.
    fn callback_in_the_moment(&self) -> Option<String> {
        if let Some((id, _)) = self.callbacks.iter().find(|(_, (_, s))| s == "ringing") {
            return Some(format!("callback_accept {id}"));
        }
        let c = self
            .selected_call()
            .filter(|c| c.state == CallState::Ended)?;
        crate::phone::callback::unreached(
            c.direction,
            c.answered_at.is_some(),
            c.end_reason.as_deref().unwrap_or(""),
            false,
        )?;
        Some(format!("callback when=free to={}", c.remote))
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
            Command::Detach => vec![Effect::Detach],
            Command::Events | Command::Trace => {
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

    fn input_key(&mut self, key: Key, kind: PromptKind, text: String) -> Vec<Effect> {
        let dial = kind == PromptKind::Dial;
        let before = text.clone();
        let mut effects = self.input_edit(key, kind, text);
        if dial {
            match &self.mode {
                Mode::Input { text, .. } if *text != before => {
                    let text = text.clone();
                    effects.extend(self.search_after_edit(&text));
                }
                Mode::Input { .. } => {}
                _ => self.search_closed(),
            }
        }
        effects
    }

    fn input_edit(&mut self, key: Key, kind: PromptKind, mut text: String) -> Vec<Effect> {
        let dial = kind == PromptKind::Dial;
        // Shift-Tab moves back in the search results.
        if dial && key.code == KeyCode::BackTab && self.search_select(false) {
            self.mode = Mode::Input { kind, text };
            return Vec::new();
        }
        let edit = match self.keymap.lookup(KeyMode::Prompt, &key) {
            Some(Action::Line(edit)) => *edit,
            _ => {
                if let (KeyCode::Char(c), false, false) = (key.code, key.ctrl, key.alt) {
                    text.push(c);
                }
                self.mode = Mode::Input { kind, text };
                return Vec::new();
            }
        };
        // With search results shown, Tab / Down and Up pick among them.
        let pick = match edit {
            LineEdit::Complete | LineEdit::HistoryNext => Some(true),
            LineEdit::HistoryPrev => Some(false),
            _ => None,
        };
        if let Some(forward) = pick.filter(|_| dial) {
            if self.search_select(forward) {
                self.mode = Mode::Input { kind, text };
                return Vec::new();
            }
        }
        match edit {
            LineEdit::Cancel => {
                self.mode = Mode::Normal;
                self.message = None;
                Vec::new()
            }
            LineEdit::Submit => {
                self.mode = Mode::Normal;
                let picked = if dial { self.selected_hit_uri() } else { None };
                if let Some(uri) = picked {
                    self.input_history.retain(|h| h != &uri);
                    self.input_history.push(uri.clone());
                    return self.dispatch(Command::Dial {
                        to: uri,
                        account: None,
                    });
                }
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
            LineEdit::Complete => {
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
            LineEdit::DeleteBack => {
                if text.pop().is_none() {
                    self.mode = Mode::Normal;
                } else {
                    self.mode = Mode::Input { kind, text };
                }
                Vec::new()
            }
            LineEdit::HistoryPrev | LineEdit::HistoryNext => {
                let n = self.input_history.len();
                if n > 0 {
                    let older = edit == LineEdit::HistoryPrev;
                    // the first recall starts at the newest line either way
                    let pos = match self.input_recall {
                        None => n - 1,
                        Some(p) if older => p.saturating_sub(1),
                        Some(p) => (p + 1).min(n - 1),
                    };
                    self.input_recall = Some(pos);
                    text = self.input_history[pos].clone();
                }
                self.mode = Mode::Input { kind, text };
                Vec::new()
            }
            LineEdit::Clear => {
                self.mode = Mode::Input {
                    kind,
                    text: String::new(),
                };
                Vec::new()
            }
        }
    }
}

/// The detail's scroll offset moved by `rows` (negative: up), kept in range.
fn scroll_by(scroll: u16, rows: i32) -> u16 {
    let moved = i64::from(scroll) + i64::from(rows);
    u16::try_from(moved.max(0)).unwrap_or(u16::MAX)
}
