//! The sound-card backend (cpal): one input and one call output stream for
//! the whole process, plus a ring output of its own when `[audio]
//! ring_device` names another device (ring on the loudspeaker, talk on the
//! headset). The device callbacks only move samples through lock-free SPSC
//! rings (`rtrb`), never allocating or locking. A pump thread mixes at
//! the call output's rate (48 kHz on most cards): it converts the other
//! devices to and from that rate (band-limited, `resample::BandLimited`),
//! mixes every call's playout into the call output (rings into the ring
//! output) and gives every call the microphone. A call's rings run at the mix rate and its ends convert to
//! the call's own rate (`call_rings.rs`), so wideband calls keep their
//! band. A device that disappears is replaced by the default one
//! with one warning and one [`Fallback`] (the phone's `device_fallback`
//! event); the calls' rings stay, so the calls go on. The
//! devices are reached through [`host::DeviceHost`] (tests use a stub).

mod call_rings;
pub mod host;

use super::devices::{choose, Choice, DeviceList, DeviceRole, Fallback};
use super::gain::{self, GainChange};
use super::resample::BandLimited;
use super::{AudioBackend, Sink, Source};
use crate::media::{AudioConfig, BackendKind, MediaError, Result};
use call_rings::{RingSink, RingSource};
use host::{CpalHost, DeviceHost, InPort, OutPort};
use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// Pump period.
const PUMP: Duration = Duration::from_millis(10);
/// Output kept queued for the device, in ms.
const OUTPUT_LEAD_MS: usize = 60;
/// Per-call rings hold this many ms at the mix rate.
const CALL_RING_MS: usize = 200;
/// A call's queue beyond this many ms is trimmed (bounds latency).
const CALL_MAX_QUEUE_MS: usize = 100;
/// Fallbacks kept for a slow listener.
const FALLBACKS_KEPT: usize = 16;

/// Samples of `ms` at `rate`.
fn samples(rate: u32, ms: usize) -> usize {
    (rate as usize * ms / 1000).max(1)
}

/// The ports of one call (or ring), held by the pump.
struct CallPorts {
    mic: Producer<i16>,
    spk: Consumer<i16>,
    /// A ring with no call: played on the ring output when there is one.
    ring: bool,
    /// The call's name (`open_call`), for `gain`.
    name: String,
    /// Gains in dB and their factors.
    mic_db: i32,
    spk_db: i32,
    mic_gain: f32,
    spk_gain: f32,
}

/// The sound card, opened and running.
pub struct CpalBackend {
    calls: Arc<Mutex<Vec<CallPorts>>>,
    stop: Arc<AtomicBool>,
    host: Arc<dyn DeviceHost>,
    /// Device changes (`device`) for the pump.
    requests: Sender<Request>,
    /// The name of the output calls play on when the backend opened (the
    /// voice processing's `auto` looks for a headset in it).
    output_name: Option<String>,
    /// The pump's mix rate.
    rate: u32,
    /// The pump's fallbacks, for [`AudioBackend::device_fallbacks`].
    fallbacks: broadcast::Sender<Fallback>,
    /// The configured devices missing at the start, for
    /// [`AudioBackend::startup_fallbacks`].
    startup: Vec<Fallback>,
}

/// A device change for the pump: use `id` (or the default) for a role.
type Request = (DeviceRole, Option<String>);

impl std::fmt::Debug for CpalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpalBackend").finish_non_exhaustive()
    }
}

impl Drop for CpalBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn audio_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Audio(format!("{what}: {e}"))
}

/// The device id to open for one role: the configured one when it is
/// there, else the default (with one warning naming the missing device,
/// and the role and name noted in `missing`).
fn pick(
    list: &[super::devices::DeviceInfo],
    wanted: Option<&str>,
    role: DeviceRole,
    missing: &mut Vec<(DeviceRole, String)>,
) -> Option<String> {
    match choose(list, wanted) {
        Choice::Default => None,
        Choice::Named(id) => Some(id),
        Choice::Missing(name) => {
            let label = match role {
                DeviceRole::Ring => "ring output",
                r => r.as_str(),
            };
            tracing::warn!("{label} device {name:?} not found; the default device is used");
            missing.push((role, name));
            None
        }
    }
}

impl CpalBackend {
    /// Opens the default devices (`[audio]` keys unset): output required,
    /// microphone optional; ALSA's complaints go to the log.
    pub fn open() -> Result<CpalBackend> {
        Self::open_with(&AudioConfig::default())
    }

    /// Opens the devices `config` names (`input_device`, `output_device`,
    /// `ring_device`), each falling back to the default when missing.
    pub fn open_with(config: &AudioConfig) -> Result<CpalBackend> {
        Self::open_on(Arc::new(CpalHost), config)
    }

    /// [`CpalBackend::open_with`] on any device host.
    pub fn open_on(host: Arc<dyn DeviceHost>, config: &AudioConfig) -> Result<CpalBackend> {
        let (pump, requests) = Pump::open(Arc::clone(&host), config)?;
        let calls = Arc::clone(&pump.calls);
        let stop = Arc::clone(&pump.stop);
        let rate = pump.rate;
        let fallbacks = pump.fallbacks.clone();
        let startup = pump.startup.clone();
        std::thread::Builder::new()
            .name("audio-pump".into())
            .spawn(move || pump.run())
            .map_err(|e| audio_err("audio thread", e))?;
        let outputs = host.list().outputs;
        let output_name = match choose(&outputs, config.output_device.as_deref()) {
            Choice::Named(id) => outputs.iter().find(|d| d.id == id),
            Choice::Default | Choice::Missing(_) => outputs.iter().find(|d| d.default),
        }
        .map(|d| d.name.clone());
        Ok(CpalBackend {
            calls,
            stop,
            host,
            requests,
            output_name,
            rate,
            fallbacks,
            startup,
        })
    }

    /// The devices of the host this backend runs on.
    pub fn devices(&self) -> DeviceList {
        self.host.list()
    }
}

/// The inputs and outputs of the system's sound host (`devices`); ALSA's
/// complaints go to the log.
pub fn list_devices() -> DeviceList {
    CpalHost.list()
}

impl AudioBackend for CpalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpal
    }

    fn open_call(&self, call_id: &str) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
        attach(&self.calls, call_id, false, self.rate)
    }

    fn open_ring(&self, name: &str) -> Result<Box<dyn Sink>> {
        Ok(attach(&self.calls, name, true, self.rate)?.1)
    }

    fn output_device(&self) -> Option<String> {
        self.output_name.clone()
    }

    fn device_fallbacks(&self) -> Option<broadcast::Receiver<Fallback>> {
        Some(self.fallbacks.subscribe())
    }

    fn startup_fallbacks(&self) -> Vec<Fallback> {
        self.startup.clone()
    }

    fn set_gain(
        &self,
        call_id: &str,
        mic: Option<GainChange>,
        speaker: Option<GainChange>,
    ) -> Result<(i32, i32)> {
        let mut calls = self
            .calls
            .lock()
            .map_err(|_| MediaError::Audio("audio thread failed".into()))?;
        let mut levels = None;
        for c in calls.iter_mut().filter(|c| c.name == call_id && !c.ring) {
            if let Some(change) = mic {
                c.mic_db = change.apply(c.mic_db);
                c.mic_gain = gain::factor(c.mic_db);
            }
            if let Some(change) = speaker {
                c.spk_db = change.apply(c.spk_db);
                c.spk_gain = gain::factor(c.spk_db);
            }
            levels = Some((c.mic_db, c.spk_db));
        }
        levels.ok_or_else(|| MediaError::Audio(format!("no audio for call {call_id:?} yet")))
    }

    fn set_device(&self, role: DeviceRole, id: Option<&str>) -> Result<Option<String>> {
        let list = self.host.list();
        let devices = match role {
            DeviceRole::Input => &list.inputs,
            DeviceRole::Output | DeviceRole::Ring => &list.outputs,
        };
        let id = match choose(devices, id) {
            Choice::Default => None,
            Choice::Named(id) => Some(id),
            Choice::Missing(name) => {
                return Err(MediaError::Audio(format!("no such sound device: {name:?}")))
            }
        };
        self.requests
            .send((role, id.clone()))
            .map_err(|_| MediaError::Audio("the audio thread stopped".into()))?;
        Ok(id)
    }
}

/// One output device as the pump drives it.
struct Output {
    port: OutPort,
    lead: usize,
    up: BandLimited,
    /// A call's queue (at the mix rate) beyond this is trimmed.
    max_queue: usize,
}

impl Output {
    fn new(port: OutPort, mix_rate: u32) -> Output {
        let lead = samples(port.rate, OUTPUT_LEAD_MS);
        let up = BandLimited::new(mix_rate, port.rate);
        let max_queue = samples(mix_rate, CALL_MAX_QUEUE_MS);
        Output {
            port,
            lead,
            up,
            max_queue,
        }
    }

    /// Mixes the calls `pick` selects at the mix rate, then converts to
    /// the device rate, keeping about OUTPUT_LEAD_MS queued for the device.
    fn fill(
        &mut self,
        calls: &mut [CallPorts],
        pick: impl Fn(&CallPorts) -> bool,
        sc: &mut Scratch,
    ) {
        let tx = &mut self.port.tx;
        let queued = tx.buffer().capacity() - tx.slots();
        let want_dev = self.lead.saturating_sub(queued);
        let want = (want_dev as f64 * self.up.step_ratio()).ceil() as usize;
        sc.mix.clear();
        sc.mix.resize(want, 0.0f32);
        for c in calls.iter_mut().filter(|c| pick(c)) {
            while c.spk.slots() > self.max_queue + want {
                let _ = c.spk.pop();
            }
            for m in sc.mix.iter_mut() {
                match c.spk.pop() {
                    Ok(s) => *m += f32::from(s) / 32768.0 * c.spk_gain,
                    Err(_) => break,
                }
            }
        }
        sc.dev.clear();
        self.up.process(&sc.mix, &mut sc.dev);
        for &s in &sc.dev {
            if tx.push(s.clamp(-1.0, 1.0)).is_err() {
                break;
            }
        }
    }
}

/// The microphone as the pump reads it.
struct Input {
    port: InPort,
    down: BandLimited,
}

impl Input {
    fn new(port: InPort, mix_rate: u32) -> Input {
        let down = BandLimited::new(port.rate, mix_rate);
        Input { port, down }
    }
}

/// Which device vanished and what took its place, for the one warning.
fn replaced(role: &str, gone: &str, now: std::result::Result<&str, String>) -> String {
    match now {
        Ok(id) => format!("{role} device {gone:?} disappeared; {id:?} (the default) takes over"),
        Err(e) => format!("{role} device {gone:?} disappeared and the default does not open ({e}); the calls go on without it"),
    }
}

/// Moves audio between the device rings and the calls' rings.
struct Pump {
    calls: Arc<Mutex<Vec<CallPorts>>>,
    stop: Arc<AtomicBool>,
    host: Arc<dyn DeviceHost>,
    out: Output,
    /// The ring output when it is another device than `out`.
    ring: Option<Output>,
    input: Option<Input>,
    requests: Receiver<Request>,
    /// The mix rate: every call's rings run at it.
    rate: u32,
    /// One message per device that disappeared.
    fallbacks: broadcast::Sender<Fallback>,
    /// The configured devices missing when it opened, and what took
    /// their place.
    startup: Vec<Fallback>,
}

impl Pump {
    /// Opens the devices `config` names on `host`; the sender takes device
    /// changes.
    fn open(host: Arc<dyn DeviceHost>, config: &AudioConfig) -> Result<(Pump, Sender<Request>)> {
        let wanted = [
            &config.input_device,
            &config.output_device,
            &config.ring_device,
        ];
        let list = if wanted.iter().any(|w| w.is_some()) {
            host.list()
        } else {
            DeviceList::default()
        };
        let mut missing = Vec::new();
        let (outputs, inputs) = (&list.outputs, &list.inputs);
        let out_id = pick(
            outputs,
            config.output_device.as_deref(),
            DeviceRole::Output,
            &mut missing,
        );
        let ring_id = pick(
            outputs,
            config.ring_device.as_deref(),
            DeviceRole::Ring,
            &mut missing,
        );
        let in_id = pick(
            inputs,
            config.input_device.as_deref(),
            DeviceRole::Input,
            &mut missing,
        );
        let port = host.open_output(out_id.as_deref())?;
        // The mix runs at the call output's rate for the backend's life.
        let rate = port.rate;
        let out = Output::new(port, rate);
        let ring = match ring_id {
            Some(id) if id != out.port.id => match host.open_output(Some(&id)) {
                Ok(port) => Some(Output::new(port, rate)),
                Err(e) => {
                    tracing::warn!(
                        "ring output {id:?} does not open ({e}); rings play on the call output"
                    );
                    None
                }
            },
            _ => None,
        };
        let input = match host.open_input(in_id.as_deref()) {
            Ok(port) => Some(Input::new(port, rate)),
            Err(e) => {
                tracing::warn!("no usable microphone ({e}); calls send silence");
                None
            }
        };
        // What took each missing device's place: the default (the call
        // output for the ring), or nothing for a microphone that did not
        // open.
        let startup = missing
            .into_iter()
            .map(|(role, from)| Fallback {
                role,
                from,
                to: match role {
                    DeviceRole::Output | DeviceRole::Ring => Some(out.port.name.clone()),
                    DeviceRole::Input => input.as_ref().map(|i| i.port.name.clone()),
                },
            })
            .collect();
        let (tx, requests) = channel();
        let pump = Pump {
            calls: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            host,
            out,
            ring,
            input,
            requests,
            rate,
            fallbacks: broadcast::channel(FALLBACKS_KEPT).0,
            startup,
        };
        Ok((pump, tx))
    }

    /// Carries out a device change; a device that does not open leaves
    /// the old one in place, with a warning.
    fn switch(&mut self, role: DeviceRole, id: Option<&str>) {
        let failed = |e: MediaError| {
            tracing::warn!("sound device {id:?} does not open ({e}); the {role:?} device stays");
        };
        match role {
            DeviceRole::Output => match self.host.open_output(id) {
                Ok(port) => self.out = Output::new(port, self.rate),
                Err(e) => failed(e),
            },
            DeviceRole::Ring => match id {
                None => self.ring = None,
                Some(id) if id == self.out.port.id => self.ring = None,
                Some(_) => match self.host.open_output(id) {
                    Ok(port) => self.ring = Some(Output::new(port, self.rate)),
                    Err(e) => failed(e),
                },
            },
            DeviceRole::Input => match self.host.open_input(id) {
                Ok(port) => self.input = Some(Input::new(port, self.rate)),
                Err(e) => failed(e),
            },
        }
    }

    fn run(mut self) {
        let mut scratch = Scratch::default();
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(PUMP);
            if !self.step(&mut scratch) {
                return;
            }
        }
    }

    /// Replaces a device that disappeared by the default one, with one
    /// warning and one [`Fallback`] each; a device that cannot be replaced
    /// is left (silent).
    fn recover(&mut self) {
        if self.out.port.lost.swap(false, Ordering::Relaxed) {
            let now = self.host.open_output(None);
            let gone = (self.out.port.id.clone(), self.out.port.name.clone());
            let to = now.as_ref().ok().map(|p| p.name.clone());
            self.tell(
                DeviceRole::Output,
                gone,
                now.as_ref().map(|p| p.id.as_str()),
                to,
            );
            if let Ok(port) = now {
                self.out = Output::new(port, self.rate);
            }
        }
        if let Some(ring) = self.ring.as_ref() {
            if ring.port.lost.swap(false, Ordering::Relaxed) {
                tracing::warn!(
                    "ring output device {:?} disappeared; rings play on the call output",
                    ring.port.id
                );
                let _ = self.fallbacks.send(Fallback {
                    role: DeviceRole::Ring,
                    from: ring.port.name.clone(),
                    to: Some(self.out.port.name.clone()),
                });
                self.ring = None;
            }
        }
        let lost_input = self
            .input
            .as_ref()
            .is_some_and(|i| i.port.lost.swap(false, Ordering::Relaxed));
        if let (true, Some(input)) = (lost_input, self.input.as_ref()) {
            let now = self.host.open_input(None);
            let gone = (input.port.id.clone(), input.port.name.clone());
            let to = now.as_ref().ok().map(|p| p.name.clone());
            self.tell(
                DeviceRole::Input,
                gone,
                now.as_ref().map(|p| p.id.as_str()),
                to,
            );
            if let Ok(port) = now {
                self.input = Some(Input::new(port, self.rate));
            }
        }
    }

    /// The one warning and the one [`Fallback`] of a device (`gone`: its
    /// id and name) replaced by the default (`now`: its id, or why it did
    /// not open; `to`: its name).
    fn tell(
        &self,
        role: DeviceRole,
        gone: (String, String),
        now: std::result::Result<&str, &MediaError>,
        to: Option<String>,
    ) {
        tracing::warn!(
            "{}",
            replaced(role.as_str(), &gone.0, now.map_err(|e| e.to_string()))
        );
        let _ = self.fallbacks.send(Fallback {
            role,
            from: gone.1,
            to,
        });
    }

    /// One pass: microphone to every call, every call's playout mixed to
    /// its output. False when the call list is unusable.
    fn step(&mut self, sc: &mut Scratch) -> bool {
        while let Ok((role, id)) = self.requests.try_recv() {
            self.switch(role, id.as_deref());
        }
        self.recover();
        let Ok(mut calls) = self.calls.lock() else {
            return false;
        };
        calls.retain(|c| !c.mic.is_abandoned() || !c.spk.is_abandoned());

        // Microphone: device rate -> 8 kHz -> every call.
        sc.raw.clear();
        sc.mic.clear();
        if let Some(input) = self.input.as_mut() {
            while let Ok(s) = input.port.rx.pop() {
                sc.raw.push(s);
            }
            input.down.process(&sc.raw, &mut sc.mic);
        }
        for c in calls.iter_mut().filter(|c| !c.ring) {
            for &s in &sc.mic {
                let v = (s * c.mic_gain * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                if c.mic.push(v).is_err() {
                    break;
                }
            }
        }

        // Speaker: calls (and rings, without a ring output) on the call
        // output; rings on the ring output.
        match self.ring.as_mut() {
            Some(ring) => {
                self.out.fill(&mut calls, |c| !c.ring, sc);
                ring.fill(&mut calls, |c| c.ring, sc);
            }
            None => self.out.fill(&mut calls, |_| true, sc),
        }
        true
    }
}

/// The pump's reusable buffers.
#[derive(Default)]
struct Scratch {
    raw: Vec<f32>,
    mic: Vec<f32>,
    mix: Vec<f32>,
    dev: Vec<f32>,
}

/// Registers a call (or a ring) with the pump: its microphone and speaker rings.
fn attach(
    calls: &Mutex<Vec<CallPorts>>,
    name: &str,
    ring: bool,
    rate: u32,
) -> Result<(Box<dyn Source>, Box<dyn Sink>)> {
    let (mic_tx, mic_rx) = RingBuffer::new(samples(rate, CALL_RING_MS));
    let (spk_tx, spk_rx) = RingBuffer::new(samples(rate, CALL_RING_MS));
    calls
        .lock()
        .map_err(|_| MediaError::Audio("audio thread failed".into()))?
        .push(CallPorts {
            mic: mic_tx,
            spk: spk_rx,
            ring,
            name: name.to_string(),
            mic_db: 0,
            spk_db: 0,
            mic_gain: 1.0,
            spk_gain: 1.0,
        });
    Ok((
        Box::new(RingSource::new(
            mic_rx,
            rate,
            samples(rate, CALL_MAX_QUEUE_MS),
        )),
        Box::new(RingSink::new(spk_tx, rate)),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::devices::DeviceInfo;
    use super::*;
    use crate::media::jitter::FRAME;
    use crate::media::tone::{goertzel_power, sine};
    use crate::media::{AudioConfig, AudioSystem, BackendKind};

    /// The far ends of a stub device: what the "device" plays and the
    /// microphone it records, and its lost flag.
    struct StubEnd {
        id: String,
        played: Consumer<f32>,
        mic: Producer<f32>,
        lost: Arc<AtomicBool>,
    }

    /// A device host without devices: every open hands out rings; the test
    /// keeps their far ends and can make a device vanish.
    #[derive(Default)]
    struct StubHost {
        ends: Mutex<Vec<StubEnd>>,
        rate: u32,
    }

    const DEVICES: [&str; 3] = ["default", "headset", "speakers"];

    impl StubHost {
        fn new(rate: u32) -> Arc<StubHost> {
            Arc::new(StubHost {
                ends: Mutex::new(Vec::new()),
                rate,
            })
        }

        /// The far end of the newest port opened on `id`.
        fn take(&self, id: &str) -> StubEnd {
            let mut ends = self.ends.lock().unwrap();
            let at = ends.iter().rposition(|e| e.id == id).unwrap();
            ends.remove(at)
        }

        fn opened(&self) -> Vec<String> {
            self.ends
                .lock()
                .unwrap()
                .iter()
                .map(|e| e.id.clone())
                .collect()
        }
    }

    impl DeviceHost for StubHost {
        fn list(&self) -> DeviceList {
            let info = |id: &str| DeviceInfo {
                id: id.into(),
                name: format!("{id} device"),
                default: id == "default",
            };
            DeviceList {
                inputs: DEVICES.iter().map(|d| info(d)).collect(),
                outputs: DEVICES.iter().map(|d| info(d)).collect(),
            }
        }

        fn open_output(&self, id: Option<&str>) -> Result<OutPort> {
            let id = id.unwrap_or("default").to_string();
            let (tx, played) = RingBuffer::new(self.rate as usize);
            let (mic, _) = RingBuffer::new(1);
            let lost = Arc::new(AtomicBool::new(false));
            self.ends.lock().unwrap().push(StubEnd {
                id: id.clone(),
                played,
                mic,
                lost: Arc::clone(&lost),
            });
            Ok(OutPort {
                name: format!("{id} device"),
                id,
                rate: self.rate,
                tx,
                lost,
                stream: None,
            })
        }

        fn open_input(&self, id: Option<&str>) -> Result<InPort> {
            let id = id.unwrap_or("default").to_string();
            let (mic, rx) = RingBuffer::new(self.rate as usize);
            let (_, played) = RingBuffer::new(1);
            let lost = Arc::new(AtomicBool::new(false));
            self.ends.lock().unwrap().push(StubEnd {
                id: format!("in:{id}"),
                played,
                mic,
                lost: Arc::clone(&lost),
            });
            Ok(InPort {
                name: format!("{id} device"),
                id,
                rate: self.rate,
                rx,
                lost,
                stream: None,
            })
        }
    }

    fn drain(rx: &mut Consumer<f32>) -> Vec<f32> {
        let mut out = Vec::new();
        while let Ok(s) = rx.pop() {
            out.push(s);
        }
        out
    }

    /// The pump on a stub device: calls mixed, the microphone shared.
    #[test]
    fn pump_mixes_calls_and_shares_the_microphone() {
        let host = StubHost::new(48000);
        let (mut pump, _tx) = Pump::open(host.clone(), &AudioConfig::default()).unwrap();
        let mut spk = host.take("default");
        let mut mic = host.take("in:default");
        let (mut src1, mut sink1) = attach(&pump.calls, "c", false, pump.rate).unwrap();
        let (mut src2, mut sink2) = attach(&pump.calls, "c", false, pump.rate).unwrap();
        sink1.write(&[1000; FRAME]);
        sink2.write(&[2000; FRAME]);
        for _ in 0..1920 {
            let _ = mic.mic.push(0.25);
        }
        let mut sc = Scratch::default();
        assert!(pump.step(&mut sc));
        // Output: 60 ms at 48 kHz of the sum of both calls.
        let out = drain(&mut spk.played);
        assert!((2870..=2890).contains(&out.len()), "{}", out.len());
        // Between the band-limited up-conversion's ringing (8 -> 48 kHz,
        // about 200 samples) at the frame's start and end.
        let expect = 3000.0 / 32768.0;
        assert!(out[300..900].iter().all(|s| (s - expect).abs() < 1e-3));
        // Both calls hear the microphone (past the filter's settling).
        let (mut f1, mut f2) = ([0i16; FRAME], [0i16; FRAME]);
        src1.read(&mut f1);
        src2.read(&mut f2);
        assert!((f1[150] - 8192).abs() < 200, "{}", f1[150]);
        assert_eq!(f1, f2);
        // A finished call is forgotten.
        drop((src2, sink2));
        assert!(pump.step(&mut sc));
        assert_eq!(pump.calls.lock().map(|c| c.len()).unwrap_or(0), 1);
    }

    /// A 16 kHz call on a 48 kHz card never passes through 8 kHz: a 6 kHz
    /// tone it plays comes out of the device, and a 6 kHz tone on the
    /// microphone reaches it (narrowband could carry neither).
    #[test]
    fn a_wideband_call_reaches_the_card_at_its_rate() {
        let host = StubHost::new(48000);
        let (mut pump, _tx) = Pump::open(host.clone(), &AudioConfig::default()).unwrap();
        assert_eq!(pump.rate, 48000);
        let mut spk = host.take("default");
        let mut mic = host.take("in:default");
        let (mut src, mut sink) = attach(&pump.calls, "c", false, pump.rate).unwrap();
        let talk = sine(6000.0, 1.0, 16_000);
        let card_mic = sine(6000.0, 1.0, 48_000);
        let mut sc = Scratch::default();
        let (mut played, mut heard) = (Vec::new(), Vec::new());
        // Three 20 ms frames per pass keep the 60 ms the output wants.
        for pass in 0..15 {
            for f in 0..3 {
                let at = (pass * 3 + f) * 320;
                assert!(sink.write_at(16_000, &talk[at..at + 320]));
            }
            for &x in &card_mic[pass * 2880..(pass + 1) * 2880] {
                let _ = mic.mic.push(f32::from(x) / 32768.0);
            }
            assert!(pump.step(&mut sc));
            played.extend(
                drain(&mut spk.played)
                    .iter()
                    .map(|&v| (v * 32768.0).round() as i16),
            );
            for _ in 0..3 {
                let mut frame = [0i16; 320];
                assert!(src.read_at(16_000, &mut frame));
                heard.extend_from_slice(&frame);
            }
        }
        assert!(played.len() >= 14 * 2880, "{}", played.len());
        let out = goertzel_power(&played[2880..], 48_000, 6000.0);
        assert!(out > 0.02, "6 kHz played at {out}");
        assert!(heard.len() == 45 * 320);
        let got = goertzel_power(&heard[960..], 16_000, 6000.0);
        assert!(got > 0.05, "6 kHz heard at {got}");
    }

    /// Configured devices are opened by id; a ring goes to the ring
    /// output, the call to the call output; a missing name is the default.
    #[test]
    fn ring_on_the_loudspeaker_talk_on_the_headset() {
        let host = StubHost::new(8000);
        let config = AudioConfig {
            output_device: Some("headset".into()),
            ring_device: Some("speakers device".into()),
            input_device: Some("no such mic".into()),
            ..AudioConfig::default()
        };
        let (mut pump, _tx) = Pump::open(host.clone(), &config).unwrap();
        assert_eq!(host.opened(), ["headset", "speakers", "in:default"]);
        let mut headset = host.take("headset");
        let mut speakers = host.take("speakers");
        let (_src, mut call) = attach(&pump.calls, "c", false, pump.rate).unwrap();
        let (_ring_src, mut ring) = attach(&pump.calls, "r", true, pump.rate).unwrap();
        call.write(&[1000; FRAME]);
        ring.write(&[-3000; FRAME]);
        assert!(pump.step(&mut Scratch::default()));
        let talk = drain(&mut headset.played);
        let bell = drain(&mut speakers.played);
        assert!(
            talk[..FRAME]
                .iter()
                .all(|&s| (s - 1000.0 / 32768.0).abs() < 1e-3),
            "{talk:?}"
        );
        assert!(
            bell[..FRAME]
                .iter()
                .all(|&s| (s + 3000.0 / 32768.0).abs() < 1e-3),
            "{bell:?}"
        );
    }

    /// The headset is pulled mid-call: the default output takes over, the
    /// call's audio goes on there, one warning says so.
    #[test]
    fn a_vanished_output_falls_back_to_the_default_and_the_call_goes_on() {
        let host = StubHost::new(8000);
        let config = AudioConfig {
            output_device: Some("headset".into()),
            ..AudioConfig::default()
        };
        let log = LogBuf::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let (mut pump, _tx) = Pump::open(host.clone(), &config).unwrap();
            let headset = host.take("headset");
            let (_src, mut call) = attach(&pump.calls, "c", false, pump.rate).unwrap();
            let mut sc = Scratch::default();
            call.write(&[500; FRAME]);
            assert!(pump.step(&mut sc));
            headset.lost.store(true, Ordering::Relaxed);
            drop(headset);
            call.write(&[700; FRAME]);
            assert!(pump.step(&mut sc));
            assert!(pump.step(&mut sc));
            let mut speaker = host.take("default");
            let out = drain(&mut speaker.played);
            assert!(
                out.iter().any(|&s| (s - 700.0 / 32768.0).abs() < 1e-3),
                "the call is not heard on the default: {out:?}"
            );
        });
        let text = log
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap();
        let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warnings.len(), 1, "{text}");
        assert!(warnings[0].contains("\"headset\" disappeared"), "{text}");
    }

    /// Each device that disappears is told once (the `device_fallback`
    /// event), naming it and what took its place; nothing while the
    /// devices stay.
    #[test]
    fn one_fallback_per_vanished_device() {
        use tokio::sync::broadcast::error::TryRecvError;
        let host = StubHost::new(8000);
        let config = AudioConfig {
            output_device: Some("headset".into()),
            ring_device: Some("speakers".into()),
            ..AudioConfig::default()
        };
        let backend = CpalBackend::open_on(host.clone(), &config).unwrap();
        let mut told = backend.device_fallbacks().unwrap();
        let (mut pump, _tx) = Pump::open(host.clone(), &config).unwrap();
        let mut heard = pump.fallbacks.subscribe();
        let mut sc = Scratch::default();
        for _ in 0..5 {
            assert!(pump.step(&mut sc));
        }
        assert_eq!(heard.try_recv(), Err(TryRecvError::Empty));
        let headset = host.take("headset");
        headset.lost.store(true, Ordering::Relaxed);
        for _ in 0..5 {
            assert!(pump.step(&mut sc));
        }
        assert_eq!(
            heard.try_recv(),
            Ok(Fallback {
                role: DeviceRole::Output,
                from: "headset device".into(),
                to: Some("default device".into()),
            })
        );
        assert_eq!(heard.try_recv(), Err(TryRecvError::Empty));
        let speakers = host.take("speakers");
        let mic = host.take("in:default");
        speakers.lost.store(true, Ordering::Relaxed);
        mic.lost.store(true, Ordering::Relaxed);
        for _ in 0..5 {
            assert!(pump.step(&mut sc));
        }
        let mut got = vec![heard.try_recv().unwrap(), heard.try_recv().unwrap()];
        got.sort_by_key(|f| f.role.as_str());
        assert_eq!(
            got,
            [
                Fallback {
                    role: DeviceRole::Input,
                    from: "default device".into(),
                    to: Some("default device".into()),
                },
                Fallback {
                    role: DeviceRole::Ring,
                    from: "speakers device".into(),
                    to: Some("default device".into()),
                },
            ]
        );
        assert_eq!(heard.try_recv(), Err(TryRecvError::Empty));
        // The backend's own pump (on its thread) tells its listeners.
        host.take("headset").lost.store(true, Ordering::Relaxed);
        let end = std::time::Instant::now() + Duration::from_secs(10);
        let got = loop {
            match told.try_recv() {
                Ok(f) => break f,
                Err(TryRecvError::Empty) if std::time::Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("no fallback from the backend: {e:?}"),
            }
        };
        assert_eq!(got.role, DeviceRole::Output);
        assert_eq!(got.from, "headset device");
    }

    /// Configured devices that are not there when the backend opens are
    /// kept as fallbacks for the phone to tell each `events` subscriber
    /// (no one listens to the pump yet): the name as configured and what
    /// took its place; devices that are there are not told.
    #[test]
    fn devices_missing_at_start_are_kept_as_fallbacks() {
        let host = StubHost::new(8000);
        let config = AudioConfig {
            output_device: Some("headset".into()),
            ring_device: Some("USB Speaker".into()),
            input_device: Some("USB Mic".into()),
            ..AudioConfig::default()
        };
        let audio = AudioSystem {
            backend: Arc::new(CpalBackend::open_on(host.clone(), &config).unwrap()),
        };
        assert_eq!(
            audio.startup_fallbacks(),
            [
                Fallback {
                    role: DeviceRole::Ring,
                    from: "USB Speaker".into(),
                    to: Some("headset device".into()),
                },
                Fallback {
                    role: DeviceRole::Input,
                    from: "USB Mic".into(),
                    to: Some("default device".into()),
                },
            ]
        );
        // Asked again (a second subscriber), the same.
        assert_eq!(audio.startup_fallbacks().len(), 2);
        let missing_output = AudioConfig {
            output_device: Some("Bluetooth Headset".into()),
            ..AudioConfig::default()
        };
        let backend = CpalBackend::open_on(host.clone(), &missing_output).unwrap();
        assert_eq!(
            backend.startup_fallbacks(),
            [Fallback {
                role: DeviceRole::Output,
                from: "Bluetooth Headset".into(),
                to: Some("default device".into()),
            }]
        );
        let all_there = AudioConfig {
            output_device: Some("speakers device".into()),
            ring_device: Some("headset".into()),
            input_device: Some("headset".into()),
            ..AudioConfig::default()
        };
        let backend = CpalBackend::open_on(host, &all_there).unwrap();
        assert!(backend.startup_fallbacks().is_empty());
    }

    /// The output's name reaches the voice processing's `auto`: a headset
    /// chosen as the output turns it off, the default (speakers) keeps it.
    #[test]
    fn the_chosen_output_decides_auto_voice_processing() {
        use crate::config::VoiceProcessing;
        use crate::media::audio::processing::resolve;
        let host = StubHost::new(8000);
        let headset = AudioConfig {
            output_device: Some("headset".into()),
            ..AudioConfig::default()
        };
        let on_head = CpalBackend::open_on(host.clone(), &headset).unwrap();
        assert_eq!(on_head.output_device().as_deref(), Some("headset device"));
        let auto = VoiceProcessing::default();
        let name = on_head.output_device();
        assert!(!resolve(&auto, BackendKind::Cpal, name.as_deref()).any());
        let room = CpalBackend::open_on(host, &AudioConfig::default()).unwrap();
        assert_eq!(room.output_device().as_deref(), Some("default device"));
        let name = room.output_device();
        assert!(resolve(&auto, BackendKind::Cpal, name.as_deref()).echo_cancel);
    }

    /// `device output …` while a call runs: the call is heard on the new
    /// device; a device that is not there is refused; the null-fallback
    /// case is `without_a_device_cpal_falls_back_to_null`.
    #[test]
    fn a_call_moves_to_the_output_chosen_while_it_runs() {
        let host = StubHost::new(8000);
        let backend = CpalBackend::open_on(host.clone(), &AudioConfig::default()).unwrap();
        let (_src, mut call) = backend.open_call("c1").unwrap();
        assert_eq!(
            backend
                .set_device(DeviceRole::Output, Some("speakers device"))
                .unwrap(),
            Some("speakers".to_string())
        );
        assert!(backend.set_device(DeviceRole::Input, Some("nope")).is_err());
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while !host.opened().contains(&"speakers".to_string()) {
            assert!(
                std::time::Instant::now() < end,
                "never opened: {:?}",
                host.opened()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut speakers = host.take("speakers");
        let mut heard = Vec::new();
        while !heard
            .iter()
            .any(|&s: &f32| (s - 900.0 / 32768.0).abs() < 1e-3)
        {
            assert!(std::time::Instant::now() < end, "not heard: {heard:?}");
            call.write(&[900; FRAME]);
            std::thread::sleep(Duration::from_millis(20));
            heard.extend(drain(&mut speakers.played));
        }
    }

    /// `gain`: the speaker of one call turned down 6 dB, its microphone
    /// up 6 dB; the other call keeps its levels; an unknown call is refused.
    #[test]
    fn gains_are_per_call() {
        let host = StubHost::new(8000);
        let (mut pump, _tx) = Pump::open(host.clone(), &AudioConfig::default()).unwrap();
        let mut spk = host.take("default");
        let mut mic = host.take("in:default");
        let backend = CpalBackend {
            calls: Arc::clone(&pump.calls),
            stop: Arc::new(AtomicBool::new(false)),
            host: host.clone(),
            requests: channel().0,
            output_name: None,
            rate: pump.rate,
            fallbacks: pump.fallbacks.clone(),
            startup: Vec::new(),
        };
        let (mut src1, mut sink1) = backend.open_call("c1").unwrap();
        let (mut src2, _sink2) = backend.open_call("c2").unwrap();
        assert_eq!(
            backend
                .set_gain("c1", Some(GainChange::Db(6)), Some(GainChange::Db(-6)))
                .unwrap(),
            (6, -6)
        );
        assert!(backend.set_gain("c9", Some(GainChange::Up), None).is_err());
        sink1.write(&[10000; FRAME]);
        for _ in 0..FRAME {
            let _ = mic.mic.push(0.125);
        }
        assert!(pump.step(&mut Scratch::default()));
        let out = drain(&mut spk.played);
        assert!(
            (out[10] - 10000.0 / 32768.0 * 0.501).abs() < 1e-3,
            "{}",
            out[10]
        );
        let (mut f1, mut f2) = ([0i16; FRAME], [0i16; FRAME]);
        src1.read(&mut f1);
        src2.read(&mut f2);
        assert!((f1[100] - 8173).abs() < 100, "{}", f1[100]);
        assert!((f2[100] - 4096).abs() < 100, "{}", f2[100]);
    }

    /// Collects log output for one test.
    #[derive(Clone, Default)]
    struct LogBuf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for LogBuf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// This machine has no sound card: opening cpal must fall back to null
    /// with one warning, without panicking, and calls still get audio ports.
    #[test]
    fn without_a_device_cpal_falls_back_to_null() {
        let log = LogBuf::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let sys = tracing::subscriber::with_default(subscriber, || {
            AudioSystem::open(&AudioConfig::default())
        });
        let Ok(sys) = sys else {
            panic!("open failed: {sys:?}");
        };
        if sys.backend() == BackendKind::Cpal {
            // A real device exists here after all: the backend must work.
            assert!(sys.open_call("t").is_ok());
            return;
        }
        assert_eq!(sys.backend(), BackendKind::Null);
        let text = log
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let text = text.unwrap_or_default();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("WARN") && text.contains("null backend"),
            "{text}"
        );
        let (mut src, mut sink) = sys.open_call("t").unwrap_or_else(|e| panic!("{e}"));
        let mut f = [1i16; 160];
        src.read(&mut f);
        assert!(f.iter().all(|&s| s == 0));
        sink.write(&f);
    }
}
