//! The status bar (accounts and registration, waiting voice messages, DND,
//! forwarding rules, listening address) and the view tabs under it.

use crate::ui::action::View;
use crate::ui::app::App;
use crate::ui::keymap::KeyMode;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let bar = t.style("status");
    let mut left = vec![Span::styled(" termphone ", t.style("ui.title").patch(bar))];
    for a in &app.accounts {
        let (mark, role, note) = if a.registered {
            ("●", "status.registered", format!(" {}", a.aor))
        } else if a.registration_off() {
            ("○", "status", format!(" {}", a.aor))
        } else {
            (
                "✗",
                "status.unregistered",
                format!(" {}", a.reason.as_deref().unwrap_or("not registered")),
            )
        };
        left.push(Span::styled(format!(" {mark} "), t.style(role)));
        left.push(Span::styled(a.name.clone(), t.style(role)));
        left.push(Span::styled(note, bar));
    }
    let mut right = Vec::new();
    let new = app.new_messages();
    if new > 0 {
        right.push(Span::styled(format!(" ✉ {new} "), t.style("status.mwi")));
    }
    right.push(if app.dnd {
        let kinds = match (app.dnd_line, app.dnd_presence) {
            (true, true) => " DND line+presence ",
            (false, true) => " DND presence ",
            _ => " DND ",
        };
        Span::styled(kinds, t.style("status.dnd"))
    } else {
        Span::styled(" dnd ", t.style("ui.dim").patch(bar))
    });
    right.push(if app.forward_rules > 0 {
        Span::styled(
            format!(" FWD {} ", app.forward_rules),
            t.style("status.forward"),
        )
    } else {
        Span::styled(" fwd ", t.style("ui.dim").patch(bar))
    });
    if !app.callbacks.is_empty() {
        let ringing = app.callbacks.values().find(|(_, state)| state == "ringing");
        let text = match ringing {
            Some((target, _)) => format!(" CB {target} free "),
            None => format!(" CB {} ", app.callbacks.len()),
        };
        right.push(Span::styled(text, t.style("status.forward")));
    }
    if !app.listen.is_empty() {
        right.push(Span::styled(format!(" {} ", app.listen), bar));
    }
    let right = Line::from(right);
    let right_w = (right.width() as u16).min(area.width);
    let left_area = Rect {
        width: area.width - right_w,
        ..area
    };
    let right_area = Rect {
        x: area.x + left_area.width,
        width: right_w,
        ..area
    };
    frame.render_widget(Paragraph::new(Line::from(left)).style(bar), left_area);
    frame.render_widget(Paragraph::new(right).style(bar), right_area);
}

pub fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    for v in View::ALL {
        let title = match v {
            View::Calls => format!("Calls ({})", app.live_calls()),
            View::History => "History".to_string(),
            View::Log => "SIP log".to_string(),
        };
        let role = if v == app.view {
            "ui.tab.active"
        } else {
            "ui.tab"
        };
        spans.push(Span::styled(title, t.style(role)));
        spans.push(Span::raw("   "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let help = app
        .keymap
        .key_for(KeyMode::Normal, "help")
        .map(|k| format!("{k} help "))
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(Span::styled(help, t.style("ui.dim"))).alignment(Alignment::Right),
        area,
    );
}
