//! The jitter buffer: orders received audio by RTP sequence number, drops late
//! and duplicate packets, survives sequence wrap and SSRC changes, and hands
//! out one 20 ms frame per tick, concealing gaps through [`Plc`].
//!
//! Target delay starts fixed at 40 ms (60 ms when losses are recovered
//! from the next packet's redundant copy, which must arrive before the
//! slot's turn) and adapts up to 120 ms: a packet (or copy) that just
//! missed its turn, or a stream that came back soon after running dry,
//! raises it by 20 ms (realised by stretching the playout a
//! pitch period at a time, [`stretch`]); a buffer that stays a frame above
//! target for a 5 s window is shortened by a frame the same way, one that
//! stood more than six frames above it for a second (a backlog after a
//! network stall) is brought back to a frame above it, a pitch period
//! fewer each tick, and 10 s without trouble lowers the target again.
//!
//! A missing packet is concealed when its turn comes: bridged from both
//! sides when the packet after it is already here, else continued from
//! the past and merged back in phase when audio returns; after 60 ms of
//! nothing the stream counts as paused and playout waits to re-buffer. It
//! knows nothing of sockets or codecs: it takes decoded samples (and, from
//! a stateful decoder's reorder stage, how many wait there).

mod stretch;

use super::plc::Plc;
use std::collections::{BTreeMap, VecDeque};

/// Samples per 20 ms frame at 8 kHz (G.711; a buffer at another rate
/// scales every length here by its rate, see [`JitterBuffer::with_rate`]).
pub const FRAME: usize = 160;
/// Target delay bounds, in frames.
const MIN_TARGET_FRAMES: usize = 2;
const MAX_TARGET_FRAMES: usize = 6;
/// Ticks of a measurement window (5 s): a buffer whose lowest depth in
/// one stood more than a frame above the target is shortened a frame.
const WINDOW_TICKS: u32 = 250;
/// Ticks of the short window (1 s), and the frames above the target its
/// lowest depth must exceed to count as a backlog (120 ms: more than
/// bursts of loss under jitter leave standing; with three frames the
/// bench's bursts + jitter stream lost 0.1–0.4 PESQ to trimming), which
/// is then taken out down to a frame above the target.
const BACKLOG_TICKS: u32 = 50;
const BACKLOG_FRAMES: usize = 6;
/// Ticks without trouble (10 s) after which the target is lowered a frame.
const CALM_TICKS: u32 = 500;
/// A sequence jump this large is a restart of the stream, not loss.
const MAX_JUMP: i64 = 1000;
/// Concealment in a row (60 ms, the concealer's fade), in frames, after
/// which an empty buffer means the stream paused: stop and re-buffer.
const MAX_CONCEAL_FRAMES: usize = 3;
/// Ticks of concealment after an underrun before the output is silence
/// (the concealer has faded out by then).
const FADE_TICKS: u32 = 3;
/// A gap shorter than this (in ticks) was jitter, not a pause in sending.
const SHORT_GAP_TICKS: u32 = 10;

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Accepted,
    /// Its turn has passed (already played or concealed).
    Late,
    Duplicate,
}

/// What a pulled frame is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Only received audio.
    Audio,
    /// Contains concealment.
    Concealed,
    /// Nothing to play (not started, or after a long gap).
    Silence,
}

/// One received stream's playout buffer.
#[derive(Debug)]
pub struct JitterBuffer {
    ssrc: Option<u32>,
    /// Highest extended sequence number seen.
    max_ext: Option<i64>,
    /// Next extended sequence number to play.
    next: Option<i64>,
    /// Received packets not yet played: samples (empty for non-audio).
    packets: BTreeMap<i64, Vec<i16>>,
    buffered: usize,
    /// Samples held before the buffer ([`JitterBuffer::set_upstream`]).
    upstream: usize,
    /// Samples ready to play (already through the concealer).
    ready: VecDeque<i16>,
    playing: bool,
    /// Whether we have played anything since the last reset.
    started: bool,
    concealed_run: usize,
    /// Ticks since playing stopped on an underrun.
    gap_ticks: u32,
    /// Samples still to take out of the playout (accelerate).
    trim_pending: usize,
    /// Stretch bookkeeping: samples added or taken out since the last
    /// whole frame was counted, the last samples played, failed tries.
    stretch: stretch::State,
    /// Recent sequence numbers that were concealed because they were missing.
    concealed_slots: VecDeque<i64>,
    last_len: usize,
    target: usize,
    /// The lowest target (samples): [`MIN_TARGET_FRAMES`], plus the
    /// frames a loss waits for its redundant copy
    /// ([`JitterBuffer::set_recovery_frames`]).
    floor: usize,
    /// Samples per 20 ms at the stream's rate.
    frame: usize,
    plc: Plc,
    window_ticks: u32,
    window_min: usize,
    /// The lowest depth in the current short window.
    backlog_min: usize,
    calm_ticks: u32,
    stats: JitterStats,
}

/// Counters for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub late: u64,
    pub duplicate: u64,
    pub concealed_frames: u64,
    pub underruns: u64,
    pub dropped_frames: u64,
    pub stretched_frames: u64,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        JitterBuffer::new()
    }
}

impl JitterBuffer {
    /// A buffer for 8 kHz audio (G.711).
    pub fn new() -> JitterBuffer {
        JitterBuffer::with_rate(8000)
    }

    /// A buffer for audio at `rate` Hz (the codec's sample rate): frames
    /// of 20 ms are `rate / 50` samples, and the delays are the same in
    /// milliseconds at every rate.
    pub fn with_rate(rate: u32) -> JitterBuffer {
        let frame = (rate.max(50) / 50) as usize;
        JitterBuffer {
            ssrc: None,
            max_ext: None,
            next: None,
            packets: BTreeMap::new(),
            buffered: 0,
            upstream: 0,
            ready: VecDeque::new(),
            playing: false,
            started: false,
            concealed_run: 0,
            gap_ticks: 0,
            trim_pending: 0,
            stretch: stretch::State::default(),
            concealed_slots: VecDeque::new(),
            last_len: frame,
            target: MIN_TARGET_FRAMES * frame,
            floor: MIN_TARGET_FRAMES * frame,
            frame,
            plc: Plc::with_rate(rate),
            window_ticks: 0,
            window_min: usize::MAX,
            backlog_min: usize::MAX,
            calm_ticks: 0,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Current target delay in milliseconds.
    pub fn target_ms(&self) -> u32 {
        (self.target * 20 / self.frame) as u32
    }

    /// The delay the playout stands at in milliseconds ([`depth`]), while
    /// it plays.
    ///
    /// [`depth`]: JitterBuffer::depth
    pub fn playout_ms(&self) -> Option<u32> {
        self.playing
            .then(|| (self.depth() * 20 / self.frame) as u32)
    }

    /// Samples waiting in the buffer (packets plus ready samples), and
    /// those held before it ([`JitterBuffer::set_upstream`]).
    pub fn depth(&self) -> usize {
        self.buffered + self.ready.len() + self.upstream
    }

    /// Samples of received packets held back before this buffer (a
    /// stateful decoder's reorder stage keeps those behind a missing one
    /// until its turn): they count in the delay the playout stands at,
    /// or a gap would look like a short buffer and be stretched over, and
    /// the delay grow with every loss. Set before each
    /// [`JitterBuffer::pop`].
    pub fn set_upstream(&mut self, samples: usize) {
        self.upstream = samples;
    }

    /// Adds a packet's decoded samples. `samples` may be empty for packets
    /// that take a sequence number but carry no audio (telephone-event,
    /// comfort noise): they are skipped without concealment.
    pub fn push(&mut self, ssrc: u32, seq: u16, samples: Vec<i16>) -> Pushed {
        if self.ssrc != Some(ssrc) {
            self.restart(ssrc);
        }
        let ext = match self.max_ext {
            None => i64::from(seq) + (1 << 32),
            Some(max) => {
                let delta = i64::from(seq.wrapping_sub(max as u16) as i16);
                max + delta
            }
        };
        if let Some(max) = self.max_ext {
            if (ext - max).abs() > MAX_JUMP {
                // The sender restarted its numbering: start over, keep audio flowing.
                self.restart(ssrc);
                return self.push(ssrc, seq, samples);
            }
        }
        if self.next.is_some_and(|n| ext < n) {
            self.count_late(ext);
            return Pushed::Late;
        }
        if self.packets.contains_key(&ext) {
            self.stats.duplicate += 1;
            return Pushed::Duplicate;
        }
        self.max_ext = Some(self.max_ext.map_or(ext, |m| m.max(ext)));
        if !samples.is_empty() {
            self.last_len = samples.len();
        }
        self.buffered += samples.len();
        self.packets.insert(ext, samples);
        Pushed::Accepted
    }

    /// Adds audio made for a packet still missing at its turn (a
    /// stateful decoder's concealment, or the in-band FEC of the packet
    /// after it): played as that packet, and its slot remembered as
    /// filled, so that the packet itself coming afterwards raises the
    /// target exactly as one whose slot the playout concealed.
    pub fn push_filled(&mut self, ssrc: u32, seq: u16, samples: Vec<i16>) -> Pushed {
        let pushed = self.push(ssrc, seq, samples);
        if pushed == Pushed::Accepted {
            if let Some(max) = self.max_ext {
                let ext = max + i64::from(seq.wrapping_sub(max as u16) as i16);
                self.remember_filled(ext);
            }
        }
        pushed
    }

    /// Remembers a slot that was played without its packet (the last 8).
    fn remember_filled(&mut self, ext: i64) {
        if self.concealed_slots.len() >= 8 {
            self.concealed_slots.pop_front();
        }
        self.concealed_slots.push_back(ext);
    }

    /// A packet whose turn has passed: counted, and when its slot was
    /// concealed (it just missed its turn) the delay is too short for
    /// this jitter, so the target grows.
    fn count_late(&mut self, ext: i64) {
        self.stats.late += 1;
        self.raise_if_concealed(ext);
    }

    /// Slot `ext` came too late (its packet, or a copy of it): when the
    /// playout concealed it, the delay is too short, and the target grows.
    fn raise_if_concealed(&mut self, ext: i64) {
        if self.concealed_slots.contains(&ext) {
            self.target = (self.target + self.frame).min(self.max_target());
            self.calm_ticks = 0;
        }
    }

    /// Losses are recovered from packets up to `frames` later (RFC 2198
    /// redundancy one frame back: 1; 0: none): such a copy arrives that
    /// much after the slot's own packet would have, so the target never
    /// goes below [`MIN_TARGET_FRAMES`] plus `frames`, or the copy would
    /// come after the slot was concealed.
    pub fn set_recovery_frames(&mut self, frames: usize) {
        let extra = frames.min(MAX_TARGET_FRAMES - MIN_TARGET_FRAMES);
        self.floor = (MIN_TARGET_FRAMES + extra) * self.frame;
        self.target = self.target.max(self.floor);
    }

    /// A redundant copy of packet `seq` came after its turn: no packet and
    /// not counted as late, but when its slot was concealed the delay is
    /// raised as for the packet itself. False when its turn has not passed.
    pub fn copy_missed_turn(&mut self, ssrc: u32, seq: u16) -> bool {
        let passed = self.turn_passed(ssrc, seq);
        if let Some(ext) = passed {
            self.raise_if_concealed(ext);
        }
        passed.is_some()
    }

    /// Packet `seq`'s extended number when its turn has passed in this
    /// stream's playout.
    fn turn_passed(&self, ssrc: u32, seq: u16) -> Option<i64> {
        let next = self.next.filter(|_| self.ssrc == Some(ssrc))?;
        let ext = next + i64::from(seq.wrapping_sub(next as u16) as i16);
        (ext < next).then_some(ext)
    }

    /// A packet of this stream that arrived after its turn but never
    /// reached [`JitterBuffer::push`] (the reorder stage in front of a
    /// stateful decoder had already given its place up): counted as late
    /// exactly as a pushed one would be, so a packet that missed its turn
    /// raises the target for every codec. Nothing is played. False when
    /// its turn has not passed (or the stream is another).
    pub fn arrived_late(&mut self, ssrc: u32, seq: u16) -> bool {
        let passed = self.turn_passed(ssrc, seq);
        if let Some(ext) = passed {
            self.count_late(ext);
        }
        passed.is_some()
    }

    /// Forgets the stream (new SSRC or renumbered); keeps the concealer so
    /// the audio stays continuous.
    fn restart(&mut self, ssrc: u32) {
        self.ssrc = Some(ssrc);
        self.max_ext = None;
        self.next = None;
        self.packets.clear();
        self.buffered = 0;
        self.playing = false;
        self.concealed_slots.clear();
    }

    /// The sequence number whose turn to play comes next, while playing
    /// (`None` while buffering or re-buffering): a packet held back before
    /// decoding is due once this reaches it.
    pub fn next_to_play(&self) -> Option<u16> {
        self.next.filter(|_| self.playing).map(|n| n as u16)
    }

    /// Samples per 20 ms frame at this buffer's rate.
    pub fn frame_len(&self) -> usize {
        self.frame
    }

    fn max_target(&self) -> usize {
        MAX_TARGET_FRAMES * self.frame
    }

    /// Takes the next 20 ms frame ([`JitterBuffer::frame_len`] samples;
    /// a longer `out` gets silence after them, a shorter one the start).
    pub fn pop(&mut self, out: &mut [i16]) -> Frame {
        self.adapt();
        if !self.playing {
            if !self.packets.is_empty() && self.depth() >= self.target {
                if self.started && self.gap_ticks <= SHORT_GAP_TICKS {
                    // The stream came back quickly: that was jitter, buffer more.
                    self.target = (self.target + self.frame).min(self.max_target());
                }
                self.playing = true;
                self.started = true;
                self.gap_ticks = 0;
                if self.next.is_none() {
                    self.next = self.packets.keys().next().copied();
                }
            } else if self.started && self.gap_ticks < FADE_TICKS {
                // Waiting to re-buffer after an underrun: let the concealer fade.
                self.gap_ticks += 1;
                let n = out.len().min(self.frame);
                self.plc.conceal(&mut out[..n]);
                out[n..].fill(0);
                self.stats.concealed_frames += 1;
                return Frame::Concealed;
            } else {
                self.gap_ticks = self.gap_ticks.saturating_add(1);
                out.fill(0);
                return Frame::Silence;
            }
        }
        let mut concealed = false;
        let here = self.buffered + self.ready.len();
        if self.stretch.cooled_down() && here > 0 && self.depth() + self.frame < self.target {
            // Short of the target (it grew after late packets): play a
            // frame's worth more of what is ready, a pitch period a tick,
            // which adds delay.
            self.stretch.expand_pending = self.frame;
        }
        if self.stretch.expand_pending > 0 {
            self.expand_once();
        } else if self.trim_pending > 0 {
            // Standing above the target: play a pitch period fewer.
            self.accelerate_once();
        }
        while self.ready.len() < self.frame {
            if !self.fill_one(&mut concealed) {
                break;
            }
        }
        let n = out.len().min(self.frame);
        for s in out[..n].iter_mut() {
            *s = self.ready.pop_front().unwrap_or(0);
        }
        out[n..].fill(0);
        self.stretch.played(&out[..n], self.frame);
        if concealed {
            self.stats.concealed_frames += 1;
            Frame::Concealed
        } else {
            Frame::Audio
        }
    }

    /// Moves packet `next` into `ready` when it is here (merged with any
    /// concealment before it) and advances to the one after; false when
    /// it is missing.
    fn play_present(&mut self, next: i64) -> bool {
        let Some(samples) = self.packets.remove(&next) else {
            return false;
        };
        self.next = Some(next + 1);
        self.buffered -= samples.len();
        if !samples.is_empty() {
            let joined = self.plc.merge(samples);
            self.ready.extend(joined);
            self.concealed_run = 0;
        }
        true
    }

    /// Moves one packet (or its concealment) into `ready`. False when the
    /// stream has been missing for so long that playing stopped.
    fn fill_one(&mut self, concealed: &mut bool) -> bool {
        let Some(next) = self.next else {
            return self.stop_playing(concealed);
        };
        if self.play_present(next) {
            return true;
        }
        if self.packets.is_empty() && self.concealed_run >= MAX_CONCEAL_FRAMES * self.frame {
            return self.stop_playing(concealed);
        }
        // Its turn has come and it is not here: lost (or late, and then
        // dropped when it comes). Conceal one packet's worth.
        self.next = Some(next + 1);
        self.remember_filled(next);
        let fill = match self.packets.get(&(next + 1)).filter(|p| !p.is_empty()) {
            // The packet after it is here: bridge the gap from both sides.
            Some(future) => self.plc.interpolate(self.last_len, future),
            None => {
                let mut fill = vec![0i16; self.last_len];
                self.plc.conceal(&mut fill);
                fill
            }
        };
        self.concealed_run += fill.len();
        self.ready.extend(fill);
        *concealed = true;
        true
    }

    /// The stream stopped (or paused): finish this frame with the faded
    /// concealment and wait to re-buffer to the target.
    fn stop_playing(&mut self, concealed: &mut bool) -> bool {
        let missing = self.frame - self.ready.len().min(self.frame);
        let mut fill = vec![0i16; missing];
        self.plc.conceal(&mut fill);
        self.ready.extend(fill);
        *concealed = true;
        self.stats.underruns += 1;
        self.playing = false;
        self.next = None;
        self.concealed_run = 0;
        self.calm_ticks = 0;
        // The concealer has already faded out: silence from here on.
        self.gap_ticks = FADE_TICKS;
        false
    }

    /// Per-tick adaptation of the target delay.
    fn adapt(&mut self) {
        if !self.playing {
            self.window_ticks = 0;
            self.window_min = usize::MAX;
            self.backlog_min = usize::MAX;
            return;
        }
        self.window_min = self.window_min.min(self.depth());
        self.backlog_min = self.backlog_min.min(self.depth());
        self.window_ticks += 1;
        self.calm_ticks = self.calm_ticks.saturating_add(1);
        if self.calm_ticks >= CALM_TICKS && self.target > self.floor {
            self.target -= self.frame;
            self.calm_ticks = 0;
        }
        if self.window_ticks.is_multiple_of(BACKLOG_TICKS) {
            let slack = self.target + self.frame;
            if self.backlog_min > self.target + BACKLOG_FRAMES * self.frame {
                // A backlog (after a stall the network hands over all it
                // held at once): all of it, a pitch period a tick.
                self.trim_pending = self.trim_pending.max(self.backlog_min - slack);
            }
            self.backlog_min = usize::MAX;
        }
        if self.window_ticks >= WINDOW_TICKS {
            if self.window_min > self.target + self.frame && self.trim_pending == 0 {
                self.trim_pending = self.frame;
            }
            self.window_ticks = 0;
            self.window_min = usize::MAX;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet whose samples all equal `v`.
    fn pkt(v: i16) -> Vec<i16> {
        vec![v; FRAME]
    }

    fn pop(jb: &mut JitterBuffer) -> (Frame, [i16; FRAME]) {
        let mut f = [0i16; FRAME];
        let k = jb.pop(&mut f);
        (k, f)
    }

    #[test]
    fn buffers_to_target_then_plays_in_order() {
        let mut jb = JitterBuffer::new();
        assert_eq!(jb.push(1, 10, pkt(10)), Pushed::Accepted);
        assert_eq!(pop(&mut jb).0, Frame::Silence);
        // Out of order arrival.
        assert_eq!(jb.push(1, 12, pkt(12)), Pushed::Accepted);
        assert_eq!(jb.push(1, 11, pkt(11)), Pushed::Accepted);
        for v in [10, 11, 12] {
            let (k, f) = pop(&mut jb);
            assert_eq!(k, Frame::Audio);
            assert!(f.iter().all(|&s| s == v), "expected {v}, got {}", f[0]);
        }
    }

    #[test]
    fn late_and_duplicate_packets_are_dropped() {
        let mut jb = JitterBuffer::new();
        jb.push(1, 100, pkt(1));
        jb.push(1, 101, pkt(2));
        assert_eq!(jb.push(1, 101, pkt(9)), Pushed::Duplicate);
        pop(&mut jb);
        assert_eq!(jb.push(1, 100, pkt(9)), Pushed::Late);
        assert_eq!(jb.push(1, 99, pkt(9)), Pushed::Late);
        let (_, f) = pop(&mut jb);
        assert_eq!(f[0], 2);
        assert_eq!(jb.stats().late, 2);
        assert_eq!(jb.stats().duplicate, 1);
    }

    #[test]
    fn sequence_wrap_keeps_order() {
        let mut jb = JitterBuffer::new();
        jb.push(7, 65534, pkt(1));
        jb.push(7, 0, pkt(3));
        jb.push(7, 65535, pkt(2));
        jb.push(7, 1, pkt(4));
        for v in 1..=4 {
            let (k, f) = pop(&mut jb);
            assert_eq!(k, Frame::Audio);
            assert_eq!(f[0], v);
        }
        assert_eq!(jb.push(7, 65535, pkt(9)), Pushed::Late);
    }

    #[test]
    fn missing_packet_is_concealed_not_silent() {
        let mut jb = JitterBuffer::new();
        let sine = crate::media::tone::sine(500.0, 0.2, 8000);
        let frames: Vec<Vec<i16>> = sine.chunks(FRAME).map(<[i16]>::to_vec).collect();
        for (i, f) in frames.iter().enumerate() {
            if i != 4 {
                jb.push(3, i as u16, f.clone());
            }
        }
        let mut kinds = Vec::new();
        for _ in 0..8 {
            let (k, f) = pop(&mut jb);
            if kinds.len() == 4 {
                let e: f64 = f.iter().map(|&s| f64::from(s).powi(2)).sum();
                assert!(e > 0.5 * 160.0 * 16384.0f64.powi(2) / 2.0, "energy {e}");
            }
            kinds.push(k);
        }
        assert_eq!(kinds[3], Frame::Audio);
        assert_eq!(kinds[4], Frame::Concealed);
        assert_eq!(kinds[5], Frame::Audio);
    }

    #[test]
    fn a_16_khz_stream_plays_320_sample_frames_and_conceals_a_gap() {
        let mut jb = JitterBuffer::with_rate(16_000);
        assert_eq!(jb.frame_len(), 320);
        let sine = crate::media::tone::sine(3000.0, 0.2, 16_000);
        for (i, f) in sine.chunks(320).enumerate() {
            if i != 4 {
                jb.push(3, i as u16, f.to_vec());
            }
        }
        assert_eq!(jb.target_ms(), 40);
        let mut kinds = Vec::new();
        for _ in 0..8 {
            let mut f = [0i16; 320];
            kinds.push(jb.pop(&mut f));
            if kinds.len() == 5 {
                // The concealed frame carries the 3 kHz tone on.
                let p = crate::media::tone::goertzel_power(&f, 16_000, 3000.0);
                assert!(p > 0.05, "{p}");
            }
        }
        assert_eq!(kinds[3], Frame::Audio);
        assert_eq!(kinds[4], Frame::Concealed);
        assert_eq!(kinds[5], Frame::Audio);
    }

    #[test]
    fn ssrc_change_restarts_the_stream() {
        let mut jb = JitterBuffer::new();
        jb.push(1, 500, pkt(1));
        jb.push(1, 501, pkt(1));
        pop(&mut jb);
        pop(&mut jb);
        jb.push(2, 9, pkt(5));
        jb.push(2, 10, pkt(6));
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (k, f) = pop(&mut jb);
            if k == Frame::Audio {
                seen.push(f[159]);
            }
        }
        assert_eq!(seen, vec![5, 6]);
    }

    #[test]
    fn non_audio_is_skipped_and_late_packet_raises_target() {
        let mut jb = JitterBuffer::new();
        jb.push(1, 1, pkt(1));
        jb.push(1, 2, Vec::new());
        jb.push(1, 3, pkt(3));
        let (_, f) = pop(&mut jb);
        assert_eq!(f[0], 1);
        let (k, f) = pop(&mut jb);
        assert_eq!((k, f[0]), (Frame::Audio, 3));
        assert_eq!(jb.target_ms(), 40);
        // Packet 4 is not there when its turn comes: concealed.
        assert_eq!(pop(&mut jb).0, Frame::Concealed);
        assert_eq!(jb.stats().underruns, 0);
        // It arrives just too late: dropped, and the target grows.
        assert_eq!(jb.push(1, 4, pkt(4)), Pushed::Late);
        assert_eq!(jb.target_ms(), 60);
        // A duplicate of a played packet is no reason to grow.
        assert_eq!(jb.push(1, 3, pkt(3)), Pushed::Late);
        assert_eq!(jb.target_ms(), 60);
        jb.push(1, 5, pkt(5));
        jb.push(1, 6, pkt(6));
        jb.push(1, 7, pkt(7));
        let (k, f) = pop(&mut jb);
        assert_eq!((k, f[120]), (Frame::Audio, 5));
        // Two frames buffered against a 60 ms target: no stretch yet.
        assert_eq!(jb.stats().stretched_frames, 0);
    }

    #[test]
    fn a_packet_late_before_the_buffer_raises_the_target_as_a_pushed_one() {
        // A stateful codec's reorder stage drops a packet whose place it
        // gave up; the buffer must still learn that it missed its turn,
        // else the delay never grows and every jittery packet is concealed.
        let mut jb = JitterBuffer::new();
        jb.push(1, 1, pkt(1));
        jb.push(1, 2, pkt(2));
        pop(&mut jb);
        pop(&mut jb);
        jb.push(1, 4, pkt(4));
        // Packet 3's turn: it is not here, concealed.
        assert_eq!(pop(&mut jb).0, Frame::Concealed);
        assert_eq!(jb.target_ms(), 40);
        // Not yet played, or another stream: no late packet.
        assert!(!jb.arrived_late(1, 4));
        assert!(!jb.arrived_late(2, 3));
        assert!(jb.arrived_late(1, 3));
        assert_eq!(jb.stats().late, 1);
        assert_eq!(jb.target_ms(), 60);
        // An old packet whose slot played normally is late but no reason to grow.
        assert!(jb.arrived_late(1, 2));
        assert_eq!(jb.target_ms(), 60);
        assert_eq!(jb.stats().late, 2);
        let (k, f) = pop(&mut jb);
        assert_eq!((k, f[159]), (Frame::Audio, 4));
    }

    #[test]
    fn a_packet_late_for_a_slot_the_decoder_filled_raises_the_target() {
        // Opus: the session fills a missing packet at its turn from the
        // decoder (concealment or FEC); when the packet itself comes after
        // that, the delay was too short, as for a concealed slot.
        let mut jb = JitterBuffer::new();
        jb.push(1, 1, pkt(1));
        jb.push(1, 2, pkt(2));
        pop(&mut jb);
        pop(&mut jb);
        assert_eq!(jb.push_filled(1, 3, pkt(33)), Pushed::Accepted);
        let (k, f) = pop(&mut jb);
        assert_eq!((k, f[0]), (Frame::Audio, 33));
        assert_eq!(jb.target_ms(), 40);
        assert!(jb.arrived_late(1, 3));
        assert_eq!(jb.target_ms(), 60);
        // A packet whose slot held its own audio is late, no reason to grow.
        jb.push(1, 4, pkt(4));
        pop(&mut jb);
        assert!(jb.arrived_late(1, 4));
        assert_eq!(jb.target_ms(), 60);
        // Filling a slot whose turn has passed changes nothing.
        assert_eq!(jb.push_filled(1, 2, pkt(2)), Pushed::Late);
    }

    #[test]
    fn packets_held_upstream_count_in_the_depth_and_are_not_stretched_over() {
        // A stateful codec's packets wait behind a missing one before
        // they reach the buffer: with them counted, the buffer is at its
        // target and plays on; without, it would stretch.
        let run = |upstream_counted: bool| {
            let mut jb = JitterBuffer::new();
            jb.set_recovery_frames(1);
            for seq in 0..3 {
                jb.push(1, seq, pkt(1));
            }
            // From here each packet reaches the buffer two ticks after
            // it came: two frames always wait upstream.
            for seq in 3..40u16 {
                jb.set_upstream(if upstream_counted { 2 * FRAME } else { 0 });
                pop(&mut jb);
                if seq >= 5 {
                    jb.push(1, seq - 2, pkt(1));
                }
            }
            (jb.stats().stretched_frames, jb.playout_ms())
        };
        let (stretched, playout) = run(true);
        assert_eq!(stretched, 0);
        assert_eq!(playout, Some(60));
        assert!(run(false).0 > 0, "the control stretches");
    }

    #[test]
    fn redundancy_keeps_the_delay_a_frame_longer_and_a_late_copy_raises_it() {
        let mut jb = JitterBuffer::new();
        jb.set_recovery_frames(1);
        assert_eq!(jb.target_ms(), 60);
        // Playout starts only with three frames buffered.
        jb.push(1, 1, pkt(1));
        jb.push(1, 2, pkt(2));
        assert_eq!(pop(&mut jb).0, Frame::Silence);
        jb.push(1, 3, pkt(3));
        assert_eq!(pop(&mut jb), (Frame::Audio, [1; FRAME]));
        // Packet 5 is lost and its copy (with 6) only comes after 5's
        // turn: concealed, and the copy coming late raises the delay,
        // without counting as a late packet.
        jb.push(1, 4, pkt(4));
        for _ in 2..=4 {
            pop(&mut jb);
        }
        assert_eq!(pop(&mut jb).0, Frame::Concealed);
        assert!(!jb.copy_missed_turn(1, 6), "6's turn has not come");
        assert!(jb.copy_missed_turn(1, 5));
        assert_eq!((jb.target_ms(), jb.stats().late), (80, 0));
        // A copy for a slot that played its own packet changes nothing.
        assert!(jb.copy_missed_turn(1, 4));
        assert_eq!(jb.target_ms(), 80);
        // Ten calm seconds lower the target, never below the floor.
        let mut jb = JitterBuffer::new();
        jb.set_recovery_frames(1);
        for seq in 0..2000u16 {
            jb.push(1, seq, pkt(1));
            pop(&mut jb);
        }
        assert_eq!(jb.target_ms(), 60);
    }

    #[test]
    fn a_pause_in_the_stream_stops_playout_and_it_restarts() {
        let mut jb = JitterBuffer::new();
        jb.push(1, 1, pkt(100));
        jb.push(1, 2, pkt(100));
        let kinds: Vec<Frame> = (0..8).map(|_| pop(&mut jb).0).collect();
        use Frame::*;
        assert_eq!(
            kinds,
            [Audio, Audio, Concealed, Concealed, Concealed, Concealed, Silence, Silence]
        );
        assert_eq!(jb.stats().underruns, 1);
        for _ in 0..20 {
            assert_eq!(pop(&mut jb).0, Silence);
        }
        // The sender resumes (muted senders keep their numbering going).
        jb.push(1, 3, pkt(9));
        assert_eq!(pop(&mut jb).0, Silence);
        jb.push(1, 4, pkt(9));
        let (k, f) = pop(&mut jb);
        assert_eq!((k, f[150]), (Audio, 9));
        // That was a long pause, not jitter: the target stays.
        assert_eq!(jb.target_ms(), 40);
    }

    #[test]
    fn raised_target_is_reached_by_stretching() {
        let mut jb = JitterBuffer::new();
        jb.push(1, 0, pkt(1));
        let mut seq = 1u16;
        // Steady: one packet in, one frame out.
        for _ in 0..5 {
            jb.push(1, seq, pkt(1));
            seq += 1;
            pop(&mut jb);
        }
        assert_eq!(jb.depth(), FRAME);
        pop(&mut jb);
        // The next packet misses its turn and arrives late.
        assert_eq!(pop(&mut jb).0, Frame::Concealed);
        assert_eq!(jb.push(1, seq, pkt(1)), Pushed::Late);
        seq += 1;
        assert_eq!(jb.target_ms(), 60);
        let mut kinds = Vec::new();
        for _ in 0..20 {
            jb.push(1, seq, pkt(1));
            seq += 1;
            kinds.push(pop(&mut jb).0);
        }
        // One frame of stretch, then plain audio with a frame buffered again
        // (without the stretch every packet would play the moment it came).
        assert_eq!(jb.stats().stretched_frames, 1);
        assert!(kinds[5..].iter().all(|&k| k == Frame::Audio), "{kinds:?}");
        assert_eq!(jb.depth(), FRAME);
    }

    #[test]
    fn standing_delay_is_trimmed() {
        let mut jb = JitterBuffer::new();
        let mut seq = 0u16;
        for _ in 0..6 {
            jb.push(1, seq, pkt(1));
            seq += 1;
        }
        for _ in 0..(WINDOW_TICKS + 5) {
            jb.push(1, seq, pkt(1));
            seq += 1;
            pop(&mut jb);
        }
        assert!(jb.stats().dropped_frames >= 1);
        assert!(jb.depth() <= 5 * FRAME, "depth {}", jb.depth());
    }

    #[test]
    fn a_backlog_after_a_network_stall_is_played_off_within_seconds() {
        // Half a second of nothing, then everything the network held
        // arrives at once: the call must not stay half a second behind.
        let mut jb = JitterBuffer::new();
        let mut seq = 0u16;
        let mut arrive = |jb: &mut JitterBuffer| {
            jb.push(1, seq, pkt(1));
            seq += 1;
        };
        for _ in 0..100 {
            arrive(&mut jb);
            pop(&mut jb);
        }
        for _ in 0..25 {
            pop(&mut jb);
        }
        for _ in 0..25 {
            arrive(&mut jb);
        }
        let depth_ms = |jb: &JitterBuffer| jb.depth() * 20 / FRAME;
        assert!(depth_ms(&jb) >= 480, "{}", depth_ms(&jb));
        for _ in 0..150 {
            arrive(&mut jb);
            pop(&mut jb);
        }
        // Three seconds on: back to a frame above the target (the depth
        // measured after a pop, a frame under that), the backlog taken out
        // by shortening.
        assert!(depth_ms(&jb) <= 60, "{} ms behind", depth_ms(&jb));
        assert!(jb.stats().dropped_frames >= 20, "{:?}", jb.stats());
    }

    proptest::proptest! {
        /// Any mix of packets (odd sizes, wild sequence numbers, two
        /// sources, non-audio) and pops: no panic, frames always full,
        /// the sample count stays consistent.
        #[test]
        fn never_panics_on_arbitrary_input(
            ops in proptest::collection::vec(
                (proptest::bool::ANY, 0u16..=65535, 0usize..400, proptest::bool::ANY),
                1..300,
            )
        ) {
            let mut jb = JitterBuffer::new();
            let mut base = 0u16;
            for (is_pop, seq, len, other_ssrc) in ops {
                if is_pop {
                    let mut f = [1i16; FRAME];
                    jb.pop(&mut f);
                } else {
                    // Mostly near the running sequence, sometimes anywhere.
                    let seq = if seq % 7 == 0 { seq } else { base.wrapping_add(seq % 16) };
                    base = base.wrapping_add(1);
                    let ssrc = if other_ssrc && seq % 5 == 0 { 2 } else { 1 };
                    jb.push(ssrc, seq, vec![3; len]);
                }
                let in_packets: usize = jb.packets.values().map(Vec::len).sum();
                proptest::prop_assert_eq!(in_packets, jb.buffered);
            }
        }
    }
}
