//! Caller names: the `[[directory]]` sources read into a
//! `store::directory::NameIndex` on a thread of their own when the phone
//! starts (a slow or blocking source, e.g. a FIFO or a hung network
//! mount, delays no call and no shutdown), and each call's `name` set from
//! it as its updates pass (`caller_name::shown`). When the index arrives
//! after a call started, the call is named by a fresh update. This module
//! must not drive calls.

use super::CallManager;
use crate::config::DirectoryConfig;
use crate::phone::caller_name;
use crate::phone::event::{CallInfo, Event};
use crate::phone::ManagerMsg;
use crate::store::directory::{self, NameIndex};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// Reads the sources on a detached thread and sends the index to the
/// manager. A thread, not a blocking task: a read that never returns must
/// not hold up the runtime's shutdown.
pub(super) fn load(sources: &[DirectoryConfig], manager: &UnboundedSender<ManagerMsg>) {
    if sources.is_empty() {
        return;
    }
    let sources = sources.to_vec();
    let manager = manager.clone();
    let spawned = std::thread::Builder::new()
        .name("directory-names".into())
        .spawn(move || {
            let (entries, errors) = directory::load(&sources);
            for e in errors {
                tracing::warn!("directory: {e}");
            }
            let index = NameIndex::build(&entries);
            tracing::debug!(entries = entries.len(), "directory names read");
            let _ = manager.send(ManagerMsg::DirectoryNames(Box::new(index)));
        });
    if let Err(e) = spawned {
        tracing::warn!("directory names not read: {e}");
    }
}

impl CallManager {
    /// Sets `info.name`: the directory's name for the number the PBX
    /// asserted (P-Asserted-Identity, when the account trusts it), else
    /// for the remote party, else the name the call's SIP gave.
    pub(super) fn name_call(&self, info: &mut CallInfo) {
        let asserted = self
            .asserted_callers
            .get(&info.id)
            .and_then(|uri| self.known_name(uri));
        info.name = caller_name::shown(
            asserted.or_else(|| self.known_name(&info.remote)),
            info.name.as_deref(),
            info.remote_name.as_deref(),
        );
    }

    /// The directory has been read: calls it names are updated.
    pub(super) fn on_directory_names(&mut self, index: NameIndex) {
        self.names = index;
        let renamed: Vec<CallInfo> = self
            .calls
            .values()
            .filter_map(|c| {
                let name = self
                    .asserted_callers
                    .get(&c.info.id)
                    .and_then(|uri| self.names.lookup(uri))
                    .or_else(|| self.names.lookup(&c.info.remote))?;
                (c.info.name.as_deref() != Some(name)).then(|| {
                    let mut info = c.info.clone();
                    info.name = Some(name.to_string());
                    info
                })
            })
            .collect();
        self.apply_names(renamed);
        // Lamps lit before the directory was read get their names.
        self.announce_named_lamps();
    }

    /// Gives calls the names found for them (`renamed`: each call's info
    /// with its new name): the call, its history row and an updated
    /// `call` event.
    pub(super) fn apply_names(&mut self, renamed: Vec<CallInfo>) {
        for info in renamed {
            if let Some(c) = self.calls.get_mut(&info.id) {
                c.info.name = info.name.clone();
            }
            self.record_in_history(&info);
            let _ = self.events.send(Arc::new(Event::Call {
                call: Box::new(info),
            }));
        }
    }

    /// The lamps of `status`, each with the directory's name for its target.
    pub(super) fn named_blf_status(&self) -> Vec<crate::phone::status::BlfStatus> {
        let mut lamps = self.pbx.blf_status();
        for lamp in &mut lamps {
            lamp.name = self.known_name(&lamp.uri).map(str::to_string);
        }
        lamps
    }

    /// The directory's name for `remote`, for calls that never rang here.
    pub(super) fn directory_name(&self, remote: &str) -> Option<String> {
        self.known_name(remote).map(str::to_string)
    }
}
