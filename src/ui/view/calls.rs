//! The call list: two lines per call. First: id, direction, remote with
//! display name, state, ticking duration. Second: hold/mute/conference
//! badges (a lock, `🔒SRTP`, when the media are encrypted), codec and live
//! loss/jitter; a talking call leads it with level meters of the
//! microphone sent and the speaker played. A local conference comes first as a
//! group: a header with our own speaking level, then its members indented,
//! each with its speaking level and a `[SPLIT]` badge on the split member.

use crate::phone::{CallDirection, CallEncryption, CallInfo, CallSignalling, CallState};
use crate::ui::app::{call_levels, level_text, meter, App};
use crate::ui::keymap::KeyMode;
use crate::ui::view::fit;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn state_name(state: CallState) -> &'static str {
    match state {
        CallState::Dialing => "dialing",
        CallState::Ringing => "RINGING",
        CallState::Alerting => "alerting",
        CallState::Active => "active",
        CallState::Held => "held",
        CallState::Transferring => "transferring",
        CallState::Ended => "ended",
    }
}

fn state_role(state: CallState) -> &'static str {
    match state {
        CallState::Dialing => "call.dialing",
        CallState::Ringing => "call.ringing",
        CallState::Alerting => "call.alerting",
        CallState::Active => "call.active",
        CallState::Held => "call.held",
        CallState::Transferring => "call.transferring",
        CallState::Ended => "call.ended",
    }
}

fn remote_text(call: &CallInfo) -> String {
    let uri = call.remote.trim_start_matches('<').trim_end_matches('>');
    // The directory's or the SIP name (`name`), else the display name.
    let name = call.name.as_deref().or(call.remote_name.as_deref());
    match name.filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} <{uri}>"),
        None => uri.to_string(),
    }
}

fn badges(call: &CallInfo) -> Vec<&'static str> {
    let mut b = Vec::new();
    if call.held {
        b.push("HOLD");
    }
    if call.remote_held {
        b.push("HELD-BY-PEER");
    }
    if call.muted {
        b.push("MUTED");
    }
    if call.conference {
        b.push("CONF");
    }
    if let Some(lock) = lock(call) {
        b.push(lock);
    }
    b
}

/// The lock badge, as desk phones show it: fully secure (TLS signalling
/// and SRTP media), media only, or signalling only; none for a plain call.
fn lock(call: &CallInfo) -> Option<&'static str> {
    let media = call.media_encryption == Some(CallEncryption::Srtp);
    let signalling = call.signalling == Some(CallSignalling::Tls);
    match (signalling, media) {
        (true, true) => Some(LOCK_FULL),
        (false, true) => Some(LOCK_MEDIA),
        (true, false) => Some(LOCK_SIGNALLING),
        (false, false) => None,
    }
}

/// Signalling over TLS and media over SRTP.
const LOCK_FULL: &str = "🔒TLS+SRTP";
/// Media encrypted (SRTP), signalling in the clear (so are its keys).
const LOCK_MEDIA: &str = "🔒SRTP";
/// Signalling over TLS, media in the clear.
const LOCK_SIGNALLING: &str = "🔒TLS";

/// The codec's name, with its rate when it is wideband ("G722 16kHz"):
/// narrowband G.711 stays as it always read.
fn codec_text(codec: &str, rate: Option<u32>) -> String {
    match rate {
        Some(r) if r > 8000 => format!("{codec} {}kHz", r / 1000),
        _ => codec.to_string(),
    }
}

/// Codec and quality; a conference member leads with its MOS and leaves
/// the codec out (the line also carries its level).
fn stats_text(call: &CallInfo, member: bool) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &call.transfer_status {
        parts.push(format!("transfer: {t}"));
    }
    if let Some(codec) = call.codec.as_ref().filter(|_| !member) {
        parts.push(codec_text(codec, call.codec_rate));
    }
    if let Some(mos) = call.stats.as_ref().and_then(|s| s.mos).filter(|_| member) {
        parts.push(format!("MOS {mos:.1}"));
    }
    if let Some(s) = &call.stats {
        let expected = s.rx_packets + s.lost;
        let pct = if expected == 0 {
            0.0
        } else {
            s.lost as f64 * 100.0 / expected as f64
        };
        parts.push(format!("loss {pct:.1}%"));
        parts.push(format!("jitter {:.1} ms", s.jitter_ms));
        if let Some(rtt) = s.rtt_ms {
            parts.push(format!("rtt {rtt:.0} ms"));
        }
        if let Some(mos) = s.mos.filter(|_| !member) {
            parts.push(format!("MOS {mos:.1}"));
        }
    }
    parts.join(" · ")
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style("ui.border"))
        .title(Span::styled(" Calls ", t.style("ui.title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let remote_w = width.saturating_sub(FIXED).max(8);
    let mut lines = vec![Line::styled(
        format!(
            " {:<4}{:<2} {:<remote_w$}{:<9}{:>8}",
            "id", "", "remote", "state", "time"
        ),
        t.style("ui.dim"),
    )];
    if app.calls.is_empty() {
        let dial = app
            .keymap
            .key_for(KeyMode::Normal, "prompt dial")
            .map(|k| format!("{k} to dial, e.g. `echo` for the echo test"))
            .unwrap_or_else(|| ":dial echo".into());
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(" No calls. Press {dial}."),
            t.style("ui.dim"),
        ));
    }
    let order = app.call_order();
    let members = app.conference_size();
    let mut body: Vec<Line> = Vec::new();
    let mut selected_end = 0;
    for (pos, &i) in order.iter().enumerate() {
        let Some(call) = app.calls.get(i) else {
            continue;
        };
        if pos == 0 && members > 0 {
            body.push(conference_header(app, members, width));
        }
        let member = pos < members;
        body.extend(call_lines(app, call, i == app.call_sel, member, width));
        if i == app.call_sel {
            selected_end = body.len();
        }
    }
    // keep the selected call visible under the column header
    let height = inner.height.saturating_sub(1) as usize;
    let offset = selected_end.saturating_sub(height);
    lines.extend(body.into_iter().skip(offset));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Columns of the first line besides the remote party.
const FIXED: usize = 1 + 4 + 2 + 1 + 9 + 8;
/// Indent of conference members under the group header.
const INDENT: &str = "  ";

/// `▼ Conference (3)  us ▁▂▃·· -25 dB`: the group, with our own level.
fn conference_header(app: &App, members: usize, width: usize) -> Line<'static> {
    let t = &app.theme;
    let local = app.conference.local_level;
    let title = format!(" ▼ Conference ({members})");
    let mut spans = vec![
        Span::styled(title.clone(), t.style("conf")),
        Span::styled("   us ", t.style("ui.dim")),
        Span::styled(meter(local), t.style("conf.level")),
        Span::styled(format!(" {}", level_text(local)), t.style("ui.dim")),
    ];
    if let Some(split) = &app.conference.split {
        spans.push(Span::styled(
            fit(
                &format!("   private with {split}"),
                width.saturating_sub(30),
            ),
            t.style("conf.split"),
        ));
    }
    Line::from(spans)
}

/// The two lines of one call; a conference member is indented and shows its
/// speaking level and a `[SPLIT]` badge when it is the split member.
fn call_lines(
    app: &App,
    call: &CallInfo,
    selected: bool,
    member: bool,
    width: usize,
) -> [Line<'static>; 2] {
    let t = &app.theme;
    let indent = if member { INDENT } else { "" };
    let remote_w = width.saturating_sub(FIXED + indent.len()).max(8);
    let base = if selected {
        t.style("ui.selected")
    } else {
        Style::default()
    };
    let state_style = t.style(state_role(call.state)).patch(base);
    let row_style = if call.state == CallState::Ringing {
        state_style
    } else {
        t.style("call").patch(base)
    };
    let dir = match call.direction {
        CallDirection::In => "←",
        CallDirection::Out => "→",
    };
    let marker = if selected { "▶" } else { " " };
    let line1 = Line::from(vec![
        Span::styled(
            format!("{marker}{indent}{:<4}{dir} ", fit(&call.id, 4)),
            row_style,
        ),
        Span::styled(
            format!(
                "{:<remote_w$}",
                fit(&remote_text(call), remote_w.saturating_sub(1))
            ),
            row_style,
        ),
        Span::styled(format!("{:<9}", state_name(call.state)), state_style),
        Span::styled(
            format!("{:>8}", crate::ui::time::duration(app.call_seconds(call))),
            row_style,
        ),
    ]);
    let mut second = vec![Span::styled(format!("       {indent}"), base)];
    let mut used = 7 + indent.len();
    if member {
        let level = app.conference.levels.get(&call.id).copied();
        second.push(Span::styled(
            meter(level),
            t.style("conf.level").patch(base),
        ));
        second.push(Span::styled(
            format!(" {:<7}", level_text(level)),
            t.style("ui.dim").patch(base),
        ));
        used += 5 + 8;
        if app.conference.split.as_deref() == Some(call.id.as_str()) {
            second.push(Span::styled("[SPLIT] ", t.style("conf.split").patch(base)));
            used += 8;
        }
    }
    if let Some((mic, speaker)) = call_levels(call).filter(|_| !member) {
        for (label, level) in [("mic ", mic), ("spk ", speaker)] {
            second.push(Span::styled(label, t.style("ui.dim").patch(base)));
            second.push(Span::styled(
                meter(Some(level)),
                t.style("conf.level").patch(base),
            ));
            second.push(Span::styled(
                format!(" {:<7}", level_text(Some(level))),
                t.style("ui.dim").patch(base),
            ));
            used += 4 + 5 + 8;
        }
    }
    for b in badges(call)
        .into_iter()
        .filter(|b| !(member && *b == "CONF"))
    {
        used += b.len() + 3;
        second.push(Span::styled(
            format!("[{b}] "),
            t.style("call.badge").patch(base),
        ));
    }
    second.push(Span::styled(
        fit(
            &stats_text(call, member),
            width.saturating_sub(used).max(10),
        ),
        t.style("call.stats").patch(base),
    ));
    if let (CallState::Ended, Some(reason)) = (call.state, &call.end_reason) {
        second.push(Span::styled(
            format!(" {}", fit(reason, 30)),
            t.style("call.ended").patch(base),
        ));
    }
    [line1, Line::from(second)]
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn lock_tells_full_from_partial_security() {
        let tls = Some(CallSignalling::Tls);
        let srtp = Some(CallEncryption::Srtp);
        let plain = Some(CallEncryption::None);
        let cases = [
            (tls, srtp, Some(LOCK_FULL)),
            (Some(CallSignalling::Udp), srtp, Some(LOCK_MEDIA)),
            (Some(CallSignalling::Tcp), srtp, Some(LOCK_MEDIA)),
            (None, srtp, Some(LOCK_MEDIA)),
            (tls, plain, Some(LOCK_SIGNALLING)),
            (tls, None, Some(LOCK_SIGNALLING)),
            (Some(CallSignalling::Udp), plain, None),
            (None, None, None),
        ];
        for (signalling, media, want) in cases {
            let mut call: CallInfo = serde_json::from_value(serde_json::json!({
                "id": "c1", "account": "office", "direction": "out",
                "remote": "sip:1002@test.local", "state": "active",
                "held": false, "remote_held": false, "muted": false,
                "conference": false, "started_at": "2026-11-25T13:00:00Z",
                "sip_call_id": "c1@test"
            }))
            .unwrap();
            call.signalling = signalling;
            call.media_encryption = media;
            assert_eq!(lock(&call), want, "{signalling:?} {media:?}");
        }
    }
}

#[cfg(test)]
mod codec_tests {
    use super::codec_text;

    #[test]
    fn wideband_codecs_show_their_rate_and_g711_reads_as_before() {
        assert_eq!(codec_text("G722", Some(16_000)), "G722 16kHz");
        assert_eq!(codec_text("PCMU", Some(8000)), "PCMU");
        assert_eq!(codec_text("PCMA", None), "PCMA");
    }
}
