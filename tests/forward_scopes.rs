//! Client call forwarding by who calls, end to end against SIPp callers:
//! every combination of `scope` (internal, external, all) and `when`
//! (always, busy, no_answer), each tried with an internal and an external
//! caller; mixed `all` and scoped rules, where the rule for the caller's
//! own scope wins whatever the order they were added in; and the caller
//! told apart by the PBX's P-Asserted-Identity on an account that trusts
//! it. The numbering plan is written as a PBX admin would:
//! `internal_numbers = ["1000-1999"]`, `external_prefixes = ["0", "+"]`.
//! What the caller sees is checked on the wire: a 302 with the rule's
//! Contact, and no 180 before it unless the rule waits for no answer.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::config::Account;
use support::pbx::{response_contacts, sipp_caller};
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts};
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);
const INTERNAL: &str = "1003";
const EXTERNAL: &str = "0891234567";

/// Whether the phone answered with `code` in a SIPp message trace.
fn saw(messages: &str, code: u16) -> bool {
    messages.contains(&format!("SIP/2.0 {code} "))
}

fn opts() -> PhoneOpts {
    PhoneOpts::new()
        .phone("internal_numbers", vec!["1000-1999"])
        .phone("external_prefixes", vec!["0", "+"])
        // The caller that is not forwarded rings; nobody answers.
        .phone("ring_timeout_s", 60)
}

fn forward(p: &mut Phone, when: &str, scope: &str, to: &str) {
    let mut req = json!({"cmd": "forward", "when": when, "scope": scope, "to": to});
    if when == "no_answer" {
        req["after_s"] = json!(1);
    }
    p.ok(req);
}

/// A caller that must be forwarded: the 302's Contact names `to`; a 180
/// came first only for a no-answer rule.
fn assert_forwarded(t: &TestDir, p: &Phone, caller: &str, to: &str, rang_first: bool, what: &str) {
    let r = sipp_caller(t, "uac_expect_302", p.sip_addr(), "1001", caller).run();
    assert!(
        r.success(),
        "{what}: caller {caller}: {}\n{}",
        r.describe(),
        p.log_tail()
    );
    let contacts = response_contacts(&r.messages, 302);
    assert!(
        contacts.iter().any(|c| c.contains(&format!("sip:{to}@"))),
        "{what}: caller {caller}: 302 Contact {contacts:?}, wanted {to}"
    );
    assert_eq!(
        saw(&r.messages, 180),
        rang_first,
        "{what}: caller {caller}: a 180 before the 302 {}",
        if rang_first {
            "was expected"
        } else {
            "must not come"
        }
    );
}

/// A caller that must ring here: 180, then the caller cancels (uac_cancel
/// fails on a 302).
fn assert_rings(t: &TestDir, p: &Phone, caller: &str, what: &str) {
    let r = sipp_caller(t, "uac_cancel_from", p.sip_addr(), "1001", caller).run();
    assert!(
        r.success() && saw(&r.messages, 180) && !saw(&r.messages, 302),
        "{what}: caller {caller} should ring here: {}\n{}",
        r.describe(),
        p.log_tail()
    );
}

/// Makes the phone busy with its built-in echo call; returns its id.
fn busy(p: &mut Phone) -> String {
    let r = p.ok(json!({"cmd": "dial", "to": "echo"}));
    let id = r["call"].as_str().map(str::to_string).unwrap_or_else(|| {
        panic!("dial echo: {r}");
    });
    assert!(
        p.wait_call_state(&id, "active", LONG).is_some(),
        "echo call not up: {:?}",
        p.events()
    );
    id
}

fn hang_up(p: &mut Phone, id: &str) {
    p.ok(json!({"cmd": "hangup", "call": id}));
    assert!(
        p.wait_call_state(id, "ended", LONG).is_some(),
        "echo call did not end"
    );
}

/// Every rule kind × scope: the caller of the rule's scope is forwarded
/// (when the phone is busy, for a busy rule), the other one rings.
#[test]
fn each_scope_and_kind_forwards_exactly_its_callers() {
    let t = TestDir::new("fwd-scopes");
    let mut p = direct_phone(&t, opts()).phone;
    for when in ["always", "busy", "no_answer"] {
        for scope in ["internal", "external", "all"] {
            let what = format!("{when}/{scope}");
            p.ok(json!({"cmd": "forward_clear"}));
            let to = "1777";
            forward(&mut p, when, scope, to);
            let echo = (when == "busy").then(|| busy(&mut p));
            for (caller, is_internal) in [(INTERNAL, true), (EXTERNAL, false)] {
                let applies = match scope {
                    "internal" => is_internal,
                    "external" => !is_internal,
                    _ => true,
                };
                if applies {
                    assert_forwarded(&t, &p, caller, to, when == "no_answer", &what);
                } else {
                    assert_rings(&t, &p, caller, &what);
                }
            }
            if let Some(id) = echo {
                hang_up(&mut p, &id);
                // Not busy any more: the busy rule leaves callers alone.
                assert_rings(&t, &p, INTERNAL, &format!("{what}, not busy"));
            }
        }
    }
}

/// `all` and scoped rules together: the caller's own scope wins, added
/// before or after the `all` rule.
#[test]
fn the_rule_for_the_callers_scope_wins_over_all() {
    let t = TestDir::new("fwd-mixed");
    let mut p = direct_phone(&t, opts()).phone;

    // `always/all → 1700` first, then `always/internal → 1701`.
    forward(&mut p, "always", "all", "1700");
    forward(&mut p, "always", "internal", "1701");
    assert_forwarded(&t, &p, INTERNAL, "1701", false, "all then internal");
    assert_forwarded(&t, &p, EXTERNAL, "1700", false, "all then internal");

    // Scoped first, then `all`, for busy.
    p.ok(json!({"cmd": "forward_clear"}));
    forward(&mut p, "busy", "external", "1702");
    forward(&mut p, "busy", "all", "1703");
    let echo = busy(&mut p);
    assert_forwarded(&t, &p, EXTERNAL, "1702", false, "external then all");
    assert_forwarded(&t, &p, INTERNAL, "1703", false, "external then all");
    hang_up(&mut p, &echo);

    let listed: Vec<Value> = p.status()["forward"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), 2, "status.forward: {listed:?}");
}

/// An account that trusts its PBX takes the asserted caller: From says an
/// outside number, P-Asserted-Identity a colleague, and the internal rule
/// applies. Without the trust, From decides.
#[test]
fn a_trusted_pbx_asserts_who_calls() {
    let t = TestDir::new("fwd-pai");
    let mut p = direct_phone(
        &t,
        opts()
            .user("1099")
            .account(Account::direct("office", "1001").trusting_asserted_identity()),
    )
    .phone;
    forward(&mut p, "always", "internal", "1701");
    forward(&mut p, "always", "external", "1702");
    let r = sipp_caller(&t, "uac_expect_302_pai", p.sip_addr(), "1001", EXTERNAL)
        .key("pai", INTERNAL)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let contacts = response_contacts(&r.messages, 302);
    assert!(
        contacts.iter().any(|c| c.contains("sip:1701@")),
        "asserted internal caller: 302 Contact {contacts:?}"
    );

    // The same INVITE to the account without trust: From decides.
    let r = sipp_caller(&t, "uac_expect_302_pai", p.sip_addr(), "1099", EXTERNAL)
        .key("pai", INTERNAL)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let contacts = response_contacts(&r.messages, 302);
    assert!(
        contacts.iter().any(|c| c.contains("sip:1702@")),
        "untrusted: From's external caller: 302 Contact {contacts:?}"
    );
}
