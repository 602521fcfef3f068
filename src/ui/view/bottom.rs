//! The two bottom lines: messages (info and errors), and the input line
//! (dial prompt, `:` command line, quit confirmation, or key hints).

use crate::ui::action::PromptKind;
use crate::ui::app::{App, Level, Mode};
use crate::ui::keymap::KeyMode;
use crate::ui::view::fit;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw_message(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    if let Some((level, text)) = &app.message {
        let role = match level {
            Level::Info => "message.info",
            Level::Error => "message.error",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!(" {}", fit(text, area.width.saturating_sub(1) as usize)),
                t.style(role),
            )),
            area,
        );
    }
}

/// Key hints for the normal mode, from the live keymap.
fn hints(app: &App) -> String {
    let wanted = [
        ("prompt dial", "dial"),
        ("answer", "answer"),
        ("hangup", "hang up"),
        ("hold_toggle", "hold"),
        ("transfer", "transfer"),
        ("prompt command", "command"),
        ("help", "help"),
        ("quit", "quit"),
    ];
    wanted
        .iter()
        .filter_map(|(run, label)| {
            app.keymap
                .key_for(KeyMode::Normal, run)
                .map(|k| format!("{k} {label}"))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// `(y/n)`: the keys of the quit question, from the live keymap.
fn confirm_keys(app: &App) -> String {
    let key = |run| app.keymap.key_for(KeyMode::Confirm, run).map(|k| k.label());
    match (key("confirm yes"), key("confirm no")) {
        (Some(yes), Some(no)) => format!("({yes}/{no})"),
        (Some(yes), None) => format!("({yes}: yes)"),
        (None, _) => "([confirm] has no key for `confirm yes`)".to_string(),
    }
}

pub fn draw_input(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let width = area.width as usize;
    match &app.mode {
        Mode::Input { kind, text } => {
            let prompt = match kind {
                PromptKind::Dial => " dial: ",
                PromptKind::Command => " :",
            };
            let room = width.saturating_sub(prompt.chars().count() + 1);
            let shown: String = {
                let n = text.chars().count();
                text.chars().skip(n.saturating_sub(room)).collect()
            };
            let x = area.x + (prompt.chars().count() + shown.chars().count()) as u16;
            let mut spans = vec![
                Span::styled(prompt, t.style("input.prompt")),
                Span::styled(shown, t.style("input.text")),
            ];
            // What the dial plan will dial, after the cursor.
            if *kind == PromptKind::Dial {
                if let Some(number) = app.dial_preview(text) {
                    spans.push(Span::styled(format!("  → {number}"), t.style("ui.dim")));
                }
            }
            frame.render_widget(Paragraph::new(Line::from(spans)), area);
            frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
        }
        Mode::ConfirmQuit => {
            let n = app.live_calls();
            frame.render_widget(
                Paragraph::new(Span::styled(
                    format!(
                        " {n} call{} up: hang up and quit? {}{}",
                        if n == 1 { "" } else { "s" },
                        confirm_keys(app),
                        app.keymap
                            .key_for(KeyMode::Confirm, "detach")
                            .map(|k| format!(" · {}: detach, calls go on", k.label()))
                            .unwrap_or_default()
                    ),
                    t.style("message.error"),
                )),
                area,
            );
        }
        _ => {
            frame.render_widget(
                Paragraph::new(Span::styled(
                    format!(" {}", fit(&hints(app), width.saturating_sub(1))),
                    t.style("ui.dim"),
                )),
                area,
            );
        }
    }
}
