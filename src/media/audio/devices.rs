//! The sound devices the cpal backend can use: what `devices` lists
//! (inputs and outputs, the default marked) and the pure choice of a
//! device from `[audio] input_device` / `output_device` / `ring_device`
//! ([`choose`]): the named one when it is there, else the default with the
//! reason; and what is told when a device in use disappears
//! ([`Fallback`], the `device_fallback` event). It opens no stream (that is
//! `cpal/host.rs`) and knows no calls.

use serde::Serialize;

/// One device as `devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// What a config key or `:` command names it by (ALSA: the PCM name).
    pub id: String,
    /// Its human-readable name.
    pub name: String,
    /// The system's default for its direction.
    pub default: bool,
}

/// The inputs and outputs of the host, each list with its default marked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceList {
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
}

/// What a device is used for (`device role=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRole {
    /// The microphone of every call.
    Input,
    /// Where calls play.
    Output,
    /// Where rings with no call play.
    Ring,
}

impl DeviceRole {
    /// `input`, `output` or `ring`.
    pub fn parse(word: &str) -> Option<DeviceRole> {
        match word {
            "input" => Some(DeviceRole::Input),
            "output" => Some(DeviceRole::Output),
            "ring" => Some(DeviceRole::Ring),
            _ => None,
        }
    }

    /// The word `parse` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRole::Input => "input",
            DeviceRole::Output => "output",
            DeviceRole::Ring => "ring",
        }
    }
}

/// A device in use disappeared and another took its place: sent once per
/// disappearance by the backend ([`super::AudioBackend::device_fallbacks`])
/// for the phone's `device_fallback` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub role: DeviceRole,
    /// The name of the device that disappeared.
    pub from: String,
    /// The name of the device used instead (the default; for `ring`, the
    /// call output); `None` when none opened and the role goes without.
    pub to: Option<String>,
}

/// Which device to open for one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The system's default device.
    Default,
    /// The device with this id.
    Named(String),
    /// The configured device is not there: the default instead, and why.
    Missing(String),
}

/// Picks the device `wanted` (by id or by name, case-insensitive on the
/// name) among `available`; none wanted is the default.
pub fn choose(available: &[DeviceInfo], wanted: Option<&str>) -> Choice {
    let Some(wanted) = wanted.map(str::trim).filter(|w| !w.is_empty()) else {
        return Choice::Default;
    };
    if wanted.eq_ignore_ascii_case("default") {
        return Choice::Default;
    }
    let hit = available.iter().find(|d| d.id == wanted).or_else(|| {
        available
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(wanted))
    });
    match hit {
        Some(d) => Choice::Named(d.id.clone()),
        None => Choice::Missing(wanted.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, name: &str, default: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: name.into(),
            default,
        }
    }

    #[test]
    fn choose_by_id_name_or_fall_back_to_the_default() {
        let list = [
            dev("default", "Default Audio Device", true),
            dev("hw:CARD=Headset,DEV=0", "USB Headset", false),
        ];
        let cases: &[(Option<&str>, Choice)] = &[
            (None, Choice::Default),
            (Some(""), Choice::Default),
            (Some("Default"), Choice::Default),
            (
                Some("hw:CARD=Headset,DEV=0"),
                Choice::Named("hw:CARD=Headset,DEV=0".into()),
            ),
            (
                Some("usb headset"),
                Choice::Named("hw:CARD=Headset,DEV=0".into()),
            ),
            (Some("Speakers"), Choice::Missing("Speakers".into())),
        ];
        for (wanted, expect) in cases {
            assert_eq!(&choose(&list, *wanted), expect, "{wanted:?}");
        }
    }
}
