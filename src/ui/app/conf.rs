//! The conference as the interface sees it (from `status.conference`): the
//! member calls, their speaking levels, our own level and the split member;
//! and the display order of the call list (conference members first, as a
//! group).

use super::App;
use crate::phone::{CallState, ConferenceStatus};
use std::collections::BTreeMap;

/// Level reported for silence (dBFS).
pub const SILENCE_DB: f32 = -96.0;

/// `status.conference` (docs/control.md).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConferenceView {
    pub members: Vec<String>,
    /// dBFS of what we receive from each member.
    pub levels: BTreeMap<String, f32>,
    /// dBFS of what we send into the conference.
    pub local_level: Option<f32>,
    /// The member we talk to privately, if any.
    pub split: Option<String>,
}

impl ConferenceView {
    /// The view of `status.conference`.
    pub fn from_status(c: &ConferenceStatus) -> ConferenceView {
        let mixer = c.mixer.as_ref();
        ConferenceView {
            members: c.members.clone(),
            levels: mixer.map(|m| m.levels.clone()).unwrap_or_default(),
            local_level: mixer.map(|m| m.local_level),
            split: mixer.and_then(|m| m.split.clone()),
        }
    }
}

/// A level meter of five cells (`▁▂▃▅▇`, unlit cells `·`) for a dBFS value.
pub fn meter(db: Option<f32>) -> String {
    const CELLS: [(f32, char); 5] = [
        (-50.0, '▁'),
        (-40.0, '▂'),
        (-30.0, '▃'),
        (-20.0, '▅'),
        (-10.0, '▇'),
    ];
    let db = db.filter(|d| d.is_finite()).unwrap_or(SILENCE_DB);
    CELLS
        .iter()
        .map(|(threshold, c)| if db >= *threshold { *c } else { '·' })
        .collect()
}

/// The text after a meter: `-23 dB`, or `silent`.
pub fn level_text(db: Option<f32>) -> String {
    match db.filter(|d| d.is_finite() && *d > -60.0) {
        Some(d) => format!("{d:>3.0} dB"),
        None => "silent".to_string(),
    }
}

impl App {
    /// Whether a call belongs to the conference (by `status` or its flag).
    pub fn in_conference(&self, id: &str) -> bool {
        self.conference.members.iter().any(|m| m == id)
            || self
                .calls
                .iter()
                .any(|c| c.id == id && c.conference && c.state != CallState::Ended)
    }

    /// Whether a conference is up (at least one live member).
    pub fn has_conference(&self) -> bool {
        self.calls
            .iter()
            .any(|c| c.state != CallState::Ended && self.in_conference(&c.id))
    }

    /// Indices into `calls` in the order of the list: conference members
    /// first (the group), then the other calls.
    pub fn call_order(&self) -> Vec<usize> {
        let (mut members, others): (Vec<usize>, Vec<usize>) =
            (0..self.calls.len()).partition(|i| {
                self.calls[*i].state != CallState::Ended && self.in_conference(&self.calls[*i].id)
            });
        members.extend(others);
        members
    }

    /// How many calls the conference group shows.
    pub fn conference_size(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| c.state != CallState::Ended && self.in_conference(&c.id))
            .count()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meter_by_thresholds() {
        assert_eq!(meter(Some(-96.0)), "·····");
        assert_eq!(meter(None), "·····");
        assert_eq!(meter(Some(-45.0)), "▁····");
        assert_eq!(meter(Some(-23.4)), "▁▂▃··");
        assert_eq!(meter(Some(-3.0)), "▁▂▃▅▇");
        assert_eq!(meter(Some(f32::NAN)), "·····");
        assert_eq!(level_text(Some(-23.4)), "-23 dB");
        assert_eq!(level_text(Some(-96.0)), "silent");
    }

    fn view(v: serde_json::Value) -> ConferenceView {
        ConferenceView::from_status(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn status_conference_is_read_and_no_conference_is_empty() {
        let c = view(json!({
            "members": ["c1", "c2"], "levels": {"c1": -23.4, "c2": -96.0},
            "local_level": -12.0, "split": "c2"
        }));
        assert_eq!(c.members, vec!["c1", "c2"]);
        assert_eq!(c.levels.get("c1"), Some(&-23.4));
        assert_eq!(c.local_level, Some(-12.0));
        assert_eq!(c.split.as_deref(), Some("c2"));
        assert_eq!(view(json!({"members": []})), ConferenceView::default());
        assert_eq!(
            view(json!({"members": ["c1"], "levels": {}, "local_level": -96.0, "split": null}))
                .split,
            None
        );
    }
}
