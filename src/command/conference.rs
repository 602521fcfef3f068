//! Specs of the local conference's commands: conference, conf_add,
//! conf_remove, conf_split, conf_join. Data only; the phone mixes.

use super::spec::{Arg, Spec, EVERYWHERE};
use super::Command;

pub static CONFERENCE: Spec = Spec {
    name: "conference",
    args: &[Arg::list("calls").optional()],
    help: "join calls (default: all) into a local conference",
    effect: "local conference of the given (default: all) calls, mixed here.",
    surfaces: EVERYWHERE,
    example: "conference c1,c2",
    build: |a| {
        Ok(Command::Conference {
            calls: a.get("calls")?,
        })
    },
};

pub static CONF_ADD: Spec = Spec {
    name: "conf_add",
    args: &[Arg::text("to").or("call"), Arg::text("call").or("to")],
    help: "dial a party into the conference, or bring a call in",
    effect: "dials `to` (or takes an existing call) into the conference.",
    surfaces: EVERYWHERE,
    example: "conf_add 1003",
    build: |a| {
        Ok(Command::ConfAdd {
            to: a.get("to")?,
            call: a.get("call")?,
        })
    },
};

pub static CONF_REMOVE: Spec = Spec {
    name: "conf_remove",
    args: &[Arg::text("call")],
    help: "hang up one conference member",
    effect: "drops one member; the rest stay connected.",
    surfaces: EVERYWHERE,
    example: "conf_remove c2",
    build: |a| {
        Ok(Command::ConfRemove {
            call: a.get("call")?,
        })
    },
};

pub static CONF_SPLIT: Spec = Spec {
    name: "conf_split",
    args: &[Arg::text("call")],
    help: "talk privately to one member",
    effect: "talk privately to one member while the others stay mixed.",
    surfaces: EVERYWHERE,
    example: "conf_split c2",
    build: |a| {
        Ok(Command::ConfSplit {
            call: a.get("call")?,
        })
    },
};

pub static CONF_JOIN: Spec = Spec {
    name: "conf_join",
    args: &[Arg::text("call")],
    help: "bring the split member back",
    effect: "brings the split member back into the mix.",
    surfaces: EVERYWHERE,
    example: "conf_join c2",
    build: |a| {
        Ok(Command::ConfJoin {
            call: a.get("call")?,
        })
    },
};
