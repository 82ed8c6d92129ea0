//! Zip archives built in memory for tests and the benchmark: stored entries with modes.

use std::io::Write;
use std::path::Path;

/// Writes a zip of `files` (name, content, mode) to `path`.
pub fn write_zip(path: &Path, files: &[(&str, &[u8], u32)]) {
    let mut output = Vec::new();
    let mut archive = rawzip::ZipArchiveWriter::new(&mut output);
    for (name, content, mode) in files {
        let (mut entry, config) = archive
            .new_file(name)
            .unix_permissions(*mode)
            .start()
            .expect("entry");
        let mut writer = config.wrap(&mut entry);
        writer.write_all(content).expect("write");
        let (_, descriptor) = writer.finish().expect("finish");
        entry.finish(descriptor).expect("entry finish");
    }
    archive.finish().expect("archive");
    std::fs::write(path, output).expect("write zip");
}
