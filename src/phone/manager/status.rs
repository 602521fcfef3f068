//! What the phone tells of itself: the `status` reply (a [`Status`] built
//! from the accounts, live calls, DND, forwarding, conference, listening
//! address, MWI and BLF) and the snapshot of events a new subscriber starts
//! from. The shape of the reply is `phone::status`'s, not this module's.

use super::accounts::AccountState;
use super::CallManager;
use crate::command::CommandError;
use crate::phone::event::{CallState, Event};
use crate::phone::status::Status;
use serde_json::Value;

impl CallManager {
    /// The phone's state as `status` reports it.
    pub(super) fn status(&self) -> Status {
        Status {
            accounts: self
                .accounts
                .iter()
                .map(AccountState::account_status)
                .collect(),
            calls: self
                .calls
                .values()
                .filter(|c| c.info.state != CallState::Ended)
                .map(|c| c.info.clone())
                .collect(),
            dnd: self.pbx.dnd(),
            dnd_kinds: crate::phone::DndKinds {
                line: self.pbx.policy.dnd.on,
                presence: self.pbx.policy.dnd.presence,
            },
            forward: self.pbx.forward_status(),
            conference: self.conference_status(),
            listen: self.env.endpoint.transport().local_addr().to_string(),
            mwi: self.pbx.mwi_status(),
            blf: self.named_blf_status(),
            pbx: Some(crate::phone::status::PbxStatus {
                profile: self.config.pbx.profile.clone(),
                verified: self.config.pbx.verified,
            }),
            callbacks: self.callbacks.status(),
        }
    }

    /// `status`: [`CallManager::status`] as the reply object.
    pub(super) fn status_reply(&self) -> Result<Value, CommandError> {
        serde_json::to_value(self.status())
            .map_err(|e| CommandError::new("internal", e.to_string()))
    }

    /// The current state as events: one `registration` per account whose
    /// state is known, one `call` per live call, and one `device_fallback`
    /// per configured sound device that was missing when the phone
    /// started (told when nobody could listen yet).
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
        let missing = self.env.audio.startup_fallbacks().into_iter();
        registrations
            .chain(calls)
            .chain(missing.map(super::devices::fallback_event))
            .collect()
    }
}
