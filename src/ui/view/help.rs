//! `?` help, generated from the live keymap: every binding with its
//! description (keys with the same action share a line), then the fixed
//! keys of the input line.

use crate::ui::app::App;
use crate::ui::view::fit;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// (keys, description) pairs in keymap order, keys of the same `run` merged.
pub fn entries(app: &App) -> Vec<(String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for b in app.keymap.bindings() {
        match out.iter_mut().find(|(_, run, _)| *run == b.run) {
            Some((keys, _, _)) => {
                keys.push(' ');
                keys.push_str(&b.key.to_string());
            }
            None => out.push((b.key.to_string(), b.run.clone(), b.desc.clone())),
        }
    }
    out.into_iter().map(|(k, _, d)| (k, d)).collect()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(" Keys (any key closes) ", t.style("ui.title")));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let [table, footer] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    let entries = entries(app);
    let rows = table.height.max(1) as usize;
    let columns = entries.len().div_ceil(rows).max(1);
    let col_w = (table.width as usize / columns).max(10);
    let key_w = 10.min(col_w / 3);
    let mut lines = Vec::new();
    for r in 0..rows.min(entries.len()) {
        let mut spans = Vec::new();
        for c in 0..columns {
            if let Some((keys, desc)) = entries.get(c * rows + r) {
                spans.push(Span::styled(
                    format!(" {:<key_w$}", fit(keys, key_w.saturating_sub(1))),
                    t.style("ui.key"),
                ));
                spans.push(Span::styled(
                    format!(
                        "{:<w$}",
                        fit(desc, col_w.saturating_sub(key_w + 2)),
                        w = col_w - key_w - 1
                    ),
                    t.style("ui.text"),
                ));
            }
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), table);
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled(
                " 0-9 * #: DTMF during an active call, else start dialing",
                t.style("ui.dim"),
            ),
            Line::styled(
                " input line: Enter runs, Esc cancels, Tab completes, Up/Down recall, C-u clears",
                t.style("ui.dim"),
            ),
        ]),
        footer,
    );
}
