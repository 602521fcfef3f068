//! RFC 6910 call completion, the call's part: when the busy or unanswered
//! final response to our INVITE offers it (`Call-Info` with
//! `purpose=call-completion`), the call tells the manager the monitor's
//! URI before it reports its end, so a `callback when=free` can subscribe
//! there. It only reads the response; arming and watching belong to the
//! manager's `callback` module.

use super::*;
use crate::sip::subscription::call_completion;

impl CallActor {
    /// Passes on the call-completion monitor `resp` offers, if any.
    pub(super) fn note_call_completion(&self, resp: &Response) {
        if let Some(monitor) = call_completion::offered(&resp.headers) {
            let _ = self.env.manager.send(ManagerMsg::CallCompletionOffered {
                call: self.info.id.clone(),
                monitor,
            });
        }
    }
}
