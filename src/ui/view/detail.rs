//! The full text of one SIP message (already redacted by the trace), over
//! the log view, scrollable.

use crate::sip::trace::TraceDirection;
use crate::ui::app::App;
use crate::ui::keymap::KeyMode;
use crate::ui::time::clock_ms;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, index: usize, scroll: u16) {
    let t = &app.theme;
    let ladder = app.ladder();
    let Some(m) = ladder.get(index) else {
        return;
    };
    let dir = match m.direction {
        TraceDirection::In => "from",
        TraceDirection::Out => "to",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(
            format!(
                " {} {dir} {} at {} ({} closes) ",
                m.summary,
                m.peer,
                clock_ms(m.at_ms),
                app.keymap
                    .key_for(KeyMode::Detail, "close")
                    .map_or_else(|| "any other key".to_string(), |k| k.label())
            ),
            t.style("ui.title"),
        ));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(m.text.replace("\r\n", "\n"))
            .style(t.style("ui.text"))
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}
