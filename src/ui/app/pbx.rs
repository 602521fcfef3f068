//! PBX keys: the BLF panel's selection (focus, the selected target) and
//! dialing the voicemail box.

use super::{App, Effect};
use crate::command::Command;
use crate::ui::keymap::KeyMode;

impl App {
    /// The BLF target under the panel's selection, while the panel has focus.
    pub fn focused_blf_target(&self) -> Option<&str> {
        if !self.blf_focus {
            return None;
        }
        self.blf.get(self.blf_sel).map(|b| b.target.as_str())
    }

    /// Gives the BLF panel the selection, or gives it back to the calls.
    pub fn toggle_blf_focus(&mut self) {
        if self.blf_focus {
            self.blf_focus = false;
            self.info("calls selected");
        } else if self.blf.is_empty() {
            self.error("no BLF targets ([[blf]] in the config)");
        } else {
            self.blf_focus = true;
            self.blf_sel = self.blf_sel.min(self.blf.len() - 1);
            // the keys that work now: the [blf] section's, else [normal]'s
            let key = |run: &str| {
                self.keymap
                    .key_for(KeyMode::Blf, run)
                    .or_else(|| self.keymap.key_for(KeyMode::Normal, run))
                    .map(|k| k.label())
            };
            let mut parts = Vec::new();
            match (key("select down"), key("select up")) {
                (Some(down), Some(up)) => parts.push(format!("{down}/{up} select")),
                (Some(k), None) | (None, Some(k)) => parts.push(format!("{k} select")),
                (None, None) => {}
            }
            for (run, what) in [
                ("open", "call"),
                ("pickup", "pick up"),
                ("transfer", "transfer call here"),
                ("focus blf", "back"),
            ] {
                if let Some(k) = key(run) {
                    parts.push(format!("{k} {what}"));
                }
            }
            let text = format!("BLF: {}", parts.join(", "));
            self.info(text);
        }
    }

    /// The account whose voicemail to call: one with new messages, else the
    /// selected call's, else the first with a number.
    fn voicemail_account(&self) -> Option<String> {
        self.mwi
            .iter()
            .find(|(_, (new, _))| *new > 0)
            .map(|(a, _)| a.clone())
            .or_else(|| self.selected_call().map(|c| c.account.clone()))
            .or_else(|| self.voicemail.keys().next().cloned())
            .or_else(|| self.accounts.first().map(|a| a.name.clone()))
    }

    /// Dials the voicemail: the account's `voicemail`, else the PBX
    /// profile's code; a message when neither is configured.
    pub fn dial_voicemail(&mut self) -> Vec<Effect> {
        let account = self.voicemail_account();
        let own = account
            .as_ref()
            .and_then(|a| self.voicemail.get(a))
            .cloned();
        let number = own
            .or_else(|| self.pbx_voicemail.clone())
            .filter(|n| !n.trim().is_empty());
        match number {
            Some(to) => {
                // only name the account when the phone knows it
                let account = account.filter(|a| self.accounts.iter().any(|r| &r.name == a));
                let cmd = Command::Dial {
                    to: to.trim().to_string(),
                    account,
                };
                self.info(format!("{cmd} (voicemail) ..."));
                vec![Effect::Execute(cmd)]
            }
            None => {
                self.error(
                    "no voicemail number: set `voicemail` in the [[account]] or in the [pbx] profile's codes",
                );
                Vec::new()
            }
        }
    }
}
