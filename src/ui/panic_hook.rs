//! The terminal interface's panic hook. A panic on the interface's own
//! thread ends the program: the terminal is restored first (raw mode left,
//! alternate screen left, cursor shown) and only then is the panic printed,
//! by the hook that was there before. A panic on any other thread (a task
//! of the phone, which the runtime catches while the interface goes on)
//! must not touch the screen in use, neither restoring it under the running
//! interface nor printing over it: it goes to the log only.
//!
//! Owns nothing but the process's panic hook while the interface runs;
//! [`PanicHook`] puts the previous hook back when dropped.

use std::panic::{self, PanicHookInfo};
use std::sync::Arc;
use std::thread::{self, ThreadId};

type Hook = Arc<dyn Fn(&PanicHookInfo<'_>) + Send + Sync + 'static>;

/// What the hook does with a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicAction {
    /// The interface's thread: restore the terminal, then print.
    RestoreAndPrint,
    /// Elsewhere: log it, leave the screen alone.
    LogOnly,
}

/// Decides by the thread the panic happened on.
pub fn panic_action(on_interface_thread: bool) -> PanicAction {
    if on_interface_thread {
        PanicAction::RestoreAndPrint
    } else {
        PanicAction::LogOnly
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor; errors
/// are ignored (nothing better can be done while panicking).
pub fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// The installed hook; dropping it reinstalls the one before.
pub struct PanicHook {
    previous: Hook,
}

impl PanicHook {
    /// Installs the hook for an interface running on this thread.
    pub fn install() -> PanicHook {
        Self::install_with(restore_terminal)
    }

    /// [`PanicHook::install`] with another way to restore the terminal.
    pub fn install_with(restore: fn()) -> PanicHook {
        let previous: Hook = Arc::from(panic::take_hook());
        let interface = thread::current().id();
        let chained = previous.clone();
        panic::set_hook(Box::new(move |info| {
            on_panic(info, interface, restore, &chained)
        }));
        PanicHook { previous }
    }
}

fn on_panic(info: &PanicHookInfo<'_>, interface: ThreadId, restore: fn(), previous: &Hook) {
    match panic_action(thread::current().id() == interface) {
        PanicAction::RestoreAndPrint => {
            restore();
            previous(info);
        }
        PanicAction::LogOnly => {
            let name = thread::current().name().unwrap_or("unnamed").to_string();
            tracing::error!("panic on thread {name}: {info}");
        }
    }
}

impl Drop for PanicHook {
    fn drop(&mut self) {
        let previous = self.previous.clone();
        panic::set_hook(Box::new(move |info| previous(info)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_interface_thread_restores_others_only_log() {
        assert_eq!(panic_action(true), PanicAction::RestoreAndPrint);
        assert_eq!(panic_action(false), PanicAction::LogOnly);
    }

    static RESTORED: AtomicUsize = AtomicUsize::new(0);
    fn count() {
        RESTORED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn restores_before_printing_only_for_its_own_thread() {
        let hook = PanicHook::install_with(count);
        let elsewhere = thread::spawn(|| panic!("a task failed")).join();
        assert!(elsewhere.is_err());
        assert_eq!(
            RESTORED.load(Ordering::SeqCst),
            0,
            "restored for another thread"
        );
        let here = panic::catch_unwind(|| panic!("the interface failed"));
        assert!(here.is_err());
        assert_eq!(RESTORED.load(Ordering::SeqCst), 1);
        drop(hook);
    }
}
