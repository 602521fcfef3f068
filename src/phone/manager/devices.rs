//! `devices`: the sound devices, listed off the manager's task (probing
//! the sound host may block); `device`: a device chosen for a role. The
//! listing and the switch are the media layer's
//! (`media::audio::cpal::list_devices`, `AudioSystem::set_device`); this
//! only answers the commands.

use super::commands::Reply;
use crate::command::CommandError;
use crate::media::audio::cpal::list_devices;
use crate::media::audio::devices::DeviceRole;
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
