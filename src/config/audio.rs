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
}
