//! RFC 4235 dialog-info XML (`application/dialog-info+xml`): parses the
//! dialogs of one watched entity, merges partial updates into the last full
//! state, and condenses them into a busy-lamp state (idle / ringing / busy)
//! with the remote party and, for a ringing call, what directed pickup needs
//! (call-id and tags for an INVITE with Replaces). Pure; malformed XML is an
//! error, never a panic.

use super::xml::{self, XmlError};
use crate::sip::replaces::ReplacesParams;

/// Which side of the dialog the watched entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The entity placed the call.
    Initiator,
    /// The entity is called.
    Recipient,
}

/// RFC 4235 dialog states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Trying,
    Proceeding,
    Early,
    Confirmed,
    Terminated,
}

impl DialogState {
    fn parse(s: &str) -> Option<DialogState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trying" => Some(DialogState::Trying),
            "proceeding" => Some(DialogState::Proceeding),
            "early" => Some(DialogState::Early),
            "confirmed" => Some(DialogState::Confirmed),
            "terminated" => Some(DialogState::Terminated),
            _ => None,
        }
    }
}

/// One `<dialog>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogEntry {
    /// The `id` attribute (key for partial updates).
    pub id: String,
    pub call_id: Option<String>,
    /// Tag of the watched entity's side.
    pub local_tag: Option<String>,
    /// Tag of the other side.
    pub remote_tag: Option<String>,
    pub direction: Option<Direction>,
    pub state: DialogState,
    /// The other party's identity URI (`<remote><identity>`).
    pub remote_identity: Option<String>,
    /// The other party's display name.
    pub remote_display: Option<String>,
    /// The watched entity's identity URI (`<local><identity>`).
    pub local_identity: Option<String>,
}

/// A parsed dialog-info document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    pub version: Option<u64>,
    /// `state="full"` (true) or `"partial"`.
    pub full: bool,
    pub entity: Option<String>,
    pub dialogs: Vec<DialogEntry>,
}

/// The lamp of one busy-lamp-field target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LampState {
    Idle,
    Ringing,
    Busy,
    /// Not reachable: the subscription was refused or terminated.
    Offline,
    /// Nothing known yet.
    Unknown,
}

impl LampState {
    /// The name used in the control protocol (`idle`, `ringing`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LampState::Idle => "idle",
            LampState::Ringing => "ringing",
            LampState::Busy => "busy",
            LampState::Offline => "offline",
            LampState::Unknown => "unknown",
        }
    }
}

/// What directed pickup of a ringing dialog needs (RFC 3891 Replaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupTarget {
    pub call_id: String,
    /// Tag of the ringing phone's side (the dialog's `local-tag`).
    pub local_tag: String,
    /// Tag of the caller's side (the dialog's `remote-tag`).
    pub remote_tag: String,
    pub direction: Option<Direction>,
}

impl PickupTarget {
    /// The `Replaces` of an INVITE to the caller that picks this call up.
    /// The caller receives it, so its own tag (the ringing dialog's
    /// `remote-tag`) is the to-tag and the ringing phone's the from-tag
    /// (RFC 3891 §3); `early-only`, since only a ringing call is picked up.
    pub fn replaces_to_caller(&self) -> ReplacesParams {
        ReplacesParams {
            call_id: self.call_id.clone(),
            to_tag: self.remote_tag.clone(),
            from_tag: self.local_tag.clone(),
            early_only: true,
        }
    }
}

/// The lamp state of a target, condensed from its dialogs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lamp {
    pub state: LampState,
    /// The other party of the dialog that decides the state (caller when ringing).
    pub remote: Option<String>,
    /// Present when ringing and the NOTIFY carried the call-id and both tags.
    pub pickup: Option<PickupTarget>,
}

/// Parses a dialog-info document.
pub fn parse(body: &str) -> Result<DialogInfo, XmlError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "dialog-info" {
        return Err(XmlError::Unexpected(format!(
            "root element <{}>, expected <dialog-info>",
            root.tag_name().name()
        )));
    }
    let dialogs = xml::children(root, "dialog")
        .filter_map(|d| {
            let state = xml::child_text(d, "state").and_then(|s| DialogState::parse(&s))?;
            let direction = match d.attribute("direction").map(str::to_ascii_lowercase) {
                Some(s) if s == "initiator" => Some(Direction::Initiator),
                Some(s) if s == "recipient" => Some(Direction::Recipient),
                _ => None,
            };
            let remote = xml::children(d, "remote").next();
            let local = xml::children(d, "local").next();
            let remote_id = identity(remote);
            Some(DialogEntry {
                id: d.attribute("id").unwrap_or_default().to_string(),
                call_id: d.attribute("call-id").map(str::to_string),
                local_tag: d.attribute("local-tag").map(str::to_string),
                remote_tag: d.attribute("remote-tag").map(str::to_string),
                direction,
                state,
                remote_identity: remote_id.and_then(xml::text),
                remote_display: remote_id
                    .and_then(|n| n.attribute("display"))
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                local_identity: identity(local).and_then(xml::text),
            })
        })
        .collect();
    Ok(DialogInfo {
        version: root
            .attribute("version")
            .and_then(|v| v.trim().parse().ok()),
        full: !root
            .attribute("state")
            .is_some_and(|s| s.eq_ignore_ascii_case("partial")),
        entity: root.attribute("entity").map(str::to_string),
        dialogs,
    })
}

impl DialogInfo {
    /// Applies `update` to this state: a full document replaces it, a
    /// partial one replaces dialogs with the same id and adds new ones.
    pub fn merge(&mut self, update: DialogInfo) {
        if update.full {
            *self = update;
            return;
        }
        self.version = update.version.or(self.version);
        for d in update.dialogs {
            match self.dialogs.iter_mut().find(|o| o.id == d.id) {
                Some(old) => *old = d,
                None => self.dialogs.push(d),
            }
        }
        // Terminated dialogs carry no state worth keeping.
        self.dialogs.retain(|d| d.state != DialogState::Terminated);
    }

    /// The busy lamp: ringing when any dialog is early/proceeding/trying
    /// towards the entity (direction recipient, or unknown in `early`),
    /// busy when any other dialog is alive, idle otherwise.
    pub fn lamp(&self) -> Lamp {
        let alive = |d: &&DialogEntry| d.state != DialogState::Terminated;
        let ringing = self.dialogs.iter().filter(alive).find(|d| {
            matches!(
                d.state,
                DialogState::Early | DialogState::Proceeding | DialogState::Trying
            ) && (d.direction == Some(Direction::Recipient)
                || d.direction.is_none() && d.state == DialogState::Early)
        });
        if let Some(d) = ringing {
            return Lamp {
                state: LampState::Ringing,
                remote: remote_of(d),
                pickup: match (&d.call_id, &d.local_tag, &d.remote_tag) {
                    (Some(c), Some(l), Some(r)) if !c.is_empty() => Some(PickupTarget {
                        call_id: c.clone(),
                        local_tag: l.clone(),
                        remote_tag: r.clone(),
                        direction: d.direction,
                    }),
                    _ => None,
                },
            };
        }
        let busy = self
            .dialogs
            .iter()
            .filter(alive)
            .max_by_key(|d| d.state == DialogState::Confirmed);
        match busy {
            Some(d) => Lamp {
                state: LampState::Busy,
                remote: remote_of(d),
                pickup: None,
            },
            None => Lamp {
                state: LampState::Idle,
                remote: None,
                pickup: None,
            },
        }
    }
}

fn identity<'a, 'i>(n: Option<roxmltree::Node<'a, 'i>>) -> Option<roxmltree::Node<'a, 'i>> {
    n.and_then(|n| xml::children(n, "identity").next())
}

fn remote_of(d: &DialogEntry) -> Option<String> {
    d.remote_identity
        .clone()
        .or_else(|| d.remote_display.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EARLY: &str = r#"<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:1002@test.local">
  <dialog id="a1" call-id="cid-1@h" local-tag="ltag" remote-tag="rtag" direction="recipient">
    <state>early</state>
    <remote><identity display="Alice">sip:1001@test.local</identity><target uri="sip:1001@test.local"/></remote>
    <local><identity>sip:1002@test.local</identity></local>
  </dialog>
</dialog-info>"#;

    #[test]
    fn early_recipient_is_ringing_with_pickup_data() {
        let info = parse(EARLY).unwrap();
        assert_eq!(info.version, Some(3));
        assert!(info.full);
        assert_eq!(info.entity.as_deref(), Some("sip:1002@test.local"));
        let lamp = info.lamp();
        assert_eq!(lamp.state, LampState::Ringing);
        assert_eq!(lamp.remote.as_deref(), Some("sip:1001@test.local"));
        let p = lamp.pickup.unwrap();
        assert_eq!(p.call_id, "cid-1@h");
        // To the caller, its own tag (remote-tag) is the to-tag.
        assert_eq!(
            p.replaces_to_caller().header_value(),
            "cid-1@h;to-tag=rtag;from-tag=ltag;early-only"
        );
        assert_eq!(info.dialogs[0].remote_display.as_deref(), Some("Alice"));
    }

    #[test]
    fn confirmed_is_busy_and_terminated_is_idle() {
        let confirmed = EARLY.replace("<state>early</state>", "<state>confirmed</state>");
        let lamp = parse(&confirmed).unwrap().lamp();
        assert_eq!(lamp.state, LampState::Busy);
        assert_eq!(lamp.remote.as_deref(), Some("sip:1001@test.local"));
        let ended = EARLY.replace("<state>early</state>", "<state>terminated</state>");
        assert_eq!(parse(&ended).unwrap().lamp().state, LampState::Idle);
        let empty = r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:1002@x"/>"#;
        assert_eq!(parse(empty).unwrap().lamp().state, LampState::Idle);
    }

    #[test]
    fn outgoing_early_is_busy_not_ringing() {
        let out = EARLY.replace("recipient", "initiator");
        assert_eq!(parse(&out).unwrap().lamp().state, LampState::Busy);
    }

    #[test]
    fn partial_updates_merge() {
        let mut state = parse(EARLY).unwrap();
        let second = r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="4" state="partial" entity="sip:1002@test.local">
  <dialog id="b2" direction="initiator"><state>confirmed</state></dialog></dialog-info>"#;
        state.merge(parse(second).unwrap());
        assert_eq!(state.dialogs.len(), 2);
        assert_eq!(state.lamp().state, LampState::Ringing);
        let end_first = r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="5" state="partial" entity="sip:1002@test.local">
  <dialog id="a1"><state>terminated</state></dialog></dialog-info>"#;
        state.merge(parse(end_first).unwrap());
        assert_eq!(state.version, Some(5));
        assert_eq!(state.lamp().state, LampState::Busy);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "<",
            "<dialog-info",
            "<presence/>",
            "<dialog-info><dialog id='x'><state>weird</state></dialog></dialog-info>",
            "\u{0}\u{1}<<>>",
            "<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>]><dialog-info>&b;</dialog-info>",
        ] {
            if let Ok(info) = parse(bad) {
                // Unknown states are skipped, never guessed.
                assert!(info.dialogs.is_empty(), "{bad}");
            }
        }
    }
}
