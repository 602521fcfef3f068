//! Drawing: the whole screen from an [`App`], one widget per file. Views
//! ask the theme for roles, never for colours.
//!
//! ```text
//! status bar: accounts, DND, forwarding, listening address
//! tabs: Calls History Log                                 ? help
//! ┌ Calls ───────────────────────────────┐┌ BLF ──────┐
//! │ call list (Calls) / History / Log     ││ targets   │
//! └───────────────────────────────────────┘└───────────┘
//! (dial search results over the main area's bottom rows)
//! message line
//! input line: dial / `:` command / key hints
//! ```

mod blf;
mod bottom;
mod calls;
mod detail;
mod help;
mod history;
mod ladder;
mod search;
mod status;

use super::action::View;
use super::app::{App, Mode};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

/// Width of the BLF side panel.
const BLF_WIDTH: u16 = 20;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let [status_area, tabs_area, main_area, message_area, input_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    status::draw(frame, status_area, app);
    status::draw_tabs(frame, tabs_area, app);
    match app.view {
        View::Calls => {
            let [list, side] = if main_area.width >= 60 {
                Layout::horizontal([Constraint::Min(30), Constraint::Length(BLF_WIDTH)])
                    .areas(main_area)
            } else {
                [main_area, Rect::default()]
            };
            calls::draw(frame, list, app);
            if side.width > 0 {
                blf::draw(frame, side, app);
            }
        }
        View::History => history::draw(frame, main_area, app),
        View::Log => ladder::draw(frame, main_area, app),
    }
    match &app.mode {
        Mode::Help { page } => help::draw(frame, main_area, app, *page),
        Mode::Detail { index, scroll } => detail::draw(frame, main_area, app, *index, *scroll),
        Mode::Input {
            kind: super::action::PromptKind::Dial,
            ..
        } => search::draw(frame, main_area, app),
        _ => {}
    }
    bottom::draw_message(frame, message_area, app);
    bottom::draw_input(frame, input_area, app);
}

/// Cuts `s` to `width` characters, marking the cut with `…`.
pub(crate) fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}
