//! Test bed shared by the integration tests: free ports, process guards that
//! never leave children behind, per-test temp dirs, wait helpers, and drivers
//! for the real peers (kamailio, SIPp, baresip) and for the `termphone` binary.
//! Configs are typed values ([`config::Config`]); the parties of a test are
//! set up by [`setup`] (`direct_phone`, `registered_phone`, `baresip`).
//! Each test file includes it with `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod baresip;
pub mod callctl;
pub mod capture;
pub mod config;
pub mod dnsmasq;
pub mod kamailio;
pub mod lossy;
pub mod netns;
pub mod office;
pub mod pbx;
pub mod phone;
pub mod pki;
pub mod proc;
pub mod router;
pub mod setup;
pub mod sip;
pub mod sipp;
pub mod slapd;
pub mod speech;
pub mod srtp_call;
pub mod tmux;
pub mod tone;
pub mod watcher;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Ports handed out by this test process (tests of one binary run in parallel threads).
static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());

fn port_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port free for UDP and TCP on 127.0.0.1, together with the `extra` ports above it
/// (`extra = 1` for baresip, which also binds port + 1). Never returns a port range
/// overlapping (or adjacent to) one returned before in this process. Ports come from
/// 15000..32000, below Linux's ephemeral range, so that sockets the peers bind to
/// port 0 (RTP, DNS) cannot take a port handed out here before its owner binds it.
pub fn free_port_range(extra: u16) -> u16 {
    for _ in 0..2000 {
        let base = 15000 + (sip::rand_u32() % 17000) as u16;
        let range: Vec<u16> = (base..=base + extra).collect();
        let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
        let clash = range
            .iter()
            .any(|p| taken.iter().any(|t| t.abs_diff(*p) <= 1));
        if clash || !range.iter().all(|p| port_free(*p)) {
            continue;
        }
        taken.extend(range);
        return base;
    }
    panic!("no free port range found on 127.0.0.1");
}

/// A port free for UDP and TCP on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_range(0)
}

/// A per-test temporary directory; kept (and its path printed) when the test panics,
/// or always when `TERMPHONE_TEST_KEEP` is set, so logs can be read afterwards.
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("termphone-{name}-"))
            .tempdir()
            .expect("create temp dir");
        let path = dir.path().to_path_buf();
        TestDir {
            dir: Some(dir),
            path,
        }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// A subdirectory, created.
    pub fn sub(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p).expect("create subdir");
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("TERMPHONE_TEST_KEEP").is_some() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("test files kept in {}", kept.display());
            }
        }
    }
}

/// Polls `f` every 50 ms until it returns true or `timeout` passes; returns its last answer.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Path of a file under the crate's `tests/` folder.
pub fn tests_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(rel)
}

/// Reads a file to a string, empty when missing (for logs).
pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The tail of a log file, for assertion messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let s = read_lossy(path);
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}
