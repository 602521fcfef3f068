//! One busy lamp: what the dialog event package (RFC 4235) and, where the
//! server offers it, presence (RFC 3856 PIDF) say of a watched target,
//! combined into the lamp the panel, `blf` and the `blf` events show.
//!
//! The dialog package is the authority on calls (ringing with its caller and
//! the pickup data, busy); presence refines what it cannot know: a target
//! that published do-not-disturb or busy is lit busy, one whose presence is
//! closed (logged off, unregistered) shows offline unless it is in a call,
//! and an open one is idle even where the dialog package is refused. A
//! server that never publishes anything for a target (an empty NOTIFY, as
//! kamailio sends for an unpublished user) changes nothing. Pure: no IO.

use crate::phone::event::Event;
use crate::phone::status::BlfStatus;
use crate::sip::subscription::{Availability, Lamp, LampState};

/// What presence says of a target, as far as a lamp cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceView {
    pub availability: Availability,
    /// The first `<note>` of the document, if any.
    pub note: Option<String>,
}

/// One configured `[[blf]]` target and its state.
#[derive(Debug, Clone)]
pub struct BlfEntry {
    /// As configured (number or URI).
    pub target: String,
    pub label: Option<String>,
    /// The watched URI.
    pub uri: String,
    /// The account whose server is watched (empty without one).
    pub account: String,
    /// From the dialog package.
    dialog: Lamp,
    /// From the presence package, while it reports something.
    presence: Option<PresenceView>,
    /// What is shown: [`combine`] of the two.
    pub lamp: Lamp,
}

/// The lamp shown for a dialog-package lamp and a presence state.
pub fn combine(dialog: &Lamp, presence: Option<&PresenceView>) -> Lamp {
    let availability = presence.map(|p| p.availability);
    let state = match (dialog.state, availability) {
        (LampState::Ringing | LampState::Busy, _) => return dialog.clone(),
        (_, Some(Availability::DoNotDisturb | Availability::Busy)) => LampState::Busy,
        (_, Some(Availability::Offline)) => LampState::Offline,
        (_, Some(Availability::Available | Availability::Away)) => LampState::Idle,
        (s, None) => s,
    };
    Lamp {
        state,
        remote: None,
        pickup: None,
    }
}

impl BlfEntry {
    pub fn new(target: String, label: Option<String>, uri: String, account: String) -> BlfEntry {
        let unknown = Lamp {
            state: LampState::Unknown,
            remote: None,
            pickup: None,
        };
        BlfEntry {
            target,
            label,
            uri,
            account,
            dialog: unknown.clone(),
            presence: None,
            lamp: unknown,
        }
    }

    /// A new dialog-package lamp; true when what is shown changed.
    pub fn set_dialog(&mut self, lamp: Lamp) -> bool {
        self.dialog = lamp;
        self.update()
    }

    /// A new presence state (`None`: presence no longer known); true when
    /// what is shown changed.
    pub fn set_presence(&mut self, presence: Option<PresenceView>) -> bool {
        let before = self.presence.clone();
        self.presence = presence;
        self.update() || before != self.presence
    }

    fn update(&mut self) -> bool {
        let lamp = combine(&self.dialog, self.presence.as_ref());
        let changed = lamp.state != self.lamp.state || lamp.remote != self.lamp.remote;
        self.lamp = lamp;
        changed
    }

    /// The entry of `blf` and `status`.
    pub fn status(&self) -> BlfStatus {
        BlfStatus {
            target: self.target.clone(),
            uri: self.uri.clone(),
            state: self.lamp.state.as_str().to_string(),
            label: self.label.clone(),
            remote: self.lamp.remote.clone(),
            presence: self
                .presence
                .as_ref()
                .map(|p| p.availability.as_str().to_string()),
            note: self.presence.as_ref().and_then(|p| p.note.clone()),
            name: None,
        }
    }

    /// The `blf` event announcing the current state.
    pub fn event(&self) -> Event {
        Event::Blf {
            target: self.target.clone(),
            state: self.lamp.state.as_str().to_string(),
            remote: self.lamp.remote.clone(),
            presence: self
                .presence
                .as_ref()
                .map(|p| p.availability.as_str().to_string()),
            note: self.presence.as_ref().and_then(|p| p.note.clone()),
            name: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::subscription::PickupTarget;

    fn lamp(state: LampState) -> Lamp {
        Lamp {
            state,
            remote: None,
            pickup: None,
        }
    }

    fn pres(a: Availability) -> PresenceView {
        PresenceView {
            availability: a,
            note: None,
        }
    }

    #[test]
    fn dialogs_decide_calls_presence_refines_the_rest() {
        use Availability as A;
        use LampState as L;
        let table = [
            // (dialog, presence, shown)
            (L::Idle, None, L::Idle),
            (L::Unknown, None, L::Unknown),
            (L::Offline, None, L::Offline),
            (L::Busy, Some(A::Available), L::Busy),
            (L::Ringing, Some(A::Offline), L::Ringing),
            (L::Idle, Some(A::DoNotDisturb), L::Busy),
            (L::Unknown, Some(A::Busy), L::Busy),
            (L::Offline, Some(A::DoNotDisturb), L::Busy),
            (L::Idle, Some(A::Offline), L::Offline),
            (L::Unknown, Some(A::Offline), L::Offline),
            (L::Unknown, Some(A::Available), L::Idle),
            (L::Offline, Some(A::Away), L::Idle),
            (L::Idle, Some(A::Away), L::Idle),
        ];
        for (d, p, want) in table {
            let got = combine(&lamp(d), p.map(pres).as_ref());
            assert_eq!(got.state, want, "{d:?} + {p:?}");
        }
    }

    #[test]
    fn a_ringing_lamp_keeps_its_caller_and_pickup_data() {
        let ringing = Lamp {
            state: LampState::Ringing,
            remote: Some("sip:1003@x".into()),
            pickup: Some(PickupTarget {
                call_id: "c".into(),
                local_tag: "l".into(),
                remote_tag: "r".into(),
                direction: None,
            }),
        };
        let got = combine(&ringing, Some(&pres(Availability::DoNotDisturb)));
        assert_eq!(got, ringing);
    }

    #[test]
    fn entry_reports_changes_and_serialises_presence() {
        let mut e = BlfEntry::new(
            "1002".into(),
            Some("Reception".into()),
            "sip:1002@x".into(),
            "office".into(),
        );
        assert_eq!(e.status().state, "unknown");
        assert!(e.set_dialog(lamp(LampState::Idle)));
        assert!(!e.set_dialog(lamp(LampState::Idle)));
        assert!(e.set_presence(Some(PresenceView {
            availability: Availability::DoNotDisturb,
            note: Some("Do Not Disturb".into()),
        })));
        let s = e.status();
        assert_eq!(s.state, "busy");
        assert_eq!(s.presence.as_deref(), Some("dnd"));
        assert_eq!(s.note.as_deref(), Some("Do Not Disturb"));
        assert_eq!(s.label.as_deref(), Some("Reception"));
        // Same lamp, new presence detail: still a change to announce.
        assert!(e.set_presence(Some(pres(Availability::Busy))));
        assert!(!e.set_presence(Some(pres(Availability::Busy))));
        assert!(e.set_presence(None));
        assert_eq!(e.status().state, "idle");
        assert_eq!(e.status().presence, None);
        match e.event() {
            Event::Blf {
                target,
                state,
                presence,
                ..
            } => {
                assert_eq!((target.as_str(), state.as_str()), ("1002", "idle"));
                assert_eq!(presence, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
