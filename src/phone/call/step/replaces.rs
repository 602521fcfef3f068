//! Whether an incoming INVITE's `Replaces` (RFC 3891 §3) may take over
//! this call: only when it names a dialog the call has, with our tag as
//! its to-tag and the peer's as its from-tag; a confirmed dialog not when
//! the INVITE says `early-only` (486); an early dialog only when we started
//! it (our INVITE, not one we ring for). Anything else is 481. Pure; the
//! Call-ID was matched by the manager, which found this call by it.

use crate::sip::replaces::ReplacesParams;

/// The call's dialogs as a Replaces sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaceable<'a> {
    /// Answered: the confirmed dialog and the peer's tag in it.
    Confirmed { peer_tag: &'a str },
    /// Our INVITE is out: the early dialogs its 1xx made.
    CallerEarly { peer_tags: &'a [String] },
    /// Ringing here (not ours to give away), being set up, or over.
    Not,
}

/// The verdict on a Replaces naming this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacesStep {
    /// Take over: the confirmed dialog (BYE it) or our early one (CANCEL).
    Take,
    /// Refuse the INVITE with this code (481, 486).
    Refuse(u16),
}

/// Decides on `r` naming a call whose own tag is `local_tag`.
pub fn replaces_step(local_tag: &str, now: Replaceable, r: &ReplacesParams) -> ReplacesStep {
    if r.to_tag != local_tag {
        return ReplacesStep::Refuse(481);
    }
    match now {
        Replaceable::Confirmed { peer_tag } if peer_tag == r.from_tag => {
            if r.early_only {
                ReplacesStep::Refuse(486)
            } else {
                ReplacesStep::Take
            }
        }
        Replaceable::CallerEarly { peer_tags } if peer_tags.contains(&r.from_tag) => {
            ReplacesStep::Take
        }
        _ => ReplacesStep::Refuse(481),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(to: &str, from: &str, early_only: bool) -> ReplacesParams {
        ReplacesParams {
            call_id: "c1@host".into(),
            to_tag: to.into(),
            from_tag: from.into(),
            early_only,
        }
    }

    #[test]
    fn replaces_is_honoured_only_for_a_dialog_we_have() {
        let forks = vec!["f1".to_string(), "f2".to_string()];
        let confirmed = Replaceable::Confirmed { peer_tag: "peer" };
        let early = Replaceable::CallerEarly { peer_tags: &forks };
        use ReplacesStep::*;
        let table: &[(Replaceable, ReplacesParams, ReplacesStep)] = &[
            (confirmed, r("ours", "peer", false), Take),
            (confirmed, r("ours", "peer", true), Refuse(486)),
            // Tags made up, swapped, or only one of them right.
            (confirmed, r("x", "y", false), Refuse(481)),
            (confirmed, r("peer", "ours", false), Refuse(481)),
            (confirmed, r("ours", "x", false), Refuse(481)),
            (confirmed, r("x", "peer", false), Refuse(481)),
            // Our INVITE's early dialogs: each fork, early-only or not.
            (early, r("ours", "f2", false), Take),
            (early, r("ours", "f1", true), Take),
            (early, r("ours", "f3", false), Refuse(481)),
            (early, r("x", "f1", false), Refuse(481)),
            (
                Replaceable::CallerEarly { peer_tags: &[] },
                r("ours", "", false),
                Refuse(481),
            ),
            // Ringing here, or over: nothing to replace.
            (Replaceable::Not, r("ours", "peer", false), Refuse(481)),
            (Replaceable::Not, r("ours", "peer", true), Refuse(481)),
        ];
        for (now, params, want) in table {
            assert_eq!(
                replaces_step("ours", *now, params),
                *want,
                "{now:?} {params:?}"
            );
        }
    }
}
