//! Which requests of the peer belong to the call (RFC 3261 §12.2.2): a
//! request is taken only when its Call-ID and both tags name a dialog the
//! call has: the confirmed one, or while it is not confirmed yet the early
//! ones (the caller's INVITE we ring for; the callees whose 1xx carried a
//! To tag). Anything else gets 481. Pure: the actor gathers the tags
//! ([`peer_tags`]) and acts on the verdict ([`in_dialog`]); CANCEL is not
//! judged here (the transaction layer matches it to the INVITE).

/// The most early dialogs (forks of our INVITE) whose tags are kept.
pub const MAX_EARLY_DIALOGS: usize = 16;

/// The dialogs of a call at one moment, as our side knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogIds<'a> {
    pub call_id: &'a str,
    /// Our tag: the From tag of our INVITE, the To tag of our answers.
    pub local_tag: &'a str,
    /// The peer's tag in each dialog the call has ("" for a peer whose
    /// From carried no tag, RFC 3261 §12.2.2).
    pub peer_tags: Vec<&'a str>,
}

/// The peer tags a request may carry: the confirmed dialog's alone once
/// there is one; before that the tag of the caller we ring for (callee), or
/// those of the early dialogs our INVITE made (caller).
pub fn peer_tags<'a>(
    confirmed: Option<&'a str>,
    ringing_for: Option<&'a str>,
    early: &'a [String],
) -> Vec<&'a str> {
    match (confirmed, ringing_for) {
        (Some(tag), _) => vec![tag],
        (None, Some(tag)) => vec![tag],
        (None, None) => early.iter().map(String::as_str).collect(),
    }
}

/// Does a request with this Call-ID, From tag and To tag belong to one of
/// `ids`' dialogs? The To tag must be ours and the From tag the peer's.
pub fn in_dialog(
    ids: &DialogIds,
    call_id: Option<&str>,
    from_tag: Option<&str>,
    to_tag: Option<&str>,
) -> bool {
    call_id == Some(ids.call_id)
        && to_tag == Some(ids.local_tag)
        && ids.peer_tags.contains(&from_tag.unwrap_or(""))
}

/// Notes the peer's tag of an early dialog (the To tag of a 1xx to our
/// INVITE), once, and no more than [`MAX_EARLY_DIALOGS`] of them.
pub fn note_early_tag(early: &mut Vec<String>, tag: Option<String>) {
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        if !early.contains(&tag) && early.len() < MAX_EARLY_DIALOGS {
            early.push(tag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Call-ID, From tag, To tag of a request, and whether it is taken.
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, bool);

    fn ids(peer_tags: Vec<&str>) -> DialogIds<'_> {
        DialogIds {
            call_id: "c1@host",
            local_tag: "ours",
            peer_tags,
        }
    }

    #[test]
    fn a_request_must_name_call_id_and_both_tags() {
        let confirmed = ids(vec!["theirs"]);
        // (call id, from tag, to tag, taken)
        let table: &[Case] = &[
            (Some("c1@host"), Some("theirs"), Some("ours"), true),
            // The forged BYE: right Call-ID, made-up tags.
            (Some("c1@host"), Some("x1"), Some("x2"), false),
            (Some("c1@host"), Some("theirs"), Some("x2"), false),
            (Some("c1@host"), Some("x1"), Some("ours"), false),
            (Some("c1@host"), Some("theirs"), None, false),
            (Some("c1@host"), None, Some("ours"), false),
            (Some("c2@host"), Some("theirs"), Some("ours"), false),
            (None, Some("theirs"), Some("ours"), false),
            // Tags swapped (our own request reflected back).
            (Some("c1@host"), Some("ours"), Some("theirs"), false),
            // Case matters for tags (RFC 3261 §19.3: compared exactly).
            (Some("c1@host"), Some("THEIRS"), Some("ours"), false),
        ];
        for (call_id, from, to, taken) in table {
            assert_eq!(
                in_dialog(&confirmed, *call_id, *from, *to),
                *taken,
                "{call_id:?} {from:?} {to:?}"
            );
        }
    }

    #[test]
    fn a_peer_without_a_from_tag_matches_only_an_empty_peer_tag() {
        let rfc2543 = ids(vec![""]);
        assert!(in_dialog(&rfc2543, Some("c1@host"), None, Some("ours")));
        assert!(!in_dialog(
            &rfc2543,
            Some("c1@host"),
            Some("x"),
            Some("ours")
        ));
        let tagged = ids(vec!["theirs"]);
        assert!(!in_dialog(&tagged, Some("c1@host"), None, Some("ours")));
    }

    #[test]
    fn which_peer_tags_count_in_each_phase() {
        let early = vec!["fork1".to_string(), "fork2".to_string()];
        // Confirmed: only its own tag, even with early forks noted.
        assert_eq!(peer_tags(Some("t"), None, &early), vec!["t"]);
        assert_eq!(peer_tags(Some("t"), Some("caller"), &[]), vec!["t"]);
        // Ringing here: the caller's From tag.
        assert_eq!(peer_tags(None, Some("caller"), &[]), vec!["caller"]);
        // Our INVITE out: every early dialog a 1xx made.
        assert_eq!(peer_tags(None, None, &early), vec!["fork1", "fork2"]);
        // Nothing yet: no request can match.
        assert!(peer_tags(None, None, &[]).is_empty());
        assert!(!in_dialog(
            &ids(vec![]),
            Some("c1@host"),
            Some(""),
            Some("ours")
        ));
    }

    #[test]
    fn early_tags_are_kept_once_and_bounded() {
        let mut early = Vec::new();
        note_early_tag(&mut early, Some("a".into()));
        note_early_tag(&mut early, Some("a".into()));
        note_early_tag(&mut early, None);
        note_early_tag(&mut early, Some(String::new()));
        assert_eq!(early, vec!["a"]);
        for i in 0..100 {
            note_early_tag(&mut early, Some(format!("f{i}")));
        }
        assert_eq!(early.len(), MAX_EARLY_DIALOGS);
    }
}
