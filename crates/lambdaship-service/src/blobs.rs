//! Code archives as files named by their SHA-256, written under a temporary name and
//! renamed, so a name always holds complete, verified content.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The blob directory.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Blobs> {
        std::fs::create_dir_all(dir)?;
        Ok(Blobs {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the blob of `sha256` (hex) lives.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.zip"))
    }

    /// Stores `bytes`, returning their SHA-256 (hex). Content already present is not
    /// written again.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path(&sha256);
        if path.is_file() {
            return Ok(sha256);
        }
        let mut staging = tempfile::Builder::new()
            .prefix(".blob-")
            .tempfile_in(&self.dir)?;
        staging.write_all(bytes)?;
        staging.as_file().sync_all()?;
        staging.persist(&path).map_err(|e| e.error)?;
        Ok(sha256)
    }

    /// Removes blobs no record refers to, and staging files a crash left behind. Run
    /// before the service takes requests.
    pub fn sweep(&self, referenced: &HashSet<String>) -> std::io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = name
                .strip_suffix(".zip")
                .is_some_and(|sha| referenced.contains(sha));
            if !keep {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Total size of the stored blobs, bytes.
    pub fn total_size(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|entry| entry.metadata().ok())
                    .map(|metadata| metadata.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}
