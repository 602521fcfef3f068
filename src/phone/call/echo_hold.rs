//! Hold and resume of the built-in `echo` call, which has no SIP peer to
//! send a re-INVITE to: held, the call sends the on-hold melody to the
//! echo peer and plays nothing it returns (send-only), as a held SIP call
//! hears nothing from its peer; resumed, it sends and receives again. The
//! call shows `held` and the `held` state like any other. A transfer needs
//! a SIP peer: its refusal says that the echo call has none. Touches only the
//! echo call's media and its info; the echo peer's RTP parameters are made
//! here for the start (`outgoing.rs`) and for each change.

use super::*;

/// The RTP parameters toward the echo peer at `remote`.
pub(super) fn echo_params(remote: std::net::SocketAddr, direction: Direction) -> RtpParams {
    RtpParams {
        remote,
        rtcp: None,
        codec: Codec::Pcmu,
        payload_type: Codec::Pcmu.payload_type(),
        dtmf_payload_type: Some(101),
        direction,
        red_payload_type: None,
        opus: Default::default(),
    }
}

impl CallActor {
    /// `hold` (`held`) or `resume` of the echo call; `None` when this is
    /// not the echo call.
    pub(super) fn hold_echo(&mut self, held: bool) -> Option<Result<(), CommandError>> {
        let remote = self.media.echo.as_ref()?.rtp_addr();
        let what = if held { "held" } else { "resumed" };
        let media = match self.media.session() {
            Some(m) if matches!(self.info.state, CallState::Active | CallState::Held) => m,
            _ => {
                return Some(Err(CommandError::new(
                    "bad_state",
                    format!("call {} has no audio and cannot be {what}", self.info.id),
                )))
            }
        };
        let direction = if held {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        media.update(echo_params(remote, direction));
        media.set_hold_music(held);
        self.info.held = held;
        let state = if held {
            CallState::Held
        } else {
            CallState::Active
        };
        if self.info.state == state {
            self.publish();
        } else {
            self.set_state(state);
        }
        Some(Ok(()))
    }

    /// The error for what the echo call cannot do (`what`: "transferred"),
    /// saying why; `None` when this is not the echo call.
    pub(super) fn echo_refusal(&self, what: &str) -> Option<CommandError> {
        self.media.echo.as_ref()?;
        Some(CommandError::new(
            "bad_state",
            format!(
                "call {} is the built-in echo test: it has no SIP peer and cannot be {what}",
                self.info.id
            ),
        ))
    }
}
