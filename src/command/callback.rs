//! Specs of the commands on pending callbacks when free (`callback
//! when=free` itself is `session::CALLBACK`): accept one that rings,
//! cancel one. The argument is `callback` (the callback's id; `id` is
//! the request's own). Data only; the phone's `callback` module answers them.

use super::spec::{Arg, Spec, EVERYWHERE};
use super::Command;

pub static CALLBACK_ACCEPT: Spec = Spec {
    name: "callback_accept",
    args: &[Arg::text("callback").optional()],
    help: "dial a callback whose target is free (default: the one ringing)",
    effect: "stops the callback ring and dials the free target: `{call}`.",
    surfaces: EVERYWHERE,
    example: "callback_accept cb1",
    build: |a| {
        Ok(Command::CallbackAccept {
            id: a.get("callback")?,
        })
    },
};

pub static CALLBACK_CANCEL: Spec = Spec {
    name: "callback_cancel",
    args: &[Arg::text("callback")],
    help: "cancel a pending callback when free",
    effect: "drops the callback (unsubscribes; a PBX callback is cancelled by its off code where the profile has one): `{callbacks:[…]}`.",
    surfaces: EVERYWHERE,
    example: "callback_cancel cb1",
    build: |a| Ok(Command::CallbackCancel { id: a.get("callback")? }),
};
