//! Locating the PBX by DNS (RFC 3263) with dnsmasq serving `pbx.test` on a
//! loopback port and two kamailio instances behind its SRV records: the
//! phone registers at the priority-10 one, moves to the priority-20 one for
//! registration and calls when the first stops, and starts with its DNS
//! server down (the account's reason says so) and registers once it is up.
//! BLF and MWI subscriptions and the presence publication find their server
//! through the same SRV records.

mod support;

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::config::{Account, Config};
use support::dnsmasq::Dnsmasq;
use support::kamailio::Kamailio;
use support::phone::Phone;
use support::{free_port, wait_until, TestDir};

/// How long the subscriptions get to arrive.
const SUBSCRIBED: Duration = Duration::from_secs(15);

const REGISTRAR: &str = include_str!("peers/kamailio-registrar.cfg.in");

/// The test registrar, also serving `pbx.test`.
fn kamailio(dir: &Path) -> Kamailio {
    let template = REGISTRAR.replace(
        "alias=\"test.local\"",
        "alias=\"test.local\"\nalias=\"pbx.test\"",
    );
    Kamailio::start_with(dir, &template)
}

/// Extension 1001 of `pbx.test`: no proxy, a short registration so that a
/// refresh comes within seconds.
fn account() -> Account {
    Account {
        domain: "pbx.test".into(),
        password: Some("pw1001".into()),
        register: true,
        expires: Some(10),
        ..Account::direct("office", "1001")
    }
}

fn phone_config(dns_port: u16) -> Config {
    Config::new()
        .account(account())
        .sip("dns_servers", vec![format!("127.0.0.1:{dns_port}")])
}

fn registered_at(k: &Kamailio) -> bool {
    k.log().contains("REGISTERED sip:1001@pbx.test")
}

/// A names only `pbx.test` and its hosts (NXDOMAIN for the rest of it).
fn hosts() -> Vec<String> {
    vec![
        "--local=/pbx.test/".into(),
        "--host-record=sip1.pbx.test,127.0.0.1".into(),
        "--host-record=sip2.pbx.test,127.0.0.1".into(),
    ]
}

/// Over TCP the stopped server refuses the connection: the move is at once.
#[test]
fn registration_and_calls_move_to_the_next_srv_target_over_tcp() {
    fails_over("tcp", "D2T", Duration::from_secs(10));
}

/// Over UDP nothing answers: the move comes when the transaction times out
/// (64 × T1 = 32 s).
#[test]
fn registration_and_calls_move_to_the_next_srv_target_over_udp() {
    fails_over("udp", "D2U", Duration::from_secs(45));
}

/// NAPTR names `transport` (service `SIP+D2U` / `SIP+D2T`); SRV puts k1
/// first (priority 10) and k2 second (20). k1 stops once registered; a call
/// and the next refresh must reach k2 within `within`.
fn fails_over(transport: &str, service: &str, within: Duration) {
    let t = TestDir::new(&format!("dns-failover-{transport}"));
    let k1 = kamailio(&t.sub("kamailio1"));
    let k2 = kamailio(&t.sub("kamailio2"));
    let srv = format!("_sip._{transport}.pbx.test");
    let mut records = hosts();
    records.extend([
        format!("--naptr-record=pbx.test,10,10,S,SIP+{service},,{srv}"),
        format!("--srv-host={srv},sip2.pbx.test,{},20,10", k2.port),
        format!("--srv-host={srv},sip1.pbx.test,{},10,10", k1.port),
    ]);
    let dns_port = free_port();
    let dns = Dnsmasq::start(&t.sub("dns"), dns_port, &records);
    let mut p = Phone::start(&t.sub("phone"), &phone_config(dns_port));

    let registered = p.wait_status(Duration::from_secs(15), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        registered.is_some(),
        "not registered: {}\n{}\n{}",
        p.status(),
        p.log_tail(),
        dns.log()
    );
    assert!(registered_at(&k1), "not at priority 10:\n{}", k1.log());
    assert!(!registered_at(&k2), "at priority 20 first:\n{}", k2.log());
    assert!(
        k1.log().contains("REQ REGISTER") && dns.log().contains("NAPTR"),
        "{}",
        dns.log()
    );

    // The first server goes away: a new call and the next refresh go to
    // the second.
    drop(k1);
    let reply = p.ok(json!({"cmd": "dial", "to": "1002"}));
    assert!(reply.is_object(), "{reply}");
    let invited = wait_until(within, || k2.count_requests("INVITE", "1001") > 0);
    assert!(
        invited,
        "the INVITE did not reach the second server:\n{}\n{}",
        p.log_tail(),
        k2.log()
    );
    let moved = wait_until(within, || registered_at(&k2));
    assert!(
        moved,
        "no registration at the second server:\n{}\n{}",
        p.log_tail(),
        k2.log()
    );
    let st = p.wait_status(Duration::from_secs(5), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(st.is_some(), "{}", p.status());
    assert!(p.quit(), "phone did not quit");
}

#[test]
fn dns_down_at_start_is_the_reason_and_registration_follows_when_it_is_up() {
    let t = TestDir::new("dns-down");
    let k = kamailio(&t.sub("kamailio"));
    let dns_port = free_port();
    // Nothing answers on dns_port yet: the phone starts all the same.
    let mut p = Phone::start(&t.sub("phone"), &phone_config(dns_port));
    let reason = |s: &serde_json::Value| {
        s["accounts"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let st = p.wait_status(Duration::from_secs(20), |s| {
        reason(s).starts_with("DNS: pbx.test: no SRV/A records")
    });
    assert!(
        st.is_some(),
        "no DNS reason: {}\n{}",
        p.status(),
        p.log_tail()
    );
    assert!(p.running(), "the phone stopped:\n{}", p.log_tail());

    // Now the server is up, with SRV but no NAPTR: UDP by SRV, found on a retry.
    let mut records = hosts();
    records.push(format!(
        "--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{},10,10",
        k.port
    ));
    let dns = Dnsmasq::start(&t.sub("dns"), dns_port, &records);
    let st = p.wait_status(Duration::from_secs(40), |s| {
        s["accounts"][0]["registered"] == true
    });
    assert!(
        st.is_some(),
        "not registered once DNS was up: {}\n{}\n{}",
        p.status(),
        p.log_tail(),
        dns.log()
    );
    assert!(registered_at(&k), "{}", k.log());
    assert!(p.quit(), "phone did not quit");
}

/// The server of `pbx.test` is only where SRV says (a free loopback port,
/// not 5060): the MWI and BLF SUBSCRIBEs and the presence PUBLISH reach it
/// there, as the REGISTER does.
#[test]
fn subscriptions_and_publications_locate_the_server_by_srv() {
    let t = TestDir::new("dns-subscriptions");
    let k = kamailio(&t.sub("kamailio"));
    let mut records = hosts();
    records.push(format!(
        "--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{},10,10",
        k.port
    ));
    let dns_port = free_port();
    let dns = Dnsmasq::start(&t.sub("dns"), dns_port, &records);
    let config = Config::new()
        .account(account().mwi())
        .blf("1002", Some("Reception"))
        .sip("dns_servers", vec![format!("127.0.0.1:{dns_port}")]);
    let mut p = Phone::start(&t.sub("phone"), &config);

    // One SUBSCRIBE for the MWI, one for the BLF lamp, both from 1001.
    let subscribed = wait_until(SUBSCRIBED, || k.count_requests("SUBSCRIBE", "1001") >= 2);
    assert!(
        subscribed,
        "the SUBSCRIBEs did not reach the SRV target:\n{}\n{}\n{}",
        p.log_tail(),
        k.log(),
        dns.log()
    );
    let log = k.log();
    for (event_target, what) in [
        ("to=sip:1001@pbx.test", "MWI"),
        ("to=sip:1002@pbx.test", "BLF"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("REQ SUBSCRIBE from=sip:1001@") && l.contains(event_target)),
            "no {what} SUBSCRIBE ({event_target}):\n{log}"
        );
    }
    assert!(dns.log().contains("SRV"), "{}", dns.log());

    // DND announced by presence: the PUBLISH goes there too.
    p.ok(json!({"cmd": "dnd", "on": true, "via": "presence"}));
    let published = wait_until(SUBSCRIBED, || k.count_requests("PUBLISH", "1001") > 0);
    assert!(
        published,
        "the PUBLISH did not reach the SRV target:\n{}\n{}",
        p.log_tail(),
        k.log()
    );
    assert!(p.quit(), "phone did not quit");
}
