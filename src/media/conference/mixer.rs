//! [`Mixer`]: the conference's mix-minus core, plain synchronous code over
//! 20 ms frames at [`MIX_RATE`], with no clock of its own.
//!
//! Every party of the conference (our side, [`LOCAL`], and each member) has
//! a port. A party's tick calls [`Mixer::exchange`] once: its frame (our
//! microphone, or what the member's session received after its jitter
//! buffer and concealment) goes into the port's ring, and the party gets
//! back the sum of the other audible parties' frames (what we play, or
//! what the member's session sends). Nobody waits for anybody:
//!
//! - each port keeps its last [`RING`] frames, numbered;
//! - each reader keeps, per other port, a cursor to the next frame it will
//!   take. A cursor starts [`LAG`] frames behind the writer (so parties
//!   whose 20 ms ticks have different phases or jitter a little still find
//!   a frame every tick: 20-40 ms of added latency), every frame is taken
//!   once and in order, a reader more than [`MAX_LAG`] frames behind skips
//!   ahead, and a writer that has nothing new (its task stalled, it left)
//!   simply contributes silence to that tick (and fades in when it is
//!   back);
//! - each (reader, writer) pair has a gain that moves to its target (1 when
//!   the writer is audible to the reader, else 0) by 1/[`FADE`] per sample:
//!   hold, mute, split and rejoin fade over 10 ms instead of clicking.
//!
//! Audibility: parties hear every other party of the same [`Group`] that is
//! not muted and whose port is active (a member on hold, whose session does
//! not receive, is inactive). Split puts one member and us in
//! [`Group::Private`]; everybody else stays in [`Group::Main`].
//!
//! Mixing accumulates in `i32` and saturates to `i16`.
//!
//! Rates: the mix runs at 48 kHz, the highest clock of our codecs (Opus),
//! so a conference of G.722 and Opus calls stays wideband: a G.722 member
//! hears another G.722 or Opus member's 4-8 kHz band, and an Opus member
//! hears another Opus member in full band. A member at another rate
//! (G.711 at 8 kHz, G.722 at 16 kHz) converts at its port
//! (`super::port::MemberPort`) and nowhere else; a narrowband member hears
//! the mix low-passed to its band. Our own microphone and speaker for the
//! conference run at the mix rate too (`super::local`). Why not 16 kHz:
//! the cost. The mix itself is one add per sample and audible pair, 960
//! samples a frame (six times the 8 kHz work, still a few microseconds per
//! member and frame); a member's conversion at its port is a polyphase
//! low-pass of 32 taps per output sample each way (about 30 000
//! multiply-adds per 20 ms frame, tens of microseconds), the same order
//! whichever of 16 or 48 kHz the mix runs at, and only 48 kHz keeps Opus
//! members above 8 kHz. `bench/mixer.sh` measures both together.

/// The common mixing rate (see the module doc for why 48 kHz).
pub const MIX_RATE: u32 = 48_000;
/// Samples of one 20 ms mix frame.
pub const MIX_FRAME: usize = MIX_RATE as usize / 50;
/// Frames kept per port.
pub const RING: usize = 8;
/// A new cursor starts this many frames behind its writer.
pub const LAG: u64 = 2;
/// A cursor further behind than this skips ahead to [`LAG`].
pub const MAX_LAG: u64 = 5;
/// Fade length in samples (10 ms).
pub const FADE: usize = (MIX_RATE as usize) / 100;
/// Port id of our own side (microphone in, speaker out).
pub const LOCAL: u64 = 0;
/// Level reported for silence, in dBFS.
pub const SILENCE_DBFS: f32 = -96.0;

/// Which talk group a party is in (split support).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Group {
    /// The conference.
    #[default]
    Main,
    /// Us and the split member, talking privately.
    Private,
}

/// What one reader knows about one writer.
#[derive(Debug, Clone)]
struct Input {
    from: u64,
    /// Number of the next frame to take; `None` until the writer is
    /// [`LAG`] frames ahead.
    next: Option<u64>,
    gain: f32,
}

/// One party's port.
#[derive(Debug)]
struct Port {
    id: u64,
    group: Group,
    muted: bool,
    active: bool,
    ring: Box<[[i16; MIX_FRAME]; RING]>,
    /// Frames written so far (the next frame's number).
    written: u64,
    /// Smoothed RMS, full scale = 1.0.
    level: f32,
    inputs: Vec<Input>,
}

impl Port {
    fn new(id: u64, group: Group) -> Port {
        Port {
            id,
            group,
            muted: false,
            active: true,
            ring: Box::new([[0; MIX_FRAME]; RING]),
            written: 0,
            level: 0.0,
            inputs: Vec::new(),
        }
    }
}

/// The mix-minus core of one conference (see the module doc).
#[derive(Debug)]
pub struct Mixer {
    ports: Vec<Port>,
}

impl Default for Mixer {
    fn default() -> Self {
        Mixer::new()
    }
}

impl Mixer {
    /// A mixer with only our own port ([`LOCAL`]).
    pub fn new() -> Mixer {
        Mixer {
            ports: vec![Port::new(LOCAL, Group::Main)],
        }
    }

    /// Adds a member port (in the main group). `false` if `id` exists.
    pub fn add(&mut self, id: u64) -> bool {
        if self.index(id).is_some() {
            return false;
        }
        self.ports.push(Port::new(id, Group::Main));
        true
    }

    /// Removes a member port (not [`LOCAL`]). If it was the split member,
    /// we go back to the main group. `false` if there was no such member.
    pub fn remove(&mut self, id: u64) -> bool {
        if id == LOCAL {
            return false;
        }
        let Some(i) = self.index(id) else {
            return false;
        };
        self.ports.remove(i);
        for p in &mut self.ports {
            p.inputs.retain(|inp| inp.from != id);
        }
        let private_members = self
            .ports
            .iter()
            .any(|p| p.id != LOCAL && p.group == Group::Private);
        if !private_members {
            self.rejoin();
        }
        true
    }

    /// Whether a port with this id exists.
    pub fn contains(&self, id: u64) -> bool {
        self.index(id).is_some()
    }

    /// Member ids (without [`LOCAL`]), in joining order.
    pub fn members(&self) -> Vec<u64> {
        self.ports
            .iter()
            .map(|p| p.id)
            .filter(|&id| id != LOCAL)
            .collect()
    }

    /// Mutes (or unmutes) a party's contribution to everybody (fades).
    /// [`LOCAL`] mutes our microphone. `false` if there is no such port.
    pub fn set_muted(&mut self, id: u64, muted: bool) -> bool {
        match self.index(id) {
            Some(i) => {
                self.ports[i].muted = muted;
                true
            }
            None => false,
        }
    }

    /// Split: `id` and we talk privately, the others keep talking to each
    /// other. `false` (nothing changes) if there is no such member.
    pub fn split(&mut self, id: u64) -> bool {
        if id == LOCAL || self.index(id).is_none() {
            return false;
        }
        for p in &mut self.ports {
            p.group = if p.id == id || p.id == LOCAL {
                Group::Private
            } else {
                Group::Main
            };
        }
        true
    }

    /// Ends a split: everybody in the main group again.
    pub fn rejoin(&mut self) {
        for p in &mut self.ports {
            p.group = Group::Main;
        }
    }

    /// The member we are split with, if any.
    pub fn split_member(&self) -> Option<u64> {
        self.ports
            .iter()
            .find(|p| p.id != LOCAL && p.group == Group::Private)
            .map(|p| p.id)
    }

    /// Speaking levels in dBFS (smoothed RMS, [`SILENCE_DBFS`] at least),
    /// members only, in joining order.
    pub fn levels(&self) -> Vec<(u64, f32)> {
        self.ports
            .iter()
            .filter(|p| p.id != LOCAL)
            .map(|p| (p.id, dbfs(p.level)))
            .collect()
    }

    /// Our own (microphone) level in dBFS.
    pub fn local_level(&self) -> f32 {
        self.ports.first().map_or(SILENCE_DBFS, |p| dbfs(p.level))
    }

    /// One tick of party `id`: stores `input` (its new frame; `active`
    /// false when it is on hold and must drop out) and writes the mix of
    /// everybody else it hears to `out`. `false` (and `out` silent) when
    /// the port is gone, e.g. the member was removed.
    pub fn exchange(
        &mut self,
        id: u64,
        input: &[i16; MIX_FRAME],
        active: bool,
        out: &mut [i16; MIX_FRAME],
    ) -> bool {
        let Some(me) = self.index(id) else {
            out.fill(0);
            return false;
        };
        {
            let port = &mut self.ports[me];
            let slot = (port.written % RING as u64) as usize;
            port.ring[slot] = *input;
            port.written += 1;
            port.active = active;
            port.level = smooth_level(port.level, input);
        }
        let mut acc = [0i32; MIX_FRAME];
        // Take our inputs out while we read the other ports.
        let mut inputs = std::mem::take(&mut self.ports[me].inputs);
        let group = self.ports[me].group;
        for (j, other) in self.ports.iter().enumerate() {
            if j == me {
                continue;
            }
            let k = match inputs.iter().position(|inp| inp.from == other.id) {
                Some(k) => k,
                None => {
                    inputs.push(Input {
                        from: other.id,
                        next: None,
                        gain: 0.0,
                    });
                    inputs.len() - 1
                }
            };
            let inp = &mut inputs[k];
            let target = if other.group == group && !other.muted && other.active {
                1.0
            } else {
                0.0
            };
            let frame = take_frame(inp, other);
            add_faded(&mut acc, frame, &mut inp.gain, target);
        }
        self.ports[me].inputs = inputs;
        for (o, &a) in out.iter_mut().zip(acc.iter()) {
            *o = saturate(a);
        }
        true
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.ports.iter().position(|p| p.id == id)
    }
}

/// The next frame of `from` for the reader behind `inp`, if there is one.
fn take_frame<'a>(inp: &mut Input, from: &'a Port) -> Option<&'a [i16; MIX_FRAME]> {
    let avail = from.written;
    let next = match inp.next {
        Some(n) if avail.saturating_sub(n) > MAX_LAG => avail - LAG,
        Some(n) => n,
        None if avail >= LAG => avail - LAG,
        None => return None,
    };
    if next >= avail {
        inp.next = Some(next);
        return None;
    }
    inp.next = Some(next + 1);
    Some(&from.ring[(next % RING as u64) as usize])
}

/// Adds `frame` (silence when `None`) into `acc` with a gain ramping from
/// `*gain` towards `target` by 1/[`FADE`] per sample.
/// No frame (the writer is late or stalled) adds nothing and resets the
/// gain, so its next frame fades in rather than starting with a step.
fn add_faded(
    acc: &mut [i32; MIX_FRAME],
    frame: Option<&[i16; MIX_FRAME]>,
    gain: &mut f32,
    target: f32,
) {
    let Some(frame) = frame else {
        *gain = 0.0;
        return;
    };
    let step = 1.0 / FADE as f32;
    if *gain == target {
        if target == 1.0 {
            for (a, &s) in acc.iter_mut().zip(frame.iter()) {
                *a += i32::from(s);
            }
        }
        return;
    }
    for (i, a) in acc.iter_mut().enumerate() {
        *gain = if target > *gain {
            (*gain + step).min(target)
        } else {
            (*gain - step).max(target)
        };
        *a += (f32::from(frame[i]) * *gain).round() as i32;
    }
}

fn saturate(a: i32) -> i16 {
    a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// RMS of a frame (full scale 1.0) with a fast attack and a ~150 ms decay.
fn smooth_level(prev: f32, frame: &[i16; MIX_FRAME]) -> f32 {
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = ((sum / MIX_FRAME as f64).sqrt() / 32768.0) as f32;
    rms.max(prev * 0.85)
}

fn dbfs(level: f32) -> f32 {
    if level <= 0.0 {
        return SILENCE_DBFS;
    }
    (20.0 * level.log10()).max(SILENCE_DBFS)
}

#[cfg(test)]
mod tests;
