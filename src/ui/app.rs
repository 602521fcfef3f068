//! The interface state and its reducer: phone events, SIP traces, command
//! replies and keys go in; [`Effect`]s (commands to run, bell,
//! notification) come out. Pure: no terminal, no sockets, so views and keys
//! are tested with fixed states.

mod call_levels;
mod complete;
mod conf;
mod connect_pair;
mod keys;
mod pbx;
mod search;

pub use call_levels::call_levels;
pub use conf::{level_text, meter, ConferenceView, SILENCE_DB};
pub use search::{searchable, DialSearch, SearchHit, SEARCH_SHOWN};

use super::action::{PromptKind, View};
use super::keymap::{KeyMode, Keymap};
use super::theme::Theme;
use super::time::parse_rfc3339;
use crate::command::{Command, CommandError};
use crate::config::{BlfTarget, DialPlan, UiConfig};
use crate::phone::{AccountStatus, CallDirection, CallInfo, CallState, Event, SipTrace, Status};
use serde::Deserialize;
use serde_json::Value;
use std::collections::VecDeque;

/// How many SIP messages the log keeps.
const TRACE_KEEP: usize = 2000;
/// Ended calls stay listed this long (seconds).
const ENDED_KEEP_S: i64 = 60;
/// History rows fetched for the view and completion.
pub const HISTORY_LIMIT: usize = 200;

/// Pages of the `?` help: the normal keys, then the other modes' keys.
pub const HELP_PAGES: u8 = 2;

/// What the app asks its runner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run a command on the phone; the reply comes back via [`App::on_reply`].
    Execute(Command),
    /// Leave the phone and its calls running and close the interface.
    Detach,
    /// Ring the terminal bell.
    Bell,
    /// Send a desktop notification (OSC 777 and OSC 9).
    Notify(String),
}

/// Severity of the message line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// Input mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a number to dial or a `:` command line.
    Input {
        kind: PromptKind,
        text: String,
    },
    /// `q` with calls up: waiting for y/n.
    ConfirmQuit,
    /// The `?` help over the views, one of [`HELP_PAGES`] pages (the help
    /// key again shows the next).
    Help {
        page: u8,
    },
    /// The full text of one SIP message (index into the ladder), scrolled.
    Detail {
        index: usize,
        scroll: u16,
    },
}

/// One account of the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub aor: String,
    pub registered: bool,
    pub reason: Option<String>,
}

impl From<AccountStatus> for AccountRow {
    fn from(a: AccountStatus) -> AccountRow {
        AccountRow {
            name: a.name,
            aor: a.aor,
            registered: a.registered,
            reason: a.reason,
        }
    }
}

impl AccountRow {
    /// An account that does not register at all (direct IP).
    pub fn registration_off(&self) -> bool {
        !self.registered
            && self
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("registration off"))
    }
}

/// One history entry (docs/control.md `history`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HistoryRow {
    pub id: i64,
    #[serde(default)]
    pub account: String,
    pub direction: String,
    pub remote: String,
    pub started_at: String,
    #[serde(default)]
    pub answered_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    #[serde(default)]
    pub end_reason: Option<String>,
    #[serde(default)]
    pub missed: bool,
    /// Who the other party was (`name` of the history entry).
    #[serde(default)]
    pub name: Option<String>,
}

/// The whole interface state.
/// What the BLF panel shows of one target (from `blf` events and replies).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LampView {
    /// `idle`, `ringing`, `busy`, `offline` or `unknown`.
    pub state: String,
    /// The caller while ringing, the other party while busy.
    pub remote: Option<String>,
    /// Presence where the server offers it: `available`, `away`, `busy`, `dnd`, `offline`.
    pub presence: Option<String>,
    pub note: Option<String>,
    /// The directory's name for the target (shown when it has no label).
    pub name: Option<String>,
}

#[derive(Debug)]
pub struct App {
    pub calls: Vec<CallInfo>,
    pub accounts: Vec<AccountRow>,
    /// Any Do Not Disturb; `dnd_line` and `dnd_presence` each kind.
    pub dnd: bool,
    pub dnd_line: bool,
    pub dnd_presence: bool,
    pub forward_rules: usize,
    /// Pending callbacks when free: id → (target, state), from `status`
    /// and `callback` events.
    pub callbacks: std::collections::BTreeMap<String, (String, String)>,
    pub listen: String,
    /// The PBX profile and whether its codes are verified (`status.pbx`).
    pub pbx: Option<crate::phone::PbxStatus>,
    pub history: Vec<HistoryRow>,
    pub traces: VecDeque<SipTrace>,
    pub blf: Vec<BlfTarget>,
    /// Live lamp of each BLF target: (state, remote party).
    pub blf_state: std::collections::HashMap<String, LampView>,
    /// Waiting voice messages per account: (new, old).
    pub mwi: std::collections::BTreeMap<String, (u32, u32)>,
    /// The local conference, refreshed from `status`.
    pub conference: ConferenceView,
    /// The BLF panel has the selection (j/k move in it, keys act on it).
    pub blf_focus: bool,
    pub blf_sel: usize,
    /// Voicemail number per account (`[[account]] voicemail`).
    pub voicemail: std::collections::BTreeMap<String, String>,
    /// The PBX profile's voicemail code, when no account has its own.
    pub pbx_voicemail: Option<String>,
    /// The dial plan of the account the dial prompt dials with (the
    /// first), for the "→ number" it shows as you type.
    pub dial_plan: Option<DialPlan>,
    /// The dial prompt's search results and selection.
    pub search: DialSearch,
    pub view: View,
    pub mode: Mode,
    pub message: Option<(Level, String)>,
    pub call_sel: usize,
    pub history_sel: usize,
    pub log_sel: usize,
    pub keymap: Keymap,
    pub theme: Theme,
    pub settings: UiConfig,
    /// Unix seconds, advanced by the tick.
    pub now: i64,
    input_history: Vec<String>,
    input_recall: Option<usize>,
    /// A call id to select when it first appears (after `dial`).
    pending_select: Option<String>,
}

impl App {
    pub fn new(
        keymap: Keymap,
        theme: Theme,
        settings: UiConfig,
        blf: Vec<BlfTarget>,
        now: i64,
    ) -> App {
        App {
            calls: Vec::new(),
            accounts: Vec::new(),
            dnd: false,
            dnd_line: false,
            dnd_presence: false,
            forward_rules: 0,
            callbacks: Default::default(),
            listen: String::new(),
            pbx: None,
            history: Vec::new(),
            traces: VecDeque::new(),
            blf,
            blf_state: std::collections::HashMap::new(),
            mwi: std::collections::BTreeMap::new(),
            conference: ConferenceView::default(),
            blf_focus: false,
            blf_sel: 0,
            voicemail: std::collections::BTreeMap::new(),
            pbx_voicemail: None,
            dial_plan: None,
            search: DialSearch::default(),
            view: View::Calls,
            mode: Mode::Normal,
            message: None,
            call_sel: 0,
            history_sel: 0,
            log_sel: 0,
            keymap,
            theme,
            settings,
            now,
            input_history: Vec::new(),
            input_recall: None,
            pending_select: None,
        }
    }

    /// Shows a message on the message line.
    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some((Level::Info, text.into()));
    }

    /// Shows an error on the message line.
    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some((Level::Error, text.into()));
    }

    /// What the dial plan makes of a number typed at the dial prompt, when
    /// that is not what was typed (names, URIs and errors show nothing).
    pub fn dial_preview(&self, typed: &str) -> Option<String> {
        let n = self.dial_plan.as_ref()?.normalize(typed).ok()?;
        (n.target != typed.trim()).then_some(n.target)
    }

    /// The selected call, if any.
    pub fn selected_call(&self) -> Option<&CallInfo> {
        self.calls.get(self.call_sel)
    }

    /// Calls not ended.
    pub fn live_calls(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.state != CallState::Ended)
            .count()
    }

    /// A phone event.
    pub fn on_phone_event(&mut self, event: Event) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Call { call } => {
                let call = *call;
                let incoming =
                    call.direction == CallDirection::In && call.state == CallState::Ringing;
                let ended = call.state == CallState::Ended;
                match self.calls.iter().position(|c| c.id == call.id) {
                    Some(i) => {
                        let was_ringing = self.calls[i].state == CallState::Ringing;
                        self.calls[i] = call.clone();
                        if incoming && !was_ringing {
                            self.announce(&call, &mut effects);
                        }
                    }
                    None => {
                        self.calls.push(call.clone());
                        if incoming {
                            self.call_sel = self.calls.len() - 1;
                            self.announce(&call, &mut effects);
                        }
                    }
                }
                if self.pending_select.as_deref() == Some(call.id.as_str()) {
                    self.pending_select = None;
                    if let Some(i) = self.calls.iter().position(|c| c.id == call.id) {
                        self.call_sel = i;
                    }
                }
                if ended {
                    effects.push(Effect::Execute(Command::History {
                        limit: Some(HISTORY_LIMIT),
                    }));
                }
            }
            Event::Registration {
                account,
                registered,
                reason,
            } => {
                if let Some(a) = self.accounts.iter_mut().find(|a| a.name == account) {
                    a.registered = registered;
                    a.reason = reason;
                } else {
                    self.accounts.push(AccountRow {
                        name: account,
                        aor: String::new(),
                        registered,
                        reason,
                    });
                }
            }
            Event::Dtmf { call, digit } => self.info(format!("{call}: DTMF {digit} received")),
            Event::Blf {
                target,
                state,
                remote,
                presence,
                note,
                name,
            } => {
                self.blf_state.insert(
                    target,
                    LampView {
                        state,
                        remote,
                        presence,
                        note,
                        name,
                    },
                );
            }
            Event::Mwi { account, new, old } => {
                if new > 0 {
                    self.info(format!("{account}: {new} new voice message(s)"));
                }
                self.mwi.insert(account, (new, old));
            }
            // Switched from here or from another pane: shown at once.
            Event::Dnd { on, line, presence } => self.set_dnd(on, line, presence),
            Event::Forward { rules } => self.forward_rules = rules.len(),
            Event::Callback {
                id,
                target,
                state,
                error,
                ..
            } => self.on_callback(id, target, state, error),
            Event::ConferenceBridging { members } => self.info(format!(
                "conference bridging without us: {}",
                members.join(", ")
            )),
            Event::ConfAddFailed { to, reason, .. } => {
                self.error(format!("{to} did not join the conference: {reason}"))
            }
            Event::DeviceFallback { role, from, to } => self.error(match to {
                Some(to) => format!("{role} device {from} disappeared: now on {to}"),
                None => format!("{role} device {from} disappeared: no {role} device left"),
            }),
        }
        effects
    }

    /// A callback when free changed: kept while pending, told either way.
    fn on_callback(&mut self, id: String, target: String, state: String, error: Option<String>) {
        let text = match (state.as_str(), &error) {
            ("waiting", _) => format!("callback {id}: waiting until {target} is free"),
            ("confirmed", _) => format!("callback {id}: the PBX will call back {target}"),
            ("ringing", _) => format!("{target} is free: c calls back ({id})"),
            ("dialed", _) => format!("callback {id}: calling {target}"),
            (_, Some(e)) => format!("callback {id} to {target} {state}: {e}"),
            _ => format!("callback {id} to {target} {state}"),
        };
        if matches!(state.as_str(), "waiting" | "confirmed" | "ringing") {
            self.callbacks.insert(id, (target, state));
        } else {
            self.callbacks.remove(&id);
        }
        match error {
            Some(_) => self.error(text),
            None => self.info(text),
        }
    }

    /// The DND state; a phone that reports only `dnd` has it on the line.
    fn set_dnd(&mut self, on: bool, line: bool, presence: bool) {
        self.dnd = on || line || presence;
        self.dnd_line = line || (on && !presence);
        self.dnd_presence = presence;
    }

    fn announce(&mut self, call: &CallInfo, effects: &mut Vec<Effect>) {
        let who = match call.name.as_ref().or(call.remote_name.as_ref()) {
            Some(name) => format!("{name} <{}>", call.remote),
            None => call.remote.clone(),
        };
        let answer = self
            .keymap
            .key_for(KeyMode::Normal, "answer")
            .map(|k| format!(" ({k} answers)"))
            .unwrap_or_default();
        self.info(format!("incoming call {} from {who}{answer}", call.id));
        if self.settings.bell {
            effects.push(Effect::Bell);
        }
        if self.settings.notify {
            effects.push(Effect::Notify(format!("Incoming call from {who}")));
        }
    }

    /// One traced SIP message.
    pub fn on_trace(&mut self, trace: SipTrace) {
        self.traces.push_back(trace);
        while self.traces.len() > TRACE_KEEP {
            self.traces.pop_front();
        }
    }

    /// The messages of the log view: the selected call's, else all.
    pub fn ladder(&self) -> Vec<&SipTrace> {
        match self.selected_call() {
            Some(call) => self
                .traces
                .iter()
                .filter(|t| t.call_id.as_deref() == Some(call.sip_call_id.as_str()))
                .collect(),
            None => self.traces.iter().collect(),
        }
    }

    /// The reply to a command run for an [`Effect::Execute`].
    pub fn on_reply(&mut self, name: &str, result: Result<Value, CommandError>) -> Vec<Effect> {
        match (name, result) {
            ("search", result) => self.on_search_reply(result),
            ("status", Ok(v)) => {
                match serde_json::from_value::<Status>(v) {
                    Ok(status) => self.apply_status(status),
                    Err(e) => self.error(format!("status: unreadable reply: {e}")),
                }
                Vec::new()
            }
            ("history", Ok(v)) => {
                if let Some(rows) = v.get("history").cloned() {
                    match serde_json::from_value::<Vec<HistoryRow>>(rows) {
                        Ok(rows) => {
                            self.history = rows;
                            self.history_sel =
                                self.history_sel.min(self.history.len().saturating_sub(1));
                        }
                        Err(e) => self.error(format!("history: unreadable reply: {e}")),
                    }
                }
                Vec::new()
            }
            (_, Ok(v)) => {
                if let Some(id) = v.get("call").and_then(Value::as_str) {
                    if let Some(i) = self.calls.iter().position(|c| c.id == id) {
                        self.call_sel = i;
                    } else {
                        self.pending_select = Some(id.to_string());
                    }
                    self.info(format!("{name}: call {id}"));
                } else if name != "quit" {
                    self.info(format!("{name}: ok"));
                }
                vec![Effect::Execute(Command::Status)]
            }
            (_, Err(e)) => {
                self.error(format!("{name}: {} ({})", e.message, e.code));
                Vec::new()
            }
        }
    }

    fn apply_status(&mut self, status: Status) {
        self.accounts = status.accounts.into_iter().map(AccountRow::from).collect();
        self.set_dnd(status.dnd, status.dnd_kinds.line, status.dnd_kinds.presence);
        self.forward_rules = status.forward.len();
        self.callbacks = status
            .callbacks
            .into_iter()
            .map(|c| (c.id, (c.target, c.state)))
            .collect();
        self.listen = status.listen;
        self.pbx = status.pbx;
        self.conference = ConferenceView::from_status(&status.conference);
        self.refresh_stats(status.calls);
        self.mwi = status
            .mwi
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.account, (m.new, m.old)))
            .collect();
        for b in status.blf {
            // `status` carries no directory name: the last event's stays.
            let name = self.blf_state.get(&b.target).and_then(|v| v.name.clone());
            self.blf_state.insert(
                b.target,
                LampView {
                    state: b.state,
                    remote: b.remote,
                    presence: b.presence,
                    note: b.note,
                    name,
                },
            );
        }
    }

    /// Waiting new voice messages over all accounts.
    pub fn new_messages(&self) -> u32 {
        self.mwi.values().map(|(n, _)| *n).sum()
    }

    /// The one-second tick: [`App::tick`], and while a conference is up or
    /// a call shows level meters a `status` to refresh the levels.
    pub fn on_tick(&mut self, now: i64) -> Vec<Effect> {
        self.tick(now);
        if self.has_conference() || self.shows_call_levels() {
            vec![Effect::Execute(Command::Status)]
        } else {
            Vec::new()
        }
    }

    /// The clock advanced: durations tick, long-ended calls leave the list.
    pub fn tick(&mut self, now: i64) {
        self.now = now;
        let before = self.calls.len();
        let selected = self.selected_call().map(|c| c.id.clone());
        self.calls.retain(|c| {
            c.state != CallState::Ended
                || c.ended_at
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .is_none_or(|t| now - t < ENDED_KEEP_S)
        });
        if self.calls.len() != before {
            self.call_sel = selected
                .and_then(|id| self.calls.iter().position(|c| c.id == id))
                .unwrap_or(0);
        }
    }

    /// Seconds shown in the duration column of a call.
    pub fn call_seconds(&self, call: &CallInfo) -> i64 {
        let from = call
            .answered_at
            .as_deref()
            .or(Some(call.started_at.as_str()))
            .and_then(parse_rfc3339);
        let to = call
            .ended_at
            .as_deref()
            .and_then(parse_rfc3339)
            .unwrap_or(self.now);
        from.map_or(0, |f| to - f)
    }
}

#[cfg(test)]
mod callback_tests;
#[cfg(test)]
mod pbx_tests;
#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod tests;
