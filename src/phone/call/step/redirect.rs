//! Following redirects of our INVITE (RFC 3261 §8.1.3.4): a 300/301/302
//! names new targets in its Contacts; they are tried best `q` first, none
//! twice (the targets already tried, the first one included, are a loop),
//! at most [`MAX_REDIRECTS`] in all. A redirected target that fails (but
//! not with a 6xx, which ends the search) gives way to the next target
//! still pending. [`redirect_step`] decides and notes it in [`Redirects`];
//! the actor (`call/redirect.rs`) sends the new INVITE. No IO here.

use crate::sip::contact_list::{same_target, RedirectTarget};

/// New targets followed at most, per call.
pub const MAX_REDIRECTS: u32 = 5;

/// What the call knows of the redirects of its INVITE.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Redirects {
    /// The targets an INVITE went to, the first included.
    pub tried: Vec<String>,
    /// Targets of earlier redirects not tried yet, best first.
    pub pending: Vec<String>,
    /// New targets followed so far.
    pub hops: u32,
}

/// A final response to our INVITE, as far as redirects go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinalResponse<'a> {
    pub code: u16,
    /// "302 Moved Temporarily".
    pub status: &'a str,
    /// Its Contacts, best first (only a 3xx's count).
    pub contacts: &'a [RedirectTarget],
    /// The user hung up meanwhile.
    pub hung_up: bool,
}

/// What the response leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectStep {
    /// Not a matter of redirects: the response takes its usual course.
    Usual,
    /// Send the INVITE again to this target.
    Follow(String),
    /// The call ends with this reason (a loop, too many redirects).
    End(String),
}

/// Decides what the final response `resp` to the INVITE that went to the
/// call's `first` target (or the last target followed) leads to.
pub fn redirect_step(r: &mut Redirects, first: &str, resp: &FinalResponse<'_>) -> RedirectStep {
    if resp.hung_up || resp.code < 300 || matches!(resp.code, 401 | 407) {
        return RedirectStep::Usual;
    }
    if r.tried.is_empty() {
        r.tried.push(first.to_string());
    }
    let known = |r: &Redirects, uri: &str| {
        r.tried
            .iter()
            .chain(r.pending.iter())
            .any(|t| same_target(t, uri))
    };
    match resp.code {
        300..=302 => {
            if resp.contacts.is_empty() {
                return RedirectStep::Usual;
            }
            let mut fresh: Vec<String> = Vec::new();
            for c in resp.contacts {
                if !known(r, &c.uri) && !fresh.iter().any(|f| same_target(f, &c.uri)) {
                    fresh.push(c.uri.clone());
                }
            }
            // The newest redirect's targets come before older pending ones.
            fresh.append(&mut r.pending);
            r.pending = fresh;
            if r.pending.is_empty() {
                return RedirectStep::End(format!("{}: redirect loop", resp.status));
            }
        }
        600.. => {
            r.pending.clear();
            return RedirectStep::Usual;
        }
        _ if r.pending.is_empty() => return RedirectStep::Usual,
        _ => {}
    }
    if r.hops >= MAX_REDIRECTS {
        r.pending.clear();
        return RedirectStep::End(format!(
            "{}: too many redirects ({MAX_REDIRECTS})",
            resp.status
        ));
    }
    let next = r.pending.remove(0);
    r.hops += 1;
    r.tried.push(next.clone());
    RedirectStep::Follow(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "sip:1002@127.0.0.1:5070";

    fn targets(uris: &[&str]) -> Vec<RedirectTarget> {
        uris.iter()
            .map(|u| RedirectTarget {
                uri: u.to_string(),
                q: 1.0,
            })
            .collect()
    }

    fn step(r: &mut Redirects, code: u16, contacts: &[&str]) -> RedirectStep {
        let contacts = targets(contacts);
        let resp = FinalResponse {
            code,
            status: "3xx",
            contacts: &contacts,
            hung_up: false,
        };
        redirect_step(r, FIRST, &resp)
    }

    fn follow(uri: &str) -> RedirectStep {
        RedirectStep::Follow(uri.to_string())
    }

    #[test]
    fn responses_that_are_no_redirect_take_their_course() {
        for code in [200, 401, 407, 486, 503, 603] {
            let mut r = Redirects::default();
            assert_eq!(
                step(&mut r, code, &["sip:b@h"]),
                RedirectStep::Usual,
                "{code}"
            );
        }
        let mut r = Redirects::default();
        assert_eq!(step(&mut r, 302, &[]), RedirectStep::Usual);
        for code in [303, 305, 380] {
            let mut r = Redirects::default();
            assert_eq!(
                step(&mut r, code, &["sip:b@h"]),
                RedirectStep::Usual,
                "{code}"
            );
        }
        let contacts = targets(&["sip:b@h"]);
        let hung_up = FinalResponse {
            code: 302,
            status: "302 Moved",
            contacts: &contacts,
            hung_up: true,
        };
        let mut r = Redirects::default();
        assert_eq!(redirect_step(&mut r, FIRST, &hung_up), RedirectStep::Usual);
        assert_eq!(r.hops, 0);
    }

    #[test]
    fn a_redirect_is_followed_in_the_given_order_skipping_tried_targets() {
        let mut r = Redirects::default();
        // The first target (with its default port spelled out) is a loop.
        let got = step(
            &mut r,
            302,
            &["sip:1002@127.0.0.1:5070", "sip:b@h", "sip:c@h"],
        );
        assert_eq!(got, follow("sip:b@h"));
        assert_eq!(r.tried.last().map(String::as_str), Some("sip:b@h"));
        assert_eq!(r.pending, vec!["sip:c@h".to_string()]);
        // b is busy: c is next; then nothing is left.
        assert_eq!(step(&mut r, 486, &[]), follow("sip:c@h"));
        assert_eq!(step(&mut r, 486, &[]), RedirectStep::Usual);
        assert_eq!(r.hops, 2);
    }

    #[test]
    fn a_redirect_to_targets_already_tried_is_a_loop() {
        let mut r = Redirects::default();
        assert_eq!(step(&mut r, 301, &["sip:b@h"]), follow("sip:b@h"));
        let got = step(&mut r, 302, &["sip:B@h:5060", FIRST]);
        assert!(
            matches!(got, RedirectStep::End(ref why) if why.contains("loop")),
            "{got:?}"
        );
    }

    #[test]
    fn newer_targets_come_before_older_pending_ones() {
        let mut r = Redirects::default();
        assert_eq!(
            step(&mut r, 300, &["sip:b@h", "sip:c@h"]),
            follow("sip:b@h")
        );
        assert_eq!(
            step(&mut r, 302, &["sip:d@h", "sip:c@h"]),
            follow("sip:d@h")
        );
        assert_eq!(r.pending, vec!["sip:c@h".to_string()]);
    }

    #[test]
    fn a_global_failure_ends_the_search() {
        let mut r = Redirects::default();
        assert_eq!(
            step(&mut r, 302, &["sip:b@h", "sip:c@h"]),
            follow("sip:b@h")
        );
        assert_eq!(step(&mut r, 603, &[]), RedirectStep::Usual);
        assert!(r.pending.is_empty());
    }

    #[test]
    fn at_most_five_targets_are_followed() {
        let mut r = Redirects::default();
        for hop in 1..=MAX_REDIRECTS {
            let uri = format!("sip:hop{hop}@h");
            assert_eq!(step(&mut r, 302, &[uri.as_str()]), follow(&uri));
        }
        let got = step(&mut r, 302, &["sip:hop6@h"]);
        assert!(
            matches!(got, RedirectStep::End(ref why) if why.contains("too many")),
            "{got:?}"
        );
        assert_eq!(r.hops, MAX_REDIRECTS);
    }
}
