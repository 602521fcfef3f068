//! The directory: contacts from `[[directory]]` sources (vCard files or
//! folders, `directory/vcard.rs`; LDAP servers, `directory/ldap.rs`), the
//! `[[blf]]` targets and the call history, one [`Entry`] per number, searched with fuzzy ranking
//! (`directory/search.rs`). Reads files and asks servers when asked
//! ([`load`], [`search`], [`ldap_name`]); keeps no state and must not know
//! SIP or calls: the phone makes a dialable URI of each number.

pub mod ldap;
mod names;
mod search;
mod vcard;

pub use names::NameIndex;
pub use search::rank;
pub use vcard::parse as parse_vcards;

use crate::config::{BlfTarget, DirectoryConfig};
use crate::store::HistoryEntry;
use std::path::{Path, PathBuf};

/// One number of one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// The number or SIP address as the source wrote it.
    pub number: String,
    /// Where it came from: the vCard file, or `history`.
    pub source: String,
    /// What kind of number: `work`, `cell`, `home`, `fax`, `sip`, `other`;
    /// for history entries `in` or `out`.
    pub kind: String,
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("LDAP {url}: {message}")]
    Ldap { url: String, message: String },
}

/// Objects an LDAP source is asked for at most per search.
const LDAP_SEARCH_LIMIT: usize = 200;

/// The entries for `query`: every entry of the file sources ([`load`])
/// and what each LDAP source finds for it; a source that fails is
/// reported beside what the others gave.
pub fn search(sources: &[DirectoryConfig], query: &str) -> (Vec<Entry>, Vec<DirectoryError>) {
    let (mut entries, mut errors) = load(sources);
    if query.trim().is_empty() {
        return (entries, errors);
    }
    for source in sources {
        if let DirectoryConfig::Ldap(l) = source {
            match ldap::query(l, &ldap::search_filter(&l.filter, query), LDAP_SEARCH_LIMIT) {
                Ok(found) => entries.extend(found),
                Err(e) => errors.push(e),
            }
        }
    }
    (entries, errors)
}

/// The LDAP sources' name for `remote` (a URI or a number): the first
/// source that names it, asked in file order. `Ok(None)` when none does;
/// the first error when none names it and one failed.
pub fn ldap_name(
    sources: &[DirectoryConfig],
    remote: &str,
) -> Result<Option<String>, DirectoryError> {
    let mut failed = None;
    for source in sources {
        let DirectoryConfig::Ldap(l) = source else {
            continue;
        };
        let Some(filter) = ldap::reverse_filter(&l.number_attributes, remote) else {
            return Ok(None);
        };
        match ldap::query(l, &filter, LDAP_SEARCH_LIMIT) {
            Ok(found) => {
                if let Some(name) = NameIndex::build(&found).lookup(remote) {
                    return Ok(Some(name.to_string()));
                }
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    failed.map_or(Ok(None), Err)
}

/// Whether any source is an LDAP server (asked per search and per caller).
pub fn has_ldap(sources: &[DirectoryConfig]) -> bool {
    sources
        .iter()
        .any(|s| matches!(s, DirectoryConfig::Ldap(_)))
}

/// Every entry of the configured file sources, in their order (LDAP
/// sources are asked per query: [`search`], [`ldap_name`]); a source that
/// cannot be read is reported beside what the others gave.
pub fn load(sources: &[DirectoryConfig]) -> (Vec<Entry>, Vec<DirectoryError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for source in sources {
        match source {
            DirectoryConfig::Vcard { path } => match vcard_files(path) {
                Ok(files) => {
                    for file in files {
                        match std::fs::read_to_string(&file) {
                            Ok(text) => {
                                entries.extend(vcard::parse(&text, &file.display().to_string()))
                            }
                            Err(e) => errors.push(read_error(&file, e)),
                        }
                    }
                }
                Err(e) => errors.push(e),
            },
            DirectoryConfig::Ldap(_) => {}
        }
    }
    (entries, errors)
}

fn read_error(path: &Path, e: std::io::Error) -> DirectoryError {
    DirectoryError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `path` itself, or the `.vcf` files in the folder it names (sorted).
fn vcard_files(path: &Path) -> Result<Vec<PathBuf>, DirectoryError> {
    let meta = std::fs::metadata(path).map_err(|e| read_error(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| read_error(path, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("vcf")) && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// A directory number as it can be dialled: `sip:` URIs and `user@host`
/// as they are, a `tel:` URI's number, spaces and `- . / ( )` dropped.
/// (An account's dial plan, when it has one, does this and more.)
pub fn dialable(number: &str) -> String {
    let n = number.trim();
    let lower = n.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") || n.contains('@') {
        return n.to_string();
    }
    let n = if lower.starts_with("tel:") {
        n.get(4..).unwrap_or("").split(';').next().unwrap_or("")
    } else {
        n
    };
    n.chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '/' | '(' | ')')))
        .collect()
}

/// History rows as entries: each remote party once (the newest row); the
/// history knows no names, so `name` is empty.
pub fn from_history(rows: &[HistoryEntry]) -> Vec<Entry> {
    let mut seen = std::collections::HashSet::new();
    rows.iter()
        .filter(|r| seen.insert(r.remote.clone()))
        .map(|r| Entry {
            name: String::new(),
            number: r.remote.clone(),
            source: "history".into(),
            kind: r.direction.clone(),
        })
        .collect()
}

/// The `[[blf]]` targets as entries (source `blf`, kind `blf`): the lamps'
/// labels are the names operators know their colleagues by.
pub fn from_blf(targets: &[BlfTarget]) -> Vec<Entry> {
    targets
        .iter()
        .map(|t| Entry {
            name: t.label.clone().unwrap_or_default(),
            number: t.target.clone(),
            source: "blf".into(),
            kind: "blf".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_made_dialable() {
        for (number, want) in [
            ("+49 89 1234-567", "+49891234567"),
            ("(089) 555/12", "08955512"),
            ("tel:+49-89-1000;ext=1", "+49891000"),
            ("sip:anna@pbx.example", "sip:anna@pbx.example"),
            ("anna@pbx.example", "anna@pbx.example"),
            (" 3301 ", "3301"),
        ] {
            assert_eq!(dialable(number), want, "{number}");
        }
    }
}
