//! `devices`: the sound devices, listed off the manager's task (probing
//! the sound host may block); `device`: a device chosen for a role;
//! `gain`: a call's microphone and speaker gain. The
//! listing and the switch are the media layer's
//! (`media::audio::cpal::list_devices`, `AudioSystem::set_device`); this
//! only answers the commands.

use super::commands::Reply;
use super::CallManager;
use crate::command::CommandError;
use crate::media::audio::cpal::list_devices;
use crate::media::audio::devices::DeviceRole;
use crate::media::audio::gain::GainChange;
use crate::media::{AudioSystem, MediaError};
use serde_json::{json, Value};

/// `{inputs:[{id, name, default}], outputs:[…]}`.
pub(super) fn list() -> Reply {
    Reply::later(async {
        let list = tokio::task::spawn_blocking(list_devices)
            .await
            .map_err(|e| CommandError::new("internal", format!("listing devices: {e}")))?;
        serde_json::to_value(list)
            .map_err(|e| CommandError::new("internal", format!("listing devices: {e}")))
    })
}

/// `device role=… name=…`: the backend switches; `{role, id}` (the id
/// chosen, null for the default).
pub(super) fn choose(
    audio: &AudioSystem,
    role: &str,
    name: Option<String>,
) -> Result<Value, CommandError> {
    let Some(which) = DeviceRole::parse(role) else {
        return Err(CommandError::bad_argument(format!(
            "role must be input, output or ring, not `{role}`"
        )));
    };
    match audio.set_device(which, name.as_deref()) {
        Ok(chosen) => Ok(json!({ "role": role, "id": chosen })),
        Err(MediaError::Audio(e)) if e.starts_with("no such sound device") => {
            Err(CommandError::bad_argument(e))
        }
        Err(e) => Err(CommandError::new("media_error", e.to_string())),
    }
}

impl CallManager {
    /// `gain`: the call's microphone / speaker gain on the audio backend
    /// (which knows the call by its SIP Call-ID); `{call, mic_db, speaker_db}`.
    pub(super) fn gain(
        &self,
        call: Option<&str>,
        mic: Option<String>,
        speaker: Option<String>,
    ) -> Result<Value, CommandError> {
        let change = |word: Option<String>| -> Result<Option<GainChange>, CommandError> {
            word.map(|w| {
                GainChange::parse(&w).ok_or_else(|| {
                    CommandError::bad_argument(format!(
                        "gain must be up, down or whole dB from -30 to 20, not `{w}`"
                    ))
                })
            })
            .transpose()
        };
        let (mic, speaker) = (change(mic)?, change(speaker)?);
        let handle = self.select_call(call, false)?;
        let sip_call_id = self
            .calls
            .get(&handle.id)
            .map(|c| c.info.sip_call_id.clone())
            .ok_or_else(|| super::calls::no_call(&format!("no call `{}`", handle.id)))?;
        let (mic_db, speaker_db) = self
            .env
            .audio
            .set_gain(&sip_call_id, mic, speaker)
            .map_err(|e| CommandError::new("media_error", e.to_string()))?;
        Ok(json!({ "call": handle.id, "mic_db": mic_db, "speaker_db": speaker_db }))
    }
}
