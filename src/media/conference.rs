//! [`Conference`]: a local conference mixed here, with mix-minus. It owns
//! our audio for the conference (the backend's microphone and speaker,
//! opened once as the call named after the conference: the file backend
//! records `<name>.wav`) and runs it on its own 20 ms tick. Members are
//! [`MediaSession`]s:
//!
//! - [`Conference::join`] connects a session: from its next tick on it sends
//!   our microphone plus every other member's received audio (never its
//!   own), and what it receives (after its jitter buffer and concealment)
//!   goes into the mix instead of its own speaker. Our speaker gets the sum
//!   of all members. The session's own microphone and speaker are idle
//!   meanwhile (its speaker gets silence; the call-waiting beep still
//!   plays there).
//! - [`Conference::leave`] (or [`MediaSession::set_conference`] with
//!   `None`, or stopping the session) takes it out; the session goes back
//!   to its own microphone and speaker on its next tick.
//! - [`Conference::split`] / [`Conference::rejoin`]: talk privately with
//!   one member while the others keep talking; [`Conference::set_member_muted`];
//!   a member on hold (its direction does not receive) fades out of the
//!   mix over 10 ms.
//! - [`Conference::levels`]: speaking levels for a display.
//! - [`Conference::bridge_without_us`]: we leave and the members keep
//!   hearing each other; our microphone and speaker are out of the mix
//!   from the next tick on (the speaker's recording is finished then).
//!
//! Rates: the mix and our side of it run at [`MIX_RATE`] (48 kHz, see
//! [`mixer`]); each member converts at its port, so calls of different
//! codecs and rates share one wideband mix.
//!
//! Timing and sharing: every party ticks on its own clock and nobody waits
//! for anybody (see [`mixer`]). The mix state sits in one
//! `Arc<std::sync::Mutex<Mixer>>` shared by the member session tasks and
//! the conference's task: each critical section is one synchronous
//! exchange of a 20 ms frame (microseconds, see `bench/mixer.sh`), never
//! held across an `.await` and never touched by an audio device callback.
//! A mixer task with channels would add a frame of latency per direction
//! and a task hop per member tick for no gain at these sizes.

pub mod fir;
mod local;
pub mod mixer;
mod port;
pub mod rate;

pub use mixer::{Mixer, MIX_FRAME, MIX_RATE};
pub use port::MemberPort;

use super::session::TICK;
use super::{AudioSystem, MediaError, MediaSession, Result};
use local::LocalAudio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{interval, MissedTickBehavior};

/// A member of a conference (ids are never reused within a conference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u64);

impl std::fmt::Display for MemberId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// A running local conference (see the module doc).
#[derive(Debug)]
pub struct Conference {
    name: String,
    mixer: Arc<Mutex<Mixer>>,
    next_id: AtomicU64,
    /// Set once we left and the members talk on without us.
    bridging: Arc<AtomicBool>,
    stop: mpsc::UnboundedSender<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Conference {
    /// Opens our audio for the conference as call `name` and starts its
    /// tick. Must be called inside a tokio runtime.
    pub fn new(audio: &AudioSystem, name: &str) -> Result<Conference> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| MediaError::Io(std::io::Error::other(e)))?;
        let (source, sink) = audio.open_call(name)?;
        let mixer = Arc::new(Mutex::new(Mixer::new()));
        let (stop, rx) = mpsc::unbounded_channel();
        let bridging = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(run(
            Arc::clone(&mixer),
            LocalAudio::new(source, sink),
            Arc::clone(&bridging),
            rx,
        ));
        Ok(Conference {
            name: name.to_owned(),
            mixer,
            next_id: AtomicU64::new(mixer::LOCAL + 1),
            bridging,
            stop,
            task,
        })
    }

    /// The name our audio was opened under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes `session` a member (from its next tick). A session already in
    /// a conference moves here. Never blocks.
    pub fn join(&self, session: &MediaSession) -> MemberId {
        let id = MemberId(self.next_id.fetch_add(1, Ordering::Relaxed));
        port::lock(&self.mixer).add(id.0);
        session.attach(Some(MemberPort::new(Arc::clone(&self.mixer), id)));
        id
    }

    /// Takes a member out: the others stop hearing it at once, its session
    /// goes back to its own audio on its next tick. `false` if unknown.
    pub fn leave(&self, member: MemberId) -> bool {
        port::lock(&self.mixer).remove(member.0)
    }

    /// Current members, in joining order.
    pub fn members(&self) -> Vec<MemberId> {
        port::lock(&self.mixer)
            .members()
            .into_iter()
            .map(MemberId)
            .collect()
    }

    /// Silences a member for everybody (fading over 10 ms), or lets it be
    /// heard again. `false` if unknown.
    pub fn set_member_muted(&self, member: MemberId, muted: bool) -> bool {
        port::lock(&self.mixer).set_muted(member.0, muted)
    }

    /// Mutes our microphone in the conference.
    pub fn set_muted(&self, muted: bool) {
        port::lock(&self.mixer).set_muted(mixer::LOCAL, muted);
    }

    /// Split: `member` hears only us and we hear only it; the others keep
    /// hearing each other (but neither us nor `member`). Splitting with
    /// another member moves the private talk there. `false` if unknown.
    pub fn split(&self, member: MemberId) -> bool {
        port::lock(&self.mixer).split(member.0)
    }

    /// Ends a split: everybody hears everybody again. Removing the split
    /// member also ends it.
    pub fn rejoin(&self) {
        port::lock(&self.mixer).rejoin();
    }

    /// The member we are split with.
    pub fn split_member(&self) -> Option<MemberId> {
        port::lock(&self.mixer).split_member().map(MemberId)
    }

    /// Each member's speaking level in dBFS (smoothed RMS of what we
    /// receive from it; [`mixer::SILENCE_DBFS`] for silence), in joining
    /// order.
    pub fn levels(&self) -> Vec<(MemberId, f32)> {
        port::lock(&self.mixer)
            .levels()
            .into_iter()
            .map(|(id, l)| (MemberId(id), l))
            .collect()
    }

    /// Our microphone's level in dBFS.
    pub fn local_level(&self) -> f32 {
        port::lock(&self.mixer).local_level()
    }

    /// We leave, the members stay: a split ends, our microphone is muted
    /// and from the next tick on neither read nor is our speaker written
    /// (its recording is finished). There is no way back.
    pub fn bridge_without_us(&self) {
        {
            let mut m = port::lock(&self.mixer);
            m.rejoin();
            m.set_muted(mixer::LOCAL, true);
        }
        self.bridging.store(true, Ordering::Relaxed);
    }

    /// Whether the members talk on without us.
    pub fn is_bridging(&self) -> bool {
        self.bridging.load(Ordering::Relaxed)
    }

    /// Ends the conference: every member goes back to its own audio (the
    /// calls are not touched), our speaker's recording is finished.
    pub async fn stop(self) {
        let (tx, rx) = oneshot::channel();
        if self.stop.send(tx).is_ok() {
            let _ = rx.await;
        }
        let _ = self.task.await;
    }
}

/// Our side's tick: microphone into the mix, the mix to the speaker; once
/// `bridging`, silence into the mix and nothing to the speaker (finished
/// once). Ends on `stop` or when the handle is dropped; either way every
/// member is released.
async fn run(
    mixer: Arc<Mutex<Mixer>>,
    mut audio: LocalAudio,
    bridging: Arc<AtomicBool>,
    mut stop: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let mut clock = interval(TICK);
    clock.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut finished = false;
    let reply = loop {
        tokio::select! {
            _ = clock.tick() => {
                let without_us = bridging.load(Ordering::Relaxed);
                let mut mic = [0i16; MIX_FRAME];
                if !without_us {
                    audio.read(&mut mic);
                }
                let mut speaker = [0i16; MIX_FRAME];
                port::lock(&mixer).exchange(mixer::LOCAL, &mic, true, &mut speaker);
                if !without_us {
                    audio.write(&speaker);
                } else if !finished {
                    audio.finish();
                    finished = true;
                }
            }
            r = stop.recv() => break r,
        }
    };
    {
        let mut m = port::lock(&mixer);
        for id in m.members() {
            m.remove(id);
        }
    }
    if !finished {
        audio.finish();
    }
    if let Some(tx) = reply {
        let _ = tx.send(());
    }
}
