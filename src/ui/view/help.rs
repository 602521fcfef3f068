//! `?` help, generated from the live keymap in pages: the normal keys
//! (keys with the same action share a line), then the keys of the other
//! modes (BLF panel, input line, SIP message, quit question), each under its
//! title, with what unbound keys do in each; the first page's footer names
//! the PBX profile and whether its feature codes are verified.

use crate::ui::app::{App, HELP_PAGES};
use crate::ui::keymap::KeyMode;
use crate::ui::view::fit;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// The modes on the second page.
const OTHER_MODES: [KeyMode; 4] = [
    KeyMode::Blf,
    KeyMode::Prompt,
    KeyMode::Detail,
    KeyMode::Confirm,
];

/// One cell of the help's column-major table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    /// A mode's title.
    Heading(String),
    /// (keys, description)
    Entry(String, String),
    Blank,
}

/// (keys, description) pairs of one mode in keymap order, keys of the same
/// `run` merged.
pub fn entries(app: &App, mode: KeyMode) -> Vec<(String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for b in app.keymap.bindings(mode) {
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

/// The cells of a help page laid out `rows` high: page 0 the normal keys,
/// page 1 each other mode under its title (a title never ends a column).
fn cells(app: &App, page: u8, rows: usize) -> Vec<Cell> {
    let entry = |(k, d): (String, String)| Cell::Entry(k, d);
    if page == 0 {
        return entries(app, KeyMode::Normal)
            .into_iter()
            .map(entry)
            .collect();
    }
    let mut out = Vec::new();
    for mode in OTHER_MODES {
        let mode_entries = entries(app, mode);
        if mode_entries.is_empty() {
            continue;
        }
        let row = |n: usize| n % rows.max(1);
        if row(out.len()) != 0 {
            out.push(Cell::Blank);
        }
        while rows > 1 && row(out.len()) == rows - 1 {
            out.push(Cell::Blank);
        }
        out.push(Cell::Heading(mode.title().to_string()));
        out.extend(mode_entries.into_iter().map(entry));
    }
    out
}

/// The dim lines under a page's table: what unbound keys do, and how to
/// get to the next page.
fn footer(app: &App, page: u8) -> Vec<String> {
    if page > 0 {
        return vec![
            " BLF panel: other keys as in normal; input line: other characters are typed".into(),
            " SIP message: other keys close it; quit question: other keys answer no".into(),
        ];
    }
    let more = app
        .keymap
        .key_for(KeyMode::Normal, "help")
        .map(|k| {
            let titles: Vec<&str> = OTHER_MODES.iter().map(|m| m.title()).collect();
            format!(" {} again: keys of the {}", k.label(), titles.join(", "))
        })
        .unwrap_or_default();
    let mut lines = vec![
        " 0-9 * #: DTMF during an active call, else start dialing".into(),
        more,
    ];
    lines.extend(app.pbx.as_ref().map(pbx_line));
    lines
}

/// The PBX profile line of the help's footer.
fn pbx_line(pbx: &crate::phone::PbxStatus) -> String {
    if pbx.verified {
        format!(" PBX profile: {} (feature codes verified)", pbx.profile)
    } else {
        format!(
            " PBX profile: {} (feature codes NOT verified: check them with your PBX administrator)",
            pbx.profile
        )
    }
}

/// (key width, description width) of each column, entries laid out
/// column-major `rows` high. Each column is as wide as its content; when
/// they do not all fit in `width`, the longest descriptions give way first,
/// so short columns are never cut to make room for long ones.
fn column_widths(cells: &[Cell], rows: usize, columns: usize, width: usize) -> Vec<(usize, usize)> {
    let len = |s: &str| s.chars().count();
    let mut widths: Vec<(usize, usize)> = (0..columns)
        .map(|c| {
            let col = cells.iter().skip(c * rows).take(rows);
            let key = col
                .clone()
                .filter_map(|cell| match cell {
                    Cell::Entry(k, _) => Some(len(k)),
                    _ => None,
                })
                .max()
                .unwrap_or(0)
                .min(18);
            // a heading spans the key, the space and the description
            let desc = col
                .map(|cell| match cell {
                    Cell::Entry(_, d) => len(d),
                    Cell::Heading(h) => len(h).saturating_sub(key + 1),
                    Cell::Blank => 0,
                })
                .max()
                .unwrap_or(0);
            (key, desc + 1)
        })
        .collect();
    // Each column: a space, the keys, a space, the description.
    let total = |w: &[(usize, usize)]| w.iter().map(|(k, d)| k + d + 2).sum::<usize>();
    while total(&widths) > width {
        let Some(widest) = widths.iter_mut().max_by_key(|(_, d)| *d) else {
            break;
        };
        if widest.1 <= 6 {
            break;
        }
        widest.1 -= 1;
    }
    widths
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, page: u8) {
    let t = &app.theme;
    let title = if page + 1 < HELP_PAGES {
        let more = app
            .keymap
            .key_for(KeyMode::Normal, "help")
            .map(|k| format!("{} more, ", k.label()))
            .unwrap_or_default();
        format!(
            " Keys {}/{HELP_PAGES} ({more}any other key closes) ",
            page + 1
        )
    } else {
        format!(" Keys {}/{HELP_PAGES} (any key closes) ", page + 1)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(title, t.style("ui.title")));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let footer_lines = footer(app, page);
    let [table, footer_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(footer_lines.len() as u16),
    ])
    .areas(inner);
    let rows = table.height.max(1) as usize;
    let cells = cells(app, page, rows);
    let columns = cells.len().div_ceil(rows).max(1);
    let widths = column_widths(&cells, rows, columns, table.width as usize);
    let mut lines = Vec::new();
    for r in 0..rows.min(cells.len()) {
        let mut spans = Vec::new();
        for (c, &(key_w, desc_w)) in widths.iter().enumerate() {
            match cells.get(c * rows + r) {
                Some(Cell::Entry(keys, desc)) => {
                    spans.push(Span::styled(
                        format!(" {:<key_w$} ", fit(keys, key_w)),
                        t.style("ui.key"),
                    ));
                    spans.push(Span::styled(
                        format!("{:<desc_w$}", fit(desc, desc_w)),
                        t.style("ui.text"),
                    ));
                }
                Some(Cell::Heading(title)) => {
                    let w = key_w + desc_w + 1;
                    spans.push(Span::styled(
                        format!(" {:<w$}", fit(title, w)),
                        t.style("ui.title"),
                    ));
                }
                Some(Cell::Blank) => spans.push(Span::raw(" ".repeat(key_w + desc_w + 2))),
                None => {}
            }
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), table);
    frame.render_widget(
        Paragraph::new(
            footer_lines
                .into_iter()
                .map(|l| Line::styled(l, t.style("ui.dim")))
                .collect::<Vec<_>>(),
        ),
        footer_area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(k: &str, d: &str) -> Cell {
        Cell::Entry(k.to_string(), d.to_string())
    }

    #[test]
    fn columns_fit_their_content_and_long_descriptions_give_way() {
        let entries = vec![
            e("d", "dial a number or a SIP URI"),
            e("a", "answer"),
            e("<F1> 1", "calls view"),
            e("j <Down>", "select the next row of the list"),
            e("z", "DND"),
            e("Z", "DND via presence"),
        ];
        // Room for everything: natural widths.
        let w = column_widths(&entries, 2, 3, 200);
        assert_eq!(w, vec![(1, 27), (8, 32), (1, 17)]);
        // 70 columns: the long descriptions shrink, the short one keeps its width.
        let w = column_widths(&entries, 2, 3, 70);
        let total: usize = w.iter().map(|(k, d)| k + d + 2).sum();
        assert!(total <= 70, "{w:?}");
        assert_eq!(w[2], (1, 17));
        assert!((w[0].1 as i64 - w[1].1 as i64).abs() <= 1, "{w:?}");
    }

    #[test]
    fn the_footer_says_whether_the_pbx_codes_are_verified() {
        use crate::phone::PbxStatus;
        let line = |profile: &str, verified| {
            pbx_line(&PbxStatus {
                profile: profile.into(),
                verified,
            })
        };
        assert_eq!(
            line("asterisk", true),
            " PBX profile: asterisk (feature codes verified)"
        );
        let unverified = line("openscape4000", false);
        assert!(
            unverified.contains("openscape4000") && unverified.contains("NOT verified"),
            "{unverified}"
        );
    }
}
