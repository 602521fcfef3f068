//! The `status` reply as a type (docs/control.md `status`): built by the
//! manager, sent as JSON on the control socket, read back by the TUI and
//! by `ctl`. The JSON is the contract: which keys are left out and which
//! are `null` is spelled by the serde attributes here, so change them only
//! with docs/control.md. Pure data: no IO, no phone state.

use super::event::CallInfo;
use super::policy::{Scope, When};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The reply to `status`. Reading tolerates missing parts (they are empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    pub accounts: Vec<AccountStatus>,
    /// The live calls (ended ones are left out).
    pub calls: Vec<CallInfo>,
    /// Do Not Disturb, on the line or by presence.
    pub dnd: bool,
    /// Each kind of Do Not Disturb on its own.
    pub dnd_kinds: DndKinds,
    pub forward: Vec<ForwardStatus>,
    pub conference: ConferenceStatus,
    /// The SIP listening address.
    pub listen: String,
    /// Waiting messages per account; `null` until a summary arrived.
    pub mwi: Option<Vec<MwiStatus>>,
    pub blf: Vec<BlfStatus>,
    /// The PBX profile in use and whether its codes are verified (added
    /// field; left out only by a status built without a phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx: Option<PbxStatus>,
    /// Pending callbacks when free (added field; left out while there
    /// are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<CallbackStatus>,
}

/// One pending callback when free (`callback when=free`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackStatus {
    /// `cb1`, `cb2`, …: what `callback_accept` and `callback_cancel` take.
    pub id: String,
    /// The party to call back (a number or SIP URI).
    pub target: String,
    /// How it is watched: `call_completion` (RFC 6910), `feature_code`
    /// (the PBX rings back), `dialog` (the target's dialog state).
    pub via: String,
    /// `waiting` (for the target to be free, or for the PBX to confirm
    /// its code), `confirmed` (the PBX took the code), `ringing` (the
    /// target is free: accept to dial).
    pub state: String,
    /// Why the call did not get through: `busy` or `no_answer`.
    pub reason: String,
    /// When the callback is dropped unless it happened (RFC 3339).
    pub expires_at: String,
}

/// `status.pbx`: the profile's name and whether its feature codes were
/// checked against a real PBX (`verified` in the profile file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PbxStatus {
    pub profile: String,
    pub verified: bool,
}

/// The two kinds of Do Not Disturb, each switched on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DndKinds {
    /// On the line: callers are turned away (by this phone or the PBX,
    /// per `[phone] dnd_via`).
    pub line: bool,
    /// Published as presence; callers are turned away too.
    pub presence: bool,
}

/// One account and its registration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    pub name: String,
    pub aor: String,
    pub registered: bool,
    /// Granted lifetime in seconds (0 when not registered).
    pub expires: u32,
    /// Why it is not registered: `registering`, `registration off (direct
    /// IP)`, or the registrar's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The address (`ip:port`) our REGISTERs name in Via and Contact: the
    /// one that routes to the registrar when `listen` is a wildcard. Left
    /// out until the registration has reported once, and for accounts
    /// that do not register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_sip: Option<String>,
    /// The public address (`ip:port`) the registrar sees us at when it
    /// differs from `local_sip` (a NAT on the way, learned from
    /// `received`/`rport`): what our Contact names. Left out when no NAT
    /// is seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_sip: Option<String>,
    /// The transport of the account's requests: `udp`, `tcp` or `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

/// Who carries out a forwarding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardVia {
    /// This phone answers 302 ([`crate::phone::policy`]).
    Client,
    /// The PBX, switched on by feature code.
    FeatureCode,
}

/// One forwarding rule. Rules of the PBX have no scope and no delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardStatus {
    pub when: When,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_s: Option<u32>,
    pub via: ForwardVia,
}

/// The local conference: `{"members": []}` without one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConferenceStatus {
    /// Call ids of the members.
    #[serde(default)]
    pub members: Vec<String>,
    /// The mixer's state, while a conference exists.
    #[serde(flatten)]
    pub mixer: Option<MixerStatus>,
}

/// Levels and split member of a running conference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MixerStatus {
    /// dBFS received from each member (call id → level, one decimal).
    pub levels: BTreeMap<String, f32>,
    /// dBFS we send into the conference (one decimal).
    pub local_level: f32,
    /// The member we talk to privately (`null` when none).
    pub split: Option<String>,
    /// True once we left and the members talk on, mixed here without us
    /// (added field; left out while we are in the conference).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bridging: bool,
}

/// Waiting voice messages of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MwiStatus {
    pub account: String,
    pub new: u32,
    pub old: u32,
}

/// One busy lamp.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlfStatus {
    /// As configured (number or URI).
    pub target: String,
    /// The watched URI.
    pub uri: String,
    /// `idle`, `ringing`, `busy`, `offline` or `unknown`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The caller while ringing, the other party while busy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// Presence where the server offers it (`available`, `away`, `busy`,
    /// `dnd`, `offline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<String>,
    /// The presence document's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The `[[directory]]` name of the target, as `blf` events carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaStats;
    use crate::phone::event::{CallDirection, CallState};

    /// Every part filled, as a phone with a conference, MWI and BLF reports it.
    fn full() -> Status {
        Status {
            accounts: vec![
                AccountStatus {
                    name: "office".into(),
                    aor: "sip:1001@test.local".into(),
                    registered: true,
                    expires: 3600,
                    reason: None,
                    local_sip: None,
                    public_sip: None,
                    transport: None,
                },
                AccountStatus {
                    name: "direct".into(),
                    aor: "sip:alice@127.0.0.1".into(),
                    registered: false,
                    expires: 0,
                    reason: Some("registration off (direct IP)".into()),
                    local_sip: None,
                    public_sip: None,
                    transport: None,
                },
            ],
            calls: vec![CallInfo {
                id: "c1".into(),
                account: "office".into(),
                direction: CallDirection::In,
                remote: "sip:1003@test.local".into(),
                remote_name: Some("Carol".into()),
                name: None,
                state: CallState::Active,
                held: false,
                remote_held: false,
                muted: true,
                conference: true,
                started_at: "2026-11-25T13:00:00Z".into(),
                answered_at: Some("2026-11-25T13:00:05Z".into()),
                ended_at: None,
                end_reason: None,
                codec: Some("PCMU".into()),
                codec_rate: None,
                red: false,
                stats: Some(MediaStats {
                    rx_packets: 250,
                    lost: 1,
                    jitter_ms: 2.5,
                    rtt_ms: None,
                    mos: Some(4.3),
                    srtp_dropped: 0,
                    fec_recovered: 0,
                    red_recovered: 0,
                    concealed_frames: 0,
                    playout_ms: None,
                    mic_level: None,
                    speaker_level: None,
                }),
                recording: Some("/tmp/c1.wav".into()),
                transfer_status: Some("180 Ringing".into()),
                sip_call_id: "c1-3f2a@127.0.0.1".into(),
                local_sip: None,
                local_media: None,
                media_encryption: None,
                redirected_to: None,
                signalling: None,
            }],
            dnd: true,
            dnd_kinds: DndKinds {
                line: false,
                presence: true,
            },
            forward: vec![
                ForwardStatus {
                    when: When::NoAnswer,
                    scope: Some(Scope::Internal),
                    to: "1009".into(),
                    after_s: Some(12),
                    via: ForwardVia::Client,
                },
                ForwardStatus {
                    when: When::Always,
                    scope: Some(Scope::All),
                    to: "sip:op@x".into(),
                    after_s: None,
                    via: ForwardVia::Client,
                },
                ForwardStatus {
                    when: When::Busy,
                    scope: None,
                    to: "1010".into(),
                    after_s: None,
                    via: ForwardVia::FeatureCode,
                },
            ],
            conference: ConferenceStatus {
                members: vec!["c1".into(), "c2".into()],
                mixer: Some(MixerStatus {
                    levels: [("c1".to_string(), -23.4), ("c2".to_string(), -96.0)].into(),
                    local_level: -12.3,
                    split: Some("c2".into()),
                    bridging: false,
                }),
            },
            listen: "127.0.0.1:5062".into(),
            mwi: Some(vec![MwiStatus {
                account: "office".into(),
                new: 2,
                old: 5,
            }]),
            blf: vec![
                BlfStatus {
                    target: "1002".into(),
                    uri: "sip:1002@test.local".into(),
                    state: "ringing".into(),
                    label: Some("Reception".into()),
                    remote: Some("sip:1003@test.local".into()),
                    presence: Some("dnd".into()),
                    note: Some("Do Not Disturb".into()),
                    name: None,
                },
                BlfStatus {
                    target: "1004".into(),
                    uri: "sip:1004@test.local".into(),
                    state: "unknown".into(),
                    ..BlfStatus::default()
                },
            ],
            pbx: None,
            callbacks: Vec::new(),
        }
    }

    /// The reply goes out as a `serde_json::Value` (keys sorted).
    fn wire(status: &Status) -> String {
        serde_json::to_string(&serde_json::to_value(status).unwrap()).unwrap()
    }

    #[test]
    fn json_is_what_the_phone_has_always_sent() {
        // Levels are f32 rounded to one decimal, sent widened to f64; a PBX
        // forwarding has neither scope nor delay; `split` is `null` rather
        // than left out while a conference runs.
        let want = concat!(
            r#"{"accounts":[{"aor":"sip:1001@test.local","expires":3600,"name":"office","registered":true},"#,
            r#"{"aor":"sip:alice@127.0.0.1","expires":0,"name":"direct","reason":"registration off (direct IP)","registered":false}],"#,
            r#""blf":[{"label":"Reception","note":"Do Not Disturb","presence":"dnd","remote":"sip:1003@test.local","state":"ringing","target":"1002","uri":"sip:1002@test.local"},"#,
            r#"{"state":"unknown","target":"1004","uri":"sip:1004@test.local"}],"#,
            r#""calls":[{"account":"office","answered_at":"2026-11-25T13:00:05Z","codec":"PCMU","conference":true,"direction":"in","held":false,"id":"c1","muted":true,"recording":"/tmp/c1.wav","remote":"sip:1003@test.local","remote_held":false,"remote_name":"Carol","sip_call_id":"c1-3f2a@127.0.0.1","started_at":"2026-11-25T13:00:00Z","state":"active","stats":{"jitter_ms":2.5,"lost":1,"mos":4.3,"rx_packets":250},"transfer_status":"180 Ringing"}],"#,
            r#""conference":{"levels":{"c1":-23.399999618530273,"c2":-96.0},"local_level":-12.300000190734863,"members":["c1","c2"],"split":"c2"},"#,
            r#""dnd":true,"dnd_kinds":{"line":false,"presence":true},"#,
            r#""forward":[{"after_s":12,"scope":"internal","to":"1009","via":"client","when":"no_answer"},{"scope":"all","to":"sip:op@x","via":"client","when":"always"},{"to":"1010","via":"feature_code","when":"busy"}],"#,
            r#""listen":"127.0.0.1:5062","mwi":[{"account":"office","new":2,"old":5}]}"#,
        );
        assert_eq!(wire(&full()), want);
        let mut split_none = full();
        if let Some(m) = split_none.conference.mixer.as_mut() {
            m.split = None;
        }
        assert!(wire(&split_none).contains(r#""split":null"#));
    }

    #[test]
    fn the_pbx_profile_is_an_added_field() {
        let mut status = full();
        status.pbx = Some(PbxStatus {
            profile: "openscape4000".into(),
            verified: false,
        });
        let json = wire(&status);
        assert!(
            json.ends_with(r#""pbx":{"profile":"openscape4000","verified":false}}"#),
            "{json}"
        );
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn addresses_in_use_are_added_fields() {
        let mut status = full();
        status.accounts[0].local_sip = Some("198.51.100.20:5060".into());
        status.calls[0].local_sip = Some("198.51.100.20:5060".into());
        status.calls[0].local_media = Some("198.51.100.20:40000".into());
        let json = wire(&status);
        assert!(json.contains(
            r#"{"aor":"sip:1001@test.local","expires":3600,"local_sip":"198.51.100.20:5060","name":"office","registered":true}"#
        ));
        assert!(json.contains(
            r#""local_media":"198.51.100.20:40000","local_sip":"198.51.100.20:5060","muted":true"#
        ));
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, status);
        // Behind a NAT the public address is added beside it.
        status.accounts[0].public_sip = Some("198.51.100.1:5060".into());
        let json = wire(&status);
        assert!(json.contains(
            r#"{"aor":"sip:1001@test.local","expires":3600,"local_sip":"198.51.100.20:5060","name":"office","public_sip":"198.51.100.1:5060","registered":true}"#
        ));
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn an_idle_phone_sends_an_empty_conference_and_null_mwi() {
        assert_eq!(
            wire(&Status::default()),
            r#"{"accounts":[],"blf":[],"calls":[],"conference":{"members":[]},"dnd":false,"dnd_kinds":{"line":false,"presence":false},"forward":[],"listen":"","mwi":null}"#
        );
    }

    #[test]
    fn round_trips_and_reads_partial_replies() {
        let status = full();
        let back: Status = serde_json::from_value(serde_json::to_value(&status).unwrap()).unwrap();
        assert_eq!(back, status);
        let idle: Status =
            serde_json::from_value(serde_json::to_value(Status::default()).unwrap()).unwrap();
        assert_eq!(idle, Status::default());
        let partial: Status = serde_json::from_str(r#"{"dnd":true,"mwi":null}"#).unwrap();
        assert!(partial.dnd && partial.conference.mixer.is_none());
    }
}
