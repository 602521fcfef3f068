//! Specs of the commands that send a call elsewhere: deflect, transfer,
//! consult, connect. Data only; the phone carries them out.

use super::spec::{Arg, Spec, EVERYWHERE};
use super::Command;

pub static DEFLECT: Spec = Spec {
    name: "deflect",
    args: &[Arg::text("to"), Arg::text("call").optional()],
    help: "forward an incoming call before answering (302)",
    effect: "302 Moved Temporarily with Contact `to`, before answering.",
    surfaces: EVERYWHERE,
    example: "deflect 1003 c1",
    build: |a| {
        Ok(Command::Deflect {
            call: a.get("call")?,
            to: a.get("to")?,
        })
    },
};

pub static TRANSFER: Spec = Spec {
    name: "transfer",
    args: &[Arg::text("to"), Arg::text("call").optional()],
    help: "blind transfer (REFER)",
    effect:
        "blind transfer: REFER (`Refer-To: to`), follows NOTIFY sipfrag, ends the call on success.",
    surfaces: EVERYWHERE,
    example: "transfer call=c1 to=1003",
    build: |a| {
        Ok(Command::Transfer {
            call: a.get("call")?,
            to: a.get("to")?,
        })
    },
};

pub static CONSULT: Spec = Spec {
    name: "consult",
    args: &[Arg::text("to"), Arg::text("call").optional()],
    help: "hold the call and dial a consultation",
    effect: "holds `call`, dials `to`; returns `{call}` of the consultation.",
    surfaces: EVERYWHERE,
    example: "consult 1003",
    build: |a| {
        Ok(Command::Consult {
            call: a.get("call")?,
            to: a.get("to")?,
        })
    },
};

pub static CONNECT: Spec = Spec {
    name: "connect",
    args: &[Arg::text("call"), Arg::text("consult")],
    help: "attended transfer of call to consult",
    effect:
        "attended transfer: REFER to `call`'s peer with `Refer-To: <consult target>?Replaces=…`.",
    surfaces: EVERYWHERE,
    example: "connect c1 c2",
    build: |a| {
        Ok(Command::Connect {
            call: a.get("call")?,
            consult: a.get("consult")?,
        })
    },
};
