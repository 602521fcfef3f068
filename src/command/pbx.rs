//! Specs of the commands about the line and the PBX's features: dnd,
//! forward, forward_clear, pickup, blf. Data only; the phone acts.

use super::spec::{Arg, Spec, EVERYWHERE};
use super::{Command, DndVia};

pub static DND: Spec = Spec {
    name: "dnd",
    args: &[
        Arg::flag("on"),
        Arg::one_of("via", &["line", "presence"])
            .quote_values()
            .default("line"),
    ],
    help: "Do Not Disturb on/off (via line or presence)",
    effect:
        "line: new calls get 486 (or configured code); presence: publishes \"busy/do not disturb\".",
    surfaces: EVERYWHERE,
    example: "dnd off presence",
    build: |a| {
        Ok(Command::Dnd {
            on: a.get("on")?,
            via: match a.get::<String>("via")?.as_str() {
                "presence" => DndVia::Presence,
                _ => DndVia::Line, // "line", the only other choice
            },
        })
    },
};

pub static FORWARD: Spec = Spec {
    name: "forward",
    args: &[
        Arg::one_of("when", &["always", "busy", "no_answer"]),
        Arg::text("to"),
        Arg::one_of("scope", &["all", "internal", "external"]).default("all"),
        Arg::whole("after_s").optional().note("at most 600"),
        Arg::one_of("via", &["client", "feature_code"]).default("client"),
    ],
    help: "add a call forwarding rule",
    effect: "adds a forwarding rule (persisted).",
    surfaces: EVERYWHERE,
    example: "forward no_answer 1004 after_s=5",
    build: |a| {
        // Checked in this order since the first version; scripts see the
        // first fault.
        let when = a.get("when")?;
        let scope = a.get("scope")?;
        let via = a.get("via")?;
        Ok(Command::Forward {
            when,
            scope,
            to: a.get("to")?,
            after_s: a.get::<Option<u64>>("after_s")?.map(|s| s.min(600) as u32),
            via,
        })
    },
};

pub static FORWARD_CLEAR: Spec = Spec {
    name: "forward_clear",
    args: &[],
    help: "remove every forwarding rule",
    effect: "removes every forwarding rule.",
    surfaces: EVERYWHERE,
    example: "forward_clear",
    build: |_| Ok(Command::ForwardClear),
};

pub static PICKUP: Spec = Spec {
    name: "pickup",
    args: &[Arg::text("target").optional()],
    help: "pick up a ringing call",
    effect: "directed pickup of `target`'s ringing call (dialog event + INVITE with Replaces), or the PBX feature code when so configured.",
    surfaces: EVERYWHERE,
    example: "pickup 1002",
    build: |a| Ok(Command::Pickup { target: a.get("target")? }),
};

pub static BLF: Spec = Spec {
    name: "blf",
    args: &[],
    help: "busy lamp field states",
    effect: "`{blf:[{target, state, remote?}]}`; `state` is `idle`, `ringing`, `busy`, `offline` or `unknown`.",
    surfaces: EVERYWHERE,
    example: "blf",
    build: |_| Ok(Command::Blf),
};
