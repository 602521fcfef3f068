//! Specs of the commands about the phone as a whole: status, history, devices,
//! callback (now, or when free: `callback::*` for its other commands), events, trace, detach, quit. Data only; the phone answers them.

use super::spec::{Arg, Spec, EVERYWHERE, SOCKET_ONLY};
use super::Command;

pub static STATUS: Spec = Spec {
    name: "status",
    args: &[],
    help: "accounts, calls and phone state",
    effect: "`{accounts:[{name, aor, registered, expires, reason?}], calls:[Call], dnd, forward:[Rule], conference:{members:[call]}, mwi?}`; `reason` says why an account is not registered (e.g. \"401 wrong password\").",
    surfaces: EVERYWHERE,
    example: "status",
    build: |_| Ok(Command::Status),
};

pub static HISTORY: Spec = Spec {
    name: "history",
    args: &[Arg::whole("limit").optional()],
    help: "call history, newest first",
    effect: "`{history:[{id, account, direction, remote, started_at, answered_at?, ended_at, end_reason, missed, name?}]}`, newest first; `name` is the call's `name` (below) when it had one.",
    surfaces: EVERYWHERE,
    example: "history 5",
    build: |a| {
        Ok(Command::History {
            limit: a.get::<Option<u64>>("limit")?.map(|l| l as usize),
        })
    },
};

pub static CALLBACK: Spec = Spec {
    name: "callback",
    args: &[
        Arg::whole("entry").optional(),
        Arg::one_of("when", &["free"]).optional(),
        Arg::text("to").optional(),
    ],
    help: "call back a history entry (default: last missed); when=free: once the busy party is free",
    effect: "dials the remote party of a history entry (default: the last missed call). With `when=free`: arms a callback when free for `to` (default: the history entry's remote party, else the last outgoing call that met busy or no answer): `{callback:{id, target, via, state, reason, expires_at}}`; see \"Callback when free\".",
    surfaces: EVERYWHERE,
    example: "callback 7",
    build: |a| {
        let entry = a.get::<Option<u64>>("entry")?.map(|e| e as i64);
        let to: Option<String> = a.get("to")?;
        match a.get::<Option<String>>("when")? {
            Some(_) => Ok(Command::CallbackFree { entry, to }),
            None if to.is_some() => Err(crate::command::CommandError::bad_argument(
                "`to` goes with `when=free`; to call a number now use `dial`",
            )),
            None => Ok(Command::Callback { entry }),
        }
    },
};

pub static DEVICES: Spec = Spec {
    name: "devices",
    args: &[],
    help: "sound devices: inputs and outputs, the defaults marked",
    effect: "`{inputs:[{id, name, default}], outputs:[{id, name, default}]}`: the sound devices (cpal) whatever the backend, `default` on the system's default of each list; an `id` or `name` is what `[audio] input_device`, `output_device` and `ring_device` take.",
    surfaces: EVERYWHERE,
    example: "devices",
    build: |_| Ok(Command::Devices),
};

pub static DEVICE: Spec = Spec {
    name: "device",
    args: &[
        Arg::one_of("role", &["input", "output", "ring"]),
        Arg::text("name").optional(),
    ],
    help: "use a sound device for the microphone, the calls or the rings",
    effect: "the cpal backend switches the microphone (`input`), the call output (`output`) or the output of rings with no call (`ring`) to the device `name` (an `id` or `name` from `devices`; absent: the system's default), running calls included: `{role, id}` with the id chosen (null: the default). Until the phone restarts; the `[audio]` keys set it at start. `bad_argument` for a device that is not there, `media_error` when the backend has no devices (null, file, or cpal fell back).",
    surfaces: EVERYWHERE,
    example: "device ring default",
    build: |a| {
        Ok(Command::Device {
            role: a.get("role")?,
            name: a.get("name")?,
        })
    },
};

pub static EVENTS: Spec = Spec {
    name: "events",
    args: &[],
    help: "stream events",
    effect: "answered with `ok`, then one event a line (see \"Call object and events\").",
    surfaces: SOCKET_ONLY,
    example: "events",
    build: |_| Ok(Command::Events),
};

pub static TRACE: Spec = Spec {
    name: "trace",
    args: &[],
    help: "stream the SIP trace",
    effect: "answered with `ok`, then one `{\"event\":\"sip\", at_ms, direction, peer, call_id, summary, cseq, text}` line per SIP message sent or received (Authorization redacted), the last 200 first.",
    surfaces: SOCKET_ONLY,
    example: "trace",
    build: |_| Ok(Command::Trace),
};

pub static DETACH: Spec = Spec {
    name: "detach",
    args: &[],
    help: "leave the phone and its calls running, close this view",
    effect: "the TUI exits and the phone goes on (`termphone attach` comes back); on the socket: `ok`, then the connection is closed.",
    surfaces: EVERYWHERE,
    example: "detach",
    build: |_| Ok(Command::Detach),
};

pub static QUIT: Spec = Spec {
    name: "quit",
    args: &[],
    help: "end all calls, unregister and exit",
    effect: "ends all calls cleanly, unregisters, exits.",
    surfaces: EVERYWHERE,
    example: "quit",
    build: |_| Ok(Command::Quit),
};
