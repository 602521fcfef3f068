//! Caller names from LDAP sources: a number the loaded directory does not
//! name is looked up on a thread of its own (the call rings at once; the
//! name fills in by a fresh update when the answer comes), and the answer,
//! a name or none, is cached for a while ([`NameCache`], pure and
//! table-tested). A server that fails or hangs costs one warning per
//! number and never a delay. This module must not drive calls.

use super::CallManager;
use crate::phone::event::CallInfo;
use crate::phone::ManagerMsg;
use crate::store::directory;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a name found stays cached.
const FOUND_TTL: Duration = Duration::from_secs(15 * 60);
/// How long "no name" (or a failed lookup) stays cached.
const MISSING_TTL: Duration = Duration::from_secs(60);

/// Answers of the LDAP sources by remote party, each until its expiry,
/// and the lookups under way.
#[derive(Debug, Default)]
pub(super) struct NameCache {
    answers: HashMap<String, (Option<String>, Instant)>,
    pending: HashSet<String>,
}

impl NameCache {
    /// The cached answer for `remote`: `Some(Some(name))`, `Some(None)` for
    /// "the directory has no name", `None` when unknown or expired.
    pub(super) fn get(&self, remote: &str, now: Instant) -> Option<Option<&str>> {
        self.answers
            .get(remote)
            .filter(|(_, until)| *until > now)
            .map(|(name, _)| name.as_deref())
    }

    /// Whether a lookup of `remote` should start: no fresh answer and none
    /// under way. Marks it under way.
    pub(super) fn should_ask(&mut self, remote: &str, now: Instant) -> bool {
        if self.get(remote, now).is_some() || self.pending.contains(remote) {
            return false;
        }
        self.pending.insert(remote.to_string());
        true
    }

    /// The answer for `remote` arrived.
    pub(super) fn answer(&mut self, remote: &str, name: Option<String>, now: Instant) {
        self.pending.remove(remote);
        let ttl = if name.is_some() {
            FOUND_TTL
        } else {
            MISSING_TTL
        };
        self.answers.retain(|_, (_, until)| *until > now);
        self.answers.insert(remote.to_string(), (name, now + ttl));
    }
}

impl CallManager {
    /// The directory's name for `remote`: the loaded sources, else a
    /// cached LDAP answer.
    pub(super) fn known_name(&self, remote: &str) -> Option<&str> {
        self.names
            .lookup(remote)
            .or_else(|| self.ldap_names.get(remote, Instant::now()).flatten())
    }

    /// Asks the LDAP sources for `remote`'s name on a thread of its own,
    /// unless the loaded directory names it or the answer is cached.
    pub(super) fn ask_ldap_name(&mut self, remote: &str) {
        if remote.is_empty()
            || !directory::has_ldap(&self.config.directories)
            || self.names.lookup(remote).is_some()
            || !self.ldap_names.should_ask(remote, Instant::now())
        {
            return;
        }
        let sources = self.config.directories.clone();
        let manager = self.env.manager.clone();
        let remote = remote.to_string();
        let spawned = std::thread::Builder::new()
            .name("directory-ldap-name".into())
            .spawn({
                let remote = remote.clone();
                move || {
                    let name = match directory::ldap_name(&sources, &remote) {
                        Ok(name) => name,
                        Err(e) => {
                            tracing::warn!("directory: {e}");
                            None
                        }
                    };
                    let _ = manager.send(ManagerMsg::LdapName { remote, name });
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("directory: no LDAP lookup of {remote}: {e}");
            self.ldap_names.answer(&remote, None, Instant::now());
        }
    }

    /// An LDAP answer arrived: cached, and the calls with that party named
    /// by a fresh update.
    pub(super) fn on_ldap_name(&mut self, remote: String, name: Option<String>) {
        self.ldap_names
            .answer(&remote, name.clone(), Instant::now());
        let Some(name) = name else {
            return;
        };
        let renamed: Vec<CallInfo> = self
            .calls
            .values()
            .filter(|c| {
                (c.info.remote == remote || self.asserted_callers.get(&c.info.id) == Some(&remote))
                    && c.info.name.as_deref() != Some(name.as_str())
            })
            .map(|c| {
                let mut info = c.info.clone();
                info.name = Some(name.clone());
                info
            })
            .collect();
        self.apply_names(renamed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_cached_until_they_expire() {
        let t0 = Instant::now();
        let mut cache = NameCache::default();
        assert_eq!(cache.get("sip:1@x", t0), None);
        assert!(cache.should_ask("sip:1@x", t0));
        // under way: not asked twice
        assert!(!cache.should_ask("sip:1@x", t0));
        cache.answer("sip:1@x", Some("Anna".into()), t0);
        assert_eq!(cache.get("sip:1@x", t0), Some(Some("Anna")));
        assert!(!cache.should_ask("sip:1@x", t0 + FOUND_TTL - Duration::from_secs(1)));
        assert_eq!(cache.get("sip:1@x", t0 + FOUND_TTL), None);
        assert!(cache.should_ask("sip:1@x", t0 + FOUND_TTL));

        cache.answer("sip:2@x", None, t0);
        assert_eq!(cache.get("sip:2@x", t0), Some(None));
        assert!(!cache.should_ask("sip:2@x", t0));
        assert!(cache.should_ask("sip:2@x", t0 + MISSING_TTL));
    }
}
