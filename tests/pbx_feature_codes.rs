//! PBX feature access codes: with `[pbx] profile = …` (and single codes
//! overridden in `[pbx]`), `forward … via=feature_code` and `dnd` dial the
//! profile's codes to the server, and `pickup` of a target without dialog
//! information dials the directed pickup code (without a target: the group
//! pickup code), and `forward_clear` dials the off code. The server is a SIPp UAS set
//! as the account's proxy; the tests check the request URI it receives.
//! A forwarding by code is active only once the PBX confirms (200, or 183
//! with its tone), the code call is then released, a refusal is an error,
//! and the rule survives a restart.

mod support;

use serde_json::json;
use std::time::Duration;
use support::config::{Account, Config};
use support::phone::Phone;
use support::sipp::{Sipp, SippRun};
use support::TestDir;

const LONG: Duration = Duration::from_secs(10);

/// A phone whose account (not registering) sends everything to `server`.
/// `pbx` holds the `[pbx]` settings.
fn phone_via(t: &TestDir, server: &SippRun, pbx: &[(&str, &str)]) -> Phone {
    let config = pbx.iter().fold(
        Config::new().account(Account::via("office", "1001", server.addr())),
        |config, (key, value)| config.pbx(key, *value),
    );
    Phone::start(&t.sub("phone"), &config)
}

/// Waits until the server got an INVITE for `code`: `*` plain or escaped,
/// `#` escaped as `%23` (it is not allowed in a SIP URI's user part).
fn wait_invite_for(server: &SippRun, code: &str) -> bool {
    let plain = code.replace('#', "%23");
    let escaped = plain.replace('*', "%2A");
    support::wait_until(LONG, || {
        let m = server.messages();
        m.contains(&format!("INVITE sip:{plain}@")) || m.contains(&format!("INVITE sip:{escaped}@"))
    })
}

/// Waits until the phone has no call left that is not ended.
fn wait_calls_over(p: &mut Phone) {
    let over = p.wait_status(LONG, |s| {
        s["calls"]
            .as_array()
            .is_none_or(|c| c.iter().all(|c| c["state"] == "ended"))
    });
    assert!(over.is_some(), "{}", p.status());
}

/// Lets the server's 486 end the code's call (hanging up whatever is left)
/// and the server finish.
fn finish(p: &mut Phone, server: SippRun) {
    let _ = p.wait_status(LONG, |s| {
        s["calls"]
            .as_array()
            .is_none_or(|c| c.iter().all(|c| c["state"] == "ended"))
    });
    let st = p.status();
    for c in st["calls"].as_array().cloned().unwrap_or_default() {
        let _ = p.cmd(json!({"cmd": "hangup", "call": c["id"]}));
    }
    let r = server.wait(Duration::from_secs(5));
    assert!(r.success(), "server: {}", r.describe());
}

/// Whether `status.forward` lists a feature-code rule to `to`.
fn pbx_rule_listed(p: &mut Phone, to: &str) -> bool {
    p.status()["forward"].as_array().is_some_and(|a| {
        a.iter()
            .any(|r| r["via"] == "feature_code" && r["to"] == to)
    })
}

/// The PBX confirms the (overridden) on code by answering 200: the reply
/// comes with the rule active, and the phone releases the code call (the
/// server never hangs up, so it fails without our BYE). After a restart the
/// rule is still known, and `forward_clear` dials the profile's own
/// `forward_always_off = "#11"`, again confirmed and released.
#[test]
fn forward_code_confirmed_by_200_is_active_released_and_survives_a_restart() {
    let t = TestDir::new("pbx-code-fwd-200");
    let server = Sipp::new("uas_code_confirm_200", &t.sub("sipp"))
        .calls(2)
        .timeout(30)
        .spawn();
    let mut p = phone_via(
        &t,
        &server,
        &[
            ("profile", "openscape4000"),
            ("forward_always_on", "*21{target}"),
        ],
    );
    assert_eq!(
        p.status()["pbx"],
        json!({"profile": "openscape4000", "verified": false})
    );
    let r = p.ok(json!({"cmd": "forward", "when": "always", "scope": "all", "to": "1004", "via": "feature_code"}));
    assert!(
        r["forward"].as_array().is_some_and(|a| a
            .iter()
            .any(|r| r["via"] == "feature_code" && r["to"] == "1004")),
        "{r}"
    );
    assert!(wait_invite_for(&server, "*211004"), "{}", server.messages());
    assert!(pbx_rule_listed(&mut p, "1004"), "{}", p.status());
    wait_calls_over(&mut p);
    assert!(
        support::wait_until(LONG, || server.messages().contains("BYE sip:")),
        "the code call was not released:\n{}\n{}",
        server.messages(),
        p.log_tail()
    );

    let mut p = p.crash_and_restart();
    assert!(
        pbx_rule_listed(&mut p, "1004"),
        "the PBX rule was forgotten: {}",
        p.status()
    );
    let r = p.ok(json!({"cmd": "forward_clear"}));
    assert_eq!(r["forward"], json!([]), "{r}");
    assert!(
        wait_invite_for(&server, "#11"),
        "no INVITE for the off code #11:\n{}\n{}",
        server.messages(),
        p.log_tail()
    );
    assert!(!pbx_rule_listed(&mut p, "1004"), "{}", p.status());
    wait_calls_over(&mut p);
    let r = server.wait(Duration::from_secs(10));
    assert!(r.success(), "server: {}\n{}", r.describe(), p.log_tail());
}

/// The PBX confirms with a tone as early media (183 with SDP) and never
/// answers: the rule is active and the phone CANCELs the code call (the
/// server fails without the CANCEL).
#[test]
fn forward_code_confirmed_by_early_media_is_active_and_cancelled() {
    let t = TestDir::new("pbx-code-fwd-183");
    let server = Sipp::new("uas_code_confirm_183", &t.sub("sipp"))
        .timeout(20)
        .spawn();
    let mut p = phone_via(&t, &server, &[("profile", "asterisk")]);
    p.ok(json!({"cmd": "forward", "when": "busy", "to": "1005", "via": "feature_code"}));
    assert!(pbx_rule_listed(&mut p, "1005"), "{}", p.status());
    wait_calls_over(&mut p);
    let r = server.wait(Duration::from_secs(10));
    assert!(r.success(), "server: {}\n{}", r.describe(), p.log_tail());
    assert!(r.messages.contains("CANCEL sip:"), "{}", r.describe());
}

/// The PBX refuses the code (486 Busy Here, 403 Forbidden): the command
/// fails with the PBX's reason and no rule is listed.
#[test]
fn forward_code_refused_is_an_error_and_no_rule() {
    for (scenario, code) in [("uas_486", "486"), ("uas_code_403", "403")] {
        let t = TestDir::new(&format!("pbx-code-fwd-{code}"));
        let server = Sipp::new(scenario, &t.sub("sipp")).timeout(20).spawn();
        let mut p = phone_via(&t, &server, &[("profile", "asterisk")]);
        let r =
            p.cmd(json!({"cmd": "forward", "when": "always", "to": "1004", "via": "feature_code"}));
        assert_eq!(r["ok"], false, "{scenario}: {r}");
        assert_eq!(r["error"]["code"], "feature_code_refused", "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap_or("").contains(code),
            "{r}"
        );
        assert!(
            p.status()["forward"].as_array().is_some_and(Vec::is_empty),
            "{}",
            p.status()
        );
        finish(&mut p, server);
    }
}

/// What a PBX code cannot express is refused before anything is dialled.
#[test]
fn forward_code_refuses_scope_and_delay() {
    let t = TestDir::new("pbx-code-fwd-args");
    let server = Sipp::new("uas_486", &t.sub("sipp")).timeout(20).spawn();
    let mut p = phone_via(&t, &server, &[("profile", "asterisk")]);
    assert_eq!(
        p.status()["pbx"],
        json!({"profile": "asterisk", "verified": true})
    );
    for (req, word) in [
        (
            json!({"cmd": "forward", "when": "always", "scope": "internal", "to": "1004", "via": "feature_code"}),
            "scope",
        ),
        (
            json!({"cmd": "forward", "when": "no_answer", "to": "1004", "after_s": 10, "via": "feature_code"}),
            "after_s",
        ),
    ] {
        let r = p.cmd(req);
        assert_eq!(r["ok"], false, "{r}");
        assert_eq!(r["error"]["code"], "bad_argument", "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap_or("").contains(word),
            "{r}"
        );
    }
    assert!(
        p.status()["calls"].as_array().is_some_and(Vec::is_empty),
        "{}",
        p.status()
    );
    assert!(
        !server.messages().contains("INVITE sip:"),
        "{}",
        server.messages()
    );
}

/// `pickup` without a target and no ringing lamp dials the group pickup code.
#[test]
fn group_pickup_dials_the_code() {
    let t = TestDir::new("pbx-code-group");
    let server = Sipp::new("uas_486", &t.sub("sipp")).timeout(20).spawn();
    let mut p = phone_via(&t, &server, &[("profile", "asterisk")]);
    let r = p.ok(json!({"cmd": "pickup"}));
    assert!(
        wait_invite_for(&server, "*8"),
        "no INVITE for *8: {r}\n{}\n{}",
        server.messages(),
        p.log_tail()
    );
    finish(&mut p, server);
}

/// `[phone] dnd_via = "both"`: line DND dials the profile's DND code, and
/// the phone turns callers away too.
#[test]
fn dnd_tells_the_server_by_feature_code() {
    let t = TestDir::new("pbx-code-dnd");
    let server = Sipp::new("uas_486", &t.sub("sipp")).timeout(20).spawn();
    let config = Config::new()
        .account(Account::via("office", "1001", server.addr()))
        .pbx("profile", "asterisk")
        .phone("dnd_via", "both");
    let mut p = Phone::start(&t.sub("phone"), &config);
    let r = p.ok(json!({"cmd": "dnd", "on": true}));
    assert_eq!(p.status()["dnd_kinds"]["line"], true, "{}", p.status());
    assert!(
        wait_invite_for(&server, "*78"),
        "no INVITE for the DND code *78: {r}\n{}\n{}",
        server.messages(),
        p.log_tail()
    );
    finish(&mut p, server);
}

/// With the Asterisk profile's `directed_pickup = "**{target}"` and no
/// dialog information for the target (no `[[blf]]`, no presence server),
/// `pickup target=1002` dials `**1002`.
#[test]
fn pickup_by_feature_code_dials_the_code() {
    let t = TestDir::new("pbx-code-pickup");
    let server = Sipp::new("uas_486", &t.sub("sipp")).timeout(20).spawn();
    let mut p = phone_via(&t, &server, &[("profile", "asterisk")]);
    let r = p.ok(json!({"cmd": "pickup", "target": "1002"}));
    assert!(
        wait_invite_for(&server, "**1002"),
        "no INVITE for **1002: {r}\n{}\n{}",
        server.messages(),
        p.log_tail()
    );
    finish(&mut p, server);
}

/// By default (`dnd_via = "line"`) line DND stays with the phone, so its
/// allow list works: the PBX is not sent the DND code even when the
/// profile has one, and callers get the phone's 486.
#[test]
fn dnd_on_the_line_by_default_leaves_the_pbx_alone() {
    let t = TestDir::new("pbx-code-dnd-line");
    let server = Sipp::new("uas_486", &t.sub("sipp")).timeout(20).spawn();
    let mut p = phone_via(&t, &server, &[("profile", "asterisk")]);
    p.ok(json!({"cmd": "dnd", "on": true}));
    let caller = Sipp::new("uac_dnd_486", &t.sub("caller"))
        .target(p.sip_addr())
        .service("1001")
        .key("caller", "1003")
        .timeout(20)
        .run();
    assert!(caller.success(), "{}\n{}", caller.describe(), p.log_tail());
    assert!(
        !server.messages().contains("INVITE sip:"),
        "the DND code went to the PBX: {}",
        server.messages()
    );
    assert!(
        p.status()["calls"].as_array().is_some_and(Vec::is_empty),
        "{}",
        p.status()
    );
}

/// `dnd_via = "feature_code"` without a DND code in the profile is an
/// error that says so, and DND stays off.
#[test]
fn dnd_by_feature_code_needs_the_code() {
    let t = TestDir::new("pbx-code-dnd-missing");
    let server = Sipp::new("uas_486", &t.sub("sipp")).timeout(20).spawn();
    let config = Config::new()
        .account(Account::via("office", "1001", server.addr()))
        .phone("dnd_via", "feature_code");
    let mut p = Phone::start(&t.sub("phone"), &config);
    let r = p.cmd(json!({"cmd": "dnd", "on": true}));
    assert_eq!(r["ok"], false, "{r}");
    let e = &r["error"];
    assert_eq!(e["code"], "no_feature_code", "{e}");
    assert!(
        e["message"].as_str().unwrap_or("").contains("no DND code"),
        "{e}"
    );
    assert_eq!(p.status()["dnd"], false, "{}", p.status());
}
