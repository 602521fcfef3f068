//! `devices`: the sound devices, listed off the manager's task (probing
//! the sound host may block); `device`: a device chosen for a role;
//! `gain`: a call's microphone and speaker gain; and the
//! `device_fallback` event when a device in use disappears
//! ([`forward_fallbacks`]), or was missing when the phone started
//! (replayed to each `events` subscriber with the current state:
//! [`super::CallManager::snapshot`]). The listing, the switch and the fallback are
//! the media layer's (`media::audio::cpal::list_devices`,
//! `AudioSystem::set_device`, `AudioSystem::device_fallbacks`); this only
//! answers the commands and passes the fallbacks on as events.

use super::commands::Reply;
use super::CallManager;
use crate::command::CommandError;
use crate::media::audio::cpal::list_devices;
use crate::media::audio::devices::DeviceRole;
use crate::media::audio::devices::Fallback;
use crate::media::audio::gain::GainChange;
use crate::media::{AudioSystem, MediaError};
use crate::phone::Event;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::broadcast;

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

/// The event of one fallback.
pub(super) fn fallback_event(f: Fallback) -> Event {
    Event::DeviceFallback {
        role: f.role.as_str().to_string(),
        from: f.from,
        to: f.to,
    }
}

/// Publishes every device fallback of `audio` as a `device_fallback`
/// event, on a task of its own until the backend is gone; nothing for a
/// backend without devices.
pub(super) fn forward_fallbacks(audio: &AudioSystem, events: &broadcast::Sender<Arc<Event>>) {
    let Some(mut fallbacks) = audio.device_fallbacks() else {
        return;
    };
    let events = events.clone();
    tokio::spawn(async move {
        loop {
            match fallbacks.recv().await {
                Ok(f) => {
                    let _ = events.send(Arc::new(fallback_event(f)));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{n} device fallbacks not told");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fallback_is_one_event_line() {
        let f = Fallback {
            role: DeviceRole::Output,
            from: "USB Headset".into(),
            to: Some("Default Audio Device".into()),
        };
        let line = serde_json::to_string(&fallback_event(f)).unwrap();
        assert_eq!(
            line,
            r#"{"event":"device_fallback","role":"output","from":"USB Headset","to":"Default Audio Device"}"#
        );
        let none = fallback_event(Fallback {
            role: DeviceRole::Input,
            from: "USB Headset".into(),
            to: None,
        });
        let line = serde_json::to_string(&none).unwrap();
        assert_eq!(
            line,
            r#"{"event":"device_fallback","role":"input","from":"USB Headset"}"#
        );
    }
}
