//! OpenLDAP's slapd as a directory server: writes a `slapd.conf` (core,
//! cosine and inetOrgPerson schemas, one mdb database under the test dir),
//! loads a generated LDIF with `slapadd`, runs `slapd -d` in the foreground
//! on 127.0.0.1 at a free port, waits until it answers, and stops it on
//! drop. Also a "server" that accepts connections and never answers, for
//! the tests of a hanging directory.

use super::proc::ProcGuard;
use super::{free_port, tail, wait_until};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The suffix of the test directory.
pub const BASE: &str = "dc=example,dc=com";
/// The DN the phone binds as, and its password.
pub const BIND_DN: &str = "cn=phone,dc=example,dc=com";
pub const BIND_PW: &str = "phone-secret";

/// One person of the generated directory.
pub struct Person<'a> {
    pub cn: &'a str,
    pub display_name: Option<&'a str>,
    pub phones: &'a [&'a str],
    pub mobiles: &'a [&'a str],
}

/// A running slapd, stopped on drop.
pub struct Slapd {
    guard: ProcGuard,
    pub port: u16,
    log: PathBuf,
}

fn ldif(people: &[Person]) -> String {
    let mut out = format!(
        "dn: {BASE}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n\
         o: Example\ndc: example\n\n\
         dn: {BIND_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: phone\n\
         sn: phone\nuserPassword: {BIND_PW}\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n"
    );
    for p in people {
        out.push_str(&format!(
            "dn: cn={},ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: {}\nsn: {}\n",
            p.cn, p.cn, p.cn
        ));
        if let Some(d) = p.display_name {
            out.push_str(&format!("displayName: {d}\n"));
        }
        for n in p.phones {
            out.push_str(&format!("telephoneNumber: {n}\n"));
        }
        for n in p.mobiles {
            out.push_str(&format!("mobile: {n}\n"));
        }
        out.push('\n');
    }
    out
}

fn conf(dir: &Path) -> String {
    let data = dir.join("data");
    format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
         pidfile {pid}\nargsfile {args}\n\
         database mdb\nmaxsize 10485760\nsuffix \"{BASE}\"\n\
         rootdn \"cn=admin,{BASE}\"\nrootpw admin-secret\n\
         directory {data}\n\
         access to attrs=userPassword by anonymous auth by * none\n\
         access to * by dn.exact=\"{BIND_DN}\" read by * none\n",
        pid = dir.join("slapd.pid").display(),
        args = dir.join("slapd.args").display(),
        data = data.display(),
    )
}

impl Slapd {
    /// slapd with `people` under `ou=people`, readable by [`BIND_DN`] only.
    pub fn start(dir: &Path, people: &[Person]) -> Slapd {
        std::fs::create_dir_all(dir.join("data")).expect("slapd data dir");
        let conf_path = dir.join("slapd.conf");
        std::fs::write(&conf_path, conf(dir)).expect("slapd.conf written");
        let ldif_path = dir.join("people.ldif");
        std::fs::write(&ldif_path, ldif(people)).expect("LDIF written");
        let added = Command::new("slapadd")
            .arg("-f")
            .arg(&conf_path)
            .arg("-l")
            .arg(&ldif_path)
            .output()
            .expect("slapadd (apt ldap package `slapd`, scripts/install-test-deps.sh) runs");
        assert!(
            added.status.success(),
            "slapadd failed: {}{}",
            String::from_utf8_lossy(&added.stdout),
            String::from_utf8_lossy(&added.stderr)
        );
        let port = free_port();
        let log = dir.join("slapd.log");
        let mut cmd = Command::new("slapd");
        cmd.arg("-f")
            .arg(&conf_path)
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            .arg("-d")
            .arg("256");
        let guard = ProcGuard::spawn("slapd", cmd, &log)
            .expect("slapd (apt `slapd`, scripts/install-test-deps.sh) starts");
        let mut s = Slapd { guard, port, log };
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up {
            s.guard.stop(Duration::from_secs(2));
            panic!("slapd did not listen on {port}:\n{}", tail(&s.log, 30));
        }
        s
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log, 30)
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.guard.stop(Duration::from_secs(3));
    }
}

/// A TCP listener on 127.0.0.1 that accepts every connection and never
/// says a word: a hung directory server. Stops with the test.
pub struct SilentServer {
    pub addr: SocketAddr,
    _stop: std::sync::mpsc::Sender<()>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            // Until the sender is dropped: accept and hold every connection.
            while let Err(std::sync::mpsc::TryRecvError::Empty) = rx.try_recv() {
                if let Ok((conn, _)) = listener.accept() {
                    held.push(conn);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SilentServer { addr, _stop: tx }
    }

    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }
}
