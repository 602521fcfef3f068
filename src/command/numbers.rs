//! Specs of the commands about numbers: normalize (what the account's dial
//! plan makes of a typed number). Data only; the phone answers them.

use super::spec::{Arg, Spec, EVERYWHERE};
use super::Command;

pub static NORMALIZE: Spec = Spec {
    name: "normalize",
    args: &[Arg::text("number"), Arg::text("account").optional()],
    help: "show what the dial plan makes of a number",
    effect: "`{number, rule, uri, account}`: the digits `dial` would send after the account's dial plan (`[[account]] country_code` …), the rule that applied (`internal`, `local`, `national`, `international`, `feature_code`, `name`, `uri`, or `none` without a plan) and the Request-URI. Nothing is dialled.",
    surfaces: EVERYWHERE,
    example: "normalize +49891234567 account=office",
    build: |a| {
        Ok(Command::Normalize {
            number: a.get("number")?,
            account: a.get("account")?,
        })
    },
};
