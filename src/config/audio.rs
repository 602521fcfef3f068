//! The `[audio]` settings (docs/control.md): which backend carries the
//! calls' sound, for the file backend where its WAVs are, for the cpal
//! backend which devices it opens. Plain data
//! read from the config file; `media` opens the backend they name. Must not
//! reach into `media` (config is a leaf).

use serde::Serialize;
use std::path::PathBuf;

/// Which audio backend to use (docs/control.md `[audio] backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Cpal,
    Null,
    File,
}

/// Audio settings (docs/control.md `[audio]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioConfig {
    pub backend: BackendKind,
    /// file backend: WAV played as the microphone, looped.
    pub input: Option<PathBuf>,
    /// file backend: each call's playout as `<call-id>.wav` here.
    pub output_dir: Option<PathBuf>,
    /// cpal backend: the microphone (a device id or name from `devices`;
    /// unset: the default).
    pub input_device: Option<String>,
    /// cpal backend: where calls play (unset: the default).
    pub output_device: Option<String>,
    /// cpal backend: where rings with no call play (unset: the call output).
    pub ring_device: Option<String>,
    /// Echo cancellation, noise suppression and automatic gain on the
    /// microphone.
    pub processing: VoiceProcessing,
    /// file backend: the microphone also hears the playout, as in a room.
    pub room_echo: Option<RoomEcho>,
}

/// A voice-processing stage's switch (docs/control.md `[audio]
/// echo_cancel`, `noise_suppression`, `auto_gain`): `auto` is on for
/// loudspeakers and off for a headset or the null and file backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    #[default]
    Auto,
    On,
    Off,
}

/// The microphone's voice processing, stage by stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoiceProcessing {
    pub echo_cancel: Switch,
    pub noise_suppression: Switch,
    pub auto_gain: Switch,
}

/// The file backend's simulated room (docs/control.md `[audio]
/// room_echo_ms`, `room_echo_db`): what a call plays comes back into its
/// microphone `delay_ms` later at `level_db` (negative: attenuated).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RoomEcho {
    pub delay_ms: u32,
    pub level_db: f32,
}
