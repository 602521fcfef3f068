//! Do Not Disturb and call forwarding, the commands: DND on the line (the
//! persisted policy, and the PBX told by feature code) or by presence
//! (PUBLISH per account with a server); forwarding rules kept by this phone
//! (the policy answers 302, see [`crate::phone::policy`]) or switched on at
//! the PBX by feature code; and the forwarding part of `status`. The state
//! lives in [`super::pbx::Pbx`]; incoming calls meet the policy in
//! [`super::routing`].

use super::accounts::credentials;
use super::commands::Reply;
use super::pbx::{server_peer, Pbx};
use super::CallManager;
use crate::command::{CommandError, DndVia};
use crate::config::{Account, FeatureCodes, LineDnd};
use crate::phone::event::Event;
use crate::phone::policy::{ForwardRule, Scope, When};
use crate::phone::status::{ForwardStatus, ForwardVia};
use crate::sip::publication::{self, PresenceDoc, PublicationConfig};
use serde_json::{json, Value};
use std::sync::Arc;

impl Pbx {
    /// The forwarding rules: ours (the policy's), then the PBX's.
    pub(super) fn forward_status(&self) -> Vec<ForwardStatus> {
        let client = self.policy.forward.iter().map(|r| ForwardStatus {
            when: r.when,
            scope: Some(r.scope),
            to: r.to.clone(),
            after_s: r.after_s,
            via: ForwardVia::Client,
        });
        let pbx = self.policy.pbx_forward.iter().map(|f| ForwardStatus {
            when: f.when,
            scope: None,
            to: f.to.clone(),
            after_s: None,
            via: ForwardVia::FeatureCode,
        });
        client.chain(pbx).collect()
    }
}

/// `when` of the `forward` command; anything else is `always`.
fn parse_when(when: &str) -> When {
    match when {
        "busy" => When::Busy,
        "no_answer" => When::NoAnswer,
        _ => When::Always,
    }
}

/// The PBX's feature code switching a forwarding on or off.
fn code_for(codes: &FeatureCodes, when: When, on: bool) -> &Option<String> {
    match (when, on) {
        (When::Always, true) => &codes.forward_always_on,
        (When::Always, false) => &codes.forward_always_off,
        (When::Busy, true) => &codes.forward_busy_on,
        (When::Busy, false) => &codes.forward_busy_off,
        (When::NoAnswer, true) => &codes.forward_no_answer_on,
        (When::NoAnswer, false) => &codes.forward_no_answer_off,
    }
}

impl CallManager {
    /// `dnd`: on the line (saved; kept by this phone, by the PBX through its
    /// DND code, or both, as `[phone] dnd_via` says) or by presence
    /// (saved, and published for every account with a server). Each kind
    /// is switched on its own; the change is an event.
    pub(super) async fn cmd_dnd(&mut self, on: bool, via: DndVia) -> Result<Value, CommandError> {
        match via {
            DndVia::Line => {
                let code = if on {
                    &self.config.pbx.codes.dnd_on
                } else {
                    &self.config.pbx.codes.dnd_off
                };
                let code = FeatureCodes::dial(code, None);
                let tell_pbx = self.config.phone.dnd_via != LineDnd::Line;
                if tell_pbx && code.is_none() {
                    return Err(CommandError::new(
                        "no_feature_code",
                        "[phone] dnd_via asks the PBX to keep DND, but the PBX profile has no DND code ([pbx] in the config)",
                    ));
                }
                self.pbx.policy.dnd.on = on;
                self.pbx.save()?;
                if let (true, Some(code)) = (tell_pbx, code) {
                    self.dial(&code, None)?;
                }
            }
            DndVia::Presence => {
                self.publish_presence_dnd(on).await?;
                self.pbx.policy.dnd.presence = on;
                self.pbx.save()?;
            }
        }
        self.emit_dnd();
        Ok(json!({ "dnd": self.pbx.dnd() }))
    }

    /// Publishes "do not disturb" (or "available") for every account with
    /// a server; an error when there is none.
    pub(super) async fn publish_presence_dnd(&mut self, on: bool) -> Result<(), CommandError> {
        let doc = if on {
            PresenceDoc::do_not_disturb()
        } else {
            PresenceDoc::available()
        };
        let accounts: Vec<Account> = self
            .accounts
            .iter()
            .filter(|a| a.account.register || a.account.proxy.is_some())
            .map(|a| a.account.clone())
            .collect();
        if accounts.is_empty() {
            return Err(CommandError::new(
                "no_server",
                "presence needs an account with a server",
            ));
        }
        for account in accounts {
            if let Some(h) = self.pbx.publications.get(&account.name) {
                h.set(doc.clone());
                continue;
            }
            let Some(peer) = server_peer(&account, &self.env.resolver).await else {
                continue;
            };
            let cfg = PublicationConfig {
                account: account.name.clone(),
                aor: format!("sip:{}@{}", account.user, account.domain),
                peer,
                proxy: account.proxy.clone(),
                credentials: credentials(&account),
                expires: 600,
            };
            let (handle, _task) = publication::spawn(
                self.env.endpoint.clone(),
                cfg,
                Some(doc.clone()),
                self.pbx.pub_tx.clone(),
                self.pbx.cancel.child_token(),
            );
            self.pbx.publications.insert(account.name.clone(), handle);
        }
        Ok(())
    }

    /// Tells every `events` listener (the TUI of each pane) the DND state.
    fn emit_dnd(&self) {
        let dnd = &self.pbx.policy.dnd;
        let _ = self.events.send(Arc::new(Event::Dnd {
            on: self.pbx.dnd(),
            line: dnd.on,
            presence: dnd.presence,
        }));
    }

    /// Tells every `events` listener the forwarding rules.
    pub(super) fn emit_forward(&self) {
        let _ = self.events.send(Arc::new(Event::Forward {
            rules: self.pbx.forward_status(),
        }));
    }

    /// `forward`: a rule of ours (saved, replacing one with the same `when`
    /// and `scope`), or the PBX's by feature code; the reply is every rule.
    /// A PBX rule is added only once the PBX confirms its code: the reply
    /// waits for that (see [`super::forward_code`]); what the code cannot
    /// say (a `scope` other than `all`, `after_s`) is refused.
    pub(super) fn cmd_forward(
        &mut self,
        when: &str,
        scope: &str,
        to: &str,
        after_s: Option<u32>,
        via: &str,
    ) -> Reply {
        let when = parse_when(when);
        if via == "feature_code" {
            return self.forward_by_code(when, scope, to, after_s);
        }
        let scope = match scope {
            "internal" => Scope::Internal,
            "external" => Scope::External,
            _ => Scope::All,
        };
        self.pbx.policy.add_rule(ForwardRule {
            when,
            scope,
            to: to.to_string(),
            after_s,
        });
        if let Err(e) = self.pbx.save() {
            return Err(e).into();
        }
        self.emit_forward();
        Ok(json!({ "forward": self.pbx.forward_status() })).into()
    }

    /// `forward … via=feature_code`: dials the PBX's on code; the reply
    /// comes when the PBX has confirmed or refused it.
    fn forward_by_code(
        &mut self,
        when: When,
        scope: &str,
        to: &str,
        after_s: Option<u32>,
    ) -> Reply {
        if !scope.is_empty() && scope != "all" {
            return Err(CommandError::bad_argument(format!(
                "the PBX's forwarding code cannot tell callers apart: scope `{scope}` needs via=client (with via=feature_code only scope=all)"
            )))
            .into();
        }
        if after_s.is_some() {
            return Err(CommandError::bad_argument(
                "the PBX's forwarding code sets no delay: after_s needs via=client (with via=feature_code the PBX's own no-answer time applies)",
            ))
            .into();
        }
        let code = code_for(&self.config.pbx.codes, when, true);
        let Some(number) = FeatureCodes::dial(code, Some(to)) else {
            return Err(CommandError::new(
                "no_feature_code",
                "the PBX profile has no feature code for this forwarding ([pbx] in the config)",
            ))
            .into();
        };
        let wait = match self.dial_forward_code(&number, when, Some(to.to_string())) {
            Ok(w) => w,
            Err(e) => return Err(e).into(),
        };
        // Every rule as it will be once the PBX confirms.
        let mut rules = self.pbx.forward_status();
        rules.retain(|r| !(r.via == ForwardVia::FeatureCode && r.when == when));
        rules.push(ForwardStatus {
            when,
            scope: None,
            to: to.to_string(),
            after_s: None,
            via: ForwardVia::FeatureCode,
        });
        Reply::later(async move {
            wait.outcome().await?;
            Ok(json!({ "forward": rules }))
        })
    }

    /// `forward_clear`: our rules go at once; the PBX's are switched off by
    /// their off codes, each dropped when the PBX confirms, and the reply
    /// waits for that (an error names the codes the PBX refused).
    pub(super) fn cmd_forward_clear(&mut self) -> Reply {
        self.pbx.policy.forward.clear();
        if let Err(e) = self.pbx.save() {
            return Err(e).into();
        }
        let pbx: Vec<When> = self.pbx.policy.pbx_forward.iter().map(|f| f.when).collect();
        let mut waits = Vec::new();
        for when in pbx {
            match FeatureCodes::dial(code_for(&self.config.pbx.codes, when, false), None) {
                Some(number) => match self.dial_forward_code(&number, when, None) {
                    Ok(wait) => waits.push(wait),
                    Err(e) => return Err(e).into(),
                },
                None => {
                    // No off code to dial: nothing this phone can switch off.
                    self.pbx.policy.pbx_forward.retain(|f| f.when != when);
                    if let Err(e) = self.pbx.save() {
                        return Err(e).into();
                    }
                }
            }
        }
        self.emit_forward();
        if waits.is_empty() {
            return Ok(json!({ "forward": [] })).into();
        }
        Reply::later(async move {
            for wait in waits {
                wait.outcome().await?;
            }
            Ok(json!({ "forward": [] }))
        })
    }
}
