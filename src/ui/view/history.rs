//! The History view: newest first, missed calls marked.

use crate::ui::app::App;
use crate::ui::time::{duration, parse_rfc3339};
use crate::ui::view::fit;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(" History ", t.style("ui.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    const FIXED: usize = 1 + 5 + 2 + 17 + 8 + 1;
    let rest = width.saturating_sub(FIXED);
    let remote_w = (rest * 3 / 5).max(10);
    let result_w = rest.saturating_sub(remote_w);
    let mut lines = vec![Line::styled(
        format!(
            " {:<5}{:<2}{:<remote_w$}{:<17}{:>8} {:<result_w$}",
            "#", "", "remote", "started (UTC)", "length", "result"
        ),
        t.style("ui.dim"),
    )];
    if app.history.is_empty() {
        lines.push(Line::styled(" No calls yet.", t.style("ui.dim")));
    }
    let per_page = inner.height.saturating_sub(1).max(1) as usize;
    let first = app.history_sel.saturating_sub(per_page - 1);
    for (i, h) in app.history.iter().enumerate().skip(first).take(per_page) {
        let selected = i == app.history_sel;
        let base = if selected {
            t.style("ui.selected")
        } else {
            Style::default()
        };
        let role = if h.missed {
            "history.missed"
        } else if h.direction == "in" {
            "history.in"
        } else {
            "history.out"
        };
        let style = t.style(role).patch(base);
        let dir = if h.direction == "in" { "←" } else { "→" };
        let started = h
            .started_at
            .get(..16)
            .unwrap_or(&h.started_at)
            .replace('T', " ");
        let length = match (
            h.answered_at.as_deref().and_then(parse_rfc3339),
            h.ended_at.as_deref().and_then(parse_rfc3339),
        ) {
            (Some(a), Some(e)) => duration(e - a),
            _ => "-".to_string(),
        };
        let result = if h.missed {
            "missed".to_string()
        } else {
            h.end_reason.clone().unwrap_or_else(|| "up".to_string())
        };
        let who = match h.name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => format!("{name} <{}>", h.remote),
            None => h.remote.clone(),
        };
        lines.push(Line::from(Span::styled(
            format!(
                " {:<5}{dir} {:<remote_w$}{:<17}{:>8} {:<result_w$}",
                fit(&h.id.to_string(), 5),
                fit(&who, remote_w.saturating_sub(1)),
                started,
                length,
                fit(&result, result_w)
            ),
            style,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
