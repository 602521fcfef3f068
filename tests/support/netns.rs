//! A test bed of hosts on separate networks: each host a Linux network
//! namespace (loopback up), joined by veth pairs or, for a LAN, by a bridge
//! in a namespace of its own. Addresses come only from the documentation
//! ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
//! and no namespace gets a route out, so no packet leaves the bed.
//!
//! Names are `tp-<pid>-<n>-<host>`, unique per test; [`Bed`] deletes its
//! namespaces (their veths and bridges go with them) and kills what still
//! runs in them on drop, also when the test panics, and a new bed first
//! removes those of killed earlier runs (same prefix, dead pid). Programs run
//! in a host through `ip netns exec` ([`Netns::wrap`]); the test's own
//! sockets through a thread that entered the namespace ([`Netns::enter`]).
//! Needs root and `ip` (iproute2): without them the test fails and says so.

use super::proc::{alive, signal};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const PREFIX: &str = "tp-";

/// Beds made by this test process (tests of one binary run in parallel).
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The documentation ranges a bed may use.
fn documentation_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            matches!(
                (o[0], o[1], o[2]),
                (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
            )
        }
        IpAddr::V6(v6) => v6.segments()[0] == 0x2001 && v6.segments()[1] == 0x0db8,
    }
}

/// Runs `ip args…`; panics with its stderr when it fails.
fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip` (install iproute2): {e}"));
    assert!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails the test, with the reason, when network namespaces cannot be made.
fn require_root_and_ip() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "this test builds hosts as network namespaces and needs root (effective uid {uid}); run it as root (.ci/run does)"
    );
    let ok = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this test needs `ip` from iproute2 (scripts/install-test-deps.sh)"
    );
}

/// The namespaces that exist, by name.
fn namespaces() -> Vec<String> {
    ip(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Kills what runs in namespace `name` and deletes it.
fn remove(name: &str) {
    let pids = Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        signal(pid, "KILL");
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(name));
}

/// Removes the namespaces of earlier test runs whose process is gone.
fn remove_stale() {
    for name in namespaces() {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() as i32 && !alive(pid) {
                remove(&name);
            }
        }
    }
}

/// A network namespace (a host or a LAN's switch) of a [`Bed`].
#[derive(Debug, Clone)]
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec <ns> <program> <args…>`, with `cmd`'s environment and
    /// working directory: the same command, run inside this namespace.
    pub fn wrap(&self, cmd: Command) -> Command {
        let mut wrapped = Command::new("ip");
        wrapped
            .args(["netns", "exec", &self.name])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => wrapped.env(key, v),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    /// A command for `program` run inside this namespace.
    pub fn command(&self, program: &str) -> Command {
        self.wrap(Command::new(program))
    }

    /// Runs `f` on a thread inside this namespace and returns its result:
    /// sockets it makes belong to the namespace and stay there when used
    /// from other threads.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = Path::new("/var/run/netns").join(&self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path)
                .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&file),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap_or_else(|e| panic!("enter network namespace {}: {e}", path.display()));
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// Runs `program args…` inside this namespace; panics with its stderr
    /// when it fails. Its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} (scripts/install-test-deps.sh): {e}"));
        assert!(
            out.status.success(),
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ip args…` inside this namespace.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Renumbers the host: removes `old_cidr` from `dev`, then adds
    /// `new_cidr` (as a DHCP lease that changed does). In this order, as
    /// removing the primary address of a subnet removes its secondaries.
    pub fn replace_address(&self, dev: &str, old_cidr: &str, new_cidr: &str) {
        self.ip(&["addr", "del", old_cidr, "dev", dev]);
        self.add_address(dev, new_cidr);
    }

    /// Adds `cidr` (e.g. "198.51.100.10/24", "2001:db8::1/64") to `dev`.
    fn add_address(&self, dev: &str, cidr: &str) {
        let addr: IpAddr = cidr
            .split('/')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("not an address/prefix: {cidr}"));
        assert!(
            documentation_address(addr),
            "{cidr} is outside the documentation ranges a test bed may use"
        );
        if addr.is_ipv6() {
            // No duplicate address detection: the address is usable at once.
            self.ip(&["addr", "add", cidr, "dev", dev, "nodad"]);
        } else {
            self.ip(&["addr", "add", cidr, "dev", dev]);
        }
    }
}

/// One network interface name per host, in order: eth0, eth1, …
fn next_dev(host: &Netns, used: &mut Vec<(String, usize)>) -> String {
    let n = match used.iter_mut().find(|(h, _)| *h == host.name) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            used.push((host.name.clone(), 0));
            0
        }
    };
    format!("eth{n}")
}

/// The namespaces of one test, deleted on drop.
pub struct Bed {
    prefix: String,
    made: Vec<String>,
    devs: Vec<(String, usize)>,
    lans: usize,
}

impl Bed {
    /// A new, empty bed; removes those of killed earlier runs first.
    pub fn new() -> Bed {
        require_root_and_ip();
        remove_stale();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        Bed {
            prefix: format!("{PREFIX}{}-{n}-", std::process::id()),
            made: Vec::new(),
            devs: Vec::new(),
            lans: 0,
        }
    }

    fn namespace(&mut self, suffix: &str) -> Netns {
        let name = format!("{}{suffix}", self.prefix);
        ip(&["netns", "add", &name]);
        self.made.push(name.clone());
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A host: a namespace with loopback up and nothing else.
    pub fn host(&mut self, name: &str) -> Netns {
        self.namespace(name)
    }

    /// A cable between two hosts: a veth pair, `a_cidr` on `a`'s end and
    /// `b_cidr` on `b`'s (either address family, or one of each call).
    pub fn link(&mut self, a: &Netns, a_cidr: &str, b: &Netns, b_cidr: &str) {
        let a_dev = next_dev(a, &mut self.devs);
        let b_dev = next_dev(b, &mut self.devs);
        ip(&[
            "link", "add", &a_dev, "netns", &a.name, "type", "veth", "peer", "name", &b_dev,
            "netns", &b.name,
        ]);
        a.add_address(&a_dev, a_cidr);
        b.add_address(&b_dev, b_cidr);
        a.ip(&["link", "set", &a_dev, "up"]);
        b.ip(&["link", "set", &b_dev, "up"]);
    }

    /// A LAN: a bridge in a namespace of its own, each host cabled to it
    /// with its address (`(host, "198.51.100.10/24")`, or for an IPv6 LAN
    /// `(host, "2001:db8::10/64")`, usable at once: no duplicate address
    /// detection). A host on an IPv6 LAN only is an IPv6-only host.
    pub fn lan(&mut self, members: &[(&Netns, &str)]) -> Netns {
        self.lans += 1;
        let switch = self.namespace(&format!("lan{}", self.lans));
        // No multicast snooping: IPv6 neighbour discovery is multicast,
        // and a LAN of either family just floods it, as a plain switch does.
        switch.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        switch.ip(&["link", "set", "br0", "up"]);
        for (host, cidr) in members {
            let port = next_dev(&switch, &mut self.devs);
            let dev = next_dev(host, &mut self.devs);
            ip(&[
                "link",
                "add",
                &port,
                "netns",
                &switch.name,
                "type",
                "veth",
                "peer",
                "name",
                &dev,
                "netns",
                &host.name,
            ]);
            switch.ip(&["link", "set", &port, "master", "br0"]);
            switch.ip(&["link", "set", &port, "up"]);
            host.add_address(&dev, cidr);
            host.ip(&["link", "set", &dev, "up"]);
        }
        switch
    }
}

impl Default for Bed {
    fn default() -> Self {
        Bed::new()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for name in self.made.iter().rev() {
            remove(name);
        }
    }
}

/// Where a peer runs: in a host of a bed (or on this host's loopback) and
/// on which address it listens.
#[derive(Debug, Clone)]
pub struct Place {
    pub netns: Option<Netns>,
    pub ip: IpAddr,
}

impl Place {
    /// This host, 127.0.0.1: where every peer ran before there were beds.
    pub fn loopback() -> Place {
        Place {
            netns: None,
            ip: IpAddr::from([127, 0, 0, 1]),
        }
    }

    /// Host `netns` of a bed, on its address `ip`.
    pub fn on(netns: &Netns, ip: &str) -> Place {
        Place {
            netns: Some(netns.clone()),
            ip: ip
                .parse()
                .unwrap_or_else(|_| panic!("not an IP address: {ip}")),
        }
    }

    /// `cmd`, run in this place's namespace (as it is on this host).
    pub fn wrap(&self, cmd: Command) -> Command {
        match &self.netns {
            Some(ns) => ns.wrap(cmd),
            None => cmd,
        }
    }

    /// Runs `f` in this place's namespace (here on this host).
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match &self.netns {
            Some(ns) => ns.enter(f),
            None => f(),
        }
    }
}
