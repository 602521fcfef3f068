//! Who may use the control socket: the file is created under a 0177 umask
//! (never, even for an instant, open to others), and every connection's
//! peer must be our own user (`SO_PEERCRED`), whatever the file's mode or
//! its directory's. Owns only these two checks; reads no requests.

use std::io;
use std::path::Path;
use tokio::net::{UnixListener, UnixStream};

/// Binds the socket at `path` with the process umask set to 0177, so it is
/// created 0600; the umask is put back at once. One bind at a time: two
/// interleaved (servers started on two threads) would put back each
/// other's 0177 and leave it as the process's umask for good.
pub(super) fn bind_private(path: &Path) -> io::Result<UnixListener> {
    static UMASK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = UMASK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(path);
    rustix::process::umask(old);
    bound
}

/// The rule: a peer is served only when its UID is known and ours.
pub(super) fn same_user(peer: Option<u32>, ours: u32) -> bool {
    peer == Some(ours)
}

/// Whether `stream`'s peer is our own user; the refused peer's UID (or
/// why it is unknown) for the log otherwise.
pub(super) fn check_peer(stream: &UnixStream) -> Result<(), String> {
    let ours = rustix::process::getuid().as_raw();
    let peer = stream.peer_cred().map(|c| c.uid());
    match peer {
        Ok(uid) if same_user(Some(uid), ours) => Ok(()),
        Ok(uid) => Err(format!("peer is user {uid}, not {ours}")),
        Err(e) => Err(format!("peer credentials unknown: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_uid_is_served() {
        for (peer, ours, want) in [
            (Some(1000), 1000, true),
            (Some(0), 1000, false),
            (Some(1001), 1000, false),
            (None, 1000, false),
            (Some(0), 0, true),
        ] {
            assert_eq!(same_user(peer, ours), want, "{peer:?} {ours}");
        }
    }
}
