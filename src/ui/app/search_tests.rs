//! The dial prompt's search as you type: requests, replies, selection, Enter.

use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

fn app() -> App {
    App::new(
        Keymap::defaults(),
        Theme::fallback(false),
        UiConfig::default(),
        Vec::new(),
        0,
    )
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    a.on_key(KeyEvent::new(code, KeyModifiers::empty()))
}

fn type_text(a: &mut App, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| press(a, KeyCode::Char(c)))
        .collect()
}

fn search(q: &str) -> Effect {
    Effect::Execute(Command::Search {
        q: q.into(),
        limit: Some(SEARCH_SHOWN),
    })
}

/// Alice with two numbers, as `search` returns a contact's numbers.
fn alice() -> Value {
    json!({"results": [
        {"name": "Alice Smith", "number": "+49 89 1234567", "uri": "sip:+49891234567@pbx",
         "source": "contacts/alice.vcf", "kind": "work"},
        {"name": "Alice Smith", "number": "+49 170 555", "uri": "sip:+49170555@pbx",
         "source": "contacts/alice.vcf", "kind": "cell"},
    ]})
}

#[test]
fn typing_asks_once_the_text_is_long_enough() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    assert_eq!(press(&mut a, KeyCode::Char('a')), vec![]);
    assert_eq!(press(&mut a, KeyCode::Char('l')), vec![search("al")]);
}

#[test]
fn a_short_extension_is_not_searched() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    assert_eq!(type_text(&mut a, "1002"), vec![]);
}

#[test]
fn reply_shows_every_number_and_arrows_pick_and_enter_dials_the_uri() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "al");
    assert!(a.on_reply("search", Ok(alice())).is_empty());
    assert_eq!(a.search.results.len(), 2);
    assert_eq!(a.search.results[1].kind, "cell");
    assert_eq!(a.search.sel, None);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.search.sel, Some(0));
    press(&mut a, KeyCode::Down);
    assert_eq!(a.search.sel, Some(1));
    press(&mut a, KeyCode::Up);
    assert_eq!(a.search.sel, Some(0));
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.search.sel, None);
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.search.sel, Some(1));
    // the text typed stays as it was
    assert!(matches!(&a.mode, Mode::Input { text, .. } if text == "al"));
    let effects = press(&mut a, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Execute(Command::Dial {
            to: "sip:+49170555@pbx".into(),
            account: None,
        })]
    );
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.search.results.is_empty());
}

#[test]
fn enter_without_a_selection_dials_what_was_typed() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "al");
    a.on_reply("search", Ok(alice()));
    assert_eq!(
        press(&mut a, KeyCode::Enter),
        vec![Effect::Execute(Command::Dial {
            to: "al".into(),
            account: None,
        })]
    );
}

#[test]
fn one_request_at_a_time_and_a_stale_reply_is_dropped_for_the_text_now_typed() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    assert_eq!(type_text(&mut a, "ali"), vec![search("al")]);
    // the reply for "al" is stale: not shown, "ali" asked instead
    assert_eq!(a.on_reply("search", Ok(alice())), vec![search("ali")]);
    assert!(a.search.results.is_empty());
    assert!(a.on_reply("search", Ok(alice())).is_empty());
    assert_eq!(a.search.results.len(), 2);
    // editing drops the results and asks again
    assert_eq!(press(&mut a, KeyCode::Backspace), vec![search("al")]);
    assert!(a.search.results.is_empty());
}

#[test]
fn a_reply_after_esc_is_dropped_and_esc_closes_as_before() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "al");
    assert!(press(&mut a, KeyCode::Esc).is_empty());
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.on_reply("search", Ok(alice())).is_empty());
    assert!(a.search.results.is_empty());
    assert_eq!(a.message, None);
}

#[test]
fn without_results_tab_and_up_keep_their_prompt_meaning() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "ec");
    a.on_reply("search", Ok(json!({"results": []})));
    press(&mut a, KeyCode::Tab);
    // completion of `dial ec` gives the echo test
    assert!(matches!(&a.mode, Mode::Input { text, .. } if text == "echo "));
}

#[test]
fn a_search_error_is_shown() {
    let mut a = app();
    press(&mut a, KeyCode::Char('d'));
    type_text(&mut a, "al");
    a.on_reply(
        "search",
        Err(CommandError::new("timeout", "directory did not answer")),
    );
    assert_eq!(
        a.message,
        Some((
            Level::Error,
            "search: directory did not answer (timeout)".into()
        ))
    );
}
