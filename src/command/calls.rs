//! Specs of the commands on one call: dial, answer, hangup, reject, hold,
//! resume, switch, mute, dtmf, record. Data only; the phone carries them out.

use super::spec::{Arg, Spec, EVERYWHERE};
use super::{Command, CommandError};

pub static DIAL: Spec = Spec {
    name: "dial",
    args: &[Arg::text("to"), Arg::text("account").optional()],
    help: "call a number, SIP URI or `echo`",
    effect: "INVITE; returns `{call}`. `to` may be a number (uses the account's domain), a SIP URI, or `echo`.",
    surfaces: EVERYWHERE,
    example: "dial sip:bob@127.0.0.1:5070 account=office",
    build: |a| {
        Ok(Command::Dial {
            to: a.get("to")?,
            account: a.get("account")?,
        })
    },
};

pub static ANSWER: Spec = Spec {
    name: "answer",
    args: &[Arg::text("call").optional()],
    help: "answer the ringing call",
    effect: "200 OK. If another call is active it is put on hold first.",
    surfaces: EVERYWHERE,
    example: "answer c1",
    build: |a| {
        Ok(Command::Answer {
            call: a.get("call")?,
        })
    },
};

pub static HANGUP: Spec = Spec {
    name: "hangup",
    args: &[Arg::text("call").optional()],
    help: "end a call",
    effect: "BYE / CANCEL, whatever the state needs.",
    surfaces: EVERYWHERE,
    example: "hangup",
    build: |a| {
        Ok(Command::Hangup {
            call: a.get("call")?,
        })
    },
};

pub static REJECT: Spec = Spec {
    name: "reject",
    args: &[
        Arg::text("call").optional(),
        Arg::whole("code")
            .default("486")
            .suggest(&["486", "603"])
            .note("603 decline"),
    ],
    help: "reject an incoming call (486/603)",
    effect: "final error response to an incoming call.",
    surfaces: EVERYWHERE,
    example: "reject c2 603",
    build: |a| {
        let code: u64 = a.get("code")?;
        if code != 486 && code != 603 && !(400..700).contains(&code) {
            return Err(CommandError::bad_argument(format!(
                "reject code must be a 4xx, 5xx or 6xx status (486 busy, 603 decline), not {code}"
            )));
        }
        Ok(Command::Reject {
            call: a.get("call")?,
            code: code as u16,
        })
    },
};

pub static HOLD: Spec = Spec {
    name: "hold",
    args: &[Arg::text("call").optional()],
    help: "put a call on hold",
    effect: "re-INVITE with `a=sendonly`.",
    surfaces: EVERYWHERE,
    example: "hold c1",
    build: |a| {
        Ok(Command::Hold {
            call: a.get("call")?,
        })
    },
};

pub static RESUME: Spec = Spec {
    name: "resume",
    args: &[Arg::text("call").optional()],
    help: "resume a held call",
    effect: "re-INVITE with `a=sendrecv`.",
    surfaces: EVERYWHERE,
    example: "resume c1",
    build: |a| {
        Ok(Command::Resume {
            call: a.get("call")?,
        })
    },
};

pub static SWITCH: Spec = Spec {
    name: "switch",
    args: &[Arg::text("call").optional()],
    help: "hold the active call, resume another",
    effect: "holds the active call and resumes the given (default: the other) held call.",
    surfaces: EVERYWHERE,
    example: "switch c2",
    build: |a| {
        Ok(Command::Switch {
            call: a.get("call")?,
        })
    },
};

pub static MUTE: Spec = Spec {
    name: "mute",
    args: &[Arg::flag("on").default("on"), Arg::text("call").optional()],
    help: "stop or restart sending audio",
    effect: "stops sending audio.",
    surfaces: EVERYWHERE,
    example: "mute off c2",
    build: |a| {
        Ok(Command::Mute {
            call: a.get("call")?,
            on: a.get("on")?,
        })
    },
};

pub static GAIN: Spec = Spec {
    name: "gain",
    args: &[
        Arg::text("mic").optional().suggest(&["up", "down", "0"]),
        Arg::text("speaker").optional().suggest(&["up", "down", "0"]),
        Arg::text("call").optional(),
    ],
    help: "turn a call's microphone or speaker up or down",
    effect: "sets the call's microphone (what the peer hears) and speaker (what we hear) gain on the sound card, or with the file backend on the WAV it plays and the recording (what the peer and we hear there): `up` / `down` move 3 dB, a whole number sets dB (-30 to +20; 0 = unchanged audio); `{call, mic_db, speaker_db}`. `bad_argument` without `mic` or `speaker` or with another value, `media_error` when the backend is null (or cpal fell back to it) or the call has no audio yet.",
    surfaces: EVERYWHERE,
    example: "gain speaker=down c1",
    build: |a| {
        let mic: Option<String> = a.get("mic")?;
        let speaker: Option<String> = a.get("speaker")?;
        if mic.is_none() && speaker.is_none() {
            return Err(crate::command::CommandError::bad_argument(
                "name `mic` or `speaker` (up, down or dB)",
            ));
        }
        Ok(Command::Gain {
            call: a.get("call")?,
            mic,
            speaker,
        })
    },
};

pub static DTMF: Spec = Spec {
    name: "dtmf",
    args: &[Arg::text("digits"), Arg::text("call").optional()],
    help: "send DTMF digits",
    effect: "RFC 4733 telephone-event (SIP INFO when the peer lacks it).",
    surfaces: EVERYWHERE,
    example: "dtmf 12#a",
    build: |a| {
        let digits: String = a.get("digits")?;
        if let Some(bad) = digits
            .chars()
            .find(|c| !"0123456789*#ABCDabcd".contains(*c))
        {
            return Err(CommandError::bad_argument(format!(
                "`dtmf`: `{bad}` is not a DTMF digit (0-9, *, #, A-D)"
            )));
        }
        Ok(Command::Dtmf {
            call: a.get("call")?,
            digits: digits.to_ascii_uppercase(),
        })
    },
};

pub static RECORD: Spec = Spec {
    name: "record",
    args: &[
        Arg::flag("on").default("on"),
        Arg::text("call").optional(),
        Arg::text("path").optional(),
    ],
    help: "record a call (both directions) to WAV",
    effect: "records both directions to WAV.",
    surfaces: EVERYWHERE,
    example: "record on c2 path=/tmp/x.wav",
    build: |a| {
        Ok(Command::Record {
            call: a.get("call")?,
            on: a.get("on")?,
            path: a.get("path")?,
        })
    },
};
