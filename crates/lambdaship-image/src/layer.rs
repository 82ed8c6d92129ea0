//! Image layers: a reproducible tar, gzip'd into the blob store, with the two digests an
//! image needs: the blob's (what manifests name) and the uncompressed tar's, the `diff_id`
//! (what the config's `rootfs` names).

use std::io::{self, Write};

use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};

use crate::tar_writer::{TarEntry, write_tar};
use crate::{BlobStore, Digest};

/// The gzip level of every layer: fixed, as the bytes (and so the digest) depend on it.
pub const GZIP_LEVEL: u32 = 6;
/// The gzip header's operating system byte: "unknown", whatever machine builds.
const GZIP_OS_UNKNOWN: u8 = 255;

/// The OCI media type of a gzip'd layer.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A layer written to a [`BlobStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// The digest of the gzip'd blob.
    pub digest: Digest,
    /// The digest of the uncompressed tar.
    pub diff_id: Digest,
    /// The gzip'd blob's size in bytes.
    pub size: u64,
    /// The uncompressed tar's size in bytes.
    pub tar_size: u64,
    /// The bytes its files hold.
    pub content_size: u64,
}

/// Writes `entries` as a layer into `store`: sorted, with their parent directories (0755),
/// every time 1980-01-01, uid and gid 0, gzip at [`GZIP_LEVEL`] with no name nor time in
/// its header. The same entries give the same digests.
pub fn write_layer(store: &BlobStore, entries: Vec<TarEntry<'_>>) -> io::Result<Layer> {
    let blob = store.writer()?;
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(blob, Compression::new(GZIP_LEVEL));
    let mut tar = HashingWriter {
        inner: gzip,
        hasher: Sha256::new(),
        size: 0,
    };
    let content_size = write_tar(entries, &mut tar)?;
    let diff_id = Digest::from_bytes(tar.hasher.finalize().into());
    let tar_size = tar.size;
    let blob = tar.inner.finish()?;
    let size = blob.size();
    let digest = blob.commit(None)?;
    Ok(Layer {
        digest,
        diff_id,
        size,
        tar_size,
        content_size,
    })
}

/// Hashes and counts what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read;

    use super::*;

    fn entries(order: &[usize]) -> Vec<TarEntry<'static>> {
        let all = [
            ("var/task/app/main.py", 0o644, &b"print('hi')\n"[..]),
            ("var/task/bin/tool", 0o755, &b"#!/bin/sh\n"[..]),
            ("/var/task/a.py", 0o644, &b""[..]),
        ];
        order
            .iter()
            .map(|&i| TarEntry::bytes(all[i].0, all[i].1, all[i].2))
            .collect()
    }

    #[test]
    fn same_entries_give_the_same_digests_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let first = write_layer(&store, entries(&[0, 1, 2])).unwrap();
        let second = write_layer(&store, entries(&[2, 0, 1])).unwrap();
        assert_eq!(first, second);
        let other = write_layer(&store, entries(&[0, 1])).unwrap();
        assert_ne!(first.digest, other.digest);
    }

    #[test]
    fn diff_id_is_the_uncompressed_tar_and_digest_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let layer = write_layer(&store, entries(&[0, 1, 2])).unwrap();
        let blob = store.read(&layer.digest).unwrap();
        assert_eq!(Digest::of(&blob), layer.digest);
        assert_eq!(blob.len() as u64, layer.size);
        // The gzip header: no file name flag, time 0, OS unknown.
        assert_eq!(&blob[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&blob[4..8], &[0, 0, 0, 0]);
        assert_eq!(blob[9], GZIP_OS_UNKNOWN);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&blob[..])
            .read_to_end(&mut tar)
            .unwrap();
        assert_eq!(Digest::of(&tar), layer.diff_id);
        assert_eq!(tar.len() as u64, layer.tar_size);
        assert_ne!(layer.digest, layer.diff_id);
        assert_eq!(layer.content_size, 22);
    }

    #[test]
    fn headers_are_sorted_with_parents_fixed_time_root_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let long = format!("var/task/{}/module.py", "deep".repeat(40));
        let mut list = entries(&[0, 1, 2]);
        list.push(TarEntry::bytes(&long, 0o644, b"x = 1\n"));
        let layer = write_layer(&store, list).unwrap();
        let blob = store.read(&layer.digest).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 315_532_800);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username_bytes().unwrap_or_default(), b"");
            assert_eq!(header.groupname_bytes().unwrap_or_default(), b"");
            let path = entry.path().unwrap().display().to_string();
            let kind = if header.entry_type().is_dir() {
                'd'
            } else {
                'f'
            };
            seen.push((path, kind, header.mode().unwrap()));
        }
        let expected: Vec<(String, char, u32)> = vec![
            ("var".into(), 'd', 0o755),
            ("var/task".into(), 'd', 0o755),
            ("var/task/a.py".into(), 'f', 0o644),
            ("var/task/app".into(), 'd', 0o755),
            ("var/task/app/main.py".into(), 'f', 0o644),
            ("var/task/bin".into(), 'd', 0o755),
            ("var/task/bin/tool".into(), 'f', 0o755),
            (format!("var/task/{}", "deep".repeat(40)), 'd', 0o755),
            (long, 'f', 0o644),
        ];
        let normalized: Vec<_> = seen
            .into_iter()
            .map(|(p, k, m)| (p.trim_end_matches('/').to_string(), k, m))
            .collect();
        assert_eq!(normalized, expected);
    }

    #[test]
    fn bad_paths_and_lying_sizes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        for bad in ["var/../etc/passwd", "var//x", "./x"] {
            let result = write_layer(&store, vec![TarEntry::bytes(bad, 0o644, b"")]);
            assert!(result.is_err(), "{bad}");
        }
        let short = TarEntry::reader("x", 0o644, 10, &b"abc"[..]);
        assert!(write_layer(&store, vec![short]).is_err());
        let long = TarEntry::reader("x", 0o644, 1, &b"abc"[..]);
        assert!(write_layer(&store, vec![long]).is_err());
        let twice = vec![
            TarEntry::bytes("x", 0o644, b""),
            TarEntry::bytes("/x", 0o644, b""),
        ];
        assert!(write_layer(&store, twice).is_err());
        let leftovers = std::fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".partial"))
            .count();
        assert_eq!(leftovers, 0, "a failed layer leaves no partial blob");
    }
}
