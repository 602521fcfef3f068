//! What the call signals with, beyond any one transaction: our tag (known
//! before the dialog exists), the dialog once there is one, the last ACK we
//! sent for a 2xx, and the digest state that answers challenges to the
//! call's requests. Building and sending requests is the actor's
//! (`outgoing.rs`, `control.rs`, `transfer.rs`); no decisions here.

use super::step::Sent;
use crate::sip::auth::DigestState;
use crate::sip::dialog::Dialog;
use crate::sip::message as m;

/// The call's SIP side, as the actor keeps it.
pub(super) struct Signalling {
    /// Our tag: the From tag of our INVITE, the To tag of our answers.
    pub local_tag: String,
    /// The dialog, once a 2xx made it (or we answered).
    pub dialog: Option<Dialog>,
    /// The ACK we sent for a 2xx (re-sent on 2xx retransmissions).
    pub last_ack: Option<Sent>,
    /// Nonces and counts for the challenges of the call's requests.
    pub digest: DigestState,
    /// The peer tags of the early dialogs our INVITE made (To tags of its
    /// 1xx, bounded): what a peer's request may carry before the 2xx.
    pub early_peer_tags: Vec<String>,
}

impl Signalling {
    pub fn new() -> Self {
        Signalling {
            local_tag: m::new_tag(),
            dialog: None,
            last_ack: None,
            digest: DigestState::default(),
            early_peer_tags: Vec::new(),
        }
    }
}
