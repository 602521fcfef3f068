//! `search`: the `[[directory]]` sources, the `[[blf]]` targets and the
//! call history searched with fuzzy ranking (`store::directory`), each result with the URI `dial`
//! would call (after the account's dial plan); sources that failed (an
//! LDAP bind refused) are named in `warnings`. The files are read on a
//! thread of their own, so the manager never waits on them, and a source
//! that does not answer within 5 s is an error; this module must not
//! touch calls.

use super::calls::dial_uri;
use super::commands::Reply;
use super::CallManager;
use crate::command::CommandError;
use crate::store::directory;
use serde_json::{json, Value};

/// Results when `limit` is not given.
const DEFAULT_LIMIT: usize = 20;
/// How long the sources may take to be read.
const SEARCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// History rows searched (the newest).
const HISTORY_SEARCHED: usize = 500;

impl CallManager {
    /// `search q=<text> [limit]`: `{results:[{name, number, uri, source, kind}]}`.
    pub(super) fn search(&self, q: &str, limit: Option<usize>) -> Reply {
        let history = match self.history.list(HISTORY_SEARCHED) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("search: history not read: {e}");
                Vec::new()
            }
        };
        let sources = self.config.directories.clone();
        let lamps = directory::from_blf(&self.config.blf);
        let account = self.accounts.first().map(|a| a.account.clone());
        let q = q.to_string();
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        Reply::later(async move {
            // A thread of its own, not a blocking task: a source that never
            // answers (a FIFO, a hung network mount) must neither hold the
            // command for ever nor keep the phone from shutting down.
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::Builder::new()
                .name("directory-search".into())
                .spawn(move || {
                    let (mut entries, errors) = directory::search(&sources, &q);
                    for e in &errors {
                        tracing::warn!("directory: {e}");
                    }
                    let warnings: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    entries.extend(lamps);
                    entries.extend(directory::from_history(&history));
                    let _ = tx.send((directory::rank(&q, &entries, limit), warnings));
                })
                .map_err(|e| CommandError::new("internal", format!("search failed: {e}")))?;
            let (found, warnings) = tokio::time::timeout(SEARCH_TIMEOUT, rx)
                .await
                .map_err(|_| {
                    CommandError::new(
                        "timeout",
                        format!(
                            "the [[directory]] sources did not answer within {} s",
                            SEARCH_TIMEOUT.as_secs()
                        ),
                    )
                })?
                .map_err(|_| CommandError::new("internal", "search failed"))?;
            let results: Vec<Value> = found
                .into_iter()
                .map(|e| {
                    // The account's dial plan shapes the number; without
                    // one, the number's separators are dropped.
                    let uri = account.as_ref().and_then(|a| {
                        let number = match a.dial_plan {
                            Some(_) => e.number.clone(),
                            None => directory::dialable(&e.number),
                        };
                        dial_uri(&number, a).ok()
                    });
                    json!({
                        "name": e.name,
                        "number": e.number,
                        "uri": uri,
                        "source": e.source,
                        "kind": e.kind,
                    })
                })
                .collect();
            // A source that failed (an LDAP bind refused, a server down)
            // is named beside what the others found.
            if warnings.is_empty() {
                Ok(json!({ "results": results }))
            } else {
                Ok(json!({ "results": results, "warnings": warnings }))
            }
        })
    }
}
