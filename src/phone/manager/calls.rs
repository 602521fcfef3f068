//! The call table: finding the call a command means, dialing (new call
//! actors, `max_calls`), putting calls in the table and taking their updates
//! (state, stats, DTMF, gone), and the call-waiting beep. What an update
//! means for the history, a transfer or the conference is left to those
//! modules; this one only calls them.

use super::{CallEntry, CallManager};
use crate::command::CommandError;
use crate::config::Account;
use crate::media::MediaStats;
use crate::phone::call::{CallActor, CallHandle};
use crate::phone::event::{CallInfo, CallState, Event};
use crate::sip::message as m;
use crate::sip::route;
use serde_json::{json, Value};
use std::sync::Arc;

/// `no_such_call` with `what` as the message.
pub(super) fn no_call(what: &str) -> CommandError {
    CommandError::new("no_such_call", what.to_string())
}

impl CallManager {
    /// The call a command means: the given id, else per docs/control.md the
    /// ringing one (answer/reject) or the active one.
    pub(super) fn select_call(
        &self,
        id: Option<&str>,
        prefer_ringing: bool,
    ) -> Result<CallHandle, CommandError> {
        if let Some(id) = id {
            return self
                .calls
                .get(id)
                .filter(|c| c.info.state != CallState::Ended)
                .map(|c| c.handle.clone())
                .ok_or_else(|| no_call(&format!("no call `{id}`")));
        }
        let live = || {
            self.calls
                .values()
                .filter(|c| c.info.state != CallState::Ended)
        };
        let ringing = live().find(|c| c.info.state == CallState::Ringing);
        let active = live().find(|c| c.info.state == CallState::Active);
        let pick = if prefer_ringing {
            ringing.or(active)
        } else {
            active.or(ringing)
        };
        pick.or_else(|| live().next())
            .map(|c| c.handle.clone())
            .ok_or_else(|| no_call("there is no call"))
    }

    /// The call `resume` means: the given one, else a held one.
    pub(super) fn select_held(&self, id: Option<&str>) -> Result<CallHandle, CommandError> {
        if id.is_some() {
            return self.select_call(id, false);
        }
        self.calls
            .values()
            .find(|c| c.info.state == CallState::Held)
            .map(|c| c.handle.clone())
            .ok_or_else(|| no_call("there is no held call"))
    }

    /// Handles of the active calls, but `except` (the call about to take over).
    /// Legs of a conference that goes on without us (`conference_leave`
    /// keep) are not ours to hold, hang up or join: they are left out.
    pub(super) fn active_calls_except(&self, except: Option<&str>) -> Vec<CallHandle> {
        self.calls
            .values()
            .filter(|c| c.info.state == CallState::Active)
            .filter(|c| Some(c.info.id.as_str()) != except)
            .filter(|c| !self.is_bridged_leg(&c.info.id))
            .map(|c| c.handle.clone())
            .collect()
    }

    /// The call whose dialog has this SIP Call-ID.
    pub(super) fn call_for(&self, sip_call_id: &str) -> Option<&CallHandle> {
        self.by_sip_call_id
            .get(sip_call_id)
            .and_then(|id| self.calls.get(id))
            .map(|c| &c.handle)
    }

    /// The handle of the call with this id, ended or not.
    pub(super) fn handle(&self, id: &str) -> Option<CallHandle> {
        self.calls.get(id).map(|c| c.handle.clone())
    }

    /// The account of `call` (else the first) and `to` made a SIP URI.
    pub(super) fn target_uri(
        &self,
        to: &str,
        call: Option<&CallHandle>,
    ) -> Result<String, CommandError> {
        let account = call
            .and_then(|h| self.calls.get(&h.id))
            .and_then(|c| {
                self.accounts
                    .iter()
                    .find(|a| a.account.name == c.info.account)
            })
            .or_else(|| self.accounts.first())
            .map(|a| a.account.clone())
            .ok_or_else(|| CommandError::new("no_account", "no account is configured"))?;
        dial_uri(to, &account)
    }

    pub(super) fn live_calls(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.info.state != CallState::Ended)
            .count()
    }

    pub(super) fn new_id(&mut self) -> String {
        let id = format!("c{}", self.next_id);
        self.next_id += 1;
        id
    }

    /// `dial`: places a call; the reply is `{call}`.
    pub(super) fn dial(&mut self, to: &str, account: Option<&str>) -> Result<Value, CommandError> {
        self.dial_with(to, account, Vec::new())
            .map(|id| json!({ "call": id }))
    }

    /// Places a call with extra headers (Referred-By, Replaces); returns its id.
    pub(super) fn dial_with(
        &mut self,
        to: &str,
        account: Option<&str>,
        extra_headers: Vec<(String, String)>,
    ) -> Result<String, CommandError> {
        let account = self.account(account)?.account.clone();
        if self.live_calls() >= self.config.phone.max_calls {
            return Err(CommandError::new(
                "too_many_calls",
                format!("already {} calls (max_calls)", self.config.phone.max_calls),
            ));
        }
        if to.trim() == "echo" {
            let id = self.new_id();
            let (handle, info) = CallActor::echo(self.env.clone(), id.clone(), account);
            self.insert_call(handle, info);
            return Ok(id);
        }
        let uri = dial_uri(to, &account)?;
        // Through the outbound proxy as a loose route: sent to the proxy,
        // the Request-URI stays the target.
        let next_hop = account.proxy.clone().unwrap_or_else(|| uri.clone());
        let mut extra_headers = extra_headers;
        if let Some(proxy) = &account.proxy {
            extra_headers.insert(0, ("Route".into(), route::proxy_route(proxy)));
        }
        let id = self.new_id();
        let (handle, info) = CallActor::outgoing(
            self.env.clone(),
            id.clone(),
            account,
            uri,
            next_hop,
            extra_headers,
        );
        self.insert_call(handle, info);
        Ok(id)
    }

    /// A new call actor joins the table.
    pub(super) fn insert_call(&mut self, handle: CallHandle, info: CallInfo) {
        self.by_sip_call_id
            .insert(info.sip_call_id.clone(), info.id.clone());
        let entry = CallEntry {
            beeping: false,
            handle,
            info: info.clone(),
            history_id: None,
            answered_recorded: false,
            history_name: None,
        };
        self.calls.insert(info.id.clone(), entry);
        // Recorded in history and announced like any later change.
        self.on_call_update(info);
    }

    /// A call's new state: kept, written to history, passed on to a REFER
    /// that placed it, a transfer and the conference, and announced.
    pub(super) fn on_call_update(&mut self, mut info: CallInfo) {
        if !self.calls.contains_key(&info.id) {
            return;
        }
        if let Some(asserted) = self.asserted_callers.get(&info.id).cloned() {
            self.ask_ldap_name(&asserted);
        }
        self.ask_ldap_name(&info.remote);
        self.name_call(&mut info);
        self.by_sip_call_id
            .insert(info.sip_call_id.clone(), info.id.clone());
        self.record_in_history(&info);
        if let Some(entry) = self.calls.get_mut(&info.id) {
            entry.info = info.clone();
        }
        self.report_refer_progress(&info);
        self.update_waiting_beep();
        if info.state == CallState::Ended {
            self.finish_attended(&info);
        }
        self.conference_on_update(&info);
        self.forward_code_update(&info);
        self.callback_call_update(&info);
        let _ = self.events.send(Arc::new(Event::Call {
            call: Box::new(info),
        }));
    }

    pub(super) fn on_stats(&mut self, id: &str, stats: Option<MediaStats>) {
        if let Some(c) = self.calls.get_mut(id) {
            c.info.stats = stats;
        }
    }

    pub(super) fn on_dtmf(&self, call: String, digit: char) {
        let _ = self.events.send(Arc::new(Event::Dtmf {
            call,
            digit: digit.to_string(),
        }));
    }

    /// The call actor has exited: the call leaves the table.
    pub(super) fn call_gone(&mut self, id: &str) {
        self.conference_member_gone(id);
        if let Some(c) = self.calls.remove(id) {
            self.by_sip_call_id.remove(&c.info.sip_call_id);
        }
        self.asserted_callers.remove(id);
    }

    /// The call-waiting beep plays in active calls while another call rings.
    fn update_waiting_beep(&mut self) {
        let ringing = self
            .calls
            .values()
            .any(|c| c.info.state == CallState::Ringing);
        for c in self.calls.values_mut() {
            let beep = ringing && c.info.state == CallState::Active;
            if c.beeping != beep {
                c.beeping = beep;
                c.handle.waiting_beep(beep);
            }
        }
    }
}

/// A number, `user@host` or SIP URI as the SIP URI to call, after the
/// account's dial plan.
pub(super) fn dial_uri(to: &str, account: &Account) -> Result<String, CommandError> {
    let dialled = super::dial_plan::apply(to, account)?;
    let target = dialled.as_deref().unwrap_or(to).trim();
    let uri = if target.starts_with("sip:") || target.starts_with("sips:") {
        target.to_string()
    } else if target.contains('@') {
        format!("sip:{target}")
    } else {
        if target.is_empty()
            || target
                .chars()
                .any(|c| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(CommandError::bad_argument(format!(
                "not a number or SIP URI: `{target}`"
            )));
        }
        format!("sip:{target}@{}", account.domain)
    };
    m::host_port(&uri).map_err(|e| CommandError::bad_argument(e.to_string()))?;
    m::parse_uri(&uri).map_err(|e| CommandError::bad_argument(e.to_string()))?;
    Ok(uri)
}
