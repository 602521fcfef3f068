//! termphone behind a NAT, on a test bed of hosts in network namespaces
//! (needs root, as .ci/run gives it). The `home` host (203.0.113.10, the
//! private side) reaches the PBX LAN (198.51.100.0/24) only through the
//! `router` host, which masquerades it behind its own address 198.51.100.1
//! (nftables), drops what nobody inside asked for, and forgets a quiet UDP
//! binding after 5 s. On the `pbx` host (198.51.100.10) kamailio is
//! registrar and proxy with digest auth and nathelper, and a baresip is
//! extension 1002.
//!
//! termphone (`listen = "0.0.0.0:5060"`, keep-alives every 2 s) registers,
//! learns from `received`/`rport` that it is seen at 198.51.100.1:5060
//! (`public_sip` in `status`) and registers that Contact (kamailio's
//! location names it); it calls baresip and, after a quiet spell longer than
//! the router's UDP timeout that only its keep-alives (counted at kamailio)
//! bridge, is called by baresip, with audio both ways each time. Then the
//! router's public address changes to 198.51.100.2: the next keep-alive's
//! answer shows the new mapping, termphone registers again with the new
//! Contact (the old binding removed) and is called there, audio both ways.
//!
//! Over TCP (the account's proxy says `;transport=tcp`, the router forgets
//! a quiet TCP connection after 5 s too) termphone learns the NAT's mapping
//! of its connection from the REGISTER's answer and registers it as its
//! Contact; it calls baresip and, after a quiet spell that only its CRLF
//! keep-alives bridge, is called over that connection, audio both ways.
//!
//! With `[sip] stun_server` naming a STUN server (coturn) on the PBX LAN and
//! a kamailio that leaves the SDP alone, the phone's SDP itself names the
//! public media address the STUN server saw, and audio flows both ways;
//! when the home host is renumbered under such a call, the call asks the
//! STUN server again and its re-INVITE names the public address, not the
//! new private one.

mod support;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::baresip::Baresip;
use support::callctl::talk_then_hang_up;
use support::config::{Account, Audio, Config};
use support::kamailio::Kamailio;
use support::netns::{Bed, Netns, Place};
use support::phone::recorded_wav;
use support::phone::{call_id_of, Phone};
use support::router::Router;
use support::{tone, wait_until, TestDir};

const PBX: &str = "198.51.100.10";
const HOME: &str = "203.0.113.10";
const PUBLIC: &str = "198.51.100.1";
const PUBLIC_NEW: &str = "198.51.100.2";
/// Seconds after which the router forgets a quiet UDP binding.
const NAT_UDP_TIMEOUT_S: u64 = 5;

/// Kamailio's location table (`kamcmd ul.dump`), through its control socket.
fn location(kamailio_dir: &Path) -> String {
    let socket = format!("unix:{}", kamailio_dir.join("kamailio_ctl").display());
    let out = Command::new("kamcmd")
        .args(["-s", &socket, "ul.dump"])
        .output()
        .expect("run kamcmd (kamailio package)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Contact addresses of 1001 in kamailio's location table.
fn contacts_of_1001(kamailio_dir: &Path) -> Vec<String> {
    location(kamailio_dir)
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("Address: sip:1001@"))
        .map(str::to_string)
        .collect()
}

/// Waits until the phone's first account is registered with a public
/// address `public` accepts, and its local address is home's; returns the
/// status.
fn wait_registered_public(
    p: &mut Phone,
    k: &Kamailio,
    what: &str,
    public: impl Fn(&str) -> bool,
) -> Value {
    let st = p.wait_status(Duration::from_secs(20), |s| {
        s["accounts"][0]["registered"] == true
            && s["accounts"][0]["public_sip"].as_str().is_some_and(&public)
    });
    let Some(st) = st else {
        panic!(
            "not registered with {what}: {}\n{}\n{}",
            p.status(),
            p.log_tail(),
            k.log()
        );
    };
    st
}

/// Asserts that kamailio's location comes to hold one Contact of 1001,
/// one that `want` accepts.
fn assert_only_contact(kamailio_dir: &Path, what: &str, want: impl Fn(&str) -> bool) {
    assert!(
        wait_until(Duration::from_secs(5), || {
            let contacts = contacts_of_1001(kamailio_dir);
            contacts.len() == 1 && contacts.iter().all(|c| want(c))
        }),
        "kamailio's location does not hold {what} alone: {:?}\n{}",
        contacts_of_1001(kamailio_dir),
        location(kamailio_dir)
    );
}

/// termphone dials 1002 (baresip) through the NAT, hears its tone and
/// hangs up; returns the call as it was when active.
fn call_baresip(p: &mut Phone, b: &mut Baresip, rec: &Path) -> Value {
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let out_call = p.wait_active(&id);
    talk_then_hang_up(p, b, &id);
    tone::assert_tone(&recorded_wav(rec, &out_call, 2.0), 600.0, 1000.0);
    out_call
}

/// baresip calls 1001; termphone answers, hears baresip's tone and hangs up.
fn called_by_baresip(p: &mut Phone, b: &mut Baresip, k: &Kamailio, rec: &Path) {
    b.clear_events();
    let incoming = |e: &Value| {
        e["event"] == "call" && e["call"]["direction"] == "in" && e["call"]["state"] == "ringing"
    };
    let earlier: Vec<Value> = p
        .events()
        .into_iter()
        .filter(|e| incoming(e))
        .map(|e| e["call"]["id"].clone())
        .collect();
    let r = b.dial("sip:1001@test.local");
    assert_eq!(r["ok"], true, "{r}");
    let ringing = p.wait_event(Duration::from_secs(10), |e| {
        incoming(e) && !earlier.contains(&e["call"]["id"])
    });
    assert!(
        ringing.is_some(),
        "no incoming call through the NAT: {:?}\n{}\n{}",
        p.events(),
        b.log(),
        k.log()
    );
    let id = ringing.unwrap_or_default()["call"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    p.ok(json!({"cmd": "answer", "call": id}));
    let call = p.wait_active(&id);
    talk_then_hang_up(p, b, &id);
    tone::assert_tone(&recorded_wav(rec, &call, 2.0), 600.0, 1000.0);
}

/// The bed: `pbx` (kamailio from `kamailio_cfg`, baresip 1002 sending
/// 600 Hz) on the PBX LAN with the `router`, `home` behind the router.
/// Fields drop in order: the peers stop before their namespaces go.
struct NatBed {
    b: Baresip,
    k: Kamailio,
    kdir: std::path::PathBuf,
    pbx: Netns,
    router: Router,
    home: Netns,
    bed: Bed,
}

fn nat_bed(t: &TestDir, kamailio_cfg: &str) -> NatBed {
    let mut bed = Bed::new();
    let pbx = bed.host("pbx");
    let router = bed.host("router");
    let home = bed.host("home");
    // The router's eth0 is on the PBX LAN, its eth1 the home cable.
    bed.lan(&[(&pbx, "198.51.100.10/24"), (&router, "198.51.100.1/24")]);
    bed.link(&home, "203.0.113.10/24", &router, "203.0.113.1/24");
    home.ip(&["route", "add", "198.51.100.0/24", "via", "203.0.113.1"]);
    let router = Router::masquerade(&router, "203.0.113.0/24", "eth0", t.path());
    router.forget_quiet_udp_after(NAT_UDP_TIMEOUT_S);
    let at_pbx = Place::on(&pbx, PBX);

    // Only the router's public address reaches home from the PBX side.
    let pbx_to_home = pbx.enter(|| {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
        s.connect("203.0.113.10:5060").is_ok()
    });
    assert!(!pbx_to_home, "the pbx host has a route to the private side");

    let kdir = t.sub("kamailio");
    let k = Kamailio::start_in(&kdir, kamailio_cfg, Some(5060), &at_pbx);

    let b = Baresip::tone_callee_in(
        &t.sub("baresip-1002"),
        "1002",
        k.addr(),
        (600.0, 90.0),
        &at_pbx,
    );
    NatBed {
        b,
        k,
        kdir,
        pbx,
        router,
        home,
        bed,
    }
}

#[test]
fn behind_a_nat_registers_its_public_address_keeps_it_and_follows_a_new_mapping() {
    let t = TestDir::new("net-nat");
    let NatBed {
        bed: _bed,
        router,
        home,
        k,
        kdir,
        mut b,
        ..
    } = nat_bed(&t, include_str!("peers/kamailio-nat.cfg.in"));

    let p_src = t.path().join("home-1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 90.0);
    let rec = t.sub("home-rec");
    let config = Config::new()
        .account(Account {
            keepalive_s: Some(2),
            ..Account::registered("home", "1001", &k)
        })
        .audio(Audio::file(&p_src, &rec));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(&t.sub("home"), &config, &Place::on(&home, HOME), listen);

    // Registered with the public address it learned.
    let public = format!("{PUBLIC}:5060");
    let st = wait_registered_public(&mut p, &k, "a learned public address", |a| a == public);
    assert_eq!(
        st["accounts"][0]["local_sip"],
        format!("{HOME}:5060"),
        "{st}"
    );
    assert_only_contact(&kdir, "the public Contact", |c| c == public);
    assert!(
        k.log().contains(&format!(
            "REGISTERED sip:1001@test.local contact=<sip:1001@{public}>"
        )),
        "no REGISTER with the public Contact:\n{}",
        k.log()
    );

    // termphone → baresip through the NAT, audio both ways.
    call_baresip(&mut p, &mut b, &rec);

    // A quiet spell longer than the router keeps a binding: only the
    // keep-alives (OPTIONS, counted at kamailio) hold it open.
    let before = k.count_requests("OPTIONS", "1001");
    let quiet = Instant::now();
    assert!(
        wait_until(Duration::from_secs(20), || k
            .count_requests("OPTIONS", "1001")
            >= before + 4
            && quiet.elapsed() > Duration::from_secs(NAT_UDP_TIMEOUT_S + 2)),
        "keep-alives do not flow: {} OPTIONS before, {} now\n{}",
        before,
        k.count_requests("OPTIONS", "1001"),
        p.log_tail()
    );

    // baresip → termphone: the INVITE reaches home through the held binding.
    called_by_baresip(&mut p, &mut b, &k, &rec);

    // The router's public address changes (the NAT forgets its mappings
    // with the old address): the next keep-alive shows the new mapping and
    // termphone registers again with the new Contact, removing the old.
    let wan = router.netns();
    wan.ip(&["addr", "del", "198.51.100.1/24", "dev", "eth0"]);
    wan.ip(&["addr", "add", "198.51.100.2/24", "dev", "eth0"]);
    let moved = format!("{PUBLIC_NEW}:5060");
    wait_registered_public(
        &mut p,
        &k,
        "the new public address after the NAT changed",
        |a| a == moved,
    );
    assert_only_contact(&kdir, "the new Contact", |c| c == moved);

    // Called at the new address, audio both ways.
    called_by_baresip(&mut p, &mut b, &k, &rec);

    b.stop();
    let got = b.received_wavs();
    assert_eq!(got.len(), 3, "{got:?}");
    for wav in &got {
        tone::assert_tone(wav, 1000.0, 600.0);
    }
}

#[test]
fn behind_a_nat_over_tcp_registers_its_mapped_connection_keeps_it_and_is_called() {
    let t = TestDir::new("net-nat-tcp");
    let NatBed {
        bed: _bed,
        router,
        home,
        k,
        kdir,
        mut b,
        ..
    } = nat_bed(&t, include_str!("peers/kamailio-nat.cfg.in"));
    // The router forgets a quiet TCP connection as fast as a UDP binding,
    // and takes no packet of a forgotten one.
    router.forget_quiet_tcp_after(NAT_UDP_TIMEOUT_S);

    let p_src = t.path().join("home-1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 90.0);
    let rec = t.sub("home-rec");
    let config = Config::new()
        .account(Account {
            keepalive_s: Some(2),
            proxy: Some(format!("sip:{PBX}:5060;transport=tcp")),
            ..Account::registered("home", "1001", &k)
        })
        .audio(Audio::file(&p_src, &rec));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(&t.sub("home"), &config, &Place::on(&home, HOME), listen);

    // Registered over TCP with the NAT's mapping of its connection.
    let st = wait_registered_public(&mut p, &k, "a learned public address over TCP", |a| {
        a.starts_with(&format!("{PUBLIC}:"))
    });
    assert_eq!(st["accounts"][0]["transport"], "tcp", "{st}");
    assert_eq!(
        st["accounts"][0]["local_sip"],
        format!("{HOME}:5060"),
        "{st}"
    );
    let public = st["accounts"][0]["public_sip"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let want = format!("{public};transport=tcp");
    assert_only_contact(&kdir, "the TCP mapping", |c| c.starts_with(&want));
    assert!(
        k.log().contains(&format!(
            "REGISTERED sip:1001@test.local contact=<sip:1001@{public};transport=tcp>"
        )),
        "no REGISTER with the mapped Contact:\n{}",
        k.log()
    );

    // termphone → baresip, the signalling over TCP through the NAT.
    let out_call = call_baresip(&mut p, &mut b, &rec);
    assert_eq!(out_call["signalling"], "tcp", "{out_call}");

    // A quiet spell longer than the router keeps a quiet connection: only
    // the CRLF keep-alives hold it, or the INVITE below never gets in.
    std::thread::sleep(Duration::from_secs(NAT_UDP_TIMEOUT_S * 2));
    let st = p.status();
    assert_eq!(st["accounts"][0]["public_sip"], public, "{st}");

    // baresip → termphone, over the held connection.
    let earlier = p.events().len();
    called_by_baresip(&mut p, &mut b, &k, &rec);
    let called = p.events()[earlier..]
        .iter()
        .rev()
        .find(|e| e["event"] == "call" && e["call"]["direction"] == "in")
        .map(|e| e["call"].clone())
        .unwrap_or_default();
    assert_eq!(called["signalling"], "tcp", "{called}");

    b.stop();
    let got = b.received_wavs();
    assert_eq!(got.len(), 2, "{got:?}");
    for wav in &got {
        tone::assert_tone(wav, 1000.0, 600.0);
    }
}

/// A STUN server (coturn, `--stun-only`) in `place` on port 3478, killed
/// on drop.
struct Stun(std::process::Child);

impl Stun {
    fn start(place: &Place, dir: &Path) -> Stun {
        std::fs::create_dir_all(dir).expect("stun dir");
        let mut cmd = Command::new("turnserver");
        cmd.args(["-n", "--no-cli", "--stun-only", "--no-tls", "--no-dtls"])
            .args(["-L", &place.ip.to_string(), "--listening-port", "3478"])
            .args(["--log-file", "stdout", "--simple-log"])
            .arg("--db")
            .arg(dir.join("turndb"))
            .arg("--pidfile")
            .arg(dir.join("turnserver.pid"))
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(dir.join("turnserver.log")).expect("turnserver.log"))
            .stderr(std::process::Stdio::null());
        let child = place
            .wrap(cmd)
            .spawn()
            .expect("run turnserver (coturn; scripts/install-test-deps.sh)");
        let stun = Stun(child);
        // Up when it answers a Binding request.
        let server = SocketAddr::new(place.ip, 3478);
        let up = place.enter(move || {
            let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .expect("timeout");
            let mut request = vec![0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42];
            request.extend_from_slice(&[7u8; 12]);
            let mut buf = [0u8; 512];
            wait_until(Duration::from_secs(10), || {
                s.send_to(&request, server).is_ok()
                    && s.recv_from(&mut buf)
                        .is_ok_and(|(n, _)| n >= 20 && buf[..2] == [1, 1])
            })
        });
        assert!(
            up,
            "turnserver does not answer STUN:\n{}",
            std::fs::read_to_string(dir.join("turnserver.log")).unwrap_or_default()
        );
        stun
    }
}

impl Drop for Stun {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn stun_names_the_public_media_address_when_the_pbx_leaves_the_sdp_alone() {
    let t = TestDir::new("net-nat-stun");
    // A kamailio that fixes NATed contacts but not the SDP: media reach the
    // phone only if its own SDP names the public address.
    let cfg = include_str!("peers/kamailio-nat.cfg.in").replace(
        "fix_nated_sdp(\"2\");",
        "xlog(\"L_NOTICE\", \"SDP left as sent\\n\");",
    );
    assert!(!cfg.contains("fix_nated_sdp(\"2\")"));
    let NatBed {
        bed: _bed,
        pbx,
        home,
        k,
        mut b,
        ..
    } = nat_bed(&t, &cfg);
    let _stun = Stun::start(&Place::on(&pbx, PBX), &t.sub("stun"));

    let p_src = t.path().join("home-1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 90.0);
    let rec = t.sub("home-rec");
    let config = Config::new()
        .account(Account::registered("home", "1001", &k))
        .sip("stun_server", format!("{PBX}:3478"))
        .audio(Audio::file(&p_src, &rec));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(&t.sub("home"), &config, &Place::on(&home, HOME), listen);
    let public = format!("{PUBLIC}:5060");
    let st = p.wait_status(Duration::from_secs(15), |s| {
        s["accounts"][0]["registered"] == true && s["accounts"][0]["public_sip"] == public
    });
    assert!(
        st.is_some(),
        "not registered behind the NAT: {}\n{}",
        p.status(),
        p.log_tail()
    );

    // termphone → baresip: the SDP names the STUN-learned address.
    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    let out_call = p.wait_active(&id);
    let live = p.call(&id).unwrap_or_default();
    assert!(
        live["local_media"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{PUBLIC}:")),
        "the SDP does not name the public media address: {live}"
    );
    talk_then_hang_up(&mut p, &mut b, &id);
    tone::assert_tone(&recorded_wav(&rec, &out_call, 2.0), 600.0, 1000.0);
    assert!(
        k.log().contains("SDP left as sent"),
        "kamailio did not see the SDP unchanged:\n{}",
        k.log()
    );

    // baresip → termphone, the answer's SDP likewise.
    called_by_baresip(&mut p, &mut b, &k, &rec);
    b.stop();
    let got = b.received_wavs();
    assert_eq!(got.len(), 2, "{got:?}");
    for wav in &got {
        tone::assert_tone(wav, 1000.0, 600.0);
    }
}

#[test]
fn stun_is_asked_again_when_the_host_behind_the_nat_is_renumbered_under_a_call() {
    let t = TestDir::new("net-nat-stun-move");
    let cfg = include_str!("peers/kamailio-nat.cfg.in").replace(
        "fix_nated_sdp(\"2\");",
        "xlog(\"L_NOTICE\", \"SDP left as sent\\n\");",
    );
    let NatBed {
        bed: _bed,
        pbx,
        home,
        k,
        mut b,
        ..
    } = nat_bed(&t, &cfg);
    let _stun = Stun::start(&Place::on(&pbx, PBX), &t.sub("stun"));

    let p_src = t.path().join("home-1000.wav");
    tone::write_sine_wav(&p_src, 1000.0, 8000, 90.0);
    let config = Config::new()
        .account(Account::registered("home", "1001", &k))
        .sip("stun_server", format!("{PBX}:3478"))
        .audio(Audio::file(&p_src, &t.sub("home-rec")));
    let listen: SocketAddr = "0.0.0.0:5060".parse().unwrap();
    let mut p = Phone::start_in(&t.sub("home"), &config, &Place::on(&home, HOME), listen);
    let st = p.wait_status(Duration::from_secs(15), |s| {
        s["accounts"][0]["registered"] == true
            && s["accounts"][0]["public_sip"] == format!("{PUBLIC}:5060")
    });
    assert!(
        st.is_some(),
        "not registered behind the NAT: {}",
        p.status()
    );

    let id = call_id_of(&p.ok(json!({"cmd": "dial", "to": "1002"})));
    p.wait_active(&id);
    let live = p.call(&id).unwrap_or_default();
    let public_media = format!("{PUBLIC}:");
    assert!(
        live["local_media"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&public_media),
        "{live}"
    );
    // Longer than the router keeps the first STUN question's binding.
    std::thread::sleep(Duration::from_secs(NAT_UDP_TIMEOUT_S + 1));

    // The home host is renumbered under the call.
    home.replace_address("eth0", "203.0.113.10/24", "203.0.113.11/24");
    home.ip(&["route", "add", "198.51.100.0/24", "via", "203.0.113.1"]);
    let mut live = serde_json::Value::Null;
    let followed = wait_until(Duration::from_secs(10), || {
        live = p.call(&id).unwrap_or_default();
        live["local_sip"] == "203.0.113.11:5060"
    });
    assert!(
        followed,
        "the call did not follow: {live}\n{}",
        p.log_tail()
    );
    // Its re-INVITE's SDP names what the STUN server sees now, not the
    // new private address.
    assert!(
        live["local_media"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&public_media),
        "the SDP after the move does not name the public media address: {live}\n{}",
        p.log_tail()
    );
    let log = support::read_lossy(&t.path().join("home/termphone.log"));
    assert!(
        log.contains("STUN asked again after an address move"),
        "STUN was not asked again:\n{}",
        p.log_tail()
    );
    let invites = k.count_requests("INVITE", "1001");
    assert!(invites >= 2, "no re-INVITE after the move:\n{}", k.log());
    p.hang_up(&id);
    b.stop();
}
