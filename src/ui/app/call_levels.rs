//! The level meters of a talking call (microphone sent, speaker played):
//! which calls show them, and their refresh from `status` on the tick
//! (the call's `stats.mic_level` / `stats.speaker_level`). Only a call's
//! `stats` are taken from `status`; everything else of a call still comes
//! from its events. Drawing is the calls view's.

use super::App;
use crate::phone::{CallInfo, CallState};

/// The (microphone, speaker) levels in dBFS a call shows meters for: an
/// active call whose media report levels.
pub fn call_levels(call: &CallInfo) -> Option<(f32, f32)> {
    let stats = call
        .stats
        .as_ref()
        .filter(|_| call.state == CallState::Active)?;
    Some((stats.mic_level? as f32, stats.speaker_level? as f32))
}

impl App {
    /// Whether a call in the list shows level meters (then the tick asks
    /// for `status` to move them).
    pub fn shows_call_levels(&self) -> bool {
        self.calls.iter().any(|c| call_levels(c).is_some())
    }

    /// Takes the fresh `stats` of the calls `status` lists.
    pub(super) fn refresh_stats(&mut self, calls: Vec<CallInfo>) {
        for fresh in calls {
            if let Some(c) = self.calls.iter_mut().find(|c| c.id == fresh.id) {
                if fresh.stats.is_some() {
                    c.stats = fresh.stats;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::phone::CallDirection;
    use crate::phone::Event;
    use crate::ui::app::tests::call;
    use crate::ui::app::Effect;
    use serde_json::json;

    /// `stats` with the levels (`mic` / `speaker` null: without).
    fn stats(mic: Option<f64>, speaker: Option<f64>) -> serde_json::Value {
        json!({"rx_packets": 10, "lost": 0, "jitter_ms": 0.0,
            "mic_level": mic, "speaker_level": speaker})
    }

    fn set_stats(c: &mut CallInfo, stats: serde_json::Value) {
        c.stats = Some(serde_json::from_value(stats).unwrap());
    }

    fn with_levels(c: &mut CallInfo, mic: f64, speaker: f64) {
        set_stats(c, stats(Some(mic), Some(speaker)));
    }

    #[test]
    fn only_active_calls_with_levels_show_meters() {
        let mut c = call("c1", CallDirection::Out, CallState::Active);
        assert_eq!(call_levels(&c), None);
        set_stats(&mut c, stats(None, None));
        assert_eq!(call_levels(&c), None);
        with_levels(&mut c, -20.0, -35.5);
        assert_eq!(call_levels(&c), Some((-20.0, -35.5)));
        c.state = CallState::Held;
        assert_eq!(call_levels(&c), None);
    }

    /// A talking call makes the tick ask for `status`; its reply moves the
    /// call's levels; an ended call stops the asking.
    #[test]
    fn the_tick_refreshes_a_talking_calls_levels() {
        let mut a = crate::ui::app::tests::app();
        let now = a.now + 1;
        let mut c = call("c1", CallDirection::Out, CallState::Active);
        a.on_phone_event(Event::Call {
            call: Box::new(c.clone()),
        });
        assert_eq!(a.on_tick(now), Vec::new());
        with_levels(&mut c, -40.0, -50.0);
        a.on_phone_event(Event::Call {
            call: Box::new(c.clone()),
        });
        assert_eq!(a.on_tick(now), vec![Effect::Execute(Command::Status)]);
        with_levels(&mut c, -12.0, -30.0);
        a.on_reply("status", Ok(json!({ "calls": [c] })));
        let shown = a.calls.iter().find(|x| x.id == "c1").and_then(call_levels);
        assert_eq!(shown, Some((-12.0, -30.0)));
        c.state = CallState::Ended;
        a.on_phone_event(Event::Call {
            call: Box::new(c.clone()),
        });
        assert_eq!(a.on_tick(now), Vec::new());
    }
}
