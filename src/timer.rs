//! Timer helpers for the actors' `select!` loops: an optional deadline that
//! is either slept until or never fires. A leaf: depends on nothing else in
//! the crate.

use tokio::time::Instant;

/// Sleeps until `deadline`, or forever when there is none.
pub async fn sleep_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
