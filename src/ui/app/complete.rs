//! Tab completion of the input line: command names, then argument values:
//! call ids, history entry numbers, remote URIs from history, account names.

use super::App;
use crate::command::{Arg, Spec, Surface, SPECS};
use crate::phone::CallState;
use crate::ui::action::PromptKind;

impl App {
    /// Candidates for a value of argument `arg`: what its spec offers, then
    /// what the phone's state offers for its name.
    fn values_for(&self, arg: &Arg) -> Vec<String> {
        let mut values: Vec<String> = arg.candidates().iter().map(|v| v.to_string()).collect();
        values.extend(self.state_values_for(arg.name));
        values
    }

    /// Call ids, history entries, remote URIs, account names.
    fn state_values_for(&self, arg: &str) -> Vec<String> {
        match arg {
            "call" | "consult" => self
                .calls
                .iter()
                .filter(|c| c.state != CallState::Ended)
                .map(|c| c.id.clone())
                .collect(),
            "entry" => self.history.iter().map(|h| h.id.to_string()).collect(),
            "to" => {
                let mut v: Vec<String> = vec!["echo".to_string()];
                for h in &self.history {
                    if !v.contains(&h.remote) {
                        v.push(h.remote.clone());
                    }
                }
                v
            }
            "account" => self.accounts.iter().map(|a| a.name.clone()).collect(),
            _ => Vec::new(),
        }
    }

    /// Completes the last word of `text`: the new text and all candidates.
    pub fn complete(&self, kind: PromptKind, text: &str) -> (String, Vec<String>) {
        let line = match kind {
            PromptKind::Dial => format!("dial {text}"),
            PromptKind::Command => text.to_string(),
        };
        let split = line.rfind(' ').map_or(0, |i| i + 1);
        let (head, word) = line.split_at(split);
        let words: Vec<&str> = head.split_whitespace().collect();
        let (prefix_key, partial, candidates) = if words.is_empty() {
            let names = SPECS
                .iter()
                .filter(|s| s.offers(Surface::Line))
                .map(|s| s.name.to_string())
                .collect::<Vec<_>>();
            (String::new(), word.to_string(), names)
        } else {
            let Some(spec) = Spec::named(words[0]) else {
                return (text.to_string(), Vec::new());
            };
            match word.split_once('=') {
                Some((k, v)) => {
                    let values = spec.arg(k).map(|a| self.values_for(a)).unwrap_or_default();
                    (format!("{k}="), v.to_string(), values)
                }
                None => {
                    let named: Vec<&str> = words[1..]
                        .iter()
                        .filter_map(|w| w.split_once('=').map(|(k, _)| k))
                        .collect();
                    let positional = words[1..].iter().filter(|w| !w.contains('=')).count();
                    let arg = spec
                        .args
                        .iter()
                        .filter(|a| !named.contains(&a.name))
                        .nth(positional);
                    match arg {
                        Some(a) => (String::new(), word.to_string(), self.values_for(a)),
                        None => (String::new(), word.to_string(), Vec::new()),
                    }
                }
            }
        };
        let matching: Vec<String> = candidates
            .into_iter()
            .filter(|c| c.starts_with(&partial))
            .collect();
        let completed_word = match matching.as_slice() {
            [] => return (text.to_string(), Vec::new()),
            [one] => format!("{prefix_key}{one} "),
            many => format!("{prefix_key}{}", common_prefix(many)),
        };
        let new_line = format!("{head}{completed_word}");
        let new_text = match kind {
            PromptKind::Dial => new_line
                .strip_prefix("dial ")
                .unwrap_or(&new_line)
                .to_string(),
            PromptKind::Command => new_line,
        };
        (new_text, matching)
    }
}

fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut len = first.len();
    for s in &items[1..] {
        len = first
            .char_indices()
            .zip(s.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    first[..len].to_string()
}
