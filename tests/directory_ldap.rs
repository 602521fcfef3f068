//! The LDAP directory against OpenLDAP's slapd, started here with a
//! generated directory: `search` by name and by number (the query escaped,
//! so `*` finds nobody), a caller from baresip named from LDAP while the
//! call rings, a refused bind named in `search` and by `doctor`, and a
//! server that accepts and never answers delaying neither the ring nor
//! `search` beyond its time limit.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::baresip::Baresip;
use support::phone::Phone;
use support::setup::{baresip, direct_phone, PeerOpts, PhoneOpts, TestPhone};
use support::slapd::{Person, SilentServer, Slapd, BASE, BIND_DN, BIND_PW};
use support::TestDir;

const PEOPLE: &[Person] = &[
    Person {
        cn: "Anna Berg",
        display_name: Some("Berg, Anna"),
        phones: &["+49 89 1234-567"],
        mobiles: &["0171 5550001"],
    },
    Person {
        cn: "Bernd Huber",
        display_name: None,
        phones: &["1002"],
        mobiles: &[],
    },
    Person {
        cn: "Carla Stern",
        display_name: None,
        phones: &["3310"],
        mobiles: &[],
    },
];

fn phone(t: &TestDir, url: &str, password: &str) -> TestPhone {
    let mut opts = PhoneOpts::new();
    opts.config = opts.config.ldap_directory(&[
        ("url", url),
        ("base", BASE),
        ("bind_dn", BIND_DN),
        ("password", password),
    ]);
    direct_phone(t, opts)
}

fn search(p: &mut Phone, q: &str) -> Value {
    p.ok(json!({"cmd": "search", "q": q}))
}

fn names_numbers(r: &Value) -> Vec<(String, String, String)> {
    r["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                e["number"].as_str().unwrap_or_default().to_string(),
                e["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// baresip (user 1002, so its From is `sip:1002@127.0.0.1`) calls the
/// phone; returns the ringing call and how long the ring took.
fn ring_from_baresip(t: &TestDir, p: &mut Phone) -> (Baresip, Value, Duration) {
    let mut b = baresip(t, "1002", PeerOpts::tone(600.0));
    let start = Instant::now();
    b.dial(&format!("sip:1001@{}", p.sip_addr()));
    let ringing = p
        .wait_any_call_state("ringing", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no ringing call: {:?}\n{}", p.events(), b.log()));
    (b, ringing, start.elapsed())
}

#[test]
fn ldap_search_finds_people_by_name_and_by_number() {
    let t = TestDir::new("ldap-search");
    let slapd = Slapd::start(&t.sub("slapd"), PEOPLE);
    let mut p = phone(&t, &slapd.url(), BIND_PW);

    let r = search(&mut p, "anna");
    assert_eq!(
        names_numbers(&r),
        [
            ("Berg, Anna".into(), "+49 89 1234-567".into(), "work".into()),
            ("Berg, Anna".into(), "0171 5550001".into(), "cell".into()),
        ],
        "{r}\n{}",
        slapd.log_tail()
    );
    assert_eq!(r["results"][0]["source"], slapd.url(), "{r}");
    assert_eq!(
        r["results"][0]["uri"],
        format!("sip:+49891234567@127.0.0.1"),
        "{r}"
    );
    assert!(r.get("warnings").is_none(), "{r}");

    // by number: a part of it as the directory writes it
    let r = search(&mut p, "1234");
    assert_eq!(names_numbers(&r)[0].0, "Berg, Anna", "{r}");
    let r = search(&mut p, "3310");
    assert_eq!(
        names_numbers(&r),
        [("Carla Stern".into(), "3310".into(), "work".into())],
        "{r}"
    );
    // the query is escaped: `*` is a star to look for, not a wildcard
    let r = search(&mut p, "*");
    assert_eq!(names_numbers(&r), [], "{r}");
    let r = search(&mut p, "a)(cn=*");
    assert_eq!(names_numbers(&r), [], "{r}");
    assert!(p.quit(), "{}", p.log_tail());
}

#[test]
fn a_caller_from_baresip_is_named_from_ldap_while_it_rings() {
    let t = TestDir::new("ldap-caller");
    let slapd = Slapd::start(&t.sub("slapd"), PEOPLE);
    let mut p = phone(&t, &slapd.url(), BIND_PW);
    let (mut b, ringing, _) = ring_from_baresip(&t, &mut p);
    let id = ringing["id"].as_str().unwrap_or_default().to_string();
    let named = p
        .wait_call_from(&id, 0, Duration::from_secs(10), |c| {
            c["name"] == "Bernd Huber"
        })
        .unwrap_or_else(|| {
            panic!(
                "never named: {:?}\n{}\n{}",
                p.call_updates(&id),
                p.log_tail(),
                slapd.log_tail()
            )
        })
        .1;
    assert_eq!(named["state"], "ringing", "named while it rings: {named}");
    let status = p.ok(json!({"cmd": "status"}));
    assert_eq!(status["calls"][0]["name"], "Bernd Huber", "{status}");
    b.hangup();
    p.wait_call_state(&id, "ended", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("not ended: {:?}", p.call_updates(&id)));
    let h = p.ok(json!({"cmd": "history", "limit": 1}));
    assert_eq!(h["history"][0]["name"], "Bernd Huber", "{h}");
    assert!(p.quit(), "{}", p.log_tail());
}

#[test]
fn a_refused_bind_is_reported_by_search_and_doctor() {
    let t = TestDir::new("ldap-bind");
    let slapd = Slapd::start(&t.sub("slapd"), PEOPLE);
    let mut p = phone(&t, &slapd.url(), "wrong-password");
    let r = search(&mut p, "anna");
    assert_eq!(names_numbers(&r), [], "{r}");
    let warning = r["warnings"][0].as_str().unwrap_or_default().to_string();
    assert!(
        warning.contains(&slapd.url())
            && warning.contains(&format!("bind as `{BIND_DN}` refused (result 49"))
            && warning.contains("check bind_dn and password"),
        "{r}"
    );
    assert!(p.quit(), "{}", p.log_tail());

    for (password, want) in [
        (
            "wrong-password",
            format!(
                "FAIL  directory {}: LDAP {}: bind as `{BIND_DN}` refused (result 49",
                slapd.url(),
                slapd.url()
            ),
        ),
        (
            BIND_PW,
            format!(
                "ok    directory {}: bound as {BIND_DN}, base {BASE} searchable",
                slapd.url()
            ),
        ),
    ] {
        let lines = doctor(&t, &slapd.url(), password);
        let line = lines
            .iter()
            .find(|l| l.contains("directory ldap://"))
            .unwrap_or_else(|| panic!("no directory line: {lines:?}"));
        assert!(line.starts_with(&want), "{line}\nwanted {want}");
        if password != BIND_PW {
            assert!(
                line.contains("fix: check the directory's `bind_dn` and `password`"),
                "{line}"
            );
        }
    }
}

/// `termphone doctor` on a config with this LDAP source: its report lines.
fn doctor(t: &TestDir, url: &str, password: &str) -> Vec<String> {
    let config = support::config::Config::new().ldap_directory(&[
        ("url", url),
        ("base", BASE),
        ("bind_dn", BIND_DN),
        ("password", password),
    ]);
    let path = t.path().join("doctor.toml");
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    std::fs::write(&path, config.render(&t.path().join("doctor.sock"), listen))
        .expect("write the doctor config");
    let out = std::process::Command::new(support::phone::bin())
        .arg("doctor")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run termphone doctor");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_server_that_never_answers_delays_no_ring_and_no_search() {
    let t = TestDir::new("ldap-silent");
    let silent = SilentServer::start();
    let mut p = phone(&t, &silent.url(), BIND_PW);
    let (mut b, ringing, took) = ring_from_baresip(&t, &mut p);
    // The lookup waits 3 s for the bind; the ring does not.
    assert!(took < Duration::from_secs(2), "rang after {took:?}");
    assert_eq!(ringing["name"], Value::Null, "{ringing}");
    let id = ringing["id"].as_str().unwrap_or_default().to_string();
    b.hangup();
    p.wait_call_state(&id, "ended", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("not ended: {:?}", p.call_updates(&id)));

    let start = Instant::now();
    let r = search(&mut p, "anna");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "search took {took:?}: {r}");
    let warning = r["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains(&silent.url()) && warning.contains("bind"),
        "{r}"
    );
    assert!(p.quit(), "{}", p.log_tail());
}
