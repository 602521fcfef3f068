//! A `[[directory]]` of `kind = "ldap"` checked and resolved: the URL's
//! scheme, the base, the bind password (given, or from `password_cmd` run
//! by the same runner, with the same time limit, as an account's), and the
//! defaults of `filter` and the attribute lists. Touches no network.

use super::{secret, RawDirectory, Source};
use crate::config::{ConfigError, LdapDirectory};

/// Whether `d` sets any key only an LDAP source has.
pub(super) fn has_ldap_keys(d: &RawDirectory) -> bool {
    d.url.is_some()
        || d.base.is_some()
        || d.bind_dn.is_some()
        || d.password.is_some()
        || d.password_cmd.is_some()
        || d.filter.is_some()
        || d.name_attributes.is_some()
        || d.number_attributes.is_some()
}

/// The resolved source, or an error pointing at its `kind`.
pub(super) fn ldap_directory(
    src: &Source<'_>,
    d: RawDirectory,
) -> Result<LdapDirectory, ConfigError> {
    let at = d.kind.span();
    if let Some(p) = &d.path {
        return Err(src.at(
            p.span(),
            "key `directory.path` is for kind \"vcard\"; an LDAP source has `url` and `base`"
                .into(),
        ));
    }
    let url = match &d.url {
        Some(u) => u.get_ref().trim().to_string(),
        None => {
            return Err(src.at(
                at,
                "key `directory.url` is needed for kind \"ldap\" (ldap://host or ldaps://host)"
                    .into(),
            ))
        }
    };
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("ldap://") || lower.starts_with("ldaps://")) {
        let span = d.url.as_ref().map(|u| u.span()).unwrap_or(at);
        return Err(src.at(
            span,
            format!("key `directory.url` must start with ldap:// or ldaps://, not `{url}`"),
        ));
    }
    let base = match d.base.as_deref().map(str::trim) {
        Some(b) if !b.is_empty() => b.to_string(),
        _ => {
            return Err(src.at(
                at,
                "key `directory.base` is needed for kind \"ldap\" (e.g. \"dc=example,dc=com\")"
                    .into(),
            ))
        }
    };
    let password =
        match (d.password, d.password_cmd) {
            (Some(_), Some(cmd)) => {
                return Err(src.at(
                    cmd.span(),
                    "directory: set either `password` or `password_cmd`, not both".into(),
                ))
            }
            (Some(p), None) => Some(p),
            (None, Some(cmd)) => Some(secret::run_password_cmd(cmd.get_ref()).map_err(|why| {
                src.at(cmd.span(), format!("directory `{url}`: password_cmd {why}"))
            })?),
            (None, None) => None,
        };
    let filter = match d.filter.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => {
            if !f.contains("{q}") {
                return Err(src.at(
                    at,
                    format!(
                        "key `directory.filter` must hold `{{q}}` where the query goes, not `{f}`"
                    ),
                ));
            }
            f.to_string()
        }
        _ => LdapDirectory::DEFAULT_FILTER.to_string(),
    };
    let list = |given: Option<Vec<String>>, default: &[&str]| -> Vec<String> {
        let given: Vec<String> = given
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if given.is_empty() {
            default.iter().map(|a| a.to_string()).collect()
        } else {
            given
        }
    };
    Ok(LdapDirectory {
        url,
        base,
        bind_dn: d
            .bind_dn
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty()),
        password,
        filter,
        name_attributes: list(d.name_attributes, &LdapDirectory::DEFAULT_NAME_ATTRIBUTES),
        number_attributes: list(
            d.number_attributes,
            &LdapDirectory::DEFAULT_NUMBER_ATTRIBUTES,
        ),
    })
}
