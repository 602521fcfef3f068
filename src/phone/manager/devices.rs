//! `devices`: the sound devices, listed off the manager's task (probing
//! the sound host may block). The listing itself is the media layer's
//! (`media::audio::cpal::list_devices`); this only answers the command.

use super::commands::Reply;
use crate::command::CommandError;
use crate::media::audio::cpal::list_devices;

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
