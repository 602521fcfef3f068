//! ALSA's own error lines ("ALSA lib pcm.c:…: Unknown PCM default") kept
//! off the terminal: alsa-lib prints them on stderr, over the shell or the
//! TUI, when a machine has no sound card. [`quietly`] runs a probe of the
//! sound devices with alsa-lib's error handler of the calling thread
//! pointed at a buffer and hands what was caught to our log (debug), so
//! the one warning a failed probe gives is ours. It owns nothing else:
//! which device opens is `cpal.rs`'s business.

/// Runs `probe` (anything that talks to ALSA through cpal on this thread)
/// with ALSA's error lines sent to the log under `what`.
#[cfg(target_os = "linux")]
pub fn quietly<T>(what: &str, probe: impl FnOnce() -> T) -> T {
    // The handler stays installed on this thread (alsa has no call to
    // remove it); each probe gets a fresh buffer, the old one is dropped.
    let caught = match alsa::Output::local_error_handler() {
        Ok(buffer) => Some(buffer),
        Err(e) => {
            tracing::debug!("{what}: ALSA's error lines cannot be caught ({e})");
            None
        }
    };
    let out = probe();
    if let Some(buffer) = caught {
        let text = buffer.borrow().to_string();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!("{what}: ALSA: {line}");
        }
    }
    out
}

/// Runs `probe`: no ALSA here.
#[cfg(not(target_os = "linux"))]
pub fn quietly<T>(_what: &str, probe: impl FnOnce() -> T) -> T {
    probe()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Opening a PCM that does not exist makes alsa-lib complain; the
    /// complaint lands in the buffer (and so the log), and the probe's
    /// own result comes back untouched.
    #[test]
    fn alsa_complaints_are_caught_not_printed() {
        let r = quietly("test", || {
            alsa::PCM::new("no-such-pcm-here", alsa::Direction::Playback, false).is_err()
        });
        assert!(r);
        // Caught on this thread: a second probe starts with an empty buffer.
        let buffer = alsa::Output::local_error_handler().unwrap();
        let _ = alsa::PCM::new("no-such-pcm-here", alsa::Direction::Playback, false);
        let text = buffer.borrow().to_string();
        assert!(text.contains("no-such-pcm-here"), "{text:?}");
    }
}
