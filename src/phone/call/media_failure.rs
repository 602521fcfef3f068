//! A call whose media task failed (it panicked: the media layer reports
//! `MediaEvent::Failed` with the reason) is ended the way a hang-up would
//! end it (BYE when connected, CANCEL while our INVITE is pending, a 500
//! while it rings here), with `end_reason` `"media failure: <reason>"`.
//! As on a desk phone whose audio engine fails: the line is dropped with a
//! visible reason rather than left connected and silent. (A panic in the
//! handling of one received datagram does not get here: the session drops
//! that datagram and restarts the received stream, see `media/session.rs`.)

use super::step::{hangup_step, HangupStep};
use super::*;

/// The call's `end_reason` for a media failure.
pub(super) fn failure_reason(reason: &str) -> String {
    format!("media failure: {reason}")
}

impl CallActor {
    pub(super) async fn on_media_failed(&mut self, reason: &str) {
        tracing::error!(call = %self.info.id, "media failed: {reason}");
        let why = failure_reason(reason);
        if let Some(media) = self.media.take_session() {
            self.info.stats = Some(media.stats());
            media.stop().await;
        }
        let step = hangup_step(
            &mut self.outgoing,
            self.info.state,
            self.sip.dialog.is_some(),
            self.media.echo.is_some(),
        );
        match step {
            HangupStep::Nothing => {}
            HangupStep::Reject => {
                self.respond_invite(500);
                self.end(&why).await;
            }
            HangupStep::Cancel { send_now, end_now } => {
                if send_now {
                    self.send_cancel().await;
                }
                if end_now {
                    self.end(&why).await;
                }
            }
            HangupStep::Bye => {
                self.send_bye().await;
                self.end(&why).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reason_names_the_failure() {
        assert_eq!(
            super::failure_reason("index out of bounds"),
            "media failure: index out of bounds"
        );
    }
}
