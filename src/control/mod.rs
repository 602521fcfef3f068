//! The JSON-lines control socket (docs/control.md "Wire format"): the server side
//! that hands each request to the phone as a [`crate::command::Command`], the
//! `termphone ctl` client, the link an attached TUI runs on ([`remote`]) and
//! the start of a phone in the background ([`launch`]), and the command line's
//! generated texts (completions, man page, `ctl --help`: [`cli`]). Never touches SIP or media: names nothing of
//! `sip`, `media` or `store`, only [`crate::phone`] and the leaves.

pub mod backlog;
pub mod cli;
pub mod client;
pub mod launch;
pub mod protocol;
pub mod remote;
pub mod server;
