//! termphone: a keyboard-driven SIP softphone for terminals.
//!
//! Map of the crate (dependencies point downwards only; `tests/architecture.rs`
//! holds the table of allowed edges and fails on any other):
//!
//! - [`control`]: JSON-lines control socket server and the `ctl` client. Turns
//!   socket input into a [`command::Command`] for the phone; names nothing of
//!   `sip`, `media` or `store`.
//! - [`phone`]: the `CallManager` actor and one `CallActor` per SIP dialog.
//!   Speaks [`command::Command`] in and [`phone::Event`] out, and hands the
//!   interfaces what they show of the layers below (the SIP trace).
//! - [`sip`]: SIP over the `rsipstack::sip` message codec: transport (UDP/TCP/TLS),
//!   RFC 3261 transactions, dialogs, digest auth, registration, SDP. Knows
//!   nothing about media sessions, calls or the user interface.
//! - [`media`]: RTP/RTCP, jitter buffer, loss concealment, G.711, audio
//!   backends (cpal, null, WAV file), the echo reflector. Knows nothing about SIP.
//! - [`ui`]: the terminal interface (ratatui): views, keymaps, themes. Sends
//!   [`command::Command`]s to the phone like the control socket; names
//!   nothing of `sip`, `media` or `store`.
//! - [`rtp_types`]: the codec, media direction and negotiated RTP parameters
//!   that `sip::sdp` produces and `media` consumes (a leaf below both).
//! - [`store`]: crash-safe call history (SQLite, WAL).
//! - [`config`]: TOML configuration and XDG paths, including the `[audio]`
//!   settings `media` opens its backend from (a leaf).
//! - [`command`]: the one command language shared by keys, the `:` line and the
//!   socket (a leaf).
//! - [`timer`]: the optional deadline the actors' `select!` loops sleep on (a leaf).

pub mod command;
pub mod config;
pub mod control;
pub mod media;
pub mod phone;
pub mod rtp_types;
pub mod sip;
pub mod store;
pub mod timer;
pub mod ui;
