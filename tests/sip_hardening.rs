//! Hostile SIP aimed at a live phone, each attack as a stranger on the same
//! host would send it: a BYE that knows the Call-ID but not the tags, a
//! request in another SIP version or with a bracketed request URI, a REFER
//! whose Refer-To smuggles headers, and a digest challenge from a realm that
//! is not the account's. Each must fail on the attacker's side while the
//! call (and the phone) goes on.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::config::Account;
use support::phone::Phone;
use support::setup::{direct_phone, PhoneOpts};
use support::sip::{status_code, SipProbe};
use support::sipp::Sipp;
use support::TestDir;

/// A BYE from the probe for `call_id` with these tags (None: no tag).
fn bye(
    probe: &SipProbe,
    to: std::net::SocketAddr,
    call_id: &str,
    from_tag: Option<&str>,
    to_tag: Option<&str>,
) -> String {
    let port = probe.local_port();
    let n = support::sip::rand_u32();
    let tag = |t: Option<&str>| t.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "BYE sip:1001@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-forged-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:uas@127.0.0.1:{port}>{}\r\n\
         To: <sip:1001@{to}>{}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 99 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        tag(from_tag),
        tag(to_tag),
    )
}

fn state_of(p: &mut Phone, id: &str) -> String {
    p.call(id)
        .map(|c| c["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn a_bye_with_the_call_id_but_not_the_tags_gets_481_and_the_call_stays_up() {
    let t = TestDir::new("forged-bye");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let sipp = Sipp::new("uas_answer", &t.sub("sipp")).timeout(30).spawn();
    let id = p.dial_until_active(&format!("sip:uas@{}", sipp.addr()));
    let call: Value = p.call(&id).unwrap_or_default();
    let sip_call_id = call["sip_call_id"].as_str().unwrap_or("").to_string();
    assert!(!sip_call_id.is_empty(), "no sip_call_id: {call}");
    // SIPp's own tag in this dialog (uas_answer.xml: [pid]SIPpTag01[call_number]).
    let peer_tag = format!("{}SIPpTag011", sipp.pid());

    let probe = SipProbe::new();
    let cases: [(&str, Option<&str>, Option<&str>); 4] = [
        ("made-up tags", Some("forged1"), Some("forged2")),
        (
            "the peer's tag, a made-up To tag",
            Some(peer_tag.as_str()),
            Some("forged2"),
        ),
        ("the peer's tag, no To tag", Some(peer_tag.as_str()), None),
        ("no tags at all", None, None),
    ];
    for (what, from_tag, to_tag) in cases {
        let req = bye(&probe, p.sip_addr(), &sip_call_id, from_tag, to_tag);
        let resp = probe.request(p.sip_addr(), req.as_bytes(), Duration::from_secs(3));
        let resp = resp.unwrap_or_else(|| panic!("{what}: no answer\n{}", p.log_tail()));
        assert_eq!(status_code(&resp), Some(481), "{what}:\n{resp}");
        assert_eq!(
            state_of(&mut p, &id),
            "active",
            "{what}: the call went\n{}",
            p.log_tail()
        );
    }
    assert!(
        p.wait_call_state(&id, "ended", Duration::from_millis(500))
            .is_none(),
        "a forged BYE ended the call: {:?}",
        p.events()
    );

    // The real dialog still works: our BYE reaches SIPp, which answers it.
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());
}

/// An INVITE from the probe carrying `Replaces: replaces`; its final
/// response (then ACKed, as a non-2xx must be).
fn invite_with_replaces(probe: &SipProbe, to: std::net::SocketAddr, replaces: &str) -> String {
    let port = probe.local_port();
    let n = support::sip::rand_u32();
    let head = format!(
        "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-repl-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:intruder@127.0.0.1:{port}>;tag=intr{n}\r\n"
    );
    let rest = format!("Call-ID: repl-{n}@127.0.0.1\r\nCSeq: 1 INVITE\r\n");
    let invite = format!(
        "INVITE sip:1001@{to} SIP/2.0\r\n{head}To: <sip:1001@{to}>\r\n{rest}\
         Contact: <sip:intruder@127.0.0.1:{port}>\r\n\
         Replaces: {replaces}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let resp = probe
        .request(to, invite.as_bytes(), Duration::from_secs(5))
        .unwrap_or_default();
    let to_header = support::sip::header(&resp, "To").unwrap_or("").to_string();
    let ack = format!(
        "ACK sip:1001@{to} SIP/2.0\r\n{head}To: {to_header}\r\n{}CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        rest.lines().next().map(|l| format!("{l}\r\n")).unwrap_or_default()
    );
    probe.send(to, ack.as_bytes());
    resp
}

#[test]
fn replaces_takes_over_only_a_dialog_we_have_with_its_tags() {
    let t = TestDir::new("replaces-tags");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let sipp = Sipp::new("uas_answer", &t.sub("sipp")).timeout(30).spawn();
    let id = p.dial_until_active(&format!("sip:uas@{}", sipp.addr()));
    let call: Value = p.call(&id).unwrap_or_default();
    let call_id = call["sip_call_id"].as_str().unwrap_or("").to_string();
    let peer_tag = format!("{}SIPpTag011", sipp.pid());
    // Our tag: the From tag of the INVITE SIPp got.
    let mut our_tag = None;
    assert!(support::wait_until(Duration::from_secs(5), || {
        our_tag = support::sipp::parse_trace(&sipp.messages())
            .iter()
            .find(|m| !m.sent && m.is_request("INVITE"))
            .and_then(|m| m.header("From").and_then(support::callctl::tag_of));
        our_tag.is_some()
    }));
    let ours = our_tag.unwrap_or_default();

    let probe = SipProbe::new();
    let cases = [
        (
            "made-up tags",
            format!("{call_id};to-tag=x1;from-tag=x2"),
            481,
        ),
        (
            "tags swapped",
            format!("{call_id};to-tag={peer_tag};from-tag={ours}"),
            481,
        ),
        (
            "only our tag right",
            format!("{call_id};to-tag={ours};from-tag=x2"),
            481,
        ),
        (
            "early-only for a confirmed dialog",
            format!("{call_id};to-tag={ours};from-tag={peer_tag};early-only"),
            486,
        ),
        (
            "no such Call-ID",
            format!("nope-{call_id};to-tag={ours};from-tag={peer_tag}"),
            481,
        ),
    ];
    for (what, replaces, code) in cases {
        let resp = invite_with_replaces(&probe, p.sip_addr(), &replaces);
        assert_eq!(
            status_code(&resp),
            Some(code),
            "{what}:\n{resp}\n{}",
            p.log_tail()
        );
        assert_eq!(
            state_of(&mut p, &id),
            "active",
            "{what}: the call went\n{}",
            p.log_tail()
        );
    }
    assert!(
        p.wait_call_state(&id, "ended", Duration::from_millis(300))
            .is_none(),
        "a refused Replaces ended the call: {:?}",
        p.events()
    );
    p.ok(json!({"cmd": "hangup", "call": id}));
    let r = sipp.wait(Duration::from_secs(15));
    assert!(r.success(), "{}", r.describe());
}

/// A SIPp transferor calls the phone (auto answer) and REFERs it to
/// `refer_to`; returns the transferor's result once it is done.
fn referred_to(p: &mut Phone, t: &TestDir, refer_to: &str) -> support::sipp::SippResult {
    let transferor = Sipp::new("uac_refer", &t.sub("a"))
        .target(p.sip_addr())
        .service("1001")
        .key("refer_to", refer_to)
        .arg("-aa")
        .timeout(20)
        .spawn();
    let ra = transferor.wait(Duration::from_secs(25));
    assert!(
        ra.success(),
        "transferor: {}\n{}",
        ra.describe(),
        p.log_tail()
    );
    ra
}

#[test]
fn refer_to_headers_other_than_replaces_never_reach_our_invite() {
    let t = TestDir::new("refer-headers");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true));
    let target = Sipp::new("uas_replaces_target", &t.sub("c"))
        .timeout(20)
        .spawn();
    let refer_to = format!(
        "sip:c@{}?X-Evil=1&Replaces=abc%40host%3Bfrom-tag%3Dff1%3Bto-tag%3Dtt1%3Bx%3Dy\
         &Authorization=Digest%20username%3D%22victim%22&Route=%3Csip:192.0.2.1%3Blr%3E",
        target.addr()
    );
    let _ = referred_to(&mut p, &t, &refer_to);
    let out = p.wait_event(Duration::from_secs(15), |e| {
        e["event"] == "call" && e["call"]["direction"] == "out" && e["call"]["state"] == "active"
    });
    let out = out.unwrap_or_else(|| panic!("no call to C: {:?}\n{}", p.events(), p.log_tail()));
    p.ok(json!({"cmd": "hangup", "call": out["call"]["id"]}));
    let rc = target.wait(Duration::from_secs(15));
    assert!(rc.success(), "target: {}\n{}", rc.describe(), p.log_tail());
    let invite = rc
        .traced()
        .into_iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .unwrap_or_else(|| panic!("no INVITE: {}", rc.describe()));
    for name in ["X-Evil", "Authorization", "Route"] {
        assert!(
            invite.header(name).is_none(),
            "{name} reached the INVITE:\n{}",
            invite.text
        );
    }
    assert!(
        !invite.first_line().contains('?'),
        "{}",
        invite.first_line()
    );
    // Replaces written anew from its values: our order, no unknown parameter.
    assert_eq!(
        invite.header("Replaces"),
        Some("abc@host;to-tag=tt1;from-tag=ff1"),
        "{}",
        invite.text
    );
}

#[test]
fn a_replaces_smuggling_a_line_break_fails_the_refer_and_adds_no_header() {
    let t = TestDir::new("refer-crlf");
    let mut p = direct_phone(&t, PhoneOpts::new().phone("auto_answer", true));
    let target = Sipp::new("uas_replaces_target", &t.sub("c"))
        .timeout(8)
        .spawn();
    let refer_to = format!(
        "sip:c@{}?Replaces=abc%40host%3Bto-tag%3Dtt1%3Bfrom-tag%3Dff1%0D%0AX-Injected%3A%201",
        target.addr()
    );
    let ra = referred_to(&mut p, &t, &refer_to);
    let notifies: Vec<String> = ra
        .traced()
        .into_iter()
        .filter(|m| !m.sent && m.is_request("NOTIFY"))
        .map(|m| m.body().to_string())
        .collect();
    assert!(
        notifies.iter().any(|b| b.contains("SIP/2.0 400")),
        "no NOTIFY 400: {notifies:?}\n{}",
        p.log_tail()
    );
    // No call was placed: the target heard nothing (it times out).
    let rc = target.wait(Duration::from_secs(15));
    assert!(
        !rc.traced()
            .iter()
            .any(|m| !m.sent && m.is_request("INVITE")),
        "an INVITE went out: {}",
        rc.describe()
    );
    assert!(
        !p.events()
            .iter()
            .any(|e| e["event"] == "call" && e["call"]["direction"] == "out"),
        "{:?}",
        p.events()
    );
}

/// Dials `to` on account `account` and waits for the call to end; its end reason.
fn dial_until_ended(p: &mut Phone, account: &str, to: &str) -> String {
    let reply = p.ok(json!({"cmd": "dial", "to": to, "account": account}));
    let id = support::phone::call_id_of(&reply);
    let ended = p.wait_call_state(&id, "ended", Duration::from_secs(15));
    let ended =
        ended.unwrap_or_else(|| panic!("call did not end: {:?}\n{}", p.events(), p.log_tail()));
    ended["end_reason"].as_str().unwrap_or("").to_string()
}

/// Every Authorization SIPp received.
fn authorizations(r: &support::sipp::SippResult) -> Vec<String> {
    r.traced()
        .iter()
        .filter(|m| !m.sent)
        .filter_map(|m| m.header("Authorization").map(str::to_string))
        .collect()
}

#[test]
fn a_challenge_from_a_dialed_host_gets_no_credentials() {
    let t = TestDir::new("auth-dialed-host");
    let account = Account::direct("sec", "1001").password("pw1001");
    let mut p = direct_phone(&t, PhoneOpts::new().account(account));
    let sipp = Sipp::new("uas_challenge_refused", &t.sub("sipp"))
        .key("realm", "evil")
        .timeout(15)
        .spawn();
    let reason = dial_until_ended(&mut p, "sec", &format!("sip:uas@{}", sipp.addr()));
    assert!(
        reason.contains("credentials withheld") && reason.contains(&sipp.addr().to_string()),
        "end reason: {reason}"
    );
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    assert_eq!(authorizations(&r), Vec::<String>::new(), "{}", r.describe());
}

#[test]
fn the_accounts_proxy_gets_credentials_only_for_the_accounts_realm() {
    let t = TestDir::new("auth-realm");
    // The proxy challenges with a realm that is not the account's.
    let sipp = Sipp::new("uas_challenge_refused", &t.sub("evil"))
        .key("realm", "evil")
        .timeout(15)
        .spawn();
    let account = Account::via("sec", "1001", sipp.addr())
        .password("pw1001")
        .realm(&["pbx"]);
    let mut p = direct_phone(&t, PhoneOpts::new().account(account));
    let reason = dial_until_ended(&mut p, "sec", "1002");
    assert!(
        reason.contains("credentials withheld") && reason.contains("\"evil\""),
        "end reason: {reason}"
    );
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    assert_eq!(authorizations(&r), Vec::<String>::new(), "{}", r.describe());

    // The same proxy challenging with the account's realm is answered.
    let t2 = TestDir::new("auth-realm-ok");
    let sipp = Sipp::new("uas_challenge_answered", &t2.sub("pbx"))
        .key("realm", "pbx")
        .timeout(15)
        .spawn();
    let account = Account::via("sec", "1001", sipp.addr())
        .password("pw1001")
        .realm(&["pbx"]);
    let mut p = direct_phone(&t2, PhoneOpts::new().account(account));
    let reason = dial_until_ended(&mut p, "sec", "1002");
    assert!(reason.contains("486"), "end reason: {reason}");
    let r = sipp.wait(Duration::from_secs(10));
    assert!(r.success(), "{}\n{}", r.describe(), p.log_tail());
    let auth = authorizations(&r);
    assert!(
        auth.len() == 1 && auth[0].contains("realm=\"pbx\""),
        "{auth:?}\n{}",
        r.describe()
    );
}

#[test]
fn another_sip_version_gets_505_and_a_bracketed_request_uri_400() {
    let t = TestDir::new("start-line");
    let mut p = direct_phone(&t, PhoneOpts::new());
    let probe = SipProbe::new();
    let to = p.sip_addr();
    let cases = [
        (format!("OPTIONS sip:1001@{to} SIP/3.0"), 505),
        (format!("OPTIONS sip:1001@{to} SIP/1.0"), 505),
        (format!("OPTIONS <sip:1001@{to}> SIP/2.0"), 400),
        (format!("INVITE <sip:1001@{to}> SIP/2.0"), 400),
        (format!("INVITE sip:1001@{to} SIP/3.0"), 505),
    ];
    for (line, code) in cases {
        let good = probe.options(to, "1001");
        let mut text = good.replacen(&format!("OPTIONS sip:1001@{to} SIP/2.0"), &line, 1);
        if line.starts_with("INVITE") {
            text = text.replacen(" OPTIONS\r\n", " INVITE\r\n", 1);
        }
        let resp = probe.request(to, text.as_bytes(), Duration::from_secs(3));
        let resp = resp.unwrap_or_else(|| panic!("{line}: no answer\n{}", p.log_tail()));
        assert_eq!(status_code(&resp), Some(code), "{line}:\n{resp}");
    }
    assert!(
        p.status()["calls"].as_array().is_none_or(|c| c.is_empty()),
        "a refused INVITE made a call: {}",
        p.status()
    );
    // A well-formed OPTIONS still gets its 200.
    let opts = probe.options(to, "1001");
    let resp = probe
        .request(to, opts.as_bytes(), Duration::from_secs(3))
        .unwrap_or_default();
    assert_eq!(status_code(&resp), Some(200), "{resp}");
}
