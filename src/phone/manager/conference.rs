//! The local conference: created on first use, calls joining (now, or once
//! answered for `conf_add to=…`), leaving, split off and back, hanging up
//! ourselves (every leg, handing the two members over to each other, or
//! leaving them mixed here without us until fewer than two remain), and the
//! conference part of `status`. The mixing is `media::Conference`'s;
//! each call joins through its own actor.

use super::calls::no_call;
use super::commands::Reply;
use super::CallManager;
use crate::command::CommandError;
use crate::config::ConferenceLeave;
use crate::media::{Conference, MemberId};
use crate::phone::call::CallHandle;
use crate::phone::event::{CallInfo, CallState, Event};
use crate::phone::status::{ConferenceStatus, MixerStatus};
use crate::phone::ManagerMsg;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The conference while there is one.
pub(super) struct ConferenceState {
    pub(super) conf: Arc<Conference>,
    /// Call id → its member id in the mixer.
    pub(super) members: BTreeMap<String, MemberId>,
}

impl CallManager {
    /// Joins `calls` (default: every live call) into the conference, which is
    /// created on first use. Held calls are resumed.
    pub(super) fn conference(&mut self, calls: Option<Vec<String>>) -> Reply {
        let ids: Vec<String> = match calls {
            Some(ids) if !ids.is_empty() => ids,
            // The conference goes on without us: our calls would join the
            // members' mix, which only a named call does.
            _ if self
                .conference
                .as_ref()
                .is_some_and(|c| c.conf.is_bridging()) =>
            {
                return Reply::Now(Err(CommandError::new(
                    "bad_state",
                    "the conference goes on without us; name the calls to bring into it",
                )));
            }
            _ => self
                .calls
                .values()
                .filter(|c| matches!(c.info.state, CallState::Active | CallState::Held))
                .map(|c| c.info.id.clone())
                .collect(),
        };
        let mut handles = Vec::new();
        for id in &ids {
            match self.select_call(Some(id), false) {
                Ok(h) => handles.push(h),
                Err(e) => return Reply::Now(Err(e)),
            }
        }
        if handles.is_empty() {
            return Reply::Now(Err(no_call("there is no connected call to conference")));
        }
        let conf = match self.ensure_conference() {
            Ok(c) => c,
            Err(e) => return Reply::Now(Err(e)),
        };
        let manager = self.env.manager.clone();
        Reply::later(async move {
            let mut joined = Vec::new();
            let mut error = None;
            for h in handles {
                match h.conference(Some(conf.clone())).await {
                    Ok(Some(member)) => {
                        let _ = manager.send(ManagerMsg::ConferenceJoined(h.id.clone(), member));
                        joined.push(h.id.clone());
                    }
                    Ok(None) => {}
                    Err(e) => error = Some(e),
                }
            }
            match (error, joined.is_empty()) {
                (Some(e), true) => Err(e),
                _ => Ok(json!({ "conference": { "members": joined } })),
            }
        })
    }

    /// Whether call `id` is a leg of a conference that goes on without us.
    pub(super) fn is_bridged_leg(&self, id: &str) -> bool {
        self.conference
            .as_ref()
            .is_some_and(|c| c.conf.is_bridging() && c.members.contains_key(id))
    }

    /// `conf_add`: dial `to`, which joins once answered; else bring `call`
    /// (default: every live call) in.
    pub(super) fn conf_add(&mut self, to: Option<String>, call: Option<String>) -> Reply {
        let Some(to) = to else {
            return self.conference(Some(call.into_iter().collect()));
        };
        // With no conference yet, the call we are in joins too: it waits
        // with the new one and both join when that is answered.
        let current: Vec<String> = if self.conference.is_none() {
            self.active_calls_except(None)
                .into_iter()
                .map(|h| h.id)
                .collect()
        } else {
            Vec::new()
        };
        let dialed = self.dial(&to, None);
        if let Ok(v) = &dialed {
            if let Some(id) = v["call"].as_str() {
                // Joins when answered (see conference_on_update).
                self.conf_pending.add(id.to_string(), current);
            }
        }
        dialed.into()
    }

    /// `conf_remove`: hangs up one member; the others stay.
    pub(super) fn conf_remove(&self, call: &str) -> Reply {
        Self::call_command(self.conf_member(call), |h| async move { h.hangup().await })
    }

    /// `hangup` without a call while there is a conference, as
    /// `conference_leave` says: the two members connected to each other,
    /// the mix kept going without us, or every leg ended. Once the mix goes
    /// on without us, it means our own calls beside it: the first of them,
    /// else an error (the bridged legs end with `hangup call=…`). `None`
    /// without a conference.
    pub(super) fn hangup_conference(&mut self) -> Option<Reply> {
        let c = self.conference.as_ref()?;
        let ids: Vec<String> = c.members.keys().cloned().collect();
        if c.conf.is_bridging() {
            let own = self
                .calls
                .values()
                .filter(|k| k.info.state != CallState::Ended && !c.members.contains_key(&k.info.id))
                .map(|k| k.info.id.clone())
                .next();
            return Some(match own {
                Some(id) => {
                    Self::call_command(self.select_call(Some(&id), false), |h| async move {
                        h.hangup().await
                    })
                }
                None => Reply::Now(Err(no_call(
                    "the conference talks on without us; hangup call=… ends one of its legs",
                ))),
            });
        }
        match self.config.phone.conference_hangup.on_leave(ids.len()) {
            // Hand the conference over: the two members talk on.
            ConferenceLeave::Transfer => return Some(self.connect(&ids[0], &ids[1])),
            ConferenceLeave::Keep => {
                c.conf.bridge_without_us();
                tracing::info!(
                    "left the conference of {}: it goes on without us",
                    ids.len()
                );
                let _ = self.events.send(Arc::new(Event::ConferenceBridging {
                    members: ids.clone(),
                }));
                return Some(Reply::Now(Ok(json!({ "calls": ids, "bridging": true }))));
            }
            ConferenceLeave::End => {}
        }
        // Hanging up ourselves ends every leg of the conference.
        let members: Vec<CallHandle> = ids.iter().filter_map(|id| self.handle(id)).collect();
        let ids: Vec<String> = members.iter().map(|h| h.id.clone()).collect();
        Some(Reply::later(async move {
            for h in members {
                let _ = h.hangup().await;
            }
            Ok(json!({ "calls": ids }))
        }))
    }

    /// `conf_split` (private talk with one member) and `conf_join` (back).
    pub(super) fn conf_split(&self, call: &str, split: bool) -> Result<Value, CommandError> {
        let c = self.conference.as_ref().ok_or_else(|| not_member(call))?;
        let member = *c.members.get(call).ok_or_else(|| not_member(call))?;
        if split {
            c.conf.split(member);
        } else if c.conf.split_member() == Some(member) {
            c.conf.rejoin();
        } else {
            return Err(CommandError::new(
                "bad_state",
                format!("call {call} is not split off"),
            ));
        }
        Ok(json!({ "call": call, "split": split }))
    }

    /// A call joined the mixer as `member`: kept, unless it ended meanwhile.
    pub(super) fn conference_joined(&mut self, id: String, member: MemberId) {
        let live = self
            .calls
            .get(&id)
            .is_some_and(|c| c.info.state != CallState::Ended);
        match self.conference.as_mut() {
            Some(c) if live => {
                c.members.insert(id, member);
            }
            Some(c) => {
                c.conf.leave(member);
            }
            None => {}
        }
    }

    /// What a call update means for the conference: an ended member leaves,
    /// a call dialed by `conf_add to=…` joins once answered.
    pub(super) fn conference_on_update(&mut self, info: &CallInfo) {
        if info.state == CallState::Ended {
            if let Some(released) = self.conf_pending.failed(&info.id) {
                // A dialled member that never answered: the conference
                // and the calls that waited for it stay as they are (those
                // also waiting for another dialled call go on waiting).
                let reason = info
                    .end_reason
                    .clone()
                    .unwrap_or_else(|| "ended unanswered".into());
                tracing::info!(call = %info.id, "conf_add: {} did not join: {reason}", info.remote);
                let _ = self.events.send(Arc::new(Event::ConfAddFailed {
                    call: info.id.clone(),
                    to: info.remote.clone(),
                    reason,
                    released,
                }));
            } else {
                self.conf_pending.gone(&info.id);
            }
            self.conference_member_gone(&info.id);
        } else if info.state == CallState::Active && self.conf_pending.is_dialed(&info.id) {
            // The answered call, and the connected calls that waited for it
            // (`conf_add` with no conference yet).
            let waiting: Vec<String> = self
                .conf_pending
                .answered(&info.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|id| {
                    self.calls.get(id.as_str()).is_some_and(|c| {
                        matches!(c.info.state, CallState::Active | CallState::Held)
                    })
                })
                .collect();
            let Ok(conf) = self.ensure_conference() else {
                return;
            };
            for id in std::iter::once(&info.id).chain(waiting.iter()) {
                if let Some(h) = self.handle(id) {
                    let manager = self.env.manager.clone();
                    let conf = conf.clone();
                    tokio::spawn(async move {
                        if let Ok(Some(member)) = h.conference(Some(conf)).await {
                            let _ =
                                manager.send(ManagerMsg::ConferenceJoined(h.id.clone(), member));
                        }
                    });
                }
            }
        }
    }

    /// A member left (ended or hung up): drop it; a conference of one is no
    /// conference, the last call goes back to its own audio.
    pub(super) fn conference_member_gone(&mut self, id: &str) {
        let Some(c) = self.conference.as_mut() else {
            return;
        };
        let Some(member) = c.members.remove(id) else {
            return;
        };
        c.conf.leave(member);
        if c.members.len() <= 1 {
            let bridging = c.conf.is_bridging();
            let last: Vec<String> = c.members.keys().cloned().collect();
            for id in last {
                if let Some(h) = self.handle(&id) {
                    tokio::spawn(async move {
                        if bridging {
                            // Without us, the last one would talk to nobody.
                            let _ = h.hangup().await;
                        } else {
                            let _ = h.conference(None).await;
                        }
                    });
                }
            }
            if let Some(state) = self.conference.take() {
                if let Ok(conf) = Arc::try_unwrap(state.conf) {
                    tokio::spawn(conf.stop());
                }
            }
        }
    }

    /// The conference part of `status`: members, and while the mixer runs
    /// the levels (dBFS to one decimal) and the split member.
    pub(super) fn conference_status(&self) -> ConferenceStatus {
        let Some(c) = &self.conference else {
            return ConferenceStatus::default();
        };
        let levels = c
            .conf
            .levels()
            .into_iter()
            .filter_map(|(member, db)| {
                let call = c.members.iter().find(|(_, m)| **m == member)?.0;
                Some((call.clone(), (db * 10.0).round() / 10.0))
            })
            .collect();
        let split = c.conf.split_member().and_then(|m| {
            c.members
                .iter()
                .find(|(_, id)| **id == m)
                .map(|(call, _)| call.clone())
        });
        ConferenceStatus {
            members: c.members.keys().cloned().collect(),
            mixer: Some(MixerStatus {
                levels,
                local_level: (c.conf.local_level() * 10.0).round() / 10.0,
                split,
                bridging: c.conf.is_bridging(),
            }),
        }
    }

    fn ensure_conference(&mut self) -> Result<Arc<Conference>, CommandError> {
        if let Some(c) = &self.conference {
            return Ok(c.conf.clone());
        }
        let conf = Conference::new(&self.env.audio, &format!("conference-{}", self.next_id))
            .map_err(|e| {
                CommandError::new("media_error", format!("cannot start the conference: {e}"))
            })?;
        let conf = Arc::new(conf);
        self.conference = Some(ConferenceState {
            conf: conf.clone(),
            members: BTreeMap::new(),
        });
        Ok(conf)
    }

    fn conf_member(&self, call: &str) -> Result<CallHandle, CommandError> {
        match &self.conference {
            Some(c) if c.members.contains_key(call) => self.select_call(Some(call), false),
            _ => Err(not_member(call)),
        }
    }
}

fn not_member(call: &str) -> CommandError {
    CommandError::new(
        "not_in_conference",
        format!("call {call} is not in the conference"),
    )
}
