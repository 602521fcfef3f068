//! Kamailio as registrar + proxy with digest auth (users 1001..1099 of
//! `test.local`, password `pw<user>`, UDP+TCP) from
//! `tests/peers/kamailio-registrar.cfg.in`. Kamailio daemonizes and forks
//! workers: the guard kills the pid from its pidfile and its whole process group.

use super::netns::Place;
use super::proc::{alive, signal};
use super::sip::SipProbe;
use super::{free_port, read_lossy, wait_for, wait_until};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TEMPLATE: &str = include_str!("../peers/kamailio-registrar.cfg.in");
const PRESENCE_TEMPLATE: &str = include_str!("../peers/kamailio-presence.cfg.in");
const SQLITE_SCHEMA_DIR: &str = "/usr/share/kamailio/db_sqlite";

/// Domain served by the registrar.
pub const DOMAIN: &str = "test.local";

/// A running kamailio, stopped on drop.
pub struct Kamailio {
    pub port: u16,
    /// The address it listens on (127.0.0.1 unless started in a bed's host).
    pub ip: IpAddr,
    pub dir: PathBuf,
    pid: i32,
}

impl Kamailio {
    /// Starts kamailio with its config, pid file and log in `dir` (created).
    /// Returns once it answers an OPTIONS on UDP.
    pub fn start(dir: &Path) -> Kamailio {
        Self::start_with(dir, TEMPLATE)
    }

    /// Starts kamailio as registrar + proxy + presence server (event packages
    /// presence, dialog with call-id and tags from pua_dialoginfo, and
    /// message-summary), with a sqlite database `presence.db` in `dir` made
    /// from kamailio's schema files.
    pub fn start_presence(dir: &Path) -> Kamailio {
        Self::start_presence_custom(dir, |t| t.to_string(), None)
    }

    /// [`Kamailio::start_presence`] with the config text passed through
    /// `edit` (e.g. to add a `modparam`) and, if given, on `port` (a restart
    /// on the port of an earlier instance, whose state is then gone).
    pub fn start_presence_custom(
        dir: &Path,
        edit: impl Fn(&str) -> String,
        port: Option<u16>,
    ) -> Kamailio {
        Self::start_presence_in(dir, edit, port, &Place::loopback())
    }

    /// [`Kamailio::start_presence_custom`] in `place` (a host of a test
    /// bed): listening on its address, and sending its own PUBLISHes and
    /// NOTIFYs from there.
    pub fn start_presence_in(
        dir: &Path,
        edit: impl Fn(&str) -> String,
        port: Option<u16>,
        place: &Place,
    ) -> Kamailio {
        std::fs::create_dir_all(dir).expect("kamailio dir");
        let db = dir.join("presence.db");
        let _ = std::fs::remove_file(&db);
        let conn = rusqlite::Connection::open(&db).expect("create presence.db");
        for file in ["standard-create.sql", "presence-create.sql"] {
            let sql = std::fs::read_to_string(Path::new(SQLITE_SCHEMA_DIR).join(file)).expect(
                "kamailio sqlite schema (install kamailio-sqlite-modules and kamailio-presence-modules)",
            );
            conn.execute_batch(&sql)
                .unwrap_or_else(|e| panic!("schema {file}: {e}"));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL journal mode");
        drop(conn);
        // Its own address where the template names loopback: the presence
        // server's address, pua's outbound proxy, its own requests' source.
        let host = match place.ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let template = edit(PRESENCE_TEMPLATE)
            .replace("\"sip:127.0.0.1:", &format!("\"sip:{host}:"))
            .replace("$si == \"127.0.0.1\"", &format!("$si == \"{}\"", place.ip));
        Self::start_in(dir, &template, port, place)
    }

    /// Starts kamailio from a config template with @PORT@ and @RUNDIR@ placeholders.
    pub fn start_with(dir: &Path, template: &str) -> Kamailio {
        Self::start_with_port(dir, template, None)
    }

    /// [`Kamailio::start_with`] on a given port (`None`: a free one).
    pub fn start_with_port(dir: &Path, template: &str, port: Option<u16>) -> Kamailio {
        Self::start_in(dir, template, port, &Place::loopback())
    }

    /// Starts the registrar in `place` (a host of a test bed), listening on
    /// its address and `port` (`None`: a free one).
    pub fn start_registrar_in(dir: &Path, place: &Place, port: Option<u16>) -> Kamailio {
        Self::start_in(dir, TEMPLATE, port, place)
    }

    /// [`Kamailio::start_with_port`] in `place`: its listen lines name the
    /// place's address instead of 127.0.0.1.
    pub fn start_in(dir: &Path, template: &str, port: Option<u16>, place: &Place) -> Kamailio {
        std::fs::create_dir_all(dir).expect("kamailio dir");
        let port = port.unwrap_or_else(free_port);
        let cfg = dir.join("kamailio.cfg");
        let host = match place.ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let text = template
            .replace("@PORT@", &port.to_string())
            .replace("@RUNDIR@", &dir.display().to_string())
            .replace("listen=udp:127.0.0.1:", &format!("listen=udp:{host}:"))
            .replace("listen=tcp:127.0.0.1:", &format!("listen=tcp:{host}:"));
        std::fs::write(&cfg, text).expect("write kamailio.cfg");
        let check = place
            .wrap(Command::new("kamailio"))
            .arg("-c")
            .arg("-f")
            .arg(&cfg)
            .output()
            .expect("run kamailio -c (is kamailio installed? scripts/install-test-deps.sh)");
        assert!(
            check.status.success(),
            "kamailio config check failed:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let pidfile = dir.join("kamailio.pid");
        let log = std::fs::File::create(dir.join("kamailio.log")).expect("kamailio.log");
        let err = log.try_clone().expect("log fd");
        // kamailio forks a daemon (its own session) and the launcher exits.
        let mut launcher = Command::new("kamailio");
        launcher
            .arg("-f")
            .arg(&cfg)
            .arg("-P")
            .arg(&pidfile)
            .args(["-m", "64", "-M", "8", "-E", "-w"])
            .arg(dir);
        let status = place
            .wrap(launcher)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .expect("start kamailio");
        let pid = wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
        });
        let k = Kamailio {
            port,
            ip: place.ip,
            dir: dir.to_path_buf(),
            pid: pid.unwrap_or(0),
        };
        assert!(
            status.success() && k.pid > 0,
            "kamailio did not start ({status}):\n{}",
            k.log()
        );
        let ip = place.ip;
        let probe = place.enter(move || SipProbe::toward(ip));
        let up = wait_until(Duration::from_secs(10), || {
            let msg = probe.options(k.addr(), "probe");
            probe
                .request(k.addr(), msg.as_bytes(), Duration::from_millis(300))
                .is_some()
        });
        assert!(up, "kamailio does not answer OPTIONS:\n{}", k.log());
        k
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// `sip:<ip>:<port>` (127.0.0.1 off a bed), for `proxy =` and outbound proxies.
    pub fn proxy_uri(&self) -> String {
        format!("sip:{}", self.addr())
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Kamailio's log: every request is logged as `REQ <method> from=<uri> ...`,
    /// each successful registration as `REGISTERED <aor>`.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.join("kamailio.log"))
    }

    /// How many requests of `method` from user `from_user` kamailio has received.
    pub fn count_requests(&self, method: &str, from_user: &str) -> usize {
        let needle = format!("REQ {method} from=sip:{from_user}@");
        self.log().lines().filter(|l| l.contains(&needle)).count()
    }

    /// Whether `user` has registered successfully (at least once).
    pub fn registered(&self, user: &str) -> bool {
        let needle = format!("REGISTERED sip:{user}@{DOMAIN}");
        self.log().lines().any(|l| l.contains(&needle))
    }

    /// Waits until `user` has registered.
    pub fn wait_registered(&self, user: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.registered(user))
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        if self.pid <= 0 {
            return;
        }
        signal(self.pid, "TERM");
        wait_until(Duration::from_secs(3), || !alive(self.pid));
        // Whatever is left: the daemon's process group and direct children.
        signal(-self.pid, "KILL");
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.pid.to_string()])
            .status();
        signal(self.pid, "KILL");
    }
}

/// The registrar config logging every request it receives whole, between
/// `SIPMSG-BEGIN` and `SIPMSG-END` lines (read back with
/// [`Kamailio::logged_messages`]); with `replies`, the replies it receives too.
pub fn logging_registrar(replies: bool) -> String {
    const LOG: &str = "xlog(\"L_NOTICE\", \"SIPMSG-BEGIN\\n$mb\\nSIPMSG-END\\n\");";
    let cfg = TEMPLATE.replacen(
        "request_route {\n",
        &format!("request_route {{\n    {LOG}\n"),
        1,
    );
    if !replies {
        return cfg;
    }
    cfg.replace(
        "\nrequest_route {",
        &format!("\nonreply_route {{\n    {LOG}\n}}\n\nrequest_route {{"),
    )
}

impl Kamailio {
    /// The SIP messages a [`logging_registrar`] logged, in order, its own
    /// liveness probes left out.
    pub fn logged_messages(&self) -> Vec<String> {
        self.log()
            .split("SIPMSG-BEGIN")
            .skip(1)
            .filter_map(|b| b.split("SIPMSG-END").next())
            .filter(|m| !m.contains("probe-"))
            .map(str::to_string)
            .collect()
    }
}
