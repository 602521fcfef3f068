//! Incoming-call policy, pure logic without IO except the rule file:
//! client-side call forwarding rules (`when` always / busy / no_answer ×
//! `scope` all / internal / external, target, delay), the pattern that
//! decides whether a caller is internal, Do Not Disturb with its
//! ring-through allow list, and the decision for one incoming call. The
//! rules, the DND flag and the forwardings switched on at the PBX persist as JSON in the XDG data dir
//! (`termphone/policy.json`), written crash-safe (temp file + rename).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// When a forwarding rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    Always,
    Busy,
    NoAnswer,
}

/// Which callers a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    All,
    Internal,
    External,
}

/// Default delay of a no-answer rule.
pub const DEFAULT_NO_ANSWER_S: u32 = 20;

/// One forwarding rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardRule {
    pub when: When,
    #[serde(default)]
    pub scope: Scope,
    /// Number or SIP URI to forward to (the 302's Contact).
    pub to: String,
    /// For `no_answer`: seconds of ringing first (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_s: Option<u32>,
}

/// A forwarding switched on at the PBX by feature code and confirmed by it,
/// kept so that `forward_clear` dials its off code after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxForwardRule {
    pub when: When,
    /// The target the on code was dialled with.
    pub to: String,
}

pub use crate::config::{user_host, InternalPattern};
use crate::config::{LineDnd, PhoneConfig};

/// Errors of the policy module.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy file {path}: {message}")]
    File { path: PathBuf, message: String },
}

/// Do Not Disturb state and who still rings through. `on` (DND on the
/// line) and `presence` (DND published as presence) are persisted, each
/// on its own; either one keeps callers out. The allow list, the code and
/// whether the line kind is kept here or left to the PBX come from
/// `[phone]` (see [`Policy::apply_config`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dnd {
    /// DND on the line.
    pub on: bool,
    /// DND published as presence (`dnd via=presence`).
    #[serde(default)]
    pub presence: bool,
    /// Whether this phone turns callers away itself while line DND is on
    /// (`phone.dnd_via` `line` or `both`); with `feature_code` the PBX does.
    #[serde(skip, default = "yes")]
    pub local: bool,
    /// Numbers or SIP URIs that ring even in DND (`phone.dnd_allow`).
    #[serde(skip)]
    pub allow: Vec<String>,
    /// Response code for rejected calls (`phone.dnd_code`; 486 when unset or invalid).
    #[serde(skip)]
    pub code: Option<u16>,
}

fn yes() -> bool {
    true
}

impl Default for Dnd {
    fn default() -> Self {
        Dnd {
            on: false,
            presence: false,
            local: true,
            allow: Vec::new(),
            code: None,
        }
    }
}

impl Dnd {
    /// Whether this phone turns callers away now: presence DND, or line DND
    /// kept here.
    pub fn rejects(&self) -> bool {
        self.presence || (self.on && self.local)
    }

    /// Whether `caller` is on the allow list (by user part, or whole URI).
    pub fn allows(&self, caller: &str) -> bool {
        let (user, host) = user_host(caller);
        self.allow.iter().any(|a| {
            let (au, ah) = user_host(a);
            !au.is_empty() && au == user && (ah.is_none() || ah == host)
        })
    }

    /// The rejection code: the configured 4xx-6xx, else 486.
    pub fn reject_code(&self) -> u16 {
        self.code.filter(|c| (400..700).contains(c)).unwrap_or(486)
    }
}

/// What to do with a new incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ring normally.
    Ring,
    /// DND is on but the caller is allowed: ring anyway.
    RingThroughDnd,
    /// Reject at once with this code (DND); history shows missed-while-DND.
    Dnd { code: u16 },
    /// Answer 302 with Contact `to` at once.
    Forward { to: String },
    /// Ring, and if still unanswered after `after_s`, 302 to `to`.
    ForwardAfter { to: String, after_s: u32 },
}

/// The persisted policy: forwarding rules and DND.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default)]
    pub forward: Vec<ForwardRule>,
    #[serde(default)]
    pub dnd: Dnd,
    /// Forwardings the PBX keeps (switched on by feature code); the PBX
    /// applies them, this phone only remembers them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pbx_forward: Vec<PbxForwardRule>,
}

impl Policy {
    /// The decision for a call from `caller` while we are `busy` (a call up).
    /// Order: forward-always, then DND (allow list rings through), then
    /// forward-on-busy, then forward-on-no-answer, else ring. Of the rules
    /// of one kind, the one for the caller's own scope (internal or
    /// external) wins over one for all callers, whatever their order.
    pub fn decide(&self, caller: &str, busy: bool, internal: &InternalPattern) -> Decision {
        let own_scope = if internal.is_internal(caller) {
            Scope::Internal
        } else {
            Scope::External
        };
        let rule = |when: When| {
            let usable = |scope: Scope| {
                self.forward
                    .iter()
                    .find(|r| r.when == when && r.scope == scope && !r.to.trim().is_empty())
            };
            usable(own_scope).or_else(|| usable(Scope::All))
        };
        if let Some(r) = rule(When::Always) {
            return Decision::Forward { to: r.to.clone() };
        }
        if self.dnd.rejects() {
            if !self.dnd.allows(caller) {
                return Decision::Dnd {
                    code: self.dnd.reject_code(),
                };
            }
            return Decision::RingThroughDnd;
        }
        if busy {
            if let Some(r) = rule(When::Busy) {
                return Decision::Forward { to: r.to.clone() };
            }
        }
        if let Some(r) = rule(When::NoAnswer) {
            return Decision::ForwardAfter {
                to: r.to.clone(),
                after_s: r.after_s.unwrap_or(DEFAULT_NO_ANSWER_S),
            };
        }
        Decision::Ring
    }

    /// Adds a rule, replacing one with the same `when` and `scope`.
    pub fn add_rule(&mut self, rule: ForwardRule) {
        self.forward
            .retain(|r| !(r.when == rule.when && r.scope == rule.scope));
        self.forward.push(rule);
    }

    /// Takes the DND allow list and code from `[phone]`.
    pub fn apply_config(&mut self, phone: &PhoneConfig) {
        self.dnd.allow = phone.dnd_allow.clone();
        self.dnd.code = Some(phone.dnd_code);
        self.dnd.local = phone.dnd_via != LineDnd::FeatureCode;
    }

    /// What the phone starts with: the saved policy at `path` (a missing file
    /// gives no rules and DND as `phone.dnd` says), with [`Policy::apply_config`].
    pub fn startup(path: &Path, phone: &PhoneConfig) -> Result<Policy, PolicyError> {
        let mut p = if path.exists() {
            Policy::load(path)?
        } else {
            Policy {
                dnd: Dnd {
                    on: phone.dnd,
                    ..Dnd::default()
                },
                ..Policy::default()
            }
        };
        p.apply_config(phone);
        Ok(p)
    }

    /// Loads the policy; a missing file is the default policy.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let err = |message: String| PolicyError::File {
            path: path.to_path_buf(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Saves the policy: writes a temp file in the same directory, syncs it,
    /// and renames it over `path`, so a crash leaves the old or the new file.
    pub fn save(&self, path: &Path) -> Result<(), PolicyError> {
        let err = |message: String| PolicyError::File {
            path: path.to_path_buf(),
            message,
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(d) = dir {
            std::fs::create_dir_all(d).map_err(|e| err(e.to_string()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "policy.json".into());
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(d) = dir {
                if let Ok(dirf) = std::fs::File::open(d) {
                    let _ = dirf.sync_all();
                }
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e.to_string())
        })
    }
}

/// `$XDG_DATA_HOME/termphone/policy.json` (beside the history database).
pub fn default_path() -> PathBuf {
    match directories::ProjectDirs::from("", "", "termphone") {
        Some(d) => d.data_dir().join("policy.json"),
        None => std::env::temp_dir()
            .join(format!("termphone-{}", rustix::process::getuid().as_raw()))
            .join("policy.json"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(when: When, scope: Scope, to: &str, after_s: Option<u32>) -> ForwardRule {
        ForwardRule {
            when,
            scope,
            to: to.into(),
            after_s,
        }
    }

    #[test]
    fn decisions() {
        let pat = InternalPattern::parse("4").unwrap();
        let mut p = Policy::default();
        assert_eq!(p.decide("sip:1002@x", false, &pat), Decision::Ring);

        p.add_rule(rule(When::Busy, Scope::All, "1009", None));
        assert_eq!(p.decide("sip:1002@x", false, &pat), Decision::Ring);
        assert_eq!(
            p.decide("sip:1002@x", true, &pat),
            Decision::Forward { to: "1009".into() }
        );

        p.add_rule(rule(When::NoAnswer, Scope::External, "sip:vm@x", Some(7)));
        assert_eq!(p.decide("sip:1002@x", false, &pat), Decision::Ring);
        assert_eq!(
            p.decide("sip:0301234@x", false, &pat),
            Decision::ForwardAfter {
                to: "sip:vm@x".into(),
                after_s: 7
            }
        );

        p.add_rule(rule(When::Always, Scope::Internal, "1005", None));
        assert_eq!(
            p.decide("sip:1002@x", true, &pat),
            Decision::Forward { to: "1005".into() }
        );
        // A second always/internal rule replaces the first.
        p.add_rule(rule(When::Always, Scope::Internal, "1006", None));
        assert_eq!(p.forward.len(), 3);
        assert_eq!(
            p.decide("sip:1002@x", false, &pat),
            Decision::Forward { to: "1006".into() }
        );
        let defaulted = Policy {
            forward: vec![rule(When::NoAnswer, Scope::All, "1009", None)],
            ..Policy::default()
        };
        assert_eq!(
            defaulted.decide("sip:1@x", false, &pat),
            Decision::ForwardAfter {
                to: "1009".into(),
                after_s: DEFAULT_NO_ANSWER_S
            }
        );
    }

    #[test]
    fn the_most_specific_rule_wins_whatever_the_order() {
        let pat = InternalPattern::parse("4").unwrap();
        let (internal, external) = ("sip:1002@x", "sip:0891234567@x");
        let fwd = |to: &str| Decision::Forward { to: to.into() };
        let after = |to: &str| Decision::ForwardAfter {
            to: to.into(),
            after_s: 5,
        };
        // (rules in the order added, caller, busy, decision)
        let table: Vec<(Vec<ForwardRule>, &str, bool, Decision)> = vec![
            // `all` first, then a scoped rule of the same kind.
            (
                vec![
                    rule(When::Always, Scope::All, "A", None),
                    rule(When::Always, Scope::Internal, "B", None),
                ],
                internal,
                false,
                fwd("B"),
            ),
            (
                vec![
                    rule(When::Always, Scope::All, "A", None),
                    rule(When::Always, Scope::Internal, "B", None),
                ],
                external,
                false,
                fwd("A"),
            ),
            // Scoped first, then `all`.
            (
                vec![
                    rule(When::Busy, Scope::External, "E", None),
                    rule(When::Busy, Scope::All, "A", None),
                ],
                external,
                true,
                fwd("E"),
            ),
            (
                vec![
                    rule(When::Busy, Scope::External, "E", None),
                    rule(When::Busy, Scope::All, "A", None),
                ],
                internal,
                true,
                fwd("A"),
            ),
            (
                vec![
                    rule(When::NoAnswer, Scope::All, "A", Some(5)),
                    rule(When::NoAnswer, Scope::External, "E", Some(5)),
                ],
                external,
                false,
                after("E"),
            ),
            // Both scopes and `all`: each caller gets its own.
            (
                vec![
                    rule(When::Always, Scope::All, "A", None),
                    rule(When::Always, Scope::Internal, "I", None),
                    rule(When::Always, Scope::External, "E", None),
                ],
                external,
                false,
                fwd("E"),
            ),
            // A scoped rule of another kind does not beat `always/all`.
            (
                vec![
                    rule(When::Always, Scope::All, "A", None),
                    rule(When::Busy, Scope::Internal, "B", None),
                ],
                internal,
                true,
                fwd("A"),
            ),
            // No rule for the caller's scope: ring.
            (
                vec![rule(When::Always, Scope::Internal, "I", None)],
                external,
                false,
                Decision::Ring,
            ),
        ];
        for (i, (rules, caller, busy, want)) in table.into_iter().enumerate() {
            let p = Policy {
                forward: rules,
                ..Policy::default()
            };
            assert_eq!(p.decide(caller, busy, &pat), want, "row {i}");
        }
    }

    #[test]
    fn each_kind_of_dnd_keeps_callers_out_unless_the_pbx_does() {
        let pat = InternalPattern::default();
        let caller = "sip:1002@x";
        let dnd = Decision::Dnd { code: 486 };
        // (line, presence, kept here) → decision
        for (on, presence, local, want) in [
            (false, false, true, Decision::Ring),
            (true, false, true, dnd.clone()),
            (false, true, true, dnd.clone()),
            (true, true, true, dnd.clone()),
            // dnd_via = "feature_code": the PBX turns callers away.
            (true, false, false, Decision::Ring),
            // Presence DND is always ours to keep.
            (false, true, false, dnd.clone()),
        ] {
            let p = Policy {
                dnd: Dnd {
                    on,
                    presence,
                    local,
                    ..Dnd::default()
                },
                ..Policy::default()
            };
            assert_eq!(
                p.decide(caller, false, &pat),
                want,
                "line {on}, presence {presence}, local {local}"
            );
        }
        // Both kinds persist, each on its own; `local` comes from the config.
        let saved = Policy {
            dnd: Dnd {
                presence: true,
                local: false,
                ..Dnd::default()
            },
            ..Policy::default()
        };
        let text = serde_json::to_string(&saved).unwrap();
        let back: Policy = serde_json::from_str(&text).unwrap();
        assert!(
            back.dnd.presence && !back.dnd.on && back.dnd.local,
            "{text}"
        );
        // A file from before presence was saved still loads.
        let old: Policy = serde_json::from_str(r#"{"forward":[],"dnd":{"on":true}}"#).unwrap();
        assert!(old.dnd.on && !old.dnd.presence);
    }

    #[test]
    fn dnd_with_ring_through() {
        let pat = InternalPattern::default();
        let mut p = Policy {
            dnd: Dnd {
                on: true,
                allow: vec!["1003".into(), "sip:boss@corp.example".into()],
                ..Dnd::default()
            },
            ..Policy::default()
        };
        assert_eq!(
            p.decide("sip:1002@x", false, &pat),
            Decision::Dnd { code: 486 }
        );
        assert_eq!(
            p.decide("\"C\" <sip:1003@x>", false, &pat),
            Decision::RingThroughDnd
        );
        assert_eq!(
            p.decide("sip:boss@corp.example", false, &pat),
            Decision::RingThroughDnd
        );
        assert_eq!(
            p.decide("sip:boss@other.example", false, &pat),
            Decision::Dnd { code: 486 }
        );
        p.dnd.code = Some(603);
        assert_eq!(
            p.decide("sip:1002@x", false, &pat),
            Decision::Dnd { code: 603 }
        );
        p.dnd.code = Some(200);
        assert_eq!(p.dnd.reject_code(), 486);
        // Forward-always beats DND.
        p.add_rule(rule(When::Always, Scope::All, "1009", None));
        assert_eq!(
            p.decide("sip:1002@x", false, &pat),
            Decision::Forward { to: "1009".into() }
        );
    }

    #[test]
    fn persistence_round_trip_and_crash_safety() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("policy.json");
        assert_eq!(Policy::load(&path).unwrap(), Policy::default());
        let mut p = Policy::default();
        p.add_rule(rule(When::NoAnswer, Scope::Internal, "1009", Some(12)));
        p.add_rule(rule(When::Always, Scope::External, "sip:op@x", None));
        p.dnd.on = true;
        p.pbx_forward.push(PbxForwardRule {
            when: When::Busy,
            to: "1004".into(),
        });
        p.save(&path).unwrap();
        assert_eq!(Policy::load(&path).unwrap(), p);
        // The allow list and code are configuration, not state.
        let phone = PhoneConfig {
            dnd: false,
            dnd_allow: vec!["1003".into()],
            dnd_code: 480,
            ..PhoneConfig::default()
        };
        let started = Policy::startup(&path, &phone).unwrap();
        assert!(started.dnd.on, "saved DND state wins over phone.dnd");
        assert_eq!(started.dnd.allow, vec!["1003".to_string()]);
        assert_eq!(started.dnd.reject_code(), 480);
        let fresh = Policy::startup(
            &dir.path().join("none.json"),
            &PhoneConfig {
                dnd: true,
                ..PhoneConfig::default()
            },
        )
        .unwrap();
        assert!(fresh.dnd.on && fresh.forward.is_empty());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"no_answer\"") && text.contains("\"internal\""),
            "{text}"
        );
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A leftover temp file from a crash does not matter; a corrupt file is an error, not a panic.
        std::fs::write(path.with_file_name(".policy.json.tmp-1"), "{garbage").unwrap();
        assert_eq!(Policy::load(&path).unwrap(), p);
        std::fs::write(&path, "{\"forward\": [{\"when\": \"sometimes\"}]}").unwrap();
        assert!(Policy::load(&path).is_err());
        // Hand-written minimal JSON: scope and DND default.
        std::fs::write(&path, r#"{"forward":[{"when":"busy","to":"1009"}]}"#).unwrap();
        let p = Policy::load(&path).unwrap();
        assert_eq!(p.forward[0].scope, Scope::All);
        assert!(!p.dnd.on);
    }
}
