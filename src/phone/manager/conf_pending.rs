//! The calls `conf_add to=…` dialled that have not answered yet, each with
//! the connected calls that wait to join the conference together with it
//! (with no conference yet, the call we are in). A dialled call that fails
//! releases only its own waiters: a connected call still waiting for
//! another dialled call keeps waiting, so two targets ringing at once and
//! the first failing still makes the conference of the second and the
//! waiting calls. Pure bookkeeping: joining, media and events are
//! [`super::conference`]'s.

use std::collections::{BTreeMap, BTreeSet};

/// Dialled call → the connected calls waiting to join with it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct ConfPending {
    dialled: BTreeMap<String, BTreeSet<String>>,
}

impl ConfPending {
    /// `dialled` joins once answered, and `waiting` with it.
    pub(super) fn add(&mut self, dialled: String, waiting: impl IntoIterator<Item = String>) {
        self.dialled.entry(dialled).or_default().extend(waiting);
    }

    /// Whether `id` is a dialled call still waiting for its answer.
    pub(super) fn is_dialed(&self, id: &str) -> bool {
        self.dialled.contains_key(id)
    }

    /// `id` answered: the calls that join now with it (its waiters, which
    /// then wait for no other call); `None` when it is not a dialled call.
    pub(super) fn answered(&mut self, id: &str) -> Option<Vec<String>> {
        let waiting = self.dialled.remove(id)?;
        for others in self.dialled.values_mut() {
            others.retain(|w| !waiting.contains(w));
        }
        Some(waiting.into_iter().collect())
    }

    /// `id` failed (ended unanswered): forgotten; its waiters that wait for
    /// no other dialled call are returned (they stay as they are). `None`
    /// when it is not a dialled call.
    pub(super) fn failed(&mut self, id: &str) -> Option<Vec<String>> {
        let waiting = self.dialled.remove(id)?;
        Some(
            waiting
                .into_iter()
                .filter(|w| !self.dialled.values().any(|o| o.contains(w)))
                .collect(),
        )
    }

    /// A waiting call ended: it waits for nothing any more.
    pub(super) fn gone(&mut self, id: &str) {
        for waiting in self.dialled.values_mut() {
            waiting.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Each row: the `conf_add`s (dialled call, waiting calls), then the
    /// outcomes in order, with what each returns.
    #[test]
    fn two_targets_ring_at_once() {
        enum Step {
            Answered(&'static str, Option<Vec<String>>),
            Failed(&'static str, Option<Vec<String>>),
            Gone(&'static str),
        }
        use Step::*;
        type Adds = &'static [(&'static str, &'static [&'static str])];
        let table: Vec<(Adds, Vec<Step>)> = vec![
            // The first fails, the second answers: the waiting call joins it.
            (
                &[("c2", &["c1"]), ("c3", &["c1"])],
                vec![
                    Failed("c2", Some(ids(&[]))),
                    Answered("c3", Some(ids(&["c1"]))),
                ],
            ),
            // The first answers: the waiting call joins with it, not again.
            (
                &[("c2", &["c1"]), ("c3", &["c1"])],
                vec![
                    Answered("c2", Some(ids(&["c1"]))),
                    Answered("c3", Some(ids(&[]))),
                ],
            ),
            // Both fail: the waiting call is released by the last.
            (
                &[("c2", &["c1"]), ("c3", &["c1"])],
                vec![
                    Failed("c3", Some(ids(&[]))),
                    Failed("c2", Some(ids(&["c1"]))),
                ],
            ),
            // A waiting call that ended does not join.
            (
                &[("c2", &["c1"])],
                vec![Gone("c1"), Answered("c2", Some(ids(&[])))],
            ),
            // Not a dialled call.
            (
                &[("c2", &[])],
                vec![Answered("c1", None), Failed("c9", None)],
            ),
        ];
        for (row, (adds, steps)) in table.into_iter().enumerate() {
            let mut p = ConfPending::default();
            for (dialled, waiting) in adds {
                p.add(dialled.to_string(), ids(waiting));
            }
            for (i, step) in steps.into_iter().enumerate() {
                match step {
                    Answered(id, want) => assert_eq!(p.answered(id), want, "row {row} step {i}"),
                    Failed(id, want) => assert_eq!(p.failed(id), want, "row {row} step {i}"),
                    Gone(id) => p.gone(id),
                }
            }
        }
    }
}
