//! A content-addressed blob store: `ROOT/blobs/sha256/HEX`, each blob written under a
//! temporary name, checked against its digest and renamed into place, so a blob present
//! under its name is always complete and correct. The same shape as an OCI image layout's
//! `blobs/` directory, so a layout can be written by copying (or hard-linking) from it.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::Digest;

/// Blobs by digest under one root directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// The store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        BlobStore { root: root.into() }
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `digest` lives (whether or not it is there).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// Whether the store holds `digest`.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// The blob's bytes.
    pub fn read(&self, digest: &Digest) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(digest))
    }

    /// Opens the blob for reading.
    pub fn open(&self, digest: &Digest) -> io::Result<File> {
        File::open(self.path(digest))
    }

    /// Stores `bytes` and returns their digest.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Digest> {
        let mut writer = self.writer()?;
        writer.write_all(bytes)?;
        writer.commit(None)
    }

    /// A writer for a blob whose digest is known once it is complete.
    pub fn writer(&self) -> io::Result<BlobWriter> {
        let dir = self.root.join("blobs").join("sha256");
        std::fs::create_dir_all(&dir)?;
        Ok(BlobWriter {
            file: tempfile::Builder::new()
                .prefix(".partial.")
                .tempfile_in(&dir)?,
            hasher: Sha256::new(),
            size: 0,
            store: self.clone(),
        })
    }
}

/// A blob being written: hashed as it goes, visible only once committed.
pub struct BlobWriter {
    file: NamedTempFile,
    hasher: Sha256,
    size: u64,
    store: BlobStore,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Finishes the blob. With `expected`, a blob whose content has another digest is
    /// refused (and discarded) instead of stored under the wrong name.
    pub fn commit(self, expected: Option<&Digest>) -> io::Result<Digest> {
        let digest = Digest::from_bytes(self.hasher.finalize().into());
        if let Some(expected) = expected
            && *expected != digest
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("content has digest {digest}, expected {expected}"),
            ));
        }
        self.file.as_file().sync_data()?;
        let path = self.store.path(&digest);
        self.file.persist(&path).map_err(|e| e.error)?;
        Ok(digest)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_digest_and_refuses_content_that_does_not_match() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let digest = store.put(b"hello").unwrap();
        assert_eq!(digest, Digest::of(b"hello"));
        assert!(store.contains(&digest));
        assert_eq!(store.read(&digest).unwrap(), b"hello");

        let mut writer = store.writer().unwrap();
        writer.write_all(b"other").unwrap();
        assert!(writer.commit(Some(&digest)).is_err());
        assert!(!store.contains(&Digest::of(b"other")));
        let leftovers = std::fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "a refused blob leaves nothing behind");
    }
}
