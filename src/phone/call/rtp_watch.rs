//! No ghost calls: a connected call that is not on hold and receives no
//! media for `[phone] rtp_timeout_s` seconds (the peer crashed, was killed
//! or lost its network and can send no BYE) is ended with a BYE carrying a
//! `Reason` header. Activity is read from the media session's receive
//! counters once a second (RTP packets received; a new RTCP round-trip
//! figure counts too): [`watch_step`] is the pure decision, [`RtpWatch`]
//! its state, and the actor hook [`CallActor::watch_media`] carries it out.
//! Never looks inside the media receive path.

use super::*;
use crate::media::MediaStats;
use tokio::time::Instant;

/// `end_reason` of a call ended for lack of media.
pub(super) fn timeout_reason(timeout: Duration) -> String {
    format!("RTP timeout: nothing received for {} s", timeout.as_secs())
}

/// The RFC 3326 `Reason` of our BYE.
const BYE_REASON: &str = "SIP;cause=408;text=\"RTP timeout\"";

/// What the watch remembers between ticks.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct RtpWatch {
    /// The counters last seen: RTP packets received, RTCP round trip.
    last: Option<(u64, Option<f64>)>,
    /// Since when nothing has changed while watched.
    quiet_since: Option<Instant>,
}

/// One tick of the watch: `stats` are the media's counters now (`None`
/// without a media session), `watched` whether the call is connected and
/// on hold neither way, `timeout` `None` when the check is off. True when
/// the call has been quiet for `timeout`.
pub(super) fn watch_step(
    w: &mut RtpWatch,
    now: Instant,
    stats: Option<&MediaStats>,
    watched: bool,
    timeout: Option<Duration>,
) -> bool {
    let sample = stats.map(|s| (s.rx_packets, s.rtt_ms));
    let changed = sample.is_some() && sample != w.last;
    w.last = sample;
    match (timeout, watched && sample.is_some()) {
        (Some(timeout), true) => {
            if changed {
                w.quiet_since = Some(now);
                return false;
            }
            let since = *w.quiet_since.get_or_insert(now);
            now.duration_since(since) >= timeout
        }
        // Not watched (hold, no media, off): the quiet time starts again
        // when it is.
        _ => {
            w.quiet_since = None;
            false
        }
    }
}

impl CallActor {
    /// The once-a-second check: ends the call with BYE when its media went
    /// quiet for the configured time.
    pub(super) async fn watch_media(&mut self) {
        let timeout =
            (self.env.rtp_timeout_s > 0).then(|| Duration::from_secs(self.env.rtp_timeout_s));
        let watched = self.info.state == CallState::Active
            && !self.info.held
            && !self.info.remote_held
            && self.media.echo.is_none();
        let stats = self.media.session().map(MediaSession::stats);
        if !watch_step(
            &mut self.rtp_watch,
            Instant::now(),
            stats.as_ref(),
            watched,
            timeout,
        ) {
            return;
        }
        let reason = timeout.map_or_else(String::new, timeout_reason);
        tracing::warn!(call = %self.info.id, "{reason}: BYE");
        self.send_bye_with(Some(BYE_REASON)).await;
        self.end(&reason).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(rx: u64, rtt: Option<f64>) -> MediaStats {
        MediaStats {
            rx_packets: rx,
            rtt_ms: rtt,
            ..MediaStats::default()
        }
    }

    /// Runs ticks one second apart from a fresh watch: (rx packets, rtt,
    /// watched) per tick; the ticks at which the call times out.
    fn run(ticks: &[(u64, Option<f64>, bool)], timeout: Option<u64>) -> Vec<usize> {
        let mut w = RtpWatch::default();
        let t0 = Instant::now();
        ticks
            .iter()
            .enumerate()
            .filter(|(i, (rx, rtt, watched))| {
                watch_step(
                    &mut w,
                    t0 + Duration::from_secs(*i as u64),
                    Some(&stats(*rx, *rtt)),
                    *watched,
                    timeout.map(Duration::from_secs),
                )
            })
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn quiet_for_the_timeout_ends_the_call() {
        // packets until tick 2, then nothing: quiet since 2, timed out at 5
        let ticks: Vec<_> = [10, 20, 30, 30, 30, 30, 30]
            .iter()
            .map(|rx| (*rx, None, true))
            .collect();
        assert_eq!(run(&ticks, Some(3)), vec![5, 6]);
    }

    #[test]
    fn flowing_media_never_times_out() {
        let ticks: Vec<_> = (0..20).map(|i| (i * 50, None, true)).collect();
        assert_eq!(run(&ticks, Some(2)), Vec::<usize>::new());
    }

    #[test]
    fn rtcp_alone_keeps_the_call() {
        // no RTP (e.g. silence suppression) but new RTCP round trips
        let ticks: Vec<_> = (0..8)
            .map(|i| (5, Some(10.0 + f64::from(i)), true))
            .collect();
        assert_eq!(run(&ticks, Some(2)), Vec::<usize>::new());
    }

    #[test]
    fn hold_pauses_the_watch_and_it_starts_again_after() {
        let mut ticks = vec![(10, None, true)];
        ticks.extend((0..10).map(|_| (10, None, false))); // held: quiet, not watched
        ticks.extend((0..4).map(|_| (10, None, true))); // resumed, still quiet
                                                        // resumed at tick 11: quiet from 11, 3 s later at 14
        assert_eq!(run(&ticks, Some(3)), vec![14]);
    }

    #[test]
    fn off_means_never() {
        let ticks: Vec<_> = (0..100).map(|_| (0, None, true)).collect();
        assert_eq!(run(&ticks, None), Vec::<usize>::new());
    }

    #[test]
    fn no_media_session_is_not_watched() {
        let mut w = RtpWatch::default();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(!watch_step(
                &mut w,
                t0 + Duration::from_secs(i),
                None,
                true,
                Some(Duration::from_secs(1))
            ));
        }
    }

    #[test]
    fn the_reason_names_the_time() {
        assert_eq!(
            timeout_reason(Duration::from_secs(30)),
            "RTP timeout: nothing received for 30 s"
        );
    }
}
