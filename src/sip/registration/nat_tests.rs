//! The registration behind a NAT, against a registrar on loopback that
//! reports in `received`/`rport` whatever public address the test says:
//! the Contact follows the learned address, the old binding is removed,
//! keep-alives flow only while a NAT is seen and notice a new mapping.

use super::*;
use crate::sip::transaction::Timers;
use crate::sip::transport::Transport;
use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// A registrar that answers every request 200, telling it came from `seen`
/// (`None`: from where it really came, no `received`).
struct Registrar {
    sock: UdpSocket,
}

/// One request as text lines.
struct Got {
    method: String,
    lines: Vec<String>,
}

impl Got {
    fn headers(&self, name: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }
}

impl Registrar {
    async fn next(&self, within: Duration) -> Option<(Got, SocketAddr)> {
        let mut buf = vec![0u8; 65_536];
        let (n, from) = tokio::time::timeout(within, self.sock.recv_from(&mut buf))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let lines: Vec<String> = text.split("\r\n").map(str::to_string).collect();
        let method = lines[0].split(' ').next().unwrap_or_default().to_string();
        Some((Got { method, lines }, from))
    }

    /// Answers `req` 200, its top Via saying we saw it from `seen`.
    async fn ok(&self, req: &Got, from: SocketAddr, seen: Option<SocketAddr>) {
        let via = req.headers("Via")[0].to_string();
        let via = match seen {
            Some(s) => via.replace(
                ";rport",
                &format!(";received={};rport={}", s.ip(), s.port()),
            ),
            None => via,
        };
        let mut text = format!("SIP/2.0 200 OK\r\nVia: {via}\r\n");
        for name in ["From", "Call-ID", "CSeq"] {
            text += &format!("{name}: {}\r\n", req.headers(name)[0]);
        }
        text += &format!("To: {};tag=reg\r\n", req.headers("To")[0]);
        for c in req.headers("Contact") {
            if !c.contains("expires=0") {
                text += &format!("Contact: {c};expires=60\r\n");
            }
        }
        text += "Content-Length: 0\r\n\r\n";
        self.sock.send_to(text.as_bytes(), from).await.unwrap();
    }
}

async fn start(
    keepalive_s: u32,
) -> (
    Registrar,
    SocketAddr,
    mpsc::UnboundedReceiver<RegistrationStatus>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let registrar = sock.local_addr().unwrap();
    let (t, inbound) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let local = t.local_addr();
    let (ep, _up) = Endpoint::start(t, inbound, Timers::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let cfg = RegistrationConfig {
        account: "home".into(),
        aor: "sip:1001@test.local".into(),
        registrar_uri: "sip:test.local".into(),
        next_hop: format!("sip:{registrar}"),
        resolver: Resolver::new(&[]),
        proxy: None,
        credentials: None,
        expires: 60,
        keepalive_s,
    };
    let task = spawn(ep, cfg, tx, cancel.clone());
    (Registrar { sock }, local, rx, cancel, task)
}

async fn registered(rx: &mut mpsc::UnboundedReceiver<RegistrationStatus>) -> RegistrationStatus {
    loop {
        let s = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("no status")
            .expect("status channel closed");
        if s.registered {
            return s;
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn contact_follows_the_learned_public_address_and_keepalives_notice_a_new_one() {
    let (reg, local, mut rx, cancel, task) = start(1).await;
    let public: SocketAddr = "198.51.100.1:5060".parse().unwrap();
    let moved: SocketAddr = "198.51.100.2:5060".parse().unwrap();

    // First REGISTER names our own address; the answer shows a NAT.
    let (r1, from) = reg.next(WAIT).await.expect("no REGISTER");
    assert_eq!(r1.method, "REGISTER");
    assert_eq!(r1.headers("Contact"), [format!("<sip:1001@{local}>")]);
    assert!(r1.headers("Via")[0].contains(";rport"), "{:?}", r1.lines);
    reg.ok(&r1, from, Some(public)).await;

    // At once again, with the public Contact, the old binding removed.
    let (r2, from) = reg.next(WAIT).await.expect("no second REGISTER");
    assert_eq!(r2.method, "REGISTER");
    assert_eq!(
        r2.headers("Contact"),
        [
            format!("<sip:1001@{public}>"),
            format!("<sip:1001@{local}>;expires=0")
        ]
    );
    // Via keeps naming our own address.
    assert!(r2.headers("Via")[0].contains(&local.to_string()));
    reg.ok(&r2, from, Some(public)).await;
    let st = registered(&mut rx).await;
    assert_eq!((st.local, st.public), (local, Some(public)));

    // Keep-alives: OPTIONS to the registrar, about every second.
    let (k1, from) = reg.next(WAIT).await.expect("no keep-alive");
    assert_eq!(k1.method, "OPTIONS");
    assert!(
        k1.lines[0].starts_with("OPTIONS sip:test.local "),
        "{:?}",
        k1.lines
    );
    reg.ok(&k1, from, Some(public)).await;
    let (k2, from) = reg.next(WAIT).await.expect("no second keep-alive");
    assert_eq!(k2.method, "OPTIONS");
    // This answer shows a new mapping: registered again at once.
    reg.ok(&k2, from, Some(moved)).await;
    let (r3, from) = reg
        .next(WAIT)
        .await
        .expect("no REGISTER after the new mapping");
    assert_eq!(r3.method, "REGISTER");
    assert_eq!(
        r3.headers("Contact"),
        [
            format!("<sip:1001@{moved}>"),
            format!("<sip:1001@{public}>;expires=0")
        ]
    );
    reg.ok(&r3, from, Some(moved)).await;
    let st = registered(&mut rx).await;
    assert_eq!(st.public, Some(moved));

    // Unregistering removes the binding where we are.
    cancel.cancel();
    loop {
        let (r, from) = reg.next(WAIT).await.expect("no unREGISTER");
        if r.method == "REGISTER" {
            assert_eq!(r.headers("Expires"), ["0"]);
            assert_eq!(r.headers("Contact"), [format!("<sip:1001@{moved}>")]);
            reg.ok(&r, from, Some(moved)).await;
            break;
        }
        reg.ok(&r, from, Some(moved)).await;
    }
    task.await.unwrap();
}

#[tokio::test]
async fn without_a_nat_the_contact_stays_and_no_keepalives_go() {
    let (reg, local, mut rx, cancel, task) = start(1).await;
    let (r1, from) = reg.next(WAIT).await.expect("no REGISTER");
    assert_eq!(r1.headers("Contact"), [format!("<sip:1001@{local}>")]);
    // rport filled in, the address as sent: no NAT.
    reg.ok(&r1, from, Some(local)).await;
    let st = registered(&mut rx).await;
    assert_eq!((st.local, st.public), (local, None));
    // Nothing more within three keep-alive intervals.
    assert!(
        reg.next(Duration::from_secs(3)).await.is_none(),
        "a request was sent without a NAT"
    );
    cancel.cancel();
    let (r, from) = reg.next(WAIT).await.expect("no unREGISTER");
    assert_eq!(r.headers("Expires"), ["0"]);
    reg.ok(&r, from, None).await;
    task.await.unwrap();
}
