//! The content-addressed build cache: every entry is named by the SHA-256 of everything it
//! was made from, so a changed input can only miss, never return stale output.
//!
//! Layout under the cache root:
//! - `text/<key>`: small text results (exported requirement lists);
//! - `packs/<key>.bin` + `packs/<key>.json`: an installed, compiled and compressed package
//!   set (the data, then its index, which is written last and marks the pack complete);
//! - `files/<key>`: one compressed file;
//! - `pyc/<key>`: one compiled .pyc;
//! - `tmp/`: staging directories of builds in progress.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::archive::{ArchiveEntry, CompressedFile, Payload, SharedBytes};
use crate::error::BuildError;

/// Bumped whenever what the cache holds changes meaning, so old entries are never read.
const CACHE_FORMAT: &str = "lambdaship-cache-3";

/// A cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// Builds a cache key from the parts that decide an entry's content.
#[derive(Debug, Clone)]
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// A key for entries of `kind`.
    pub fn new(kind: &str) -> Self {
        let mut builder = KeyBuilder(Sha256::new());
        builder
            .add(CACHE_FORMAT.as_bytes())
            .add(env!("CARGO_PKG_VERSION").as_bytes());
        builder.add(kind.as_bytes());
        builder
    }

    /// Adds one part; parts are length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
    pub fn add(&mut self, part: &[u8]) -> &mut Self {
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    /// Adds a string part.
    pub fn add_str(&mut self, part: &str) -> &mut Self {
        self.add(part.as_bytes())
    }

    /// The key, as hex.
    pub fn finish(&self) -> String {
        hex::encode(self.0.clone().finalize())
    }
}

/// Identifies one version of a file: size, modification time and inode of what `path`
/// resolves to. It changes whenever the file is rewritten or replaced.
pub fn file_stamp(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "{} {} {}",
        metadata.len(),
        modified.as_nanos(),
        metadata.ino()
    ))
}

#[derive(Serialize, Deserialize)]
struct PackIndexEntry {
    path: String,
    executable: bool,
    crc32: u32,
    size: u64,
    sha256: String,
    deflated: bool,
    offset: usize,
    len: usize,
}

impl Cache {
    /// The cache at `root`, created if needed.
    pub fn open(root: &Path) -> Result<Cache, BuildError> {
        for sub in ["text", "packs", "files", "pyc", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir)
                .map_err(|e| BuildError::io("cannot create the cache directory", dir, e))?;
        }
        Ok(Cache {
            root: root.to_path_buf(),
        })
    }

    /// The default cache root: `$LAMBDASHIP_CACHE_DIR`, else `$XDG_CACHE_HOME/lambdaship`,
    /// else `~/.cache/lambdaship`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("LAMBDASHIP_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("lambdaship");
        }
        let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
        home.join(".cache").join("lambdaship")
    }

    /// The cache's root directory: other crates keep their own entries under it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh staging directory, removed when dropped.
    pub fn staging(&self) -> Result<tempfile::TempDir, BuildError> {
        let dir = self.root.join("tmp");
        tempfile::tempdir_in(&dir)
            .map_err(|e| BuildError::io("cannot create a staging directory in", dir, e))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| BuildError::io("cannot write to the cache", dir, e))?;
        file.write_all(bytes)
            .map_err(|e| BuildError::io("cannot write to the cache", path, e))?;
        file.persist(path)
            .map_err(|e| BuildError::io("cannot write to the cache", path, e.error))?;
        Ok(())
    }

    /// A cached text.
    pub fn text(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join("text").join(key)).ok()
    }

    /// Stores a text.
    pub fn put_text(&self, key: &str, text: &str) -> Result<(), BuildError> {
        self.write_atomic(&self.root.join("text").join(key), text.as_bytes())
    }

    /// A cached .pyc.
    pub fn pyc(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join("pyc").join(key)).ok()
    }

    /// Stores a .pyc.
    pub fn put_pyc(&self, key: &str, bytes: &[u8]) -> Result<(), BuildError> {
        self.write_atomic(&self.root.join("pyc").join(key), bytes)
    }

    /// The compressed form of `content`, from the cache or compressed now and stored.
    pub fn compressed(&self, content: &[u8]) -> Result<CompressedFile, BuildError> {
        let key = KeyBuilder::new("file").add(content).finish();
        let path = self.root.join("files").join(&key);
        if let Ok(stored) = std::fs::read(&path)
            && let Some(file) = decode_file(stored, content)
        {
            return Ok(file);
        }
        let file = CompressedFile::compress(content)
            .map_err(|e| BuildError::io("cannot compress", &path, e))?;
        let mut stored = Vec::with_capacity(file.data.as_slice().len() + 37);
        stored.extend_from_slice(&file.crc32.to_le_bytes());
        stored.push(u8::from(file.deflated));
        stored.extend_from_slice(&file.sha256);
        stored.extend_from_slice(file.data.as_slice());
        self.write_atomic(&path, &stored)?;
        Ok(file)
    }

    /// A cached pack: archive entries relative to their import root.
    pub fn pack(&self, key: &str) -> Option<Vec<ArchiveEntry>> {
        let dir = self.root.join("packs");
        let index = std::fs::read(dir.join(format!("{key}.json"))).ok()?;
        let index: Vec<PackIndexEntry> = serde_json::from_slice(&index).ok()?;
        let data = map_file(&dir.join(format!("{key}.bin")))?;
        index
            .into_iter()
            .map(|entry| {
                Some(ArchiveEntry {
                    path: entry.path,
                    executable: entry.executable,
                    file: CompressedFile {
                        crc32: entry.crc32,
                        size: entry.size,
                        sha256: hex::decode(&entry.sha256).ok()?.try_into().ok()?,
                        deflated: entry.deflated,
                        data: Payload::slice(&data, entry.offset, entry.len)?,
                    },
                })
            })
            .collect()
    }

    /// Stores a pack.
    pub fn put_pack(&self, key: &str, entries: &[ArchiveEntry]) -> Result<(), BuildError> {
        let mut data = Vec::new();
        let mut index = Vec::with_capacity(entries.len());
        for entry in entries {
            let bytes = entry.file.data.as_slice();
            index.push(PackIndexEntry {
                path: entry.path.clone(),
                executable: entry.executable,
                crc32: entry.file.crc32,
                size: entry.file.size,
                sha256: hex::encode(entry.file.sha256),
                deflated: entry.file.deflated,
                offset: data.len(),
                len: bytes.len(),
            });
            data.extend_from_slice(bytes);
        }
        let dir = self.root.join("packs");
        self.write_atomic(&dir.join(format!("{key}.bin")), &data)?;
        let index = serde_json::to_vec(&index).map_err(std::io::Error::other);
        let index = index.map_err(|e| BuildError::io("cannot write to the cache", &dir, e))?;
        self.write_atomic(&dir.join(format!("{key}.json")), &index)
    }
}

/// The content of a pack's data file, mapped rather than read: an archive copies only the
/// pages it writes, and a layer that is not rewritten costs nothing.
fn map_file(path: &Path) -> Option<SharedBytes> {
    let file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() == 0 {
        // An empty file cannot be mapped.
        return Some(Arc::new(Vec::new()));
    }
    // SAFETY: cache files are written to a temporary name and renamed into place, never
    // modified in place, so the mapped bytes cannot change under us; a file removed while
    // mapped keeps its pages.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    Some(Arc::new(map))
}

/// A stored compressed file: CRC-32 (4 bytes), deflated flag (1), SHA-256 (32), data.
fn decode_file(stored: Vec<u8>, content: &[u8]) -> Option<CompressedFile> {
    let crc32 = u32::from_le_bytes(stored.get(..4)?.try_into().ok()?);
    let deflated = *stored.get(4)? == 1;
    let sha256: [u8; 32] = stored.get(5..37)?.try_into().ok()?;
    // A damaged entry is recomputed rather than trusted.
    (crc32 == crc32fast::hash(content)).then(|| CompressedFile {
        crc32,
        size: content.len() as u64,
        sha256,
        deflated,
        data: Payload::new(stored[37..].to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        let a = KeyBuilder::new("k").add_str("ab").add_str("c").finish();
        let b = KeyBuilder::new("k").add_str("a").add_str("bc").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn packs_and_files_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::open(dir.path()).expect("open");
        let file = cache
            .compressed(b"hello hello hello hello")
            .expect("compress");
        let again = cache
            .compressed(b"hello hello hello hello")
            .expect("cached");
        assert_eq!(file.data.as_slice(), again.data.as_slice());

        let entries = vec![ArchiveEntry {
            path: "pkg/a.py".to_string(),
            executable: false,
            file,
        }];
        cache.put_pack("k", &entries).expect("store");
        let loaded = cache.pack("k").expect("load");
        assert_eq!(loaded[0].path, "pkg/a.py");
        assert_eq!(
            loaded[0].file.data.as_slice(),
            entries[0].file.data.as_slice()
        );
        assert!(cache.pack("missing").is_none());
    }
}
