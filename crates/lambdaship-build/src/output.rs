//! Writes archives to the output directory atomically: every archive goes to a temporary
//! file first, and only when all are complete are they renamed into place.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use serde::{Deserialize, Serialize};

use crate::archive::{ArchiveEntry, write_zip};
use crate::assemble::PlannedArchive;
use crate::cache::{Cache, KeyBuilder, file_stamp};
use crate::error::BuildError;
use crate::{Artifact, Progress};

/// Writes `planned` (function name, archive) into `out_dir`. An archive whose file on disk
/// is the one this cache wrote for exactly the same entries is left as it is.
pub(crate) fn write_archives(
    out_dir: &Path,
    planned: &[(String, PlannedArchive)],
    cache: &Cache,
    progress: &dyn Progress,
) -> Result<Vec<Artifact>, BuildError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| BuildError::io("cannot create the output directory", out_dir, e))?;
    let mut artifacts = Vec::new();
    let mut written = Vec::new();
    for (index, (function, archive)) in planned.iter().enumerate() {
        let path = out_dir.join(&archive.file_name);
        let content = content_key(&archive.entries);
        let record_key = KeyBuilder::new("written")
            .add_str(&path.display().to_string())
            .finish();
        if let Some(record) = unchanged(cache, &record_key, &content, &path) {
            artifacts.push((
                index,
                Artifact {
                    function: function.clone(),
                    kind: archive.kind,
                    path,
                    sha256: record.sha256,
                    size: record.size,
                    unzipped_size: record.unzipped_size,
                    digest: None,
                    docker_archive: None,
                },
            ));
            continue;
        }
        progress.step(&format!("Writing {}", path.display()));
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", archive.file_name))
            .tempfile_in(out_dir)
            .map_err(|e| BuildError::io("cannot write to", out_dir, e))?;
        let (stats, sha256) = write_hashed(archive, temp.as_file())
            .map_err(|e| BuildError::io("cannot write", &path, e))?;
        // Temporary files are private; an artifact is an ordinary readable file.
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| BuildError::io("cannot write", &path, e))?;
        let artifact = Artifact {
            function: function.clone(),
            kind: archive.kind,
            path,
            sha256,
            size: stats.size,
            unzipped_size: stats.unzipped_size,
            digest: None,
            docker_archive: None,
        };
        written.push((index, temp, artifact, record_key, content));
    }
    for (index, temp, artifact, record_key, content) in written {
        temp.persist(&artifact.path)
            .map_err(|e| BuildError::io("cannot write", &artifact.path, e.error))?;
        if let Some(stamp) = file_stamp(&artifact.path) {
            let record = WrittenRecord {
                content,
                stamp,
                sha256: artifact.sha256.clone(),
                size: artifact.size,
                unzipped_size: artifact.unzipped_size,
            };
            if let Ok(text) = serde_json::to_string(&record) {
                cache.put_text(&record_key, &text)?;
            }
        }
        artifacts.push((index, artifact));
    }
    artifacts.sort_by_key(|(index, _)| *index);
    Ok(artifacts
        .into_iter()
        .map(|(_, artifact)| artifact)
        .collect())
}

/// What the cache last wrote to an output path.
#[derive(Serialize, Deserialize)]
struct WrittenRecord {
    /// [`content_key`] of the entries written.
    content: String,
    /// [`file_stamp`] of the file just after it was written.
    stamp: String,
    sha256: String,
    size: u64,
    unzipped_size: u64,
}

/// The record of `path` when the file there is still the one written for `content`.
fn unchanged(cache: &Cache, record_key: &str, content: &str, path: &Path) -> Option<WrittenRecord> {
    let record: WrittenRecord = serde_json::from_str(&cache.text(record_key)?).ok()?;
    (record.content == content && file_stamp(path).as_deref() == Some(record.stamp.as_str()))
        .then_some(record)
}

/// Identifies an archive's content: every entry's path, mode and SHA-256, in archive order.
pub(crate) fn content_key(entries: &[ArchiveEntry]) -> String {
    let mut sorted: Vec<&ArchiveEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut key = KeyBuilder::new("archive");
    for entry in sorted {
        key.add_str(&entry.path)
            .add(&[u8::from(entry.executable)])
            .add(&entry.file.sha256);
    }
    key.finish()
}

/// Writes `archive` to `file`, returning its stats and SHA-256.
fn write_hashed(
    archive: &PlannedArchive,
    file: &std::fs::File,
) -> std::io::Result<(crate::ArchiveStats, String)> {
    std::thread::scope(|scope| {
        let (chunks, received) = mpsc::sync_channel::<Vec<u8>>(4);
        // Hashing runs beside the writing: on a large archive it costs as much as the write.
        let hasher = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for chunk in received {
                hasher.update(&chunk);
            }
            hex::encode(hasher.finalize())
        });
        let mut writer = HashingWriter {
            file,
            buffer: Vec::with_capacity(CHUNK),
            chunks,
        };
        let stats = write_zip(&archive.entries, &mut writer)?;
        writer.flush()?;
        drop(writer);
        let sha256 = hasher
            .join()
            .map_err(|_| std::io::Error::other("the hashing thread failed"))?;
        Ok((stats, sha256))
    })
}

/// Bytes written per chunk, and hashed per message.
const CHUNK: usize = 1 << 20;

/// A buffered writer that hands every chunk it writes to a hashing thread.
struct HashingWriter<'a> {
    file: &'a std::fs::File,
    buffer: Vec<u8>,
    chunks: mpsc::SyncSender<Vec<u8>>,
}

impl HashingWriter<'_> {
    fn write_chunk(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        (&mut &*self.file).write_all(&chunk)?;
        self.chunks
            .send(chunk)
            .map_err(|_| std::io::Error::other("the hashing thread stopped"))
    }
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let taken = buf.len().min(room);
        self.buffer.extend_from_slice(&buf[..taken]);
        if self.buffer.len() == CHUNK {
            self.write_chunk()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_chunk()
    }
}
