//! A home router on a test bed: a host of a [`super::netns::Bed`] that
//! forwards between its cables, masquerades a private network behind its
//! own address on the WAN side (nftables), lets in from outside only
//! answers to what went out, and, when asked, forgets quiet connections
//! sooner than the kernel would (as small home routers do). The one
//! builder for every NAT of the bed tests; it must not touch the hosts
//! either side of it. Needs `nft` and `sysctl` in the bed (scripts/install-test-deps.sh).

use super::netns::Netns;
use std::path::Path;

/// A NAT router set up on a host.
pub struct Router {
    ns: Netns,
}

impl Router {
    /// Makes `ns` a NAT router: forwards, masquerades `private` (e.g.
    /// "203.0.113.0/24") going out of `wan` (its interface on the public
    /// side) behind that interface's address, drops what nobody inside
    /// asked for. The rules file goes to `dir`.
    pub fn masquerade(ns: &Netns, private: &str, wan: &str, dir: &Path) -> Router {
        ns.run("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        let rules = format!(
            "table ip nat {{
    chain post {{
        type nat hook postrouting priority 100; policy accept;
        ip saddr {private} oifname \"{wan}\" masquerade
    }}
}}
table inet filter {{
    chain input {{
        type filter hook input priority 0; policy drop;
        iif \"lo\" accept
        ct state established,related accept
    }}
    chain forward {{
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        oifname \"{wan}\" accept
    }}
}}
"
        );
        std::fs::create_dir_all(dir).expect("router dir");
        let file = dir.join(format!("{}.nft", ns.name()));
        std::fs::write(&file, rules).expect("write the router's nft rules");
        ns.run("nft", &["-f", &file.display().to_string()]);
        Router { ns: ns.clone() }
    }

    /// Forgets a quiet UDP binding after `secs` seconds.
    pub fn forget_quiet_udp_after(&self, secs: u64) {
        for key in [
            "net.netfilter.nf_conntrack_udp_timeout",
            "net.netfilter.nf_conntrack_udp_timeout_stream",
        ] {
            self.ns.run("sysctl", &["-qw", &format!("{key}={secs}")]);
        }
    }

    /// Forgets a quiet established TCP connection after `secs` seconds, and
    /// takes no packet of a connection it forgot for a new one (so a
    /// connection nothing kept alive is gone for good).
    pub fn forget_quiet_tcp_after(&self, secs: u64) {
        self.ns.run(
            "sysctl",
            &[
                "-qw",
                &format!("net.netfilter.nf_conntrack_tcp_timeout_established={secs}"),
            ],
        );
        self.ns
            .run("sysctl", &["-qw", "net.netfilter.nf_conntrack_tcp_loose=0"]);
    }

    /// The router's host.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }
}
