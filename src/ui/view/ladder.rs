//! The SIP log of the selected call as a ladder: time, an arrow with the
//! method or response between termphone and the peer, the peer's address.

use crate::phone::TraceDirection;
use crate::ui::app::App;
use crate::ui::time::clock_ms;
use crate::ui::view::fit;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// The arrow text of one message, `width` characters wide.
pub fn arrow(direction: TraceDirection, summary: &str, width: usize) -> String {
    let label = fit(summary, width.saturating_sub(6));
    let used = label.chars().count() + 4;
    let fill = "─".repeat(width.saturating_sub(used));
    match direction {
        TraceDirection::Out => format!("─ {label} {fill}▶"),
        TraceDirection::In => format!("◀ {label} {fill}─"),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let title = match app.selected_call() {
        Some(c) => format!(" SIP log: {} ({}) ", c.id, fit(&c.sip_call_id, 24)),
        None => " SIP log: all messages ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(title, t.style("ui.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let ladder = app.ladder();
    let width = inner.width as usize;
    let arrow_w = width.saturating_sub(14 + 22).clamp(16, 40);
    let mut lines = vec![Line::styled(
        format!(" {:<13}{:<arrow_w$} {}", "time (UTC)", "termphone", "peer"),
        t.style("ui.dim"),
    )];
    if ladder.is_empty() {
        lines.push(Line::styled(" No SIP messages yet.", t.style("ui.dim")));
    }
    let per_page = inner.height.saturating_sub(1).max(1) as usize;
    let first = app.log_sel.saturating_sub(per_page - 1);
    for (i, m) in ladder.iter().enumerate().skip(first).take(per_page) {
        let base = if i == app.log_sel {
            t.style("ui.selected")
        } else {
            Style::default()
        };
        let role = match m.direction {
            TraceDirection::In => "ladder.in",
            TraceDirection::Out => "ladder.out",
        };
        let peer_w = width.saturating_sub(14 + arrow_w + 1);
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {} ", clock_ms(m.at_ms)),
                t.style("ladder.time").patch(base),
            ),
            Span::styled(
                arrow(m.direction, &m.summary, arrow_w),
                t.style(role).patch(base),
            ),
            Span::styled(
                format!(" {}", fit(&m.peer, peer_w)),
                t.style("ladder.peer").patch(base),
            ),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_have_the_asked_width() {
        let out = arrow(TraceDirection::Out, "INVITE", 20);
        assert_eq!(out, "─ INVITE ──────────▶");
        assert_eq!(out.chars().count(), 20);
        let inn = arrow(TraceDirection::In, "180 Ringing", 20);
        assert_eq!(inn, "◀ 180 Ringing ──────");
        assert_eq!(inn.chars().count(), 20);
        let long = arrow(TraceDirection::In, "488 Not Acceptable Here at all", 16);
        assert_eq!(long.chars().count(), 16);
    }
}
