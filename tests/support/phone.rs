//! The `termphone` binary under test, headless: a config written into the
//! test dir (own SIP port, control socket, XDG dirs), stderr to a log file,
//! JSON-lines commands over the control socket, an `events` stream read on
//! a thread, the real `termphone ctl` client, SIGTERM/SIGKILL on drop.

use super::config::Config;
use super::netns::Place;
use super::proc::ProcGuard;
use super::{free_port, tail, wait_for};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// The binary under test: `$TERMPHONE_BIN` if set (e.g. a release build), else the
/// one cargo built for these tests.
pub fn bin() -> PathBuf {
    std::env::var_os("TERMPHONE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_termphone")))
}

/// A running headless termphone.
pub struct Phone {
    guard: ProcGuard,
    /// Everything of this phone lives here: config, socket, XDG dirs, log.
    pub home: PathBuf,
    pub config_path: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
    sip_port: u16,
    /// Where it runs and the address peers reach it on.
    place: Place,
    /// `[sip] listen` as configured.
    listen: SocketAddr,
    config: Config,
    conn: Option<BufReader<UnixStream>>,
    events_rx: Receiver<Value>,
    events: Vec<Value>,
    next_id: u64,
}

impl Phone {
    /// Starts a phone with its files under `home` (created) and `config`,
    /// its control socket in `home` and SIP on a free loopback port.
    pub fn start(home: &Path, config: &Config) -> Phone {
        Phone::start_on(home, config, free_port())
    }

    /// Same as [`Phone::start`] on a given SIP port (restarts keep their port).
    pub fn start_on(home: &Path, config: &Config, sip_port: u16) -> Phone {
        let listen = SocketAddr::from(([127, 0, 0, 1], sip_port));
        Phone::start_in(home, config, &Place::loopback(), listen)
    }

    /// Starts a phone in `place` (a host of a test bed) with `[sip] listen`
    /// = `listen` (e.g. the wildcard `0.0.0.0:5060`); peers reach it on the
    /// place's address and the listening port. The control socket is a file,
    /// so the test talks to it from any namespace.
    pub fn start_in(home: &Path, config: &Config, place: &Place, listen: SocketAddr) -> Phone {
        std::fs::create_dir_all(home).expect("phone home");
        let sip_port = listen.port();
        let socket = home.join("control.sock");
        let config_path = home.join("config.toml");
        std::fs::write(&config_path, config.render(&socket, listen)).expect("write phone config");
        // As a user keeps a file with a password: the phone refuses one that
        // others may write, whatever the umask the tests run under.
        std::fs::set_permissions(
            &config_path,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod phone config");
        let log = home.join("termphone.log");
        let mut cmd = Command::new(bin());
        cmd.arg("--headless")
            .arg("--config")
            .arg(&config_path)
            .current_dir(home);
        for (var, sub) in [
            ("XDG_CONFIG_HOME", "xdg/config"),
            ("XDG_DATA_HOME", "xdg/data"),
            ("XDG_STATE_HOME", "xdg/state"),
            ("XDG_CACHE_HOME", "xdg/cache"),
            ("XDG_RUNTIME_DIR", "xdg/runtime"),
        ] {
            let d = home.join(sub);
            std::fs::create_dir_all(&d).expect("xdg dir");
            cmd.env(var, &d);
        }
        set_private(&home.join("xdg/runtime"));
        cmd.env("HOME", home)
            .env("RUST_LOG", "debug")
            .env("RUST_BACKTRACE", "1");
        let mut guard =
            ProcGuard::spawn("termphone", place.wrap(cmd), &log).expect("start termphone");
        // Subscribe to events as soon as the socket accepts, before anything else.
        let end = Instant::now() + Duration::from_secs(15);
        let events_conn = loop {
            if let Ok(s) = UnixStream::connect(&socket) {
                break Some(s);
            }
            if guard.try_status().is_some() || Instant::now() >= end {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let Some(events_conn) = events_conn else {
            let status = guard.try_status();
            panic!(
                "termphone control socket {} not reachable (exit: {status:?}):\n{}",
                socket.display(),
                tail(&log, 60)
            );
        };
        let (tx, events_rx) = channel();
        let mut writer = events_conn.try_clone().expect("clone events conn");
        let _ = writeln!(writer, "{}", json!({"id": "events", "cmd": "events"}));
        std::thread::spawn(move || {
            let reader = BufReader::new(events_conn);
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v.get("event").is_some() && tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        let mut phone = Phone {
            guard,
            home: home.to_path_buf(),
            config_path,
            socket,
            log,
            sip_port,
            place: place.clone(),
            listen,
            config: config.clone(),
            conn: None,
            events_rx,
            events: Vec::new(),
            next_id: 0,
        };
        let answered = wait_for(Duration::from_secs(10), || {
            phone
                .try_cmd(json!({"cmd": "status"}))
                .filter(|v| v.get("ok").is_some())
        });
        assert!(
            answered.is_some(),
            "termphone does not answer status:\n{}",
            phone.log_tail()
        );
        phone
    }

    /// Kills this phone with SIGKILL and starts it again on the same home,
    /// config and SIP port.
    pub fn crash_and_restart(mut self) -> Phone {
        self.kill9();
        let (home, config) = (self.home.clone(), self.config.clone());
        let (place, listen) = (self.place.clone(), self.listen);
        drop(self);
        Phone::start_in(&home, &config, &place, listen)
    }

    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::new(self.place.ip, self.sip_port)
    }

    pub fn pid(&self) -> i32 {
        self.guard.pid()
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log, 80)
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.guard.try_status().is_none()
    }

    fn try_cmd(&mut self, mut req: Value) -> Option<Value> {
        if self.conn.is_none() {
            let s = UnixStream::connect(&self.socket).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(15))).ok()?;
            self.conn = Some(BufReader::new(s));
        }
        self.next_id += 1;
        let id = format!("r{}", self.next_id);
        if let Some(obj) = req.as_object_mut() {
            obj.insert("id".into(), json!(id));
        }
        let result = (|| {
            let conn = self.conn.as_mut()?;
            writeln!(conn.get_mut(), "{req}").ok()?;
            loop {
                let mut line = String::new();
                if conn.read_line(&mut line).ok()? == 0 {
                    return None;
                }
                let v: Value = serde_json::from_str(line.trim()).ok()?;
                if v.get("id") == Some(&json!(id)) {
                    return Some(v);
                }
            }
        })();
        if result.is_none() {
            self.conn = None;
        }
        result
    }

    /// Sends one request object (an `id` is added) and returns the reply.
    pub fn cmd(&mut self, req: Value) -> Value {
        match self.try_cmd(req.clone()) {
            Some(v) => v,
            None => panic!("no reply to {req} from termphone:\n{}", self.log_tail()),
        }
    }

    /// Sends a command that must succeed; returns the reply.
    pub fn ok(&mut self, req: Value) -> Value {
        let r = self.cmd(req.clone());
        assert_eq!(
            r.get("ok"),
            Some(&json!(true)),
            "{req} failed: {r}\n{}",
            self.log_tail()
        );
        r
    }

    pub fn status(&mut self) -> Value {
        self.ok(json!({"cmd": "status"}))
    }

    /// The call with this id from `status`.
    pub fn call(&mut self, id: &str) -> Option<Value> {
        let st = self.status();
        st["calls"]
            .as_array()?
            .iter()
            .find(|c| c["id"] == json!(id))
            .cloned()
    }

    /// Runs `termphone ctl --socket <socket> args…`: (exit code, stdout).
    pub fn ctl(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(bin())
            .arg("ctl")
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run termphone ctl");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn drain_events(&mut self) {
        while let Ok(v) = self.events_rx.try_recv() {
            self.events.push(v);
        }
    }

    /// Every event received so far (the stream starts when the phone starts).
    pub fn events(&mut self) -> Vec<Value> {
        self.drain_events();
        self.events.clone()
    }

    /// The first event (since the phone started) matching `pred`, waiting up to `timeout`.
    pub fn wait_event(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let end = Instant::now() + timeout;
        loop {
            self.drain_events();
            if let Some(v) = self.events.iter().find(|v| pred(v)) {
                return Some(v.clone());
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if let Ok(v) = self
                .events_rx
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                self.events.push(v);
            }
        }
    }

    /// Dials `to` and waits up to 10 s for the call to be active; its id.
    /// Panics (with the events and the log) when it does not get there.
    pub fn dial_until_active(&mut self, to: &str) -> String {
        let id = call_id_of(&self.ok(serde_json::json!({"cmd": "dial", "to": to})));
        assert!(
            self.wait_call_state(&id, "active", Duration::from_secs(10))
                .is_some(),
            "not active: {:?}\n{}",
            self.events(),
            self.log_tail()
        );
        id
    }

    /// Waits up to 15 s for call `id` to be active; its Call object.
    /// Panics (with the events and the log) when it does not get there.
    pub fn wait_active(&mut self, id: &str) -> Value {
        let active = self.wait_call_state(id, "active", Duration::from_secs(15));
        assert!(
            active.is_some(),
            "call {id} not active: {:?}\n{}",
            self.events(),
            self.log_tail()
        );
        active.unwrap_or_default()
    }

    /// Hangs call `id` up and waits up to 10 s for it to have ended.
    pub fn hang_up(&mut self, id: &str) {
        self.ok(serde_json::json!({"cmd": "hangup", "call": id}));
        assert!(
            self.wait_call_state(id, "ended", Duration::from_secs(10))
                .is_some(),
            "call {id} did not end: {:?}",
            self.events()
        );
    }

    /// Waits for a `call` event of call `id` in `state`; returns its Call object.
    pub fn wait_call_state(&mut self, id: &str, state: &str, timeout: Duration) -> Option<Value> {
        self.wait_event(timeout, |e| {
            e["event"] == "call" && e["call"]["id"] == id && e["call"]["state"] == state
        })
        .map(|e| e["call"].clone())
    }

    /// Waits for any call to reach `state` (e.g. the incoming one ringing).
    pub fn wait_any_call_state(&mut self, state: &str, timeout: Duration) -> Option<Value> {
        self.wait_event(timeout, |e| {
            e["event"] == "call" && e["call"]["state"] == state
        })
        .map(|e| e["call"].clone())
    }

    /// Every Call object published for call `id` so far, in order.
    pub fn call_updates(&mut self, id: &str) -> Vec<Value> {
        self.drain_events();
        self.events
            .iter()
            .filter(|e| e["event"] == "call" && e["call"]["id"] == id)
            .map(|e| e["call"].clone())
            .collect()
    }

    /// Waits for a Call object of call `id`, among its updates from index `from` on
    /// (see [`Phone::call_updates`]), for which `pred` holds; returns its index and the object.
    pub fn wait_call_from(
        &mut self,
        id: &str,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<(usize, Value)> {
        let end = Instant::now() + timeout;
        loop {
            let found = self
                .call_updates(id)
                .into_iter()
                .enumerate()
                .skip(from)
                .find(|(_, c)| pred(c));
            if found.is_some() {
                return found;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            if let Ok(v) = self
                .events_rx
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                self.events.push(v);
            }
        }
    }

    /// Waits for the next update of call `id` (after those seen so far) for which `pred` holds.
    pub fn wait_call_next(
        &mut self,
        id: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let from = self.call_updates(id).len();
        self.wait_call_from(id, from, timeout, pred).map(|(_, c)| c)
    }

    /// Every `dtmf` event so far.
    pub fn dtmf_events(&mut self) -> Vec<Value> {
        self.drain_events();
        self.events
            .iter()
            .filter(|e| e["event"] == "dtmf")
            .cloned()
            .collect()
    }

    /// Polls `status` until `pred` holds for it.
    pub fn wait_status(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let end = Instant::now() + timeout;
        loop {
            let st = self.status();
            if pred(&st) {
                return Some(st);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `quit` and waits for the process to exit.
    pub fn quit(&mut self) -> bool {
        let _ = self.try_cmd(json!({"cmd": "quit"}));
        self.guard.wait_timeout(Duration::from_secs(10)).is_some()
    }

    /// SIGKILL, no cleanup (crash test).
    pub fn kill9(&mut self) {
        self.guard.kill9();
    }

    /// SIGTERM, and waits up to `grace` for the phone to exit (SIGKILL
    /// after); its exit status.
    pub fn terminate(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        self.guard.stop(grace)
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.guard.stop(Duration::from_secs(3));
    }
}

/// chmod 0700 (the control socket's parent must not be world-readable).
fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

/// The call id in a `dial`/`consult` reply: `{"call": "c1"}` or `{"call": {Call}}`.
pub fn call_id_of(reply: &Value) -> String {
    match &reply["call"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => panic!("reply carries no call: {reply}"),
    }
}

/// The `remote_held` values a call went through, each change once, over its
/// Call objects before it ended (see [`Phone::call_updates`]).
pub fn remote_held_changes(updates: &[Value]) -> Vec<bool> {
    let mut seq: Vec<bool> = Vec::new();
    for c in updates.iter().filter(|c| c["state"] != "ended") {
        let rh = c["remote_held"] == true;
        if seq.last() != Some(&rh) {
            seq.push(rh);
        }
    }
    seq
}

/// Waits until `path` is a complete, readable WAV with at least `min_secs` of audio.
/// The WAV the file backend recorded into `rec` for `call` (named after
/// its SIP Call-ID), once it holds `min_secs` of audio.
pub fn recorded_wav(rec: &Path, call: &Value, min_secs: f64) -> PathBuf {
    let sip_call_id = call["sip_call_id"].as_str().unwrap_or_default();
    assert!(!sip_call_id.is_empty(), "no sip_call_id in {call}");
    let path = rec.join(format!("{sip_call_id}.wav"));
    assert!(
        wait_wav(&path, min_secs, Duration::from_secs(10)),
        "{} missing or shorter than {min_secs} s; rec/ holds {:?}",
        path.display(),
        list_dir(rec)
    );
    path
}

pub fn wait_wav(path: &Path, min_secs: f64, timeout: Duration) -> bool {
    super::wait_until(timeout, || {
        hound::WavReader::open(path)
            .map(|r| r.duration() as f64 / r.spec().sample_rate.max(1) as f64 >= min_secs)
            .unwrap_or(false)
    })
}

/// The newest conference recording `<rec>/conference-*.wav` (the file
/// backend names it after the conference).
pub fn conference_wav(rec: &Path) -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(rec)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("conference-") && n.ends_with(".wav"))
        })
        .collect();
    v.sort();
    v.pop()
}

/// Names of the files in a directory, for assertion messages.
pub fn list_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The `sip` lines of a `trace` stream on `socket` (its backlog first),
/// read for `window`.
pub fn trace_lines(socket: &Path, window: Duration) -> Vec<Value> {
    let mut conn = std::os::unix::net::UnixStream::connect(socket).expect("control socket");
    conn.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    writeln!(conn, "{}", json!({"id": 1, "cmd": "trace"})).expect("send");
    let mut reader = BufReader::new(conn);
    let mut lines = Vec::new();
    let end = std::time::Instant::now() + window;
    while std::time::Instant::now() < end {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["event"] == "sip" {
                        lines.push(v);
                    }
                }
            }
            Err(_) if !lines.is_empty() => break,
            Err(_) => {}
        }
    }
    lines
}
