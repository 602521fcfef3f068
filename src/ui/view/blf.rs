//! The BLF side panel: the configured `[[blf]]` targets and their live
//! state from the dialog event package and presence (`?` until the first
//! NOTIFY); a ringing target shows its caller on a second line, one in do
//! not disturb or away says so there. With focus (`b`) the
//! panel has a selection the PBX keys act on.

use crate::ui::app::{App, LampView};
use crate::ui::view::fit;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// Mark and theme role of a lamp state.
fn lamp(state: &str) -> (&'static str, &'static str) {
    match state {
        "idle" => ("○ ", "blf.idle"),
        "ringing" => ("◎ ", "blf.ringing"),
        "busy" => ("● ", "blf.busy"),
        "offline" => ("× ", "blf.offline"),
        _ => ("? ", "blf"),
    }
}

/// The second line of a target whose presence says more than its lamp:
/// do not disturb, away, or a note.
fn presence_detail(view: &LampView) -> Option<String> {
    let what = match view.presence.as_deref()? {
        "dnd" => "do not disturb",
        "away" => "away",
        "busy" if view.state != "busy" => "busy",
        _ => return view.note.clone().filter(|n| !n.is_empty()),
    };
    Some(match view.note.as_deref() {
        Some(n) if !n.is_empty() && !n.eq_ignore_ascii_case(what) => format!("{what}: {n}"),
        _ => what.to_string(),
    })
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let (title, border) = if app.blf_focus {
        (" BLF ◀ ", t.style("ui.title"))
    } else {
        (" BLF ", t.style("ui.border"))
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, t.style("ui.title")));
    let width = area.width.saturating_sub(4) as usize;
    let mut lines: Vec<Line> = Vec::new();
    if app.blf.is_empty() {
        lines.push(Line::styled("no targets", t.style("ui.dim")));
        lines.push(Line::styled("([[blf]] in config)", t.style("ui.dim")));
    }
    for (i, b) in app.blf.iter().enumerate() {
        let view = app.blf_state.get(&b.target);
        let label = b
            .label
            .as_deref()
            .or(view.and_then(|v| v.name.as_deref()))
            .unwrap_or(&b.target);
        let state = view.map(|v| v.state.as_str()).unwrap_or("unknown");
        let remote = view.and_then(|v| v.remote.as_deref());
        let (mark, role) = lamp(state);
        let selected = app.blf_focus && i == app.blf_sel;
        let base = if selected {
            t.style("ui.selected")
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(mark, t.style(role).patch(base)),
            Span::styled(
                format!("{:<width$}", fit(label, width)),
                t.style(role).patch(base),
            ),
        ]));
        if state == "ringing" {
            if let Some(caller) = remote.filter(|r| !r.is_empty()) {
                let caller = caller
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim_start_matches("sip:");
                lines.push(Line::styled(
                    format!(" ←{}", fit(caller, width.saturating_sub(2))),
                    t.style("blf.remote"),
                ));
            }
        } else if let Some(detail) = view.and_then(presence_detail) {
            lines.push(Line::styled(
                format!(" {}", fit(&detail, width.saturating_sub(1))),
                t.style("ui.dim"),
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
