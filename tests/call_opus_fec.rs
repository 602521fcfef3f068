//! Opus in-band FEC between two termphones under seeded, deterministic
//! loss ([`support::lossy`]: every tenth RTP packet to the callee is
//! dropped, so each loss is a single packet followed by one that arrives,
//! which carries the lost frame's FEC). The callee's `stats` must count
//! the losses, recover all of them by FEC once the playout settled and
//! conceal far fewer frames than were lost: without FEC every loss is a concealed frame.

mod support;

use support::lossy::{stat, LossyCall, LOSSES};
use support::TestDir;

#[test]
fn opus_fec_recovers_single_lost_packets_between_termphones() {
    let t = TestDir::new("opus-fec");
    let mut call = LossyCall::start(&t, 48_000, |a| a.codecs(&["opus"]));
    assert_eq!(call.incoming["codec"], "opus", "{}", call.incoming);
    // Poll until FEC kept up with the losses after the playout settled
    // (a loss is counted before the packet after it, which carries it).
    let judged = call.judge_settled("fec_recovered");
    call.hang_up();
    let (judged, settled) = judged.unwrap_or_else(|last| panic!("FEC did not keep up: {last}"));
    let (lost, fec, concealed) = (
        stat(&judged, "lost"),
        stat(&judged, "fec_recovered"),
        stat(&judged, "concealed_frames"),
    );
    eprintln!(
        "lost {lost}, recovered by FEC {fec}, concealed {concealed} (settled at {settled:?})"
    );
    // Every loss was a single packet with the next one arriving: once the
    // playout settled, FEC had each lost frame (all but the one whose
    // next packet may still be on its way), and a frame FEC recovered in
    // time is played, never concealed. Without FEC each loss would be a
    // concealed frame; with it what is concealed is only the scheduling
    // jitter of a loaded host (a late packet, a frame of added delay),
    // far fewer.
    assert!(fec >= LOSSES, "lost {lost}, fec {fec}: {judged}");
    assert!(
        concealed < lost - fec + lost / 2,
        "concealed {concealed} frames where FEC had {fec} of {lost} losses: {judged}"
    );
    call.assert_losses_were_ours();
}
