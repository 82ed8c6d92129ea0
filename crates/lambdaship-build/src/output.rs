//! Writes archives to the output directory atomically: every archive goes to a temporary
//! file first, and only when all are complete are they renamed into place.

use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::archive::write_zip;
use crate::assemble::PlannedArchive;
use crate::error::BuildError;
use crate::{Artifact, Progress};

/// Writes `planned` (function name, archive) into `out_dir`.
pub(crate) fn write_archives(
    out_dir: &Path,
    planned: &[(String, PlannedArchive)],
    progress: &dyn Progress,
) -> Result<Vec<Artifact>, BuildError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| BuildError::io("cannot create the output directory", out_dir, e))?;
    let mut written = Vec::new();
    for (function, archive) in planned {
        let path = out_dir.join(&archive.file_name);
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
        written.push((
            temp,
            Artifact {
                function: function.clone(),
                kind: archive.kind,
                path: path.clone(),
                sha256,
                size: stats.size,
                unzipped_size: stats.unzipped_size,
            },
        ));
    }
    let mut artifacts = Vec::new();
    for (temp, artifact) in written {
        temp.persist(&artifact.path)
            .map_err(|e| BuildError::io("cannot write", &artifact.path, e.error))?;
        artifacts.push(artifact);
    }
    Ok(artifacts)
}

/// Writes `archive` to `file`, returning its stats and SHA-256.
fn write_hashed(
    archive: &PlannedArchive,
    file: &std::fs::File,
) -> std::io::Result<(crate::ArchiveStats, String)> {
    let mut writer = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
    };
    let stats = write_zip(&archive.entries, &mut writer)?;
    writer.flush()?;
    Ok((stats, hex::encode(writer.hasher.finalize())))
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
