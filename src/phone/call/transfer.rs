//! Transfers (RFC 3515, RFC 3891): sending REFER for a blind or attended
//! transfer and following its NOTIFY `message/sipfrag` progress, and being
//! transferred: answering the peer's REFER with 202, letting the manager
//! place the new call, and NOTIFYing its progress back.

use super::step::{
    refer_step, transfer_progress, transfer_step, OurTransfer, ReferStep, TransferProgress,
    TransferStep,
};
use super::*;
use crate::sip::replaces::{refer_target, ReferReplaces};

/// What identifies a dialog for `Replaces` (RFC 3891), from our side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogRef {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// The address we dialed or were called from (AOR).
    pub remote_uri: String,
}

impl DialogRef {
    /// `Refer-To` value that sends the transfer target an INVITE replacing
    /// this dialog: the tags are as the target sees them (its tag is our
    /// remote tag).
    pub fn refer_to_with_replaces(&self) -> String {
        let replaces = format!(
            "{};to-tag={};from-tag={}",
            self.call_id, self.remote_tag, self.local_tag
        );
        let sep = if self.remote_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}Replaces={}",
            self.remote_uri,
            escape_header(&replaces)
        )
    }
}

/// Escapes a URI header value (RFC 3261 `hvalue`).
fn escape_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')'
            | b'['
            | b']'
            | b'/'
            | b'?'
            | b':'
            | b'+'
            | b'$' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Splits a Refer-To URI into the URI to dial and its `Replaces` header,
/// written anew from its parsed values ([`refer_target`]); every other URI
/// header is dropped, and so is a Replaces that cannot be read.
pub fn split_refer_to(uri: &str) -> (String, Option<String>) {
    let target = refer_target(uri);
    let replaces = match target.replaces {
        ReferReplaces::Valid(p) => Some(p.header_value()),
        ReferReplaces::None | ReferReplaces::Invalid => None,
    };
    (target.uri, replaces)
}

/// The status line of a `message/sipfrag` body: (code, reason).
pub fn sipfrag_status(body: &str) -> Option<(u16, String)> {
    let line = body.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((code.parse().ok()?, reason.to_string()))
}

impl CallActor {
    pub(super) fn dialog_ref(&self) -> Option<DialogRef> {
        let d = self.sip.dialog.as_ref()?;
        Some(DialogRef {
            call_id: d.call_id.clone(),
            local_tag: d.local_tag.clone(),
            remote_tag: d.remote_tag.clone(),
            remote_uri: self.info.remote.clone(),
        })
    }

    /// `transfer` / `connect`: hold first (unless held), then REFER.
    pub(super) async fn transfer(&mut self, refer_to: String, reply: Reply) {
        let step = transfer_step(
            &self.transfer,
            &self.reinvite,
            self.info.state,
            self.sip.dialog.is_some(),
            self.info.held,
        );
        match step {
            TransferStep::Refuse => {
                let err = self.echo_refusal("transferred").unwrap_or_else(|| {
                    CommandError::new(
                        "bad_state",
                        format!(
                            "call {} is not connected and cannot be transferred",
                            self.info.id
                        ),
                    )
                });
                let _ = reply.send(Err(err));
            }
            TransferStep::Busy => {
                let _ = reply.send(Err(CommandError::new(
                    "busy",
                    "a transfer of this call is under way",
                )));
            }
            TransferStep::Refer => self.send_refer(refer_to, reply, true).await,
            TransferStep::HoldFirst { send_now } => {
                self.transfer.ours = OurTransfer::AwaitingHold { refer_to, reply };
                self.reinvite.want_held = true;
                if send_now {
                    self.send_reinvite().await;
                }
            }
        }
    }

    /// Sends the REFER of our transfer; `held_before` when the call was held
    /// before the transfer asked for it.
    pub(super) async fn send_refer(&mut self, refer_to: String, reply: Reply, held_before: bool) {
        let Some(dialog) = self.sip.dialog.as_mut() else {
            let _ = reply.send(Err(CommandError::new("bad_state", "no dialog")));
            return;
        };
        let peer = match dialog.next_hop(&self.env.resolver).await {
            Ok(p) => p,
            Err(e) => {
                let _ = reply.send(Err(CommandError::new("sip_error", e.to_string())));
                return;
            }
        };
        let via = m::via(
            self.env.endpoint.transport().local_addr_for(peer.addr),
            peer.protocol,
            &m::new_branch(),
        );
        let mut req = match dialog.request(Method::Refer, &via) {
            Ok(r) => r,
            Err(e) => {
                let _ = reply.send(Err(CommandError::new("sip_error", e.to_string())));
                return;
            }
        };
        add_header(&mut req.headers, "Refer-To", format!("<{refer_to}>"));
        add_header(
            &mut req.headers,
            "Referred-By",
            format!("<sip:{}@{}>", self.account.user, self.account.domain),
        );
        set_body(&mut req.headers, &mut req.body, None, Vec::new());
        self.transfer.ours = OurTransfer::Referring {
            refer_to,
            held_before,
            refer: None,
            reply: Some(reply),
        };
        self.send_in_dialog(req, peer, TxKind::Refer).await;
    }

    pub(super) async fn on_refer_response(&mut self, resp: Response) {
        match refer_step(m::code(&resp)) {
            ReferStep::Wait => {}
            ReferStep::Accepted => {
                self.forget_refer();
                self.set_state(CallState::Transferring);
                self.finish_refer(Ok(()));
            }
            ReferStep::Challenge if self.retry_with_auth(TxKind::Refer, &resp).await => {}
            ReferStep::Challenge | ReferStep::Refused => {
                self.forget_refer();
                let text = m::status_text(&resp);
                self.finish_refer(Err(CommandError::new(
                    "transfer_failed",
                    format!("REFER refused: {text}"),
                )));
                self.transfer_failed(&text).await;
            }
        }
    }

    /// Our REFER got its final response: no longer kept for a challenge.
    fn forget_refer(&mut self) {
        if let OurTransfer::Referring { refer, .. } = &mut self.transfer.ours {
            *refer = None;
        }
    }

    pub(super) fn finish_refer(&mut self, result: Result<(), CommandError>) {
        if let OurTransfer::Referring { reply, .. } = &mut self.transfer.ours {
            if let Some(reply) = reply.take() {
                let _ = reply.send(result);
            }
        }
    }

    /// The transfer did not work: keep the call and resume it.
    async fn transfer_failed(&mut self, why: &str) {
        tracing::info!(call = %self.info.id, "transfer failed: {why}");
        let held_before = match std::mem::take(&mut self.transfer.ours) {
            OurTransfer::Referring { held_before, .. } => held_before,
            _ => true,
        };
        if self.info.state == CallState::Transferring {
            self.set_state(CallState::Held);
        }
        if !held_before {
            self.reinvite.want_held = false;
            if self.reinvite.pending.is_idle() {
                self.send_reinvite().await;
            }
        }
    }

    /// A NOTIFY in our dialog: progress of the transfer we asked for.
    pub(super) async fn on_notify(&mut self, req: &Request) {
        let event = m::header(&req.headers, "Event")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let transferring = matches!(self.transfer.ours, OurTransfer::Referring { .. });
        if !event.starts_with("refer") || !transferring {
            return;
        }
        let body = String::from_utf8_lossy(&req.body);
        let Some((code, reason)) = sipfrag_status(&body) else {
            return;
        };
        match transfer_progress(code) {
            TransferProgress::Trying => {
                tracing::debug!(call = %self.info.id, "transfer progress: {code} {reason}")
            }
            TransferProgress::Done => {
                let target = match std::mem::take(&mut self.transfer.ours) {
                    OurTransfer::Referring { refer_to, .. } => refer_to,
                    _ => String::new(),
                };
                self.send_bye().await;
                self.end(&format!("transferred to {}", split_refer_to(&target).0))
                    .await;
            }
            TransferProgress::Failed => self.transfer_failed(&format!("{code} {reason}")).await,
        }
    }

    /// The peer REFERs us: 202, then the manager places the call and we
    /// NOTIFY its progress.
    pub(super) async fn on_refer(&mut self, tx: &ServerTransaction) {
        let req = &tx.request;
        let Some(refer_to) = m::header(&req.headers, "Refer-To").map(m::uri_of) else {
            let _ = tx.handle.respond(bodiless_response(req, 400));
            return;
        };
        let mut r = m::response(req, 202, None);
        if let Some(d) = &self.sip.dialog {
            add_header(&mut r.headers, "Contact", d.local_contact.clone());
        }
        set_body(&mut r.headers, &mut r.body, None, Vec::new());
        let _ = tx.handle.respond(r);
        self.transfer.referred = true;
        self.notify_refer(100, "Trying").await;
        let referred_by = m::header(&req.headers, "Referred-By").map(str::to_string);
        let _ = self.env.manager.send(ManagerMsg::Refer {
            call: self.info.id.clone(),
            account: self.account.name.clone(),
            refer_to,
            referred_by,
        });
    }

    /// NOTIFY with a sipfrag of `code reason` for the peer's REFER.
    pub(super) async fn notify_refer(&mut self, code: u16, reason: &str) {
        if !self.transfer.referred {
            return;
        }
        let Some(dialog) = self.sip.dialog.as_mut() else {
            return;
        };
        let Ok(peer) = dialog.next_hop(&self.env.resolver).await else {
            return;
        };
        let via = m::via(
            self.env.endpoint.transport().local_addr_for(peer.addr),
            peer.protocol,
            &m::new_branch(),
        );
        let Ok(mut notify) = dialog.request(Method::Notify, &via) else {
            return;
        };
        add_header(&mut notify.headers, "Event", "refer");
        let state = if code >= 200 {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        add_header(&mut notify.headers, "Subscription-State", state);
        let body = format!("SIP/2.0 {code} {reason}\r\n").into_bytes();
        set_body(
            &mut notify.headers,
            &mut notify.body,
            Some("message/sipfrag;version=2.0"),
            body,
        );
        if code >= 200 {
            self.transfer.referred = false;
        }
        match self.env.endpoint.send_request(notify, peer).await {
            Ok(tx) => drain(tx),
            Err(e) => tracing::warn!(call = %self.info.id, "NOTIFY not sent: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_round_trip() {
        let d = DialogRef {
            call_id: "abc@host".into(),
            local_tag: "b1".into(),
            remote_tag: "c1".into(),
            remote_uri: "sip:1003@test.local".into(),
        };
        let refer_to = d.refer_to_with_replaces();
        assert_eq!(
            refer_to,
            "sip:1003@test.local?Replaces=abc%40host%3Bto-tag%3Dc1%3Bfrom-tag%3Db1"
        );
        let (uri, replaces) = split_refer_to(&refer_to);
        assert_eq!(uri, "sip:1003@test.local");
        assert_eq!(replaces.as_deref(), Some("abc@host;to-tag=c1;from-tag=b1"));
        assert_eq!(split_refer_to("sip:x@y").1, None);
        // Other URI headers go; a Replaces that cannot be read goes too.
        assert_eq!(
            split_refer_to("sip:x@y?X-Evil=1&Replaces=a%3Bfrom-tag%3Df%3Bto-tag%3Dt"),
            (
                "sip:x@y".to_string(),
                Some("a;to-tag=t;from-tag=f".to_string())
            )
        );
        assert_eq!(
            split_refer_to("sip:x@y?Replaces=a%3Bto-tag%3Dt%3Bfrom-tag%3Df%0D%0AX-Evil:1"),
            ("sip:x@y".to_string(), None)
        );
    }

    #[test]
    fn sipfrag() {
        assert_eq!(
            sipfrag_status("SIP/2.0 200 OK\r\n"),
            Some((200, "OK".into()))
        );
        assert_eq!(
            sipfrag_status("SIP/2.0 486 Busy Here"),
            Some((486, "Busy Here".into()))
        );
        assert_eq!(sipfrag_status("garbage"), None);
        assert_eq!(sipfrag_status(""), None);
    }
}
