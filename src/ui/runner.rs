//! The event loop on a real terminal: keys (crossterm event stream), the
//! phone's feed (events and SIP traces, from wherever the phone runs),
//! command replies and a one-second tick drive redraws; nothing polls.
//! Commands run on their own tasks so the screen never waits on the
//! network. The terminal is restored on exit and, before the panic is
//! printed, on a panic of the interface's thread (`panic_hook.rs`).

use super::app::{App, Effect};
use super::keymap::Keymap;
use super::theme::Theme;
use super::view::draw;
use crate::command::{Command, CommandError};
use crate::config::Config;
use crate::phone::{Feed, PhoneLink};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

type Reply = (&'static str, Result<serde_json::Value, CommandError>);

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The directory of user keymap and themes: the config file's directory,
/// else the default config dir.
pub fn config_dir(config: &Config) -> Option<PathBuf> {
    config
        .path
        .as_deref()
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        .or_else(|| {
            Config::default_path().and_then(|p| p.parent().map(std::path::Path::to_path_buf))
        })
}

/// Builds the app for `config`: keymap (defaults + user file), theme, BLF
/// targets. Problems with the user files go to the message line.
pub fn build_app(config: &Config, no_color: bool) -> App {
    let dir = config_dir(config);
    let (keymap, keymap_err) = Keymap::load(dir.as_ref().map(|d| d.join("keymap.toml")).as_deref());
    let themes = dir.as_ref().map(|d| d.join("themes"));
    let (theme, theme_err) = match Theme::load(&config.ui.theme, themes.as_deref(), no_color) {
        Ok(t) => (t, None),
        Err(e) => (Theme::fallback(no_color), Some(e)),
    };
    let mut app = App::new(
        keymap,
        theme,
        config.ui.clone(),
        config.blf.clone(),
        unix_now(),
    );
    app.voicemail = config
        .accounts
        .iter()
        .filter_map(|a| {
            let n = a.voicemail.as_deref()?.trim();
            (!n.is_empty()).then(|| (a.name.clone(), n.to_string()))
        })
        .collect();
    app.pbx_voicemail = config.pbx.codes.voicemail.clone();
    app.dial_plan = config.accounts.first().and_then(|a| a.dial_plan.clone());
    if let Some(e) = theme_err {
        app.error(format!("theme: {e} (using the default theme)"));
    }
    if let Some(e) = keymap_err {
        app.error(format!("keymap: {e} (default keys in force)"));
    }
    app
}

/// Sanitises text for an OSC sequence.
fn osc_text(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() && *c != ';').collect()
}

/// Why the interface ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The phone stopped (after `quit`) or the connection to it ended.
    PhoneGone,
    /// The user detached: the phone and its calls go on.
    Detached,
}

/// Runs the interface on `phone` and what `feed` reports (the phone's state
/// as events first, then events and the SIP trace) until the feed ends or
/// the user detaches. Returns an error only when the terminal fails.
pub async fn run(
    phone: impl PhoneLink,
    mut feed: mpsc::UnboundedReceiver<Feed>,
    config: &Config,
) -> std::io::Result<Outcome> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut app = build_app(config, no_color);
    // Not ratatui::init: its panic hook restores the terminal on any
    // thread's panic, under the running interface (see `panic_hook`).
    let hook = super::panic_hook::PanicHook::install();
    let mut terminal = open_terminal()?;
    let result = event_loop(&mut terminal, &mut app, &phone, &mut feed).await;
    ratatui::restore();
    drop(hook);
    result
}

/// Raw mode, the alternate screen, a terminal on stdout.
fn open_terminal() -> std::io::Result<ratatui::DefaultTerminal> {
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    phone: &impl PhoneLink,
    feed: &mut mpsc::UnboundedReceiver<Feed>,
) -> std::io::Result<Outcome> {
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<Reply>();
    let execute = |cmd: Command| {
        let phone = phone.clone();
        let tx = reply_tx.clone();
        tokio::spawn(async move {
            let name = cmd.name();
            let result = phone.execute(cmd).await;
            let _ = tx.send((name, result));
        });
    };
    execute(Command::Status);
    execute(Command::History {
        limit: Some(super::app::HISTORY_LIMIT),
    });
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        terminal.draw(|f| draw(f, app))?;
        let effects = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(TermEvent::Key(k))) if k.kind != KeyEventKind::Release => app.on_key(k),
                Some(Ok(_)) => Vec::new(), // resize and others: redraw
                Some(Err(e)) => return Err(e),
                // the terminal is gone: leave the phone as it is
                None => return Ok(Outcome::Detached),
            },
            item = feed.recv() => match item {
                Some(Feed::Event(ev)) => app.on_phone_event(ev),
                Some(Feed::Trace(tr)) => {
                    app.on_trace(tr);
                    Vec::new()
                }
                None => return Ok(Outcome::PhoneGone),
            },
            reply = reply_rx.recv() => match reply {
                Some((name, result)) => app.on_reply(name, result),
                None => Vec::new(),
            },
            _ = tick.tick() => app.on_tick(unix_now()),
        };
        for effect in effects {
            match effect {
                Effect::Execute(cmd) => execute(cmd),
                Effect::Detach => return Ok(Outcome::Detached),
                Effect::Bell => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Effect::Notify(text) => {
                    let text = osc_text(&text);
                    let mut out = std::io::stdout();
                    let _ = write!(
                        out,
                        "\x1b]777;notify;termphone;{text}\x1b\\\x1b]9;{text}\x1b\\"
                    )
                    .and_then(|()| out.flush());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::app::Level;
    use crate::ui::key::Key;
    use crate::ui::keymap::KeyMode;

    #[test]
    fn user_files_next_to_the_config_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[normal]\nkeymap = [ { on = \"a\", run = \"hangup\" } ]\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "inherits = \"light\"\n",
        )
        .unwrap();
        let config = Config::parse("[ui]\ntheme = \"mine\"\n", &path).unwrap();
        let app = build_app(&config, false);
        assert_eq!(app.message, None);
        assert_eq!(app.theme.name, "mine");
        assert_eq!(
            app.keymap.lookup(KeyMode::Normal, &Key::char('a')),
            Some(&crate::ui::action::Action::Run("hangup".into()))
        );
    }

    #[test]
    fn bad_keymap_is_shown_with_file_line_and_key_and_defaults_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let keymap = dir.path().join("keymap.toml");
        std::fs::write(
            &keymap,
            "[normal]\nkeymap = [\n  { on = \"a\", run = \"hangup\" },\n\n  { on = \"z\", run = \"explode\" },\n]\n",
        )
        .unwrap();
        let config = Config::parse("", &path).unwrap();
        let app = build_app(&config, false);
        let (level, text) = app.message.clone().unwrap();
        assert_eq!(level, Level::Error);
        assert!(
            text.contains(&format!("{}:5: key `z` in [normal]", keymap.display())),
            "{text}"
        );
        assert_eq!(app.keymap, Keymap::defaults());
    }

    #[test]
    fn unknown_theme_falls_back_to_the_default_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            Config::parse("[ui]\ntheme = \"solarised\"\n", &dir.path().join("c.toml")).unwrap();
        let app = build_app(&config, false);
        assert_eq!(app.theme.name, "default");
        assert!(app
            .message
            .clone()
            .unwrap()
            .1
            .contains("no theme `solarised`"));
    }

    #[test]
    fn voicemail_numbers_come_from_accounts_and_the_pbx_profile() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[[account]]\nname = \"office\"\nuser = \"1001\"\ndomain = \"test.local\"\nvoicemail = \" 8500 \"\n\n[[account]]\nname = \"home\"\nuser = \"2001\"\ndomain = \"home.example\"\n\n[pbx]\nvoicemail = \"*86\"\n";
        let config = Config::parse(text, &dir.path().join("c.toml")).unwrap();
        let app = build_app(&config, false);
        assert_eq!(
            app.voicemail.get("office").map(String::as_str),
            Some("8500")
        );
        assert_eq!(app.voicemail.get("home"), None);
        assert_eq!(app.pbx_voicemail.as_deref(), Some("*86"));
    }

    #[test]
    fn osc_text_cannot_end_the_sequence() {
        assert_eq!(osc_text("a\x1b]9;b\x07c;d"), "a]9bcd");
    }
}
