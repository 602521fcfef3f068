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

/// (key width, description width) of each column, entries laid out
/// column-major `rows` high. Each column is as wide as its content; when
/// they do not all fit in `width`, the longest descriptions give way first,
/// so short columns are never cut to make room for long ones.
fn column_widths(
    entries: &[(String, String)],
    rows: usize,
    columns: usize,
    width: usize,
) -> Vec<(usize, usize)> {
    let len = |s: &str| s.chars().count();
    let mut widths: Vec<(usize, usize)> = (0..columns)
        .map(|c| {
            let col = entries.iter().skip(c * rows).take(rows);
            let key = col.clone().map(|(k, _)| len(k)).max().unwrap_or(0).min(12);
            let desc = col.map(|(_, d)| len(d)).max().unwrap_or(0);
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
    let widths = column_widths(&entries, rows, columns, table.width as usize);
    let mut lines = Vec::new();
    for r in 0..rows.min(entries.len()) {
        let mut spans = Vec::new();
        for (c, &(key_w, desc_w)) in widths.iter().enumerate() {
            if let Some((keys, desc)) = entries.get(c * rows + r) {
                spans.push(Span::styled(
                    format!(" {:<key_w$} ", fit(keys, key_w)),
                    t.style("ui.key"),
                ));
                spans.push(Span::styled(
                    format!("{:<desc_w$}", fit(desc, desc_w)),
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
                " input line: Enter runs, Esc cancels, Tab completes, ↑↓ recall, C-u clears",
                t.style("ui.dim"),
            ),
        ]),
        footer,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(k: &str, d: &str) -> (String, String) {
        (k.to_string(), d.to_string())
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
}
