//! The dial prompt's search results: a box over the bottom of the main
//! area, just above the prompt, one row per number (name, number, kind,
//! source), the selected one marked ▸ and highlighted. Draws only; the results and the
//! selection live in `app/search.rs`.

use crate::ui::app::{App, SearchHit};
use crate::ui::view::fit;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// One result row, in columns, cut to `width`.
fn row(hit: &SearchHit, width: usize) -> String {
    let name = if hit.name.is_empty() {
        "—"
    } else {
        hit.name.as_str()
    };
    let number = if hit.number.is_empty() {
        hit.uri.as_str()
    } else {
        hit.number.as_str()
    };
    let text = format!(
        "{:<22} {:<18} {:<6} {}",
        fit(name, 22),
        fit(number, 18),
        fit(&hit.kind, 6),
        hit.source
    );
    fit(&text, width)
}

pub fn draw(frame: &mut Frame, main: Rect, app: &App) {
    let t = &app.theme;
    let hits = &app.search.results;
    let height = (hits.len() as u16 + 2).min(main.height);
    if hits.is_empty() || height < 3 {
        return;
    }
    let area = Rect::new(main.x, main.bottom() - height, main.width, height);
    let inner_width = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| {
            let (mark, role) = if app.search.sel == Some(i) {
                ("▸ ", "ui.selected")
            } else {
                ("  ", "ui.text")
            };
            let row = row(hit, inner_width.saturating_sub(2));
            let text = format!("{mark}{row:<width$}", width = inner_width.saturating_sub(2));
            Line::from(Span::styled(text, t.style(role)))
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(" directory ", t.style("ui.title")));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
