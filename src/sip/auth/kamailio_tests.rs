//! Digest authentication against a real registrar: kamailio (started by the
//! test on a loopback port, killed at the end) challenges a REGISTER sent
//! through our transaction layer; the answer must be accepted over UDP and
//! TCP, and a wrong password refused. Skipped when kamailio is not installed.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::sip::msg::Method;
use crate::sip::transaction::{Endpoint, Timers};
use crate::sip::transport::{new_branch, new_call_id, new_tag, Peer, Protocol, Transport};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const CONFIG: &str = include_str!("kamailio-registrar.cfg.in");

struct Kamailio {
    pid: String,
    _dir: tempfile::TempDir,
}

impl Kamailio {
    fn start(port: u16) -> Option<Kamailio> {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().to_str().unwrap().to_string();
        let cfg = CONFIG
            .replace("@PORT@", &port.to_string())
            .replace("@RUNDIR@", &run);
        let cfg_path = dir.path().join("kamailio.cfg");
        std::fs::write(&cfg_path, cfg).unwrap();
        let pid_path = dir.path().join("kamailio.pid");
        let status = std::process::Command::new("kamailio")
            .arg("-f")
            .arg(&cfg_path)
            .arg("-P")
            .arg(&pid_path)
            .args(["-m", "64", "-M", "8", "-E", "-w", &run])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("kamailio.log")).unwrap())
            .status()
            .ok()?;
        assert!(
            status.success(),
            "kamailio failed to start: {}",
            log(dir.path())
        );
        for _ in 0..50 {
            if let Ok(pid) = std::fs::read_to_string(&pid_path) {
                if !pid.trim().is_empty() {
                    return Some(Kamailio {
                        pid: pid.trim().to_string(),
                        _dir: dir,
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("kamailio wrote no pid file: {}", log(dir.path()));
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default()
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg(&self.pid).status();
    }
}

fn register(ep: &Endpoint, proto: Protocol, user: &str, call_id: &str) -> Request {
    let via = ep.transport().via(proto, &new_branch());
    let local = ep.transport().local_addr();
    let transport = proto.as_str().to_ascii_lowercase();
    let text = format!(
        "REGISTER sip:test.local SIP/2.0\r\n\
         {via}\r\n\
         From: <sip:{user}@test.local>;tag={tag}\r\n\
         To: <sip:{user}@test.local>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:{user}@{local};transport={transport}>\r\n\
         Expires: 60\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n",
        tag = new_tag(),
    );
    Request::try_from(text.as_str()).unwrap()
}

async fn final_of(ep: &Endpoint, request: Request, peer: Peer) -> Response {
    let mut tx = ep.send_request(request, peer).await.unwrap();
    loop {
        let r = tokio::time::timeout(Duration::from_secs(5), tx.next_response())
            .await
            .expect("no response from kamailio")
            .expect("transaction ended without a final response");
        if r.status_code.code() >= 200 {
            return r;
        }
    }
}

#[tokio::test]
async fn kamailio_accepts_our_digest_answers() {
    if std::process::Command::new("kamailio")
        .arg("-v")
        .stdout(std::process::Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("kamailio not installed: skipping");
        return;
    }
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(_kamailio) = Kamailio::start(port) else {
        return;
    };
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (t, i) = Transport::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (ep, _up) = Endpoint::start(t, i, Timers::default());

    for proto in [Protocol::Udp, Protocol::Tcp] {
        let peer = Peer {
            protocol: proto,
            addr: server,
        };
        let mut state = DigestState::default();
        let creds = Credentials {
            user: "1001".into(),
            password: "pw1001".into(),
        };
        let req = register(&ep, proto, "1001", &new_call_id("test"));
        let challenge = final_of(&ep, req.clone(), peer).await;
        assert_eq!(challenge.status_code, StatusCode::Unauthorized, "{proto:?}");
        let answer = state.authorize(&req, &challenge, &creds).unwrap();
        assert_eq!(answer.method, Method::Register);
        let ok = final_of(&ep, answer.clone(), peer).await;
        assert_eq!(ok.status_code, StatusCode::OK, "{proto:?}: {ok}");

        // The same nonce again (nc=2) is still accepted.
        let again = state.authorize(&answer, &challenge, &creds).unwrap();
        let ok = final_of(&ep, again, peer).await;
        assert_eq!(ok.status_code, StatusCode::OK, "{proto:?} nc=2: {ok}");

        // A wrong password is refused.
        let wrong = Credentials {
            user: "1001".into(),
            password: "nope".into(),
        };
        let req = register(&ep, proto, "1001", &new_call_id("test"));
        let challenge = final_of(&ep, req.clone(), peer).await;
        let answer = DigestState::default()
            .authorize(&req, &challenge, &wrong)
            .unwrap();
        let refused = final_of(&ep, answer, peer).await;
        assert_ne!(refused.status_code, StatusCode::OK, "{proto:?}");
    }
}
