//! Specs of the commands about numbers and names: normalize (what the
//! account's dial plan makes of a typed number) and search (the directory). Data only; the phone answers them.

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

pub static SEARCH: Spec = Spec {
    name: "search",
    args: &[Arg::text("q"), Arg::whole("limit").optional()],
    help: "search the directory, the BLF lamps and the history",
    effect: "`{results:[{name, number, uri, source, kind}]}` (and `warnings:[text]` when a source failed), best match first (fuzzy, at most `limit`, default 20): every number of the `[[directory]]` contacts (`kind` work, cell, home, fax, sip, ip or other; `source` the vCard file or the LDAP URL), the `[[blf]]` targets (`source` and `kind` `blf`, `name` the lamp's `label` or empty) and the history's remote parties no contact names (`source` `history`, `kind` in/out, `name` empty). `uri` is what `dial` would call.",
    surfaces: EVERYWHERE,
    example: "search anna 5",
    build: |a| {
        Ok(Command::Search {
            q: a.get("q")?,
            limit: a.get::<Option<u64>>("limit")?.map(|l| l as usize),
        })
    },
};
