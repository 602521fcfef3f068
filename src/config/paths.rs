//! Default locations: the config file and history database in the XDG
//! directories (via `directories`, which honours `XDG_*` variables) and the
//! control socket in `$XDG_RUNTIME_DIR` or a per-user directory under the
//! temp dir.

use directories::ProjectDirs;
use std::path::{Path, PathBuf};

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "termphone")
}

/// A private per-user directory under the temp dir: `<tmp>/termphone-<uid>`.
pub(crate) fn private_tmp_dir() -> PathBuf {
    let uid = rustix::process::getuid().as_raw();
    std::env::temp_dir().join(format!("termphone-{uid}"))
}

/// `$XDG_CONFIG_HOME/termphone/config.toml` (or its platform equivalent).
pub(crate) fn default_config_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// `$XDG_DATA_HOME/termphone/history.db`, else under the private temp dir.
pub(crate) fn default_history_path() -> PathBuf {
    match project_dirs() {
        Some(d) => d.data_dir().join("history.db"),
        None => private_tmp_dir().join("history.db"),
    }
}

/// `$XDG_RUNTIME_DIR/termphone/control.sock`, else `<tmp>/termphone-<uid>/control.sock`.
pub(crate) fn default_control_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && Path::new(&dir).is_absolute() => {
            PathBuf::from(dir).join("termphone").join("control.sock")
        }
        _ => private_tmp_dir().join("control.sock"),
    }
}

/// Resolves a path from the config file against the file's directory.
pub(crate) fn resolve(config_file: &Path, value: &str) -> PathBuf {
    let p = PathBuf::from(value);
    if p.is_absolute() {
        return p;
    }
    match config_file.parent() {
        Some(dir) => dir.join(p),
        None => p,
    }
}
