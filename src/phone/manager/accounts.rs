//! The phone's accounts: their registration tasks started with the phone,
//! the registration status each reports, and finding the account a command
//! names. Must not touch calls: an account's calls are found through
//! [`super::calls`].

use super::CallManager;
use crate::command::CommandError;
use crate::config::{Account, Config};
use crate::phone::event::Event;
use crate::phone::status::AccountStatus;
use crate::sip::auth::{AuthScope, Credentials};
use crate::sip::dns::Resolver;
use crate::sip::registration::{self, RegistrationConfig, RegistrationStatus};
use crate::sip::transaction::Endpoint;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One configured account and what its registration last reported.
pub(super) struct AccountState {
    pub(super) account: Account,
    pub(super) aor: String,
    pub(super) status: Option<RegistrationStatus>,
}

/// The accounts of `config`, with a registration task for each that
/// registers (reporting on `reg_tx`, stopped by `cancel`). The registrar is
/// resolved by the task before each REGISTER, so a DNS failure shows as the
/// account's reason and does not stop the phone.
pub(super) fn start_registrations(
    config: &Config,
    endpoint: &Endpoint,
    resolver: &Resolver,
    reg_tx: &mpsc::UnboundedSender<RegistrationStatus>,
    cancel: &CancellationToken,
) -> (Vec<AccountState>, Vec<JoinHandle<()>>) {
    let mut accounts = Vec::new();
    let mut registration_tasks = Vec::new();
    for account in &config.accounts {
        let aor = format!("sip:{}@{}", account.user, account.domain);
        if account.register {
            let via = account
                .proxy
                .clone()
                .unwrap_or_else(|| format!("sip:{}", account.domain));
            let cfg = RegistrationConfig {
                account: account.name.clone(),
                aor: aor.clone(),
                registrar_uri: format!("sip:{}", account.domain),
                next_hop: via,
                resolver: resolver.clone(),
                proxy: account.proxy.clone(),
                credentials: credentials(account),
                expires: account.expires,
                keepalive_s: account.keepalive_s,
            };
            registration_tasks.push(registration::spawn(
                endpoint.clone(),
                cfg,
                reg_tx.clone(),
                cancel.child_token(),
            ));
        }
        accounts.push(AccountState {
            account: account.clone(),
            aor,
            status: None,
        });
    }
    (accounts, registration_tasks)
}

/// What the account authenticates with, if it has a password.
pub(super) fn credentials(account: &Account) -> Option<Credentials> {
    account.password.as_ref().map(|p| Credentials {
        user: account
            .auth_user
            .clone()
            .unwrap_or_else(|| account.user.clone()),
        password: p.clone(),
        scope: AuthScope::for_account(&account.realms, &account.domain, account.proxy.as_deref()),
    })
}

impl AccountState {
    /// The account's entry in `status`.
    pub(super) fn account_status(&self) -> AccountStatus {
        let reason = if self.account.register {
            self.status
                .as_ref()
                .and_then(|s| s.reason.clone())
                .or_else(|| self.status.is_none().then(|| "registering".to_string()))
        } else {
            Some("registration off (direct IP)".to_string())
        };
        AccountStatus {
            name: self.account.name.clone(),
            aor: self.aor.clone(),
            registered: self.status.as_ref().is_some_and(|s| s.registered),
            expires: self.status.as_ref().map(|s| s.expires).unwrap_or(0),
            reason,
            local_sip: self.status.as_ref().map(|s| s.local.to_string()),
            public_sip: self
                .status
                .as_ref()
                .and_then(|s| s.public.map(|a| a.to_string())),
            transport: Some(super::tls::transport_name(&self.account)),
        }
    }
}

impl CallManager {
    /// The account named `name`, else the first one.
    pub(super) fn account(&self, name: Option<&str>) -> Result<&AccountState, CommandError> {
        match name {
            Some(n) => self
                .accounts
                .iter()
                .find(|a| a.account.name == n)
                .ok_or_else(|| {
                    CommandError::new("no_such_account", format!("no account named `{n}`"))
                }),
            None => self
                .accounts
                .first()
                .ok_or_else(|| CommandError::new("no_account", "no account is configured")),
        }
    }

    /// A registration task reported: kept for `status`, announced.
    pub(super) fn on_registration(&mut self, status: RegistrationStatus) {
        if let Some(a) = self
            .accounts
            .iter_mut()
            .find(|a| a.account.name == status.account)
        {
            a.status = Some(status.clone());
        }
        let _ = self.events.send(Arc::new(Event::Registration {
            account: status.account,
            registered: status.registered,
            reason: status.reason,
        }));
    }
}
