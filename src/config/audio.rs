//! The `[audio]` settings (docs/control.md): which backend carries the
//! calls' sound and, for the file backend, where its WAVs are. Plain data
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
}
