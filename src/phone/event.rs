//! Events the phone publishes (docs/control.md "Call object and events"): the
//! `Call` snapshot and the event enum streamed by `ctl events` and the TUI.

use crate::media::MediaStats;
use serde::{Deserialize, Serialize};

/// docs/control.md `state` of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Dialing,
    Ringing,
    Alerting,
    Active,
    Held,
    Transferring,
    Ended,
}

/// `"in"` / `"out"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallDirection {
    In,
    Out,
}

impl CallDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::In => "in",
            CallDirection::Out => "out",
        }
    }
}

/// The Call object of docs/control.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallInfo {
    pub id: String,
    pub account: String,
    pub direction: CallDirection,
    pub remote: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_name: Option<String>,
    /// Who the other party is, to show: the directory's name for the
    /// number, else the SIP display name (P-Asserted-Identity before From
    /// when the account trusts it). Filled in by a later update when the
    /// directory is still loading as the call starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub state: CallState,
    pub held: bool,
    pub remote_held: bool,
    pub muted: bool,
    pub conference: bool,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// The sample rate of the negotiated codec's audio in Hz (8000 for
    /// G.711, 16000 for G.722), which the call's audio path runs at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_rate: Option<u32>,
    /// Whether RFC 2198 redundancy (RED) is in use: both sides took it
    /// (left out while not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub red: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<MediaStats>,
    /// The WAV file this call is being recorded to (`record`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    /// Progress of a transfer we started, from the peer's NOTIFY sipfrag
    /// (e.g. "180 Ringing", "200 OK", "486 Busy Here").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_status: Option<String>,
    /// SIP Call-ID of the dialog (also the WAV name of the file backend).
    pub sip_call_id: String,
    /// The address (`ip:port`) this call's Via and Contact name: the one
    /// that routes to the peer when `listen` is a wildcard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_sip: Option<String>,
    /// The RTP address (`ip:port`) our SDP names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_media: Option<String>,
    /// Whether the media are encrypted, once they are negotiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_encryption: Option<CallEncryption>,
    /// The target a redirect (3xx) of our INVITE sent the call to last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<String>,
    /// The transport of the call's signalling to its first hop (`"tls"`,
    /// `"tcp"` or `"udp"`), once its INVITE is sent or received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signalling: Option<CallSignalling>,
}

/// docs/control.md `signalling` of a call: the transport its SIP messages
/// take to the first hop (the proxy, or the peer when called directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallSignalling {
    Udp,
    Tcp,
    /// Encrypted (TLS, `sips:` or `;transport=tls`).
    Tls,
}

/// docs/control.md `media_encryption` of a call: `"srtp"` or `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEncryption {
    /// Plain RTP.
    None,
    /// SRTP (keys exchanged in the SDP, RFC 4568).
    Srtp,
}

/// One event line (read back by clients of the control socket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Call {
        call: Box<CallInfo>,
    },
    Registration {
        account: String,
        registered: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Dtmf {
        call: String,
        digit: String,
    },
    /// A busy lamp changed (`idle`, `ringing`, `busy`, `offline`, `unknown`).
    Blf {
        target: String,
        state: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        remote: Option<String>,
        /// The target's presence (`available`, `away`, `busy`, `dnd`,
        /// `offline`) where the server offers it.
        #[serde(skip_serializing_if = "Option::is_none")]
        presence: Option<String>,
        /// The presence document's note (e.g. "Do Not Disturb").
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// The directory's name for the target, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Waiting messages of an account changed.
    Mwi {
        account: String,
        new: u32,
        old: u32,
    },
    /// Do Not Disturb changed: `on` is either kind (as `status.dnd`),
    /// `line` and `presence` each kind on its own.
    Dnd {
        on: bool,
        line: bool,
        presence: bool,
    },
    /// The forwarding rules changed (all of them, as `status.forward`).
    Forward {
        rules: Vec<crate::phone::status::ForwardStatus>,
    },
    /// We left the conference (`conference_leave` `keep` or `auto`):
    /// `members` talk on, mixed here without our microphone and speaker,
    /// until fewer than two remain.
    ConferenceBridging {
        members: Vec<String>,
    },
    /// A call dialled by `conf_add to=…` ended without answering: it did
    /// not join, the conference and the calls waiting for it stay as they
    /// are; `released` are the connected calls that waited for it alone
    /// (with no conference yet: the call we were in).
    ConfAddFailed {
        call: String,
        to: String,
        reason: String,
        #[serde(default)]
        released: Vec<String>,
    },
    /// A callback when free changed: `state` is `waiting`, `confirmed`,
    /// `ringing` (the target is free), `dialed` (with `call`), or it is
    /// gone: `cancelled`, `expired`, `failed` (with `error`).
    Callback {
        id: String,
        target: String,
        via: String,
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A sound device in use disappeared (`role`: `input`, `output` or
    /// `ring`) and `to` took its place (the default; for `ring` the call
    /// output), once per disappearance; no `to` when none opened and the
    /// calls go on without that device.
    DeviceFallback {
        role: String,
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
}
