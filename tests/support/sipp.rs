//! SIPp runs of the scenarios in `tests/sipp/`: builds the command line
//! (loopback only, own SIP and media ports, message/error/stat traces in the
//! test dir), runs sipp in its own process group and collects the outcome.
//! On loopback by default, or in a host of a test bed ([`Sipp::at`]).

use super::netns::Place;
use super::phone::Phone;
use super::proc::ProcGuard;
use super::{free_port, free_port_range, read_lossy, tests_path};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

/// A sipp command line being built.
pub struct Sipp {
    scenario: String,
    dir: PathBuf,
    target: Option<SocketAddr>,
    service: Option<String>,
    calls: u32,
    extra: Vec<String>,
    timeout_s: u64,
    place: Place,
    pub port: u16,
    pub media_port: u16,
}

/// A running sipp.
pub struct SippRun {
    guard: ProcGuard,
    ip: std::net::IpAddr,
    dir: PathBuf,
    name: String,
    pub port: u16,
    pub media_port: u16,
}

/// What a finished sipp run left behind.
#[derive(Debug)]
pub struct SippResult {
    /// None: sipp had to be killed (did not end in time).
    pub status: Option<ExitStatus>,
    /// `-trace_msg` log: every message sent and received.
    pub messages: String,
    /// `-trace_err` log: unexpected messages and failures.
    pub errors: String,
    /// sipp's stdout/stderr (final statistics screen).
    pub screen: String,
    /// `-trace_stat` CSV (empty unless [`Sipp::stats`] was asked for).
    pub stats: String,
}

impl SippResult {
    /// Exit code 0: every call of the scenario succeeded.
    pub fn success(&self) -> bool {
        self.status.map(|s| s.code() == Some(0)).unwrap_or(false)
    }
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }
    /// The last value of a `-trace_stat` column, e.g. "SuccessfulCall(C)" or "FailedCall(C)".
    pub fn stat(&self, column: &str) -> Option<u64> {
        let mut lines = self.stats.lines();
        let idx = lines.next()?.split(';').position(|c| c == column)?;
        lines
            .filter_map(|l| l.split(';').nth(idx)?.trim().parse().ok())
            .next_back()
    }
    /// A summary for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "sipp exit {:?}\n--- errors ---\n{}\n--- messages (tail) ---\n{}\n--- screen (tail) ---\n{}",
            self.code(),
            last_chars(&self.errors, 3000),
            last_chars(&self.messages, 6000),
            last_chars(&self.screen, 2000)
        )
    }
}

fn last_chars(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

impl Sipp {
    /// `scenario` is a file name in `tests/sipp/` without `.xml` (e.g. "uas_486"),
    /// or a built-in scenario prefixed with `builtin:` (e.g. "builtin:uac").
    /// Files go to `dir` (created), which is also sipp's working directory.
    pub fn new(scenario: &str, dir: &Path) -> Sipp {
        std::fs::create_dir_all(dir).expect("sipp dir");
        Sipp {
            scenario: scenario.to_string(),
            dir: dir.to_path_buf(),
            target: None,
            service: None,
            calls: 1,
            extra: Vec::new(),
            timeout_s: 30,
            place: Place::loopback(),
            port: free_port(),
            media_port: free_port_range(3),
        }
    }
    /// Remote SIP address (UAC scenarios).
    pub fn target(mut self, addr: SocketAddr) -> Self {
        self.target = Some(addr);
        self
    }
    /// User part of the request URI (`-s`).
    pub fn service(mut self, user: &str) -> Self {
        self.service = Some(user.to_string());
        self
    }
    /// Number of calls before sipp exits (`-m`).
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = n;
        self
    }
    /// `-key name value`.
    pub fn key(mut self, name: &str, value: &str) -> Self {
        self.extra
            .extend(["-key".to_string(), name.to_string(), value.to_string()]);
        self
    }
    /// Any other sipp argument(s).
    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_string());
        self
    }
    /// Writes `-trace_stat` counters (every second) for [`SippResult::stat`].
    pub fn stats(self) -> Self {
        let csv = self.dir.join(format!("{}.stats.csv", self.file_stem()));
        self.arg("-trace_stat")
            .arg("-stf")
            .arg(&csv.display().to_string())
            .arg("-fd")
            .arg("1")
    }
    /// Global timeout: sipp exits (failing) after this many seconds.
    pub fn timeout(mut self, secs: u64) -> Self {
        self.timeout_s = secs;
        self
    }

    /// The full argument list.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        if let Some(builtin) = self.scenario.strip_prefix("builtin:") {
            a.extend(["-sn".into(), builtin.into()]);
        } else {
            let file = tests_path(&format!("sipp/{}.xml", self.scenario));
            a.extend(["-sf".into(), file.display().to_string()]);
        }
        if let Some(t) = self.target {
            a.push(t.to_string());
        }
        if let Some(s) = &self.service {
            a.extend(["-s".into(), s.clone()]);
        }
        let name = self.file_stem();
        let ip = self.place.ip.to_string();
        a.extend([
            "-i".into(),
            ip.clone(),
            "-mi".into(),
            ip,
            "-p".into(),
            self.port.to_string(),
            "-mp".into(),
            self.media_port.to_string(),
            "-m".into(),
            self.calls.to_string(),
            "-nostdin".into(),
            "-timeout".into(),
            format!("{}s", self.timeout_s),
            "-timeout_error".into(),
            "-trace_msg".into(),
            "-message_file".into(),
            self.dir
                .join(format!("{name}.messages.log"))
                .display()
                .to_string(),
            "-trace_err".into(),
            "-error_file".into(),
            self.dir
                .join(format!("{name}.errors.log"))
                .display()
                .to_string(),
        ]);
        a.extend(self.extra.iter().cloned());
        a
    }

    fn file_stem(&self) -> String {
        format!("sipp-{}-{}", self.scenario.replace(':', "_"), self.port)
    }

    /// Starts sipp in the background.
    pub fn spawn(self) -> SippRun {
        let name = self.file_stem();
        let mut cmd = Command::new("sipp");
        cmd.args(self.args()).current_dir(&self.dir);
        let log = self.dir.join(format!("{name}.screen.log"));
        let guard = ProcGuard::spawn("sipp", self.place.wrap(cmd), &log)
            .expect("start sipp (is sip-tester installed? scripts/install-test-deps.sh)");
        SippRun {
            guard,
            ip: self.place.ip,
            dir: self.dir,
            name,
            port: self.port,
            media_port: self.media_port,
        }
    }

    /// Runs sipp to the end (bounded by its timeout plus a margin).
    pub fn run(self) -> SippResult {
        let t = Duration::from_secs(self.timeout_s + 10);
        self.spawn().wait(t)
    }
}

impl SippRun {
    /// The SIP address sipp listens on (UAS scenarios).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    pub fn pid(&self) -> i32 {
        self.guard.pid()
    }

    /// Whether sipp is still running.
    pub fn running(&mut self) -> bool {
        self.guard.try_status().is_none()
    }

    /// The message trace so far.
    pub fn messages(&self) -> String {
        read_lossy(&self.dir.join(format!("{}.messages.log", self.name)))
    }

    /// When SIPp logged the first message containing `needle`: the
    /// time stamp (`2026-12-07 20:43:10.168924`, comparable as text
    /// between SIPp runs on one host) of its block in the message log.
    pub fn logged_at(&self, needle: &str) -> Option<String> {
        let mut stamp = None;
        for line in self.messages().lines() {
            if let Some(rest) = line.strip_prefix("-----") {
                stamp = Some(rest.trim_start_matches('-').trim().to_string());
            } else if line.contains(needle) {
                return stamp;
            }
        }
        None
    }

    /// Hangs `phone`'s call `id` up; its BYE must end this scenario
    /// successfully (within 10 s).
    pub fn ended_by_hang_up(self, phone: &mut Phone, id: &str) {
        phone.hang_up(id);
        let result = self.wait(Duration::from_secs(10));
        assert!(result.success(), "{}", result.describe());
    }

    /// Waits up to `timeout` for sipp to exit (else kills it) and collects its logs.
    pub fn wait(mut self, timeout: Duration) -> SippResult {
        let status = match self.guard.wait_timeout(timeout) {
            Some(s) => Some(s),
            None => {
                self.guard.stop(Duration::from_secs(2));
                None
            }
        };
        SippResult {
            status,
            messages: self.messages(),
            errors: read_lossy(&self.dir.join(format!("{}.errors.log", self.name))),
            screen: read_lossy(&self.dir.join(format!("{}.screen.log", self.name))),
            stats: read_lossy(&self.dir.join(format!("{}.stats.csv", self.name))),
        }
    }
}

/// One message of a SIPp `-trace_msg` log.
#[derive(Debug, Clone)]
pub struct TracedMessage {
    /// Sent by SIPp (else received).
    pub sent: bool,
    /// The text of the SIP message.
    pub text: String,
}

impl TracedMessage {
    /// The first line (request line or status line).
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("")
    }
    /// A request of `method` (e.g. "INVITE").
    pub fn is_request(&self, method: &str) -> bool {
        self.first_line().starts_with(&format!("{method} "))
    }
    /// A response with this status code.
    pub fn is_response(&self, code: u16) -> bool {
        self.first_line().starts_with(&format!("SIP/2.0 {code}"))
    }
    /// A header value (case-insensitive name, first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .skip(1)
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
    }
    /// The body (after the blank line).
    pub fn body(&self) -> &str {
        self.text.split_once("\n\n").map(|(_, b)| b).unwrap_or("")
    }
}

/// Splits a `-trace_msg` log into its messages.
pub fn parse_trace(trace: &str) -> Vec<TracedMessage> {
    let mut out = Vec::new();
    let trace = trace.replace("\r\n", "\n");
    for chunk in trace.split("----------------------------------------------- ") {
        let mut lines = chunk.splitn(3, '\n');
        let _stamp = lines.next();
        let Some(kind) = lines.next() else { continue };
        let sent = kind.contains("message sent");
        if !sent && !kind.contains("message received") {
            continue;
        }
        let text = lines.next().unwrap_or("").trim_start_matches('\n');
        out.push(TracedMessage {
            sent,
            text: text.trim_end().to_string() + "\n",
        });
    }
    out
}

impl SippResult {
    /// The messages of the `-trace_msg` log.
    pub fn traced(&self) -> Vec<TracedMessage> {
        parse_trace(&self.messages)
    }
}

impl Sipp {
    /// Runs in `place` (a host of a test bed), its SIP and media on the
    /// place's address, instead of on 127.0.0.1.
    pub fn at(mut self, place: &Place) -> Self {
        self.place = place.clone();
        self
    }

    /// Listens on this SIP port instead of a fresh one (e.g. where an earlier sipp was).
    pub fn on_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}
