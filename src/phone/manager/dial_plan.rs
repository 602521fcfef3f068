//! The account's dial plan applied where the phone dials (`dial`, transfer
//! and forwarding targets: [`apply`], called by `calls::dial_uri`), and the
//! `normalize` command that shows what it makes of a number. The rules
//! themselves are `config::dial_plan` (pure, table-tested there); this
//! module must not touch calls or SIP messages.

use super::calls::dial_uri;
use super::CallManager;
use crate::command::CommandError;
use crate::config::Account;
use serde_json::{json, Value};

/// What the account's dial plan makes of `to`; `None` when it has none
/// (then `to` is dialled as typed).
pub(super) fn apply(to: &str, account: &Account) -> Result<Option<String>, CommandError> {
    let Some(plan) = &account.dial_plan else {
        return Ok(None);
    };
    plan.normalize(to)
        .map(|n| Some(n.target))
        .map_err(|e| CommandError::bad_argument(e.to_string()))
}

impl CallManager {
    /// `normalize`: `{number, rule, uri, account}`, what `dial` would call.
    pub(super) fn normalize(
        &self,
        number: &str,
        account: Option<&str>,
    ) -> Result<Value, CommandError> {
        let account = &self.account(account)?.account;
        let (dialled, rule) = match &account.dial_plan {
            Some(plan) => {
                let n = plan
                    .normalize(number)
                    .map_err(|e| CommandError::bad_argument(e.to_string()))?;
                (n.target, n.rule.as_str())
            }
            None => (number.trim().to_string(), "none"),
        };
        let uri = dial_uri(number, account)?;
        Ok(json!({
            "number": dialled,
            "rule": rule,
            "uri": uri,
            "account": account.name,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DialPlan;

    fn office(plan: Option<DialPlan>) -> Account {
        let mut a = Account::direct();
        a.domain = "pbx.test".into();
        a.dial_plan = plan;
        a
    }

    #[test]
    fn the_plan_shapes_the_request_uri_and_no_plan_changes_nothing() {
        let plan = DialPlan {
            country_code: Some("49".into()),
            area_code: Some("89".into()),
            outside_line: Some("0".into()),
            internal_digits: Some(4),
            ..DialPlan::default()
        };
        let a = office(Some(plan));
        for (typed, uri) in [
            ("+49 89 1234-567", "sip:00891234567@pbx.test"),
            ("tel:+49-89-1234567", "sip:00891234567@pbx.test"),
            ("1002", "sip:1002@pbx.test"),
            ("sip:alice@example.com", "sip:alice@example.com"),
        ] {
            assert_eq!(dial_uri(typed, &a).unwrap(), uri, "{typed}");
        }
        assert_eq!(dial_uri("+49 x", &a).unwrap_err().code, "bad_argument");
        let plain = office(None);
        assert_eq!(
            dial_uri("0891234567", &plain).unwrap(),
            "sip:0891234567@pbx.test"
        );
        assert_eq!(
            dial_uri("+49 89 1234", &plain).unwrap_err().message,
            "not a number or SIP URI: `+49 89 1234`",
            "without a plan a number is dialled as typed, spaces refused as before"
        );
    }
}
