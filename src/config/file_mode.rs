//! Refuses a config file that others may change while it holds a secret:
//! whoever can write a `password` or `password_cmd` can read the password
//! or run commands as us. Checks the file's mode before anything in it is
//! used (no `password_cmd` has run yet). Touches nothing else.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The pure rule: which of `mode`'s write bits are a problem for a file
/// that holds secrets; `None` when it is fine.
pub(super) fn unsafe_write_access(mode: u32, holds_secret: bool) -> Option<&'static str> {
    if !holds_secret {
        return None;
    }
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (_, true) => Some("everyone"),
        (true, false) => Some("its group"),
        (false, false) => None,
    }
}

/// Whether any `[[account]]` of the TOML `text` sets `password` or
/// `password_cmd` (text that does not parse holds none here; the parser
/// reports it).
pub(super) fn holds_secret(text: &str) -> bool {
    let Ok(table) = text.parse::<toml::Table>() else {
        return false;
    };
    table
        .get("account")
        .and_then(toml::Value::as_array)
        .is_some_and(|accounts| {
            accounts.iter().any(|a| {
                a.as_table()
                    .is_some_and(|t| t.contains_key("password") || t.contains_key("password_cmd"))
            })
        })
}

/// The error for `path` when it holds a secret and others may write it.
pub(super) fn check(path: &Path, text: &str) -> Result<(), String> {
    let Ok(md) = std::fs::metadata(path) else {
        return Ok(());
    };
    let mode = md.permissions().mode();
    match unsafe_write_access(mode, holds_secret(text)) {
        None => Ok(()),
        Some(who) => Err(format!(
            "refusing a config file with a password or password_cmd that {who} may change \
             (mode {:o}): run `chmod go-w {}` (better `chmod 600`)",
            mode & 0o777,
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_bits_of_group_or_others_are_refused_only_with_a_secret() {
        for (mode, secret, want) in [
            (0o600, true, None),
            (0o644, true, None),
            (0o640, true, None),
            (0o664, true, Some("its group")),
            (0o646, true, Some("everyone")),
            (0o666, true, Some("everyone")),
            (0o666, false, None),
        ] {
            assert_eq!(unsafe_write_access(mode, secret), want, "{mode:o} {secret}");
        }
    }

    #[test]
    fn secrets_are_password_and_password_cmd_of_any_account() {
        let a = "[[account]]\nname = \"a\"\nuser = \"1\"\ndomain = \"d\"\n";
        assert!(!holds_secret(a));
        assert!(holds_secret(&format!("{a}password = \"x\"\n")));
        assert!(holds_secret(&format!(
            "{a}\n[[account]]\npassword_cmd = \"pass x\"\n"
        )));
        assert!(!holds_secret("not toml ["));
    }
}
