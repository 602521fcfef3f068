//! The phone's TLS client settings from its config: the extra CA file of
//! `[sip]` and each account's client certificate, shown to the server its
//! requests go to (the `proxy`'s host, else the `domain`). Touches no
//! connection; `sip::transport::tls` uses what this builds.

use crate::config::{Account, Config};
use crate::sip::transport::tls::{ClientIdentity, TlsSettings};
use crate::sip::transport::Protocol;

/// The server an account's requests go to first: its proxy, else its domain.
pub(super) fn next_hop(account: &Account) -> String {
    account
        .proxy
        .clone()
        .unwrap_or_else(|| format!("sip:{}", account.domain))
}

/// The transport of an account's requests (its next hop's), as `status` shows it.
pub(super) fn transport_name(account: &Account) -> String {
    match crate::sip::uri::uri_protocol(&next_hop(account)) {
        Protocol::Udp => "udp",
        Protocol::Tcp => "tcp",
        Protocol::Tls => "tls",
    }
    .to_string()
}

/// The TLS settings of `config`.
pub(super) fn settings(config: &Config) -> TlsSettings {
    let identities = config
        .accounts
        .iter()
        .filter_map(|a| {
            let (cert, key) = (a.tls_cert.clone()?, a.tls_key.clone()?);
            let (host, _) = crate::sip::uri::host_port(&next_hop(a)).ok()?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            Some(ClientIdentity { host, cert, key })
        })
        .collect();
    TlsSettings {
        ca_file: config.sip.tls_ca_file.clone(),
        identities,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(proxy: Option<&str>, domain: &str) -> Account {
        let mut a = Account::direct();
        a.proxy = proxy.map(str::to_string);
        a.domain = domain.into();
        a
    }

    #[test]
    fn the_transport_is_the_next_hops() {
        let cases = [
            (Some("sip:pbx.test:5061;transport=tls"), "x", "tls"),
            (Some("sips:pbx.test"), "x", "tls"),
            (Some("sip:pbx.test;transport=tcp"), "x", "tcp"),
            (None, "pbx.test", "udp"),
        ];
        for (proxy, domain, want) in cases {
            assert_eq!(transport_name(&account(proxy, domain)), want, "{proxy:?}");
        }
    }

    #[test]
    fn client_certificates_go_to_the_accounts_server() {
        let mut config = Config::direct_ip_default();
        let mut with_cert = account(Some("sip:PBX.test:5061;transport=tls"), "corp.test");
        with_cert.tls_cert = Some("/c.pem".into());
        with_cert.tls_key = Some("/k.pem".into());
        let mut by_domain = account(None, "[::1]");
        by_domain.tls_cert = Some("/c2.pem".into());
        by_domain.tls_key = Some("/k2.pem".into());
        config.accounts = vec![with_cert, by_domain, account(None, "plain.test")];
        config.sip.tls_ca_file = Some("/ca.pem".into());
        let s = settings(&config);
        assert_eq!(s.ca_file, Some("/ca.pem".into()));
        let hosts: Vec<&str> = s.identities.iter().map(|i| i.host.as_str()).collect();
        assert_eq!(hosts, ["PBX.test", "::1"]);
        assert_eq!(s.identities[0].key, std::path::PathBuf::from("/k.pem"));
    }
}
