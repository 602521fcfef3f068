//! Search as you type at the dial prompt: when to ask the phone's `search`
//! (at most one request out; a reply for text since changed is dropped and
//! the current text asked for), the results shown under the prompt and
//! their selection. Owns [`DialSearch`]; the prompt's text and keys stay in
//! `keys.rs`, the drawing in `view/search.rs`.

use super::{App, Effect, Mode};
use crate::command::{Command, CommandError};
use crate::ui::action::PromptKind;
use serde::Deserialize;
use serde_json::Value;

/// Results shown under the dial prompt (and asked for).
pub const SEARCH_SHOWN: usize = 8;

/// One result of `search` (docs/control.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SearchHit {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub number: String,
    pub uri: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub kind: String,
}

/// The dial prompt's search: what is shown, what is asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialSearch {
    /// The results for the text now typed, best first.
    pub results: Vec<SearchHit>,
    /// The selected result; `None`: Enter dials the typed text.
    pub sel: Option<usize>,
    /// The text of the request out, whose reply has not come.
    in_flight: Option<String>,
}

/// Whether typed text is worth a search: two characters or more, not a URI
/// (dialled as typed) and, when only digits (and dial punctuation), longer
/// than a short extension.
pub fn searchable(text: &str) -> bool {
    let t = text.trim();
    if t.chars().count() < 2 || t.contains(':') || t.contains('@') {
        return false;
    }
    let digits_only = t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-/().*#".contains(c));
    !digits_only || t.chars().filter(char::is_ascii_digit).count() >= 5
}

impl App {
    /// The dial prompt's text changed: forget the old results and ask for
    /// the new text unless a request is already out (its reply asks again).
    pub(super) fn search_after_edit(&mut self, text: &str) -> Vec<Effect> {
        self.search.results.clear();
        self.search.sel = None;
        if !searchable(text) || self.search.in_flight.is_some() {
            return Vec::new();
        }
        self.ask_search(text)
    }

    fn ask_search(&mut self, text: &str) -> Vec<Effect> {
        let q = text.trim().to_string();
        self.search.in_flight = Some(q.clone());
        vec![Effect::Execute(Command::Search {
            q,
            limit: Some(SEARCH_SHOWN),
        })]
    }

    /// The prompt closed: nothing shown; a reply still out is dropped.
    pub(super) fn search_closed(&mut self) {
        self.search.results.clear();
        self.search.sel = None;
    }

    /// The dial prompt's text while it is open.
    fn dial_text(&self) -> Option<&str> {
        match &self.mode {
            Mode::Input {
                kind: PromptKind::Dial,
                text,
            } => Some(text),
            _ => None,
        }
    }

    /// The reply to `search`: shown when it is for the text typed now, else
    /// dropped and the text typed now asked for.
    pub(super) fn on_search_reply(&mut self, result: Result<Value, CommandError>) -> Vec<Effect> {
        let asked = self.search.in_flight.take();
        let Some(text) = self.dial_text().map(|t| t.trim().to_string()) else {
            return Vec::new();
        };
        if asked.as_deref() != Some(text.as_str()) {
            return if searchable(&text) {
                self.ask_search(&text)
            } else {
                Vec::new()
            };
        }
        match result {
            Ok(v) => {
                let hits = v
                    .get("results")
                    .cloned()
                    .map(serde_json::from_value::<Vec<SearchHit>>);
                match hits {
                    Some(Ok(mut hits)) => {
                        hits.truncate(SEARCH_SHOWN);
                        self.search.results = hits;
                        self.search.sel = None;
                    }
                    Some(Err(e)) => self.error(format!("search: unreadable reply: {e}")),
                    None => self.error("search: reply without results"),
                }
            }
            Err(e) => self.error(format!("search: {} ({})", e.message, e.code)),
        }
        Vec::new()
    }

    /// Moves the selection among the results (wrapping; before the first
    /// is "none": the typed text). False when there are none to move in.
    pub(super) fn search_select(&mut self, forward: bool) -> bool {
        let n = self.search.results.len();
        if n == 0 {
            return false;
        }
        self.search.sel = match (self.search.sel, forward) {
            (None, true) => Some(0),
            (None, false) => Some(n - 1),
            (Some(i), true) if i + 1 < n => Some(i + 1),
            (Some(0), false) => None,
            (Some(i), false) => Some(i - 1),
            (Some(_), true) => None,
        };
        true
    }

    /// The URI of the selected result, what Enter dials.
    pub(super) fn selected_hit_uri(&self) -> Option<String> {
        self.search
            .sel
            .and_then(|i| self.search.results.get(i))
            .map(|h| h.uri.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::searchable;

    #[test]
    fn what_is_searched() {
        for (text, want) in [
            ("", false),
            ("a", false),
            ("al", true),
            ("Alice Smith", true),
            ("10", false),
            ("1002", false),
            ("089 1", false),
            ("089 12", true),
            ("08912", true),
            ("+49 89 1234", true),
            ("sip:alice@x", false),
            ("alice@x", false),
            (" b ", false),
        ] {
            assert_eq!(searchable(text), want, "{text:?}");
        }
    }
}
