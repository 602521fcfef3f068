//! `termphone doctor`: what a new user gets wrong, checked one line each
//! (ok, or the problem and its fix): each account's registrar resolves
//! and answers OPTIONS (`doctor/probe.rs`), the audio backend opens, the
//! control socket's directory is private, and the local address messages
//! would name, and each LDAP directory's bind (`doctor/directory.rs`).
//! The judgements are pure functions, table-tested beside
//! them; the IO (DNS, a socket per probe, the file system, the sound
//! device) happens in [`run`]. It starts no phone, registers nothing and
//! must not touch a running phone's socket or files.

mod directory;
mod probe;

use crate::config::{Account, BackendKind, Config};
use crate::sip::address::local_addr::{advertised, needs_route, route_target};
use crate::sip::dns::Resolver;
use crate::sip::transport::Peer;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// How long a registrar has to answer the OPTIONS.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked: `config`, `registrar office`, `audio`, …
    pub what: String,
    pub verdict: Verdict,
}

/// A check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok(String),
    Fail { problem: String, fix: String },
}

impl Check {
    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            what: what.into(),
            verdict: Verdict::Ok(detail.into()),
        }
    }

    pub fn fail(
        what: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            what: what.into(),
            verdict: Verdict::Fail {
                problem: problem.into(),
                fix: fix.into(),
            },
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.verdict, Verdict::Fail { .. })
    }

    /// The report line: `ok    what: detail` or `FAIL  what: problem; fix: …`.
    pub fn line(&self) -> String {
        match &self.verdict {
            Verdict::Ok(detail) => format!("ok    {}: {detail}", self.what),
            Verdict::Fail { problem, fix } => {
                format!("FAIL  {}: {problem}; fix: {fix}", self.what)
            }
        }
    }
}

/// Every check after the config parsed, in report order.
pub async fn run(config: &Config) -> Vec<Check> {
    let resolver = Resolver::new(&config.sip.dns_servers);
    let mut checks = Vec::new();
    let mut peers = Vec::new();
    for account in &config.accounts {
        let (check, peer) = registrar(account, &resolver).await;
        checks.push(check);
        peers.extend(peer);
    }
    checks.push(audio(config));
    checks.push(control_dir(&config.control_path()));
    checks.push(local_address(config.sip.listen, &peers));
    checks.extend(directory::checks(&config.directories).await);
    checks
}

/// Where the account's requests go: its proxy, else its domain; `None`
/// for an account that neither registers nor has a proxy (direct IP).
pub fn registrar_uri(account: &Account) -> Option<String> {
    match &account.proxy {
        Some(proxy) => Some(proxy.clone()),
        None if account.register => Some(format!("sip:{}", account.domain)),
        None => None,
    }
}

/// The account's registrar: resolved, then asked with OPTIONS.
async fn registrar(account: &Account, resolver: &Resolver) -> (Check, Option<Peer>) {
    let what = format!("registrar of account `{}`", account.name);
    let Some(uri) = registrar_uri(account) else {
        return (
            Check::ok(
                what,
                "none (no proxy, no registration: calls go to the dialled address)",
            ),
            None,
        );
    };
    let peers = match resolver.resolve(&uri).await {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => {
            return (
                Check::fail(what, format!("{uri} resolves to no address"), resolve_fix()),
                None,
            )
        }
        Err(e) => {
            return (
                Check::fail(what, format!("{uri}: {e}"), resolve_fix()),
                None,
            )
        }
    };
    let peer = peers[0];
    let answer = probe::options(account, &uri, peer, PROBE_TIMEOUT).await;
    (probe_verdict(what, &uri, peer, answer), Some(peer))
}

fn resolve_fix() -> String {
    "check the account's `proxy` / `domain` spelling, and `[sip] dns_servers` (or /etc/resolv.conf)"
        .into()
}

/// The OPTIONS probe's result as a line. Any answer counts: a 401/407 or
/// 404 still shows a SIP server listening there.
pub fn probe_verdict(
    what: String,
    uri: &str,
    peer: Peer,
    answer: Result<String, probe::ProbeError>,
) -> Check {
    let at = format!("{} over {}", peer.addr, peer.protocol.as_str());
    match answer {
        Ok(status) => Check::ok(what, format!("{uri} answers OPTIONS at {at} ({status})")),
        Err(probe::ProbeError::NotProbed(why)) => {
            Check::ok(what, format!("{uri} resolves to {at} ({why})"))
        }
        Err(probe::ProbeError::Refused) => Check::fail(
            what,
            format!("{uri}: nothing listens at {at} (connection refused / port unreachable)"),
            "is the PBX running? check the port in the account's `proxy` (e.g. `sip:pbx:5060`) and its `;transport=`",
        ),
        Err(probe::ProbeError::Silent) => Check::fail(
            what,
            format!(
                "{uri}: no answer to OPTIONS from {at} within {} s",
                PROBE_TIMEOUT.as_secs()
            ),
            "check the address and port in the account's `proxy`, the transport (`;transport=tcp`), and firewalls on the way",
        ),
        Err(probe::ProbeError::Io(e)) => Check::fail(
            what,
            format!("{uri}: cannot send to {at}: {e}"),
            "check the network: is there a route to the PBX from here?",
        ),
    }
}

/// The configured audio backend opens.
fn audio(config: &Config) -> Check {
    use crate::media::audio;
    let what = "audio";
    match config.audio.backend {
        BackendKind::Null => Check::ok(what, "null backend (no sound)"),
        BackendKind::File => {
            match audio::file::FileBackend::open(
                config.audio.input.as_deref(),
                config.audio.output_dir.as_deref(),
            ) {
                Ok(_) => Check::ok(
                    what,
                    format!(
                        "file backend: input {}, recordings to {}",
                        config
                            .audio
                            .input
                            .as_deref()
                            .map_or("silence".into(), |p| p.display().to_string()),
                        config
                            .audio
                            .output_dir
                            .as_deref()
                            .map_or("nowhere".into(), |p| p.display().to_string())
                    ),
                ),
                Err(e) => Check::fail(
                    what,
                    format!("file backend: {e}"),
                    "point `[audio] input` at a readable WAV and `output_dir` at a writable directory",
                ),
            }
        }
        BackendKind::Cpal => match audio::cpal::CpalBackend::open_with(&config.audio) {
            Ok(_) => Check::ok(what, "sound card: the default input and output devices open"),
            Err(e) => Check::fail(
                what,
                format!("sound card: {e}"),
                "connect or unmute a sound device (is PipeWire/PulseAudio running?), or set `[audio] backend = \"null\"`",
            ),
        },
    }
}

/// The control socket's directory: private to us (0700), or not made yet.
fn control_dir(socket: &Path) -> Check {
    use std::os::unix::fs::MetadataExt;
    let what = "control socket";
    let Some(dir) = socket.parent() else {
        return Check::fail(
            what,
            format!("{} has no directory", socket.display()),
            "set `control` (or --control) to a path in a directory of yours",
        );
    };
    let meta = std::fs::metadata(dir).ok().map(|m| (m.mode(), m.uid()));
    private_dir_verdict(socket, dir, meta, rustix::process::getuid().as_raw())
}

/// Whether the socket's directory (`meta`: its mode and owner, `None`
/// when it does not exist yet) keeps the socket private for `uid`.
pub fn private_dir_verdict(socket: &Path, dir: &Path, meta: Option<(u32, u32)>, uid: u32) -> Check {
    let what = "control socket";
    match meta {
        None => Check::ok(
            what,
            format!("{} (its directory is made 0700 at start)", socket.display()),
        ),
        Some((_, owner)) if owner != uid => Check::fail(
            what,
            format!("{} belongs to uid {owner}, not to you ({uid})", dir.display()),
            "set `control` (or --control) to a path in a directory of yours, e.g. $XDG_RUNTIME_DIR/termphone/control.sock",
        ),
        Some((mode, _)) if mode & 0o077 != 0 => Check::fail(
            what,
            format!(
                "{} is open to others (mode {:o}): anyone there could drive the phone",
                dir.display(),
                mode & 0o777
            ),
            format!("chmod 700 {}", dir.display()),
        ),
        Some(_) => Check::ok(what, format!("{} (directory private, 0700)", socket.display())),
    }
}

/// The local address SIP messages would name toward each registrar.
fn local_address(listen: SocketAddr, peers: &[Peer]) -> Check {
    let routes: Vec<(SocketAddr, Option<IpAddr>)> = peers
        .iter()
        .map(|p| {
            (
                p.addr,
                needs_route(listen).then(|| route_from(p.addr)).flatten(),
            )
        })
        .collect();
    address_verdict(listen, &routes)
}

/// The source address the OS picks toward `peer` (no packet is sent).
fn route_from(peer: SocketAddr) -> Option<IpAddr> {
    let target = route_target(peer);
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let socket = std::net::UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// What address each registrar would be told, and whether it can reach
/// it: a loopback address toward a peer elsewhere cannot be.
pub fn address_verdict(listen: SocketAddr, routes: &[(SocketAddr, Option<IpAddr>)]) -> Check {
    let what = "local address";
    let port = |a: SocketAddr| {
        if a.port() == 0 {
            format!("{} (a free port chosen at start)", a.ip())
        } else {
            a.to_string()
        }
    };
    if routes.is_empty() {
        return Check::ok(
            what,
            if needs_route(listen) {
                format!(
                    "listening on {}; each message names the address that routes to its peer",
                    port(listen)
                )
            } else {
                format!("{} (`[sip] listen`)", port(listen))
            },
        );
    }
    let mut shown = Vec::new();
    for (peer, route) in routes {
        let named = advertised(listen, *peer, *route);
        if named.ip().is_loopback() && !peer.ip().is_loopback() {
            return Check::fail(
                what,
                format!("messages to {peer} would name {named}, which it cannot reach"),
                if needs_route(listen) {
                    "no route to the PBX from this host: check the network (ip route)".to_string()
                } else {
                    "set `[sip] listen` to \"0.0.0.0:5062\" (or this host's address on the PBX's network)".to_string()
                },
            );
        }
        shown.push(format!("{} toward {peer}", port(named)));
    }
    Check::ok(what, shown.join(", "))
}

#[cfg(test)]
mod tests;
