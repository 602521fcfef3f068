//! The BLF side panel: the configured `[[blf]]` targets and their live
//! state from the dialog event package (`?` until the first NOTIFY).

use crate::ui::app::App;
use crate::ui::view::fit;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(" BLF ", t.style("ui.title")));
    let width = area.width.saturating_sub(4) as usize;
    let lines: Vec<Line> = if app.blf.is_empty() {
        vec![
            Line::styled("no targets", t.style("ui.dim")),
            Line::styled("([[blf]] in config)", t.style("ui.dim")),
        ]
    } else {
        app.blf
            .iter()
            .map(|b| {
                let label = b.label.as_deref().unwrap_or(&b.target);
                let state = app
                    .blf_state
                    .get(&b.target)
                    .map(|(s, _)| s.as_str())
                    .unwrap_or("unknown");
                let (mark, role) = match state {
                    "idle" => ("○ ", "blf.idle"),
                    "ringing" => ("◎ ", "blf.ringing"),
                    "busy" => ("● ", "blf.busy"),
                    "offline" => ("× ", "blf.offline"),
                    _ => ("? ", "blf"),
                };
                Line::from(vec![
                    Span::styled(mark, t.style(role)),
                    Span::styled(fit(label, width), t.style(role)),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
