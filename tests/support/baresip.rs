//! baresip 1.0 as a peer: writes a config dir (ctrl_tcp for JSON commands,
//! aufile as microphone, sndfile dumping each call's audio, aubridge as a
//! real-time paced player), runs `baresip -f dir -n 127.0.0.1` and talks to
//! it over ctrl_tcp (netstring-framed JSON). sndfile names its files
//! `dump-<YYYY-MM-DD-HH-MM-SS>-dec.wav` (received, decoded) and `…-enc.wav`
//! (sent), so with one call per instance the received audio is the one `-dec.wav`.
//! The srtp module is loaded; an account uses it with `mediaenc`.

use super::netns::Place;
use super::proc::ProcGuard;
use super::{free_port, free_port_range, tail};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How to set baresip up.
#[derive(Debug, Clone)]
pub struct BaresipOpts {
    /// SIP user (e.g. "1002"); the AOR is `sip:<user>@test.local` when registering.
    pub user: String,
    /// Registrar / outbound proxy (kamailio); None: no registration, AOR `sip:<user>@127.0.0.1`.
    pub registrar: Option<SocketAddr>,
    /// Password (default `pw<user>`, the test registrar's rule).
    pub password: Option<String>,
    /// WAV played as the microphone.
    pub source_wav: PathBuf,
    /// Answer incoming calls at once.
    pub auto_answer: bool,
    /// The account's `mediaenc` (`srtp`: SRTP when the peer takes it,
    /// `srtp-mand`: SRTP only); `None`: plain RTP.
    pub mediaenc: Option<String>,
    /// The account's `audio_codecs` (`G722`, `opus`): the wideband
    /// modules are loaded and the audio runs at `rate` Hz; `None`: G.711
    /// at 8 kHz only.
    pub wideband: Option<(String, u32)>,
}

/// A running baresip, killed on drop.
pub struct Baresip {
    guard: ProcGuard,
    pub dir: PathBuf,
    pub sip_port: u16,
    /// The address SIP and RTP listen on (127.0.0.1 off a bed).
    pub ip: IpAddr,
    pub ctrl_port: u16,
    pub snd_dir: PathBuf,
    pub user: String,
    ctrl: Ctrl,
    log: PathBuf,
}

struct Ctrl {
    stream: TcpStream,
    rx: Receiver<Value>,
    /// Events seen so far (every non-response message).
    events: Vec<Value>,
    pending: VecDeque<Value>,
    token: u64,
}

/// Splits netstrings (`<len>:<data>,`) off the front of `buf`.
fn take_netstrings(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(colon) = buf.iter().position(|b| *b == b':') {
        let Some(len) = std::str::from_utf8(&buf[..colon])
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
        else {
            buf.clear();
            break;
        };
        if buf.len() < colon + 1 + len + 1 {
            break;
        }
        out.push(buf[colon + 1..colon + 1 + len].to_vec());
        buf.drain(..colon + 1 + len + 1);
    }
    out
}

impl Baresip {
    pub fn start(dir: &Path, opts: BaresipOpts) -> Baresip {
        Self::start_in(dir, opts, &Place::loopback())
    }

    /// [`Baresip::start`] with `extra` lines appended to its config (e.g.
    /// the opus module's `opus_bitrate 12000`).
    pub fn start_with_config(dir: &Path, opts: BaresipOpts, extra: &str) -> Baresip {
        Self::launch(dir, opts, &Place::loopback(), None, extra)
    }

    /// An auto-answering baresip `user` in `place`, registered at
    /// `registrar` and playing a `hz` tone of `secs` seconds (the WAV is
    /// written in `dir`). Panics when it is not registered within 10 s.
    pub fn tone_callee_in(
        dir: &Path,
        user: &str,
        registrar: SocketAddr,
        (hz, secs): (f64, f64),
        place: &Place,
    ) -> Baresip {
        std::fs::create_dir_all(dir).expect("baresip dir");
        let source_wav = dir.join(format!("tone-{hz}.wav"));
        super::tone::write_sine_wav(&source_wav, hz, 8000, secs);
        let mut b = Self::start_in(
            dir,
            BaresipOpts {
                user: user.into(),
                registrar: Some(registrar),
                password: None,
                source_wav,
                auto_answer: true,
                mediaenc: None,
                wideband: None,
            },
            place,
        );
        assert!(
            b.wait_registered(Duration::from_secs(10)),
            "baresip {user} in {} not registered:\n{}",
            dir.display(),
            b.log()
        );
        b
    }

    /// [`Baresip::start`] in `place` (a host of a test bed): SIP and RTP on
    /// its address, ctrl_tcp on the host's loopback.
    pub fn start_in(dir: &Path, opts: BaresipOpts, place: &Place) -> Baresip {
        Self::launch(dir, opts, place, None, "")
    }

    /// [`Baresip::start`] with SIP over TLS: the account's AOR and its
    /// outbound proxy (the registrar) say `;transport=tls`, and `sip_cafile`
    /// names `ca_file`, the CA of the registrar's certificate. baresip 1.0
    /// (libre) listens for TLS on `sip_port + 1`, which `free_port_range`
    /// keeps free.
    pub fn start_tls(dir: &Path, opts: BaresipOpts, ca_file: &Path) -> Baresip {
        Self::launch(dir, opts, &Place::loopback(), Some(ca_file), "")
    }

    fn launch(
        dir: &Path,
        opts: BaresipOpts,
        place: &Place,
        tls_ca: Option<&Path>,
        extra: &str,
    ) -> Baresip {
        let ip = place.ip;
        let sip_host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let cfg = dir.join("baresip");
        let snd_dir = cfg.join("snd");
        std::fs::create_dir_all(&snd_dir).expect("baresip dirs");
        let sip_port = free_port_range(1);
        let ctrl_port = free_port();
        let dns_port = free_port();
        let config = format!(
            "poll_method epoll\n\
             sip_listen {sip_host}:{sip_port}\n\
             dns_server 127.0.0.1:{dns_port}\n\
             audio_player aubridge,player\n\
             audio_alert aubridge,player\n\
             audio_source aufile,{src}\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module aufile.so\n\
             module aubridge.so\n\
             module sndfile.so\n\
             module srtp.so\n\
             {wide}\
             module ctrl_tcp.so\n\
             module_app account.so\n\
             module_app contact.so\n\
             module_app menu.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n\
             snd_path {snd}\n{tls}{extra}",
            src = opts.source_wav.display(),
            snd = snd_dir.display(),
            wide = match &opts.wideband {
                Some((_, rate)) => format!(
                    "module g722.so\nmodule opus.so\nausrc_srate {rate}\nauplay_srate {rate}\nausrc_channels 1\nauplay_channels 1\n"
                ),
                None => String::new(),
            },
            tls = match tls_ca {
                Some(ca) => format!("sip_cafile {}\n", ca.display()),
                None => String::new(),
            }
        );
        let transport = if tls_ca.is_some() {
            ";transport=tls"
        } else {
            ""
        };
        std::fs::write(cfg.join("config"), config).expect("baresip config");
        let password = opts
            .password
            .clone()
            .unwrap_or_else(|| format!("pw{}", opts.user));
        let mut answer = if opts.auto_answer {
            ";answermode=auto".to_string()
        } else {
            String::new()
        };
        if let Some(enc) = &opts.mediaenc {
            answer.push_str(&format!(";mediaenc={enc}"));
        }
        if let Some((codecs, _)) = &opts.wideband {
            answer.push_str(&format!(";audio_codecs={codecs}"));
        }
        let account = match opts.registrar {
            Some(reg) => format!(
                "<sip:{u}@test.local{transport}>;auth_pass={password};outbound=\"sip:{reg}{transport}\";regint=60{answer}\n",
                u = opts.user
            ),
            None => format!("<sip:{u}@{sip_host}>;regint=0{answer}\n", u = opts.user),
        };
        std::fs::write(cfg.join("accounts"), account).expect("baresip accounts");
        std::fs::write(cfg.join("contacts"), "").expect("baresip contacts");
        let log = dir.join("baresip.log");
        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&cfg).arg("-n").arg(ip.to_string());
        let mut guard = ProcGuard::spawn("baresip", place.wrap(cmd), &log)
            .expect("start baresip (is it installed? scripts/install-test-deps.sh)");
        let end = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            if let Ok(s) = place.enter(move || TcpStream::connect(("127.0.0.1", ctrl_port))) {
                break s;
            }
            if guard.try_status().is_some() || Instant::now() >= end {
                panic!("baresip ctrl_tcp not reachable:\n{}", tail(&log, 40));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let reader = stream.try_clone().expect("clone ctrl stream");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = reader;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                for msg in take_netstrings(&mut buf) {
                    if let Ok(v) = serde_json::from_slice::<Value>(&msg) {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Baresip {
            guard,
            dir: dir.to_path_buf(),
            sip_port,
            ip,
            ctrl_port,
            snd_dir,
            user: opts.user,
            ctrl: Ctrl {
                stream,
                rx,
                events: Vec::new(),
                pending: VecDeque::new(),
                token: 0,
            },
            log,
        }
    }

    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.sip_port)
    }

    /// Direct URI of this baresip (no registrar involved).
    pub fn direct_uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.sip_addr())
    }

    pub fn log(&self) -> String {
        tail(&self.log, 60)
    }

    fn pump(&mut self, timeout: Duration) -> bool {
        match self.ctrl.rx.recv_timeout(timeout) {
            Ok(v) => {
                if v.get("event").and_then(Value::as_bool) == Some(true) {
                    self.ctrl.events.push(v);
                } else {
                    self.ctrl.pending.push_back(v);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Sends a ctrl_tcp command and returns its response object (`ok`, `data`).
    pub fn command(&mut self, command: &str, params: &str) -> Value {
        self.ctrl.token += 1;
        let token = format!("t{}", self.ctrl.token);
        let body = json!({"command": command, "params": params, "token": token}).to_string();
        let frame = format!("{}:{},", body.len(), body);
        self.ctrl
            .stream
            .write_all(frame.as_bytes())
            .expect("write to baresip ctrl_tcp");
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pos) = self
                .ctrl
                .pending
                .iter()
                .position(|v| v.get("token").and_then(Value::as_str) == Some(token.as_str()))
            {
                return self.ctrl.pending.remove(pos).unwrap_or(Value::Null);
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "baresip gave no response to {command}:\n{}",
                self.log()
            );
            self.pump(left);
        }
    }

    pub fn dial(&mut self, uri: &str) -> Value {
        self.command("dial", uri)
    }
    pub fn accept(&mut self) -> Value {
        self.command("accept", "")
    }
    pub fn hangup(&mut self) -> Value {
        self.command("hangup", "")
    }

    /// Waits until `reginfo` reports the account registered ("OK").
    pub fn wait_registered(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            let r = self.command("reginfo", "");
            let data = r.get("data").and_then(Value::as_str).unwrap_or("");
            if data.contains("OK") {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for an event of `kind` (e.g. "CALL_ESTABLISHED", "CALL_CLOSED",
    /// "CALL_INCOMING"); also finds events that arrived earlier.
    pub fn wait_event(&mut self, kind: &str, timeout: Duration) -> Option<Value> {
        let end = Instant::now() + timeout;
        loop {
            while self.pump(Duration::from_millis(0)) {}
            if let Some(v) = self
                .ctrl
                .events
                .iter()
                .find(|v| v.get("type").and_then(Value::as_str) == Some(kind))
            {
                return Some(v.clone());
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.pump(left.min(Duration::from_millis(100)));
        }
    }

    /// The events of `kind` seen so far, in order.
    pub fn events_of(&mut self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|v| v.get("type").and_then(Value::as_str) == Some(kind))
            .collect()
    }

    /// Waits until `n` events of `kind` have been seen; returns them.
    pub fn wait_events(&mut self, kind: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let end = Instant::now() + timeout;
        loop {
            let v = self.events_of(kind);
            if v.len() >= n || Instant::now() >= end {
                return v;
            }
            self.pump(Duration::from_millis(100));
        }
    }

    /// baresip's whole log (stdout and stderr).
    pub fn full_log(&self) -> String {
        super::read_lossy(&self.log)
    }

    /// Forgets the events seen so far (the next waits see only new ones).
    pub fn clear_events(&mut self) {
        while self.pump(Duration::from_millis(0)) {}
        self.ctrl.events.clear();
    }

    /// Every event seen so far.
    pub fn events(&mut self) -> Vec<Value> {
        while self.pump(Duration::from_millis(0)) {}
        self.ctrl.events.clone()
    }

    /// The WAVs sndfile wrote of received (decoded) audio, oldest first.
    pub fn received_wavs(&self) -> Vec<PathBuf> {
        self.wavs("-dec.wav")
    }

    /// The WAVs sndfile wrote of sent (encoded) audio, oldest first.
    pub fn sent_wavs(&self) -> Vec<PathBuf> {
        self.wavs("-enc.wav")
    }

    fn wavs(&self, suffix: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.snd_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Quits baresip (the WAV files are complete afterwards).
    pub fn stop(&mut self) {
        let body = json!({"command": "quit", "params": "", "token": "quit"}).to_string();
        let _ = self
            .ctrl
            .stream
            .write_all(format!("{}:{},", body.len(), body).as_bytes());
        if self.guard.wait_timeout(Duration::from_secs(3)).is_none() {
            self.guard.stop(Duration::from_secs(2));
        }
    }
}
