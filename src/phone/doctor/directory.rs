//! `doctor`'s line per LDAP `[[directory]]`: the server reached, the bind
//! accepted and the base searchable (one object asked for), on a thread of
//! its own under the source's time limits. The verdict is a pure function
//! of the outcome; this module reads no other source and touches no phone.

use super::Check;
use crate::config::{DirectoryConfig, LdapDirectory};
use crate::store::directory;
use std::time::Duration;

/// Longest a source's check may take in all (connect, bind, search).
const CHECK_LIMIT: Duration = Duration::from_secs(10);

/// One line per LDAP source, in file order.
pub(super) async fn checks(sources: &[DirectoryConfig]) -> Vec<Check> {
    let mut out = Vec::new();
    for source in sources {
        if let DirectoryConfig::Ldap(l) = source {
            out.push(check(l).await);
        }
    }
    out
}

async fn check(source: &LdapDirectory) -> Check {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let owned = source.clone();
    let spawned = std::thread::Builder::new()
        .name("doctor-ldap".into())
        .spawn(move || {
            let _ = tx.send(directory::ldap::query(&owned, "(objectClass=*)", 1).map(|e| e.len()));
        });
    let outcome = match spawned {
        Err(e) => Err(format!("not checked: {e}")),
        Ok(_) => match tokio::time::timeout(CHECK_LIMIT, rx).await {
            Ok(Ok(result)) => result.map_err(|e| e.to_string()),
            Ok(Err(_)) => Err("the check ended without an answer".into()),
            Err(_) => Err(format!("no answer within {} s", CHECK_LIMIT.as_secs())),
        },
    };
    verdict(source, outcome)
}

/// The line for `source` given what the check found.
pub(super) fn verdict(source: &LdapDirectory, outcome: Result<usize, String>) -> Check {
    let what = format!("directory {}", source.url);
    let bound = match &source.bind_dn {
        Some(dn) => format!("bound as {dn}"),
        None => "anonymous".to_string(),
    };
    match outcome {
        Ok(_) => Check::ok(what, format!("{bound}, base {} searchable", source.base)),
        Err(problem) => {
            let fix = if problem.contains("refused (result 49") {
                "check the directory's `bind_dn` and `password` / `password_cmd`"
            } else if problem.contains("bind") || problem.contains("connect") {
                "check `url` (host, port, ldap:// or ldaps://) and that the server answers from here"
            } else {
                "check `base` and `filter`, and that the bind DN may read them"
            };
            Check::fail(what, problem, fix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::directory::DirectoryError;

    /// An error as the store words it.
    fn refused(url: &str) -> String {
        DirectoryError::Ldap {
            url: url.into(),
            message: "bind as `cn=x` refused (result 49, ): check bind_dn and password".into(),
        }
        .to_string()
    }

    fn source(bind_dn: Option<&str>) -> LdapDirectory {
        LdapDirectory {
            url: "ldap://dir.example".into(),
            base: "dc=example".into(),
            bind_dn: bind_dn.map(str::to_string),
            password: None,
            filter: LdapDirectory::DEFAULT_FILTER.into(),
            name_attributes: vec!["cn".into()],
            number_attributes: vec!["telephoneNumber".into()],
        }
    }

    #[test]
    fn verdicts_name_the_fix() {
        let ok = verdict(&source(Some("cn=phone")), Ok(1));
        assert_eq!(
            ok.line(),
            "ok    directory ldap://dir.example: bound as cn=phone, base dc=example searchable"
        );
        assert!(verdict(&source(None), Ok(0)).line().contains("anonymous"));
        for (problem, fix) in [
            (refused("ldap://dir.example"), "`bind_dn` and `password`"),
            (
                "LDAP ldap://dir.example: cannot connect: refused".to_string(),
                "check `url`",
            ),
            (
                "LDAP ldap://dir.example: search refused (result 32, no such object)".to_string(),
                "check `base`",
            ),
        ] {
            let c = verdict(&source(Some("cn=x")), Err(problem.clone()));
            assert!(c.failed(), "{problem}");
            assert!(c.line().contains(fix), "{}", c.line());
            assert!(c.line().contains(&problem), "{}", c.line());
        }
    }
}
