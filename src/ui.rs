//! The terminal interface (ratatui + crossterm): views of calls, history
//! and the SIP ladder, keys from keymaps, themes. Renders what a
//! [`crate::phone::Feed`] reports (events, the SIP trace) and sends
//! [`crate::command::Command`]s through a [`crate::phone::PhoneLink`]: in
//! the binary, the control socket of a phone running on its own; never touches
//! sockets or audio itself and names nothing of `sip`, `media` or `store`
//! (the SIP trace of the ladder comes through [`crate::phone`]).
//!
//! - [`app`]: the state and its reducer (pure, testable without a terminal).
//! - [`view`]: drawing the state, one widget per file.
//! - [`keymap`], [`key`], [`action`]: keys → actions / command lines.
//! - [`theme`]: semantic roles → styles.
//! - [`runner`]: the event loop on a real terminal.
//! - [`panic_hook`]: the terminal restored before a fatal panic is
//!   printed; other threads' panics only logged.

pub mod action;
pub mod app;
pub mod key;
pub mod keymap;
pub mod panic_hook;
pub mod runner;
pub mod theme;
pub mod time;
pub mod view;

pub use app::App;
pub use runner::{run, Outcome};
pub use view::draw;
