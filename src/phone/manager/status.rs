//! What the phone tells of itself: the `status` reply (accounts, live calls,
//! DND, forwarding, conference, listening address, MWI, BLF) and the
//! snapshot of events a new subscriber starts from.

use super::CallManager;
use crate::phone::event::{CallInfo, CallState, Event};
use serde_json::{json, Value};

impl CallManager {
    pub(super) fn status(&self) -> Value {
        let accounts: Vec<Value> = self
            .accounts
            .iter()
            .map(|a| {
                let mut v = json!({
                    "name": a.account.name,
                    "aor": a.aor,
                    "registered": a.status.as_ref().is_some_and(|s| s.registered),
                    "expires": a.status.as_ref().map(|s| s.expires).unwrap_or(0),
                });
                let reason = if a.account.register {
                    a.status
                        .as_ref()
                        .and_then(|s| s.reason.clone())
                        .or_else(|| a.status.is_none().then(|| "registering".to_string()))
                } else {
                    Some("registration off (direct IP)".to_string())
                };
                if let (Some(r), Some(obj)) = (reason, v.as_object_mut()) {
                    obj.insert("reason".into(), Value::String(r));
                }
                v
            })
            .collect();
        let calls: Vec<&CallInfo> = self
            .calls
            .values()
            .filter(|c| c.info.state != CallState::Ended)
            .map(|c| &c.info)
            .collect();
        json!({
            "accounts": accounts,
            "calls": calls,
            "dnd": self.pbx.dnd(),
            "forward": self.pbx.forward_json(),
            "conference": self.conference_json(),
            "listen": self.env.endpoint.transport().local_addr().to_string(),
            "mwi": self.pbx.mwi_json(),
            "blf": self.pbx.blf_json()["blf"].clone(),
        })
    }

    /// The current state as events: one `registration` per account whose
    /// state is known, one `call` per live call.
    pub(super) fn snapshot(&self) -> Vec<Event> {
        let registrations = self.accounts.iter().filter_map(|a| {
            a.status.as_ref().map(|s| Event::Registration {
                account: s.account.clone(),
                registered: s.registered,
                reason: s.reason.clone(),
            })
        });
        let calls = self
            .calls
            .values()
            .filter(|c| c.info.state != CallState::Ended)
            .map(|c| Event::Call {
                call: Box::new(c.info.clone()),
            });
        registrations.chain(calls).collect()
    }
}
