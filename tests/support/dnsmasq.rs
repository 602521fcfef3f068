//! dnsmasq as the DNS server of `pbx.test` (apt `dnsmasq-base`): a plain
//! foreground process on 127.0.0.1 at a given port, or on a host of a test
//! bed at its address, answering only the records a test gives it (no
//! upstream, no /etc/hosts), killed on drop.

use super::netns::Place;
use super::proc::ProcGuard;
use super::{read_lossy, wait_until};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A running dnsmasq.
pub struct Dnsmasq {
    pub port: u16,
    /// The address it listens on (127.0.0.1 unless started in a bed's host).
    pub ip: IpAddr,
    log: PathBuf,
    _proc: ProcGuard,
}

impl Dnsmasq {
    /// Starts dnsmasq on 127.0.0.1:`port` with `records` (dnsmasq options
    /// such as `--srv-host=…`), its log in `dir`. Returns once it listens.
    pub fn start(dir: &Path, port: u16, records: &[String]) -> Dnsmasq {
        Self::start_in(dir, &Place::loopback(), port, records)
    }

    /// [`Dnsmasq::start`] in `place` (a host of a test bed): it listens on
    /// the place's address only, at `port` (53 for a LAN's own server).
    pub fn start_in(dir: &Path, place: &Place, port: u16, records: &[String]) -> Dnsmasq {
        std::fs::create_dir_all(dir).expect("dnsmasq dir");
        let log = dir.join(format!("dnsmasq-{port}.log"));
        let mut cmd = Command::new("dnsmasq");
        cmd.args([
            "-k",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            "--log-facility=-",
            "--log-queries",
            "--user=root",
            "--group=root",
        ])
        .arg(format!("--listen-address={}", place.ip))
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
        .args(records);
        let proc = ProcGuard::spawn("dnsmasq", place.wrap(cmd), &log).unwrap_or_else(|e| {
            panic!("cannot run dnsmasq ({e}): install dnsmasq-base (scripts/install-test-deps.sh)")
        });
        let d = Dnsmasq {
            port,
            ip: place.ip,
            log,
            _proc: proc,
        };
        let up = wait_until(Duration::from_secs(10), || d.log().contains("started"));
        assert!(up, "dnsmasq did not start:\n{}", d.log());
        d
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// Its log: start-up and one line per query.
    pub fn log(&self) -> String {
        read_lossy(&self.log)
    }
}
