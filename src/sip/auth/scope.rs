//! Where an account's digest credentials may go: only to the account's own
//! realm(s) (the `realm` config key; else the first realm the account
//! answers is pinned and no other is answered after it) and only on
//! requests that go to the account's proxy or domain (the first Route,
//! else the request URI, by host and port). A challenge from anywhere else
//! (a dialed or REFER'd host, a realm of another name) is refused with the
//! reason, and no Authorization goes out. Pure; [`super::DigestState`]
//! asks before it answers.

use crate::sip::uri::host_port;

/// One place the credentials may go to: a host and its port (None: the
/// default port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHost {
    pub host: String,
    pub port: Option<u16>,
}

impl AuthHost {
    /// The host and port of a SIP URI (`sip:pbx.example.com:5070;lr`) or a
    /// bare `host[:port]` (the account's domain).
    pub fn parse(uri_or_host: &str) -> Option<AuthHost> {
        let text = uri_or_host.trim();
        let uri = if text.contains(':') && (text.starts_with("sip:") || text.starts_with("sips:")) {
            text.to_string()
        } else {
            format!("sip:{text}")
        };
        let (host, port) = host_port(&uri).ok()?;
        Some(AuthHost {
            host: normal_host(&host),
            port,
        })
    }

    fn matches(&self, other: &AuthHost) -> bool {
        let port = |p: Option<u16>| p.unwrap_or(5060);
        self.host == other.host && port(self.port) == port(other.port)
    }
}

fn normal_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The account's limits on its credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthScope {
    /// The realms configured (`realm = …`); empty: the first realm answered
    /// is the only one answered after it.
    pub realms: Vec<String>,
    /// Where requests that carry them may go; None: anywhere (credentials
    /// not tied to an account).
    pub hosts: Option<Vec<AuthHost>>,
}

impl AuthScope {
    /// The scope of an account: its realms, its domain and its proxy.
    pub fn for_account(realms: &[String], domain: &str, proxy: Option<&str>) -> AuthScope {
        let hosts = std::iter::once(domain)
            .chain(proxy)
            .filter_map(AuthHost::parse)
            .collect();
        AuthScope {
            realms: realms.to_vec(),
            hosts: Some(hosts),
        }
    }
}

/// Why a challenge was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfScope {
    #[error("credentials withheld: the request goes to {0}, not to the account's proxy or domain")]
    Host(String),
    #[error("credentials withheld: realm {realm:?} is not the account's ({allowed})")]
    Realm { realm: String, allowed: String },
}

/// Where a request goes: its first Route's URI, else its request URI.
pub fn request_target(first_route: Option<&str>, request_uri: &str) -> Option<AuthHost> {
    match first_route {
        Some(route) => AuthHost::parse(&crate::sip::headers::uri_of(route)),
        None => AuthHost::parse(request_uri),
    }
}

/// May a request going to `target` answer challenges of `realms`?
/// `pinned` are the realms answered before (they count when no realm is
/// configured); on success, the realms to pin from now on.
pub fn check(
    scope: &AuthScope,
    pinned: &[String],
    target: Option<&AuthHost>,
    realms: &[&str],
) -> Result<Vec<String>, OutOfScope> {
    if let Some(hosts) = &scope.hosts {
        let ok = target.is_some_and(|t| hosts.iter().any(|h| h.matches(t)));
        if !ok {
            let at = target.map_or_else(
                || "an unknown host".to_string(),
                |t| match t.port {
                    Some(p) => format!("{}:{p}", t.host),
                    None => t.host.clone(),
                },
            );
            return Err(OutOfScope::Host(at));
        }
    }
    let allowed: &[String] = if scope.realms.is_empty() {
        pinned
    } else {
        &scope.realms
    };
    if allowed.is_empty() {
        // Nothing configured, nothing answered yet: this realm is the one.
        return Ok(realms.iter().map(|r| r.to_string()).collect());
    }
    match realms.iter().find(|r| !allowed.iter().any(|a| a == *r)) {
        Some(realm) => Err(OutOfScope::Realm {
            realm: realm.to_string(),
            allowed: allowed.join(", "),
        }),
        None => Ok(allowed.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str, port: Option<u16>) -> AuthHost {
        AuthHost {
            host: h.into(),
            port,
        }
    }

    #[test]
    fn hosts_from_uris_and_domains() {
        let table: &[(&str, Option<AuthHost>)] = &[
            ("test.local", Some(host("test.local", None))),
            ("Test.Local.", Some(host("test.local", None))),
            ("test.local:5070", Some(host("test.local", Some(5070)))),
            ("sip:127.0.0.1:5070", Some(host("127.0.0.1", Some(5070)))),
            ("sip:127.0.0.1:5070;lr", Some(host("127.0.0.1", Some(5070)))),
            (
                "sip:pbx.example.com;transport=tcp",
                Some(host("pbx.example.com", None)),
            ),
            ("sip:1002@test.local", Some(host("test.local", None))),
            (
                "sip:[2001:db8::1]:5070",
                Some(host("2001:db8::1", Some(5070))),
            ),
        ];
        for (text, want) in table {
            assert_eq!(&AuthHost::parse(text), want, "{text}");
        }
        assert_eq!(
            request_target(Some("<sip:127.0.0.1:5070;lr>"), "sip:1002@10.0.0.9"),
            Some(host("127.0.0.1", Some(5070)))
        );
        assert_eq!(
            request_target(None, "sip:1002@test.local"),
            Some(host("test.local", None))
        );
    }

    #[test]
    fn credentials_go_only_to_the_accounts_hosts_and_realms() {
        let account = AuthScope::for_account(&[], "test.local", Some("sip:127.0.0.1:5070"));
        let configured = AuthScope::for_account(
            &["pbx".to_string(), "trunk".to_string()],
            "test.local",
            None,
        );
        let anywhere = AuthScope::default();
        let proxy = host("127.0.0.1", Some(5070));
        let domain = host("test.local", Some(5060));
        let elsewhere = host("127.0.0.1", Some(40000));
        let pinned = vec!["pbx".to_string()];
        let none: Vec<String> = Vec::new();
        let ok = |v: &[&str]| Ok(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let realm_err = |r: &str, a: &str| {
            Err(OutOfScope::Realm {
                realm: r.into(),
                allowed: a.into(),
            })
        };
        // (scope, pinned, target, realms, verdict)
        type Case<'a> = (
            &'a AuthScope,
            &'a [String],
            Option<&'a AuthHost>,
            &'a [&'a str],
            Result<Vec<String>, OutOfScope>,
        );
        let table: Vec<Case> = vec![
            // The first realm from the proxy or the domain is pinned.
            (&account, &none, Some(&proxy), &["pbx"], ok(&["pbx"])),
            (&account, &none, Some(&domain), &["pbx"], ok(&["pbx"])),
            // After that, only it.
            (&account, &pinned, Some(&proxy), &["pbx"], ok(&["pbx"])),
            (
                &account,
                &pinned,
                Some(&proxy),
                &["evil"],
                realm_err("evil", "pbx"),
            ),
            // A dialed host (another port of the same address, too): never.
            (
                &account,
                &none,
                Some(&elsewhere),
                &["pbx"],
                Err(OutOfScope::Host("127.0.0.1:40000".into())),
            ),
            (
                &account,
                &none,
                None,
                &["pbx"],
                Err(OutOfScope::Host("an unknown host".into())),
            ),
            // Configured realms: any of them, nothing else, pinned or not.
            (
                &configured,
                &none,
                Some(&domain),
                &["trunk"],
                ok(&["pbx", "trunk"]),
            ),
            (
                &configured,
                &none,
                Some(&domain),
                &["evil"],
                realm_err("evil", "pbx, trunk"),
            ),
            (
                &configured,
                &none,
                Some(&domain),
                &["pbx", "evil"],
                realm_err("evil", "pbx, trunk"),
            ),
            // Credentials of no account: any host, the first realm pinned.
            (&anywhere, &none, Some(&elsewhere), &["x"], ok(&["x"])),
            (&anywhere, &pinned, None, &["x"], realm_err("x", "pbx")),
        ];
        for (scope, pinned, target, realms, want) in table {
            assert_eq!(
                check(scope, pinned, target, realms),
                want,
                "{scope:?} {pinned:?} {target:?} {realms:?}"
            );
        }
    }

    #[test]
    fn the_reason_says_what_was_withheld_and_why() {
        let e = OutOfScope::Realm {
            realm: "evil".into(),
            allowed: "pbx".into(),
        };
        assert_eq!(
            e.to_string(),
            "credentials withheld: realm \"evil\" is not the account's (pbx)"
        );
        assert!(OutOfScope::Host("127.0.0.1:40000".into())
            .to_string()
            .contains("127.0.0.1:40000"));
    }
}
