//! The TUI's log file, rotated by size: when a write would take it past
//! its limit, `name` becomes `name.1` (`name.1` becomes `name.2`, and so
//! on; the oldest beyond `keep` is deleted) and a fresh `name` is started.
//! Every file is created 0600 in a 0700 directory. Knows nothing about
//! what is logged.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Size at which the log rotates.
pub const LOG_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Rotated files kept beside the current one.
pub const LOG_KEEP: usize = 3;

/// An append-only log file that rotates itself (an [`io::Write`]).
#[derive(Debug)]
pub struct RotatingLog {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
}

impl RotatingLog {
    /// Opens (creating) `path` to append, rotating at `max_bytes` and
    /// keeping `keep` old files (`path.1` … `path.<keep>`).
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<RotatingLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let file = open_private(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingLog {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file,
            size,
        })
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.keep == 0 {
            self.file.set_len(0)?;
        } else {
            let _ = std::fs::remove_file(self.numbered(self.keep));
            for n in (1..self.keep).rev() {
                let from = self.numbered(n);
                if from.exists() {
                    std::fs::rename(&from, self.numbered(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.numbered(1))?;
            self.file = open_private(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// Opens `path` to append, created 0600 (an existing file is made 0600).
fn open_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

impl Write for RotatingLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size > 0 && self.size + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_keeps_a_few_and_stays_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/termphone.log");
        let mut log = RotatingLog::open(&path, 100, 2).unwrap();
        let line = [b'x'; 39];
        for i in 0..20u8 {
            let mut l = line.to_vec();
            l[0] = b'a' + i;
            l.push(b'\n');
            log.write_all(&l).unwrap();
        }
        drop(log);
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let one = PathBuf::from(format!("{}.1", path.display()));
        let two = PathBuf::from(format!("{}.2", path.display()));
        let three = PathBuf::from(format!("{}.3", path.display()));
        for p in [&path, &one, &two] {
            assert!(size(p) <= 100, "{} grew to {}", p.display(), size(p));
            assert_eq!(mode(p), 0o600, "{}", p.display());
        }
        assert!(!three.exists(), "more old files than kept");
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        // The newest lines are in the current file, the ones before in .1.
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.ends_with(&format!("{}\n", "x".repeat(38))));
        assert!(current.starts_with('s'), "{current}");
        assert!(std::fs::read_to_string(&one).unwrap().starts_with('q'));

        // Reopening appends to the current file and goes on rotating.
        let mut log = RotatingLog::open(&path, 100, 2).unwrap();
        log.write_all(&[b'z'; 50]).unwrap();
        assert!(std::fs::read_to_string(&one).unwrap().starts_with('s'));
    }
}
