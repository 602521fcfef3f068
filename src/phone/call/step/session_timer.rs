//! Session timers (RFC 4028) of one call: the interval we ask for, the one
//! negotiated, who refreshes, and when the next refresh or the end is due.
//! The pure decisions: what our INVITE and re-INVITE carry
//! ([`request_headers`]), how we take the peer's request as UAS
//! ([`uas_request`]: 422 or the interval and refresher of our 2xx), what a
//! 2xx to our request sets ([`uac_response`]), the retry after a 422
//! ([`retry_422`]), the deadlines ([`SessionTimer::start`]) and what is due
//! when the timer fires ([`timer_step`]). No IO here: the actor
//! (`call/session_timer.rs`) sends the refresh re-INVITE, the 422 and the
//! BYE. Nothing of media or hold: a refresh keeps the SDP as it is.

use super::invite::{Cancel, OutgoingSetup};
use crate::rtp_types::Direction;
use crate::sip::session_timer::{Refresher, SessionExpires};
use std::time::Duration;
use tokio::time::Instant;

/// `[phone] session_expires_s` and `min_se_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// The interval we ask for; 0: session timers off.
    pub session_expires: u32,
    /// The smallest interval we accept.
    pub min_se: u32,
}

impl TimerConfig {
    pub fn enabled(&self) -> bool {
        self.session_expires > 0
    }
}

/// The session interval in force and who keeps it alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Seconds.
    pub interval: u32,
    /// We send the refreshes (else the peer does, and we end the call when
    /// they stop).
    pub we_refresh: bool,
}

/// What the call knows of its session timer.
#[derive(Debug, Default)]
pub struct SessionTimer {
    /// The negotiated session (None: no timer runs).
    pub session: Option<Session>,
    /// The interval we ask for when a 422 raised it above the config.
    pub asking: Option<u32>,
    /// The largest `Min-SE` the peer named (in a request or a 422).
    pub peer_min_se: u32,
    /// Our INVITEs retried after a 422.
    pub retries_422: u32,
    /// When we send the next refresh (only while we refresh).
    pub refresh_at: Option<Instant>,
    /// When the session ends with a BYE unless refreshed first.
    pub expire_at: Option<Instant>,
}

/// 422 retries of one INVITE before the call gives up.
pub const MAX_422_RETRIES: u32 = 2;

impl SessionTimer {
    /// The interval our requests ask for.
    pub fn asked(&self, cfg: &TimerConfig) -> u32 {
        cfg.session_expires
            .max(self.asking.unwrap_or(0))
            .max(self.peer_min_se)
    }

    /// The `Min-SE` our requests carry.
    pub fn min_se(&self, cfg: &TimerConfig) -> u32 {
        cfg.min_se.max(self.peer_min_se)
    }

    /// A session was negotiated (or refreshed) `now`: the refresher sends
    /// its refresh at half the interval and gives up at its end; the other
    /// side ends the call the smaller of 32 s and a third of the interval
    /// before it (RFC 4028 §10). None stops the timer.
    pub fn start(&mut self, session: Option<Session>, now: Instant) {
        self.session = session;
        match session {
            None => {
                self.refresh_at = None;
                self.expire_at = None;
            }
            Some(s) => {
                let interval = Duration::from_secs(u64::from(s.interval));
                if s.we_refresh {
                    self.refresh_at = Some(now + interval / 2);
                    self.expire_at = Some(now + interval);
                } else {
                    let margin = Duration::from_secs(32).min(interval / 3);
                    self.refresh_at = None;
                    self.expire_at = Some(now + interval - margin);
                }
            }
        }
    }

    /// The next time the timer needs the actor.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.refresh_at, self.expire_at) {
            (Some(r), Some(e)) => Some(r.min(e)),
            (r, e) => r.or(e),
        }
    }
}

/// The session-timer headers of our INVITE or re-INVITE, in order:
/// `Supported: timer`, `Session-Expires` (in a dialog with a timer, with
/// the refresher as it is: `uac` when we refresh, `uas` when the peer
/// does), `Min-SE`. None when session timers are off.
pub fn request_headers(cfg: &TimerConfig, timer: &SessionTimer) -> Vec<(&'static str, String)> {
    if !cfg.enabled() {
        return Vec::new();
    }
    let se = match timer.session {
        Some(s) => SessionExpires {
            delta: s.interval,
            refresher: Some(if s.we_refresh {
                Refresher::Uac
            } else {
                Refresher::Uas
            }),
        },
        None => SessionExpires {
            delta: timer.asked(cfg),
            refresher: None,
        },
    };
    vec![
        ("Supported", "timer".to_string()),
        ("Session-Expires", se.value()),
        ("Min-SE", timer.min_se(cfg).to_string()),
    ]
}

/// The session-timer part of a peer's INVITE or re-INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerRequest {
    pub session_expires: Option<SessionExpires>,
    pub min_se: Option<u32>,
    /// `Supported: timer`.
    pub supports_timer: bool,
}

/// How we, the UAS, take a peer's INVITE or re-INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UasStep {
    /// Session timers are off: no timer, nothing added to the 2xx.
    Off,
    /// 422 Session Interval Too Small, with our `Min-SE`.
    TooSmall { min_se: u32 },
    /// Accept: our 2xx carries this `Session-Expires` (and `Require:
    /// timer` when the peer supports it); the session runs as `session`.
    Accept {
        response: SessionExpires,
        require_timer: bool,
        session: Session,
    },
}

/// Decides how the peer's request is taken (RFC 4028 §9): below our
/// `Min-SE` it gets a 422; else the interval is the peer's, lowered to ours
/// when larger but never below either `Min-SE`. The refresher is the one
/// the peer names (`uac` only when it supports timers); when it names none,
/// or sends no `Session-Expires` (we put ours in the 2xx), we refresh: a
/// refresh too many costs a re-INVITE, one too few would end the call.
pub fn uas_request(cfg: &TimerConfig, req: &PeerRequest) -> UasStep {
    if !cfg.enabled() {
        return UasStep::Off;
    }
    let floor = cfg.min_se.max(req.min_se.unwrap_or(0));
    let (interval, refresher) = match req.session_expires {
        Some(se) if se.delta < cfg.min_se => {
            return UasStep::TooSmall { min_se: cfg.min_se };
        }
        Some(se) => (se.delta.min(cfg.session_expires.max(floor)), se.refresher),
        None => (cfg.session_expires.max(floor), None),
    };
    let refresher = match refresher {
        Some(Refresher::Uac) if req.supports_timer => Refresher::Uac,
        _ => Refresher::Uas,
    };
    UasStep::Accept {
        response: SessionExpires {
            delta: interval,
            refresher: Some(refresher),
        },
        require_timer: req.supports_timer,
        session: Session {
            interval,
            we_refresh: refresher == Refresher::Uas,
        },
    }
}

/// What a 2xx to our INVITE or re-INVITE sets (RFC 4028 §7.2): the
/// interval it names, refreshed by us unless it says `refresher=uas`; no
/// `Session-Expires` in it means no session expiration.
pub fn uac_response(cfg: &TimerConfig, se: Option<SessionExpires>) -> Option<Session> {
    if !cfg.enabled() {
        return None;
    }
    let se = se.filter(|se| se.delta > 0)?;
    Some(Session {
        interval: se.delta,
        we_refresh: se.refresher != Some(Refresher::Uas),
    })
}

/// After a 422 to our request: the interval to ask for next (the 422's
/// `Min-SE`), or None when there is no usable one, it is not above what we
/// asked, the user hung up, or we retried enough.
pub fn retry_422(
    timer: &SessionTimer,
    cfg: &TimerConfig,
    min_se: Option<u32>,
    hung_up: bool,
) -> Option<u32> {
    let min_se = min_se?;
    let asked = timer.asked(cfg);
    (!hung_up && timer.retries_422 < MAX_422_RETRIES && min_se > asked).then_some(min_se)
}

/// Whether the user hung up an outgoing call still being set up.
pub fn hung_up(setup: &OutgoingSetup) -> bool {
    setup.cancel != Cancel::NotWanted
}

/// The direction a refresh offers, so that it changes nothing: `sendonly`
/// while we hold the peer, `recvonly` while the peer holds us, `inactive`
/// when both hold, else `sendrecv`.
pub fn refresh_direction(held: bool, remote_held: bool) -> Direction {
    match (held, remote_held) {
        (false, false) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (true, true) => Direction::Inactive,
    }
}

/// What is due when the session timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerStep {
    /// Not yet (or no timer).
    Nothing,
    /// We refresh: send a re-INVITE with the SDP as it is (unless one of
    /// ours is already under way: its 2xx refreshes too).
    Refresh { send_now: bool },
    /// The session expired: BYE, the call ends ("session expired").
    Expire,
}

/// Decides what is due at `now`; `reinvite_idle` when none of our
/// re-INVITEs is in flight or waiting. Takes the refresh off the timer.
pub fn timer_step(timer: &mut SessionTimer, now: Instant, reinvite_idle: bool) -> TimerStep {
    if timer.expire_at.is_some_and(|e| e <= now) {
        timer.expire_at = None;
        timer.refresh_at = None;
        TimerStep::Expire
    } else if timer.refresh_at.is_some_and(|r| r <= now) {
        timer.refresh_at = None;
        TimerStep::Refresh {
            send_now: reinvite_idle,
        }
    } else {
        TimerStep::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: TimerConfig = TimerConfig {
        session_expires: 1800,
        min_se: 90,
    };
    const OFF: TimerConfig = TimerConfig {
        session_expires: 0,
        min_se: 90,
    };

    fn se(delta: u32, refresher: Option<Refresher>) -> Option<SessionExpires> {
        Some(SessionExpires { delta, refresher })
    }

    fn accept(delta: u32, refresher: Refresher, require: bool) -> UasStep {
        UasStep::Accept {
            response: SessionExpires {
                delta,
                refresher: Some(refresher),
            },
            require_timer: require,
            session: Session {
                interval: delta,
                we_refresh: refresher == Refresher::Uas,
            },
        }
    }

    #[test]
    fn uas_takes_the_peers_request() {
        use Refresher::{Uac, Uas};
        let req = |session_expires, min_se, supports_timer| PeerRequest {
            session_expires,
            min_se,
            supports_timer,
        };
        let table: &[(TimerConfig, PeerRequest, UasStep)] = &[
            // Off: nothing, whatever the peer asks.
            (OFF, req(se(30, None), None, true), UasStep::Off),
            (OFF, req(None, None, true), UasStep::Off),
            // Below our Min-SE: 422 with it.
            (
                CFG,
                req(se(60, Some(Uac)), None, true),
                UasStep::TooSmall { min_se: 90 },
            ),
            (
                CFG,
                req(se(0, None), None, false),
                UasStep::TooSmall { min_se: 90 },
            ),
            // The refresher the peer names is honoured.
            (
                CFG,
                req(se(90, Some(Uac)), None, true),
                accept(90, Uac, true),
            ),
            (
                CFG,
                req(se(600, Some(Uas)), None, true),
                accept(600, Uas, true),
            ),
            // No refresher: we refresh.
            (CFG, req(se(600, None), None, true), accept(600, Uas, true)),
            (
                CFG,
                req(se(600, None), None, false),
                accept(600, Uas, false),
            ),
            // refresher=uac from a peer without Supported: timer: we refresh.
            (
                CFG,
                req(se(600, Some(Uac)), None, false),
                accept(600, Uas, false),
            ),
            // Larger than ours: lowered to ours, never below its Min-SE.
            (
                CFG,
                req(se(7200, Some(Uac)), None, true),
                accept(1800, Uac, true),
            ),
            (
                CFG,
                req(se(7200, Some(Uac)), Some(3600), true),
                accept(3600, Uac, true),
            ),
            // No Session-Expires: ours (or the peer's Min-SE when larger).
            (CFG, req(None, None, true), accept(1800, Uas, true)),
            (CFG, req(None, None, false), accept(1800, Uas, false)),
            (CFG, req(None, Some(2400), false), accept(2400, Uas, false)),
            // A test config below the RFC's 90 s.
            (
                TimerConfig {
                    session_expires: 4,
                    min_se: 2,
                },
                req(se(4, Some(Uac)), None, true),
                accept(4, Uac, true),
            ),
        ];
        for (cfg, r, want) in table {
            assert_eq!(uas_request(cfg, r), *want, "{cfg:?} {r:?}");
        }
    }

    #[test]
    fn uac_takes_the_2xx() {
        use Refresher::{Uac, Uas};
        let s = |interval, we_refresh| {
            Some(Session {
                interval,
                we_refresh,
            })
        };
        let table: &[(TimerConfig, Option<SessionExpires>, Option<Session>)] = &[
            (CFG, se(1800, Some(Uac)), s(1800, true)),
            (CFG, se(900, Some(Uas)), s(900, false)),
            (CFG, se(900, None), s(900, true)),
            // No Session-Expires: no session expiration.
            (CFG, None, None),
            (CFG, se(0, Some(Uac)), None),
            (OFF, se(900, Some(Uas)), None),
        ];
        for (cfg, got, want) in table {
            assert_eq!(uac_response(cfg, *got), *want, "{cfg:?} {got:?}");
        }
    }

    #[test]
    fn our_requests_carry_the_timer() {
        let mut t = SessionTimer::default();
        assert!(request_headers(&OFF, &t).is_empty());
        let h = |v: &[(&'static str, &str)]| {
            v.iter()
                .map(|(n, v)| (*n, v.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            request_headers(&CFG, &t),
            h(&[
                ("Supported", "timer"),
                ("Session-Expires", "1800"),
                ("Min-SE", "90")
            ])
        );
        // After a 422 asking for more.
        t.asking = Some(2400);
        t.peer_min_se = 2400;
        assert_eq!(
            request_headers(&CFG, &t),
            h(&[
                ("Supported", "timer"),
                ("Session-Expires", "2400"),
                ("Min-SE", "2400")
            ])
        );
        // In a dialog: the interval in force and who refreshes it.
        t.session = Some(Session {
            interval: 2400,
            we_refresh: true,
        });
        assert_eq!(
            request_headers(&CFG, &t)[1],
            ("Session-Expires", "2400;refresher=uac".to_string())
        );
        t.session = Some(Session {
            interval: 600,
            we_refresh: false,
        });
        assert_eq!(
            request_headers(&CFG, &t)[1],
            ("Session-Expires", "600;refresher=uas".to_string())
        );
    }

    #[test]
    fn a_422_raises_the_interval_a_few_times() {
        let mut t = SessionTimer::default();
        let table: &[(Option<u32>, bool, Option<u32>)] = &[
            (Some(3600), false, Some(3600)),
            (None, false, None),
            // Not above what we asked: the peer is confused.
            (Some(1800), false, None),
            (Some(60), false, None),
            // The user hung up meanwhile.
            (Some(3600), true, None),
        ];
        for (min_se, hung_up, want) in table {
            assert_eq!(retry_422(&t, &CFG, *min_se, *hung_up), *want, "{min_se:?}");
        }
        t.retries_422 = MAX_422_RETRIES;
        assert_eq!(retry_422(&t, &CFG, Some(3600), false), None);
    }

    #[test]
    fn refresher_refreshes_at_half_and_the_other_side_ends_before_expiry() {
        let now = Instant::now();
        let sec = |s: f64| Duration::from_secs_f64(s);
        let table: &[(u32, bool, Option<Duration>, Duration)] = &[
            (1800, true, Some(sec(900.0)), sec(1800.0)),
            // min(32 s, a third).
            (1800, false, None, sec(1768.0)),
            (90, false, None, sec(60.0)),
            (6, false, None, sec(4.0)),
        ];
        for (interval, we_refresh, refresh, expire) in table {
            let mut t = SessionTimer::default();
            t.start(
                Some(Session {
                    interval: *interval,
                    we_refresh: *we_refresh,
                }),
                now,
            );
            assert_eq!(t.refresh_at, refresh.map(|d| now + d), "{interval}");
            assert_eq!(t.expire_at, Some(now + *expire), "{interval}");
            assert_eq!(t.deadline(), Some(now + refresh.unwrap_or(*expire)));
        }
        let mut t = SessionTimer::default();
        t.start(None, now);
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn what_the_timer_does_when_it_fires() {
        let now = Instant::now();
        let ours = Some(Session {
            interval: 10,
            we_refresh: true,
        });
        let theirs = Some(Session {
            interval: 9,
            we_refresh: false,
        });
        let mut t = SessionTimer::default();
        assert_eq!(timer_step(&mut t, now, true), TimerStep::Nothing);
        t.start(ours, now);
        assert_eq!(timer_step(&mut t, now, true), TimerStep::Nothing);
        let half = now + Duration::from_secs(5);
        assert_eq!(
            timer_step(&mut t, half, false),
            TimerStep::Refresh { send_now: false }
        );
        // The refresh is off the timer; the end stays.
        assert_eq!(t.deadline(), Some(now + Duration::from_secs(10)));
        assert_eq!(timer_step(&mut t, half, true), TimerStep::Nothing);
        t.start(ours, now);
        assert_eq!(
            timer_step(&mut t, half, true),
            TimerStep::Refresh { send_now: true }
        );
        assert_eq!(
            timer_step(&mut t, now + Duration::from_secs(10), true),
            TimerStep::Expire
        );
        assert_eq!(t.deadline(), None);
        t.start(theirs, now);
        assert_eq!(
            timer_step(&mut t, now + Duration::from_secs(6), true),
            TimerStep::Expire
        );
    }

    #[test]
    fn a_refresh_keeps_the_hold_state() {
        let table = [
            (false, false, Direction::SendRecv),
            (true, false, Direction::SendOnly),
            (false, true, Direction::RecvOnly),
            (true, true, Direction::Inactive),
        ];
        for (held, remote_held, want) in table {
            assert_eq!(refresh_direction(held, remote_held), want);
        }
    }
}
