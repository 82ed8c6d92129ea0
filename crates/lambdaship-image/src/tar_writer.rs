//! Reproducible tar streams, for layers and for docker-archive files: entries sorted by path,
//! each parent directory once and before its content, one fixed time, uid and gid 0, no
//! user or group names, the modes given. The same entries always give the same bytes.
//!
//! Built on the `tar` crate with headers made here (not `append_path`, which reads the
//! file system's metadata); its GNU headers carry paths over 100 bytes in `././@LongLink`
//! records, which every image tool reads.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

/// The time of every entry: 1980-01-01T00:00:00Z, the same instant the zip archives use.
pub const ENTRY_MTIME: u64 = 315_532_800;

/// The mode of every directory the writer adds.
pub const DIRECTORY_MODE: u32 = 0o755;

/// One file of a tar stream.
pub struct TarEntry<'a> {
    path: String,
    mode: u32,
    size: u64,
    content: Box<dyn Read + 'a>,
}

impl<'a> TarEntry<'a> {
    /// A file holding `bytes`. `path` is relative to the root (a leading `/` is dropped).
    pub fn bytes(path: &str, mode: u32, bytes: &'a [u8]) -> Self {
        TarEntry::reader(path, mode, bytes.len() as u64, bytes)
    }

    /// A file of `size` bytes read from `content`; a reader that gives another number of
    /// bytes fails the write.
    pub fn reader(path: &str, mode: u32, size: u64, content: impl Read + 'a) -> Self {
        TarEntry {
            path: path.trim_start_matches('/').to_string(),
            mode,
            size,
            content: Box::new(content),
        }
    }

    /// The path inside the tar, without a leading `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Writes `entries` as a tar stream to `out` and returns the bytes the files hold.
pub fn write_tar<W: Write>(mut entries: Vec<TarEntry<'_>>, out: W) -> io::Result<u64> {
    for entry in &entries {
        check_path(&entry.path)?;
    }
    entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is given twice", pair[0].path),
        ));
    }
    let files: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut directories = BTreeSet::new();
    for entry in &entries {
        let mut end = 0;
        while let Some(slash) = entry.path[end..].find('/') {
            end += slash + 1;
            let directory = &entry.path[..end];
            if files.contains(directory.trim_end_matches('/')) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{}` is both a file and a directory", &directory[..end - 1]),
                ));
            }
            directories.insert(directory.to_string());
        }
    }

    // Directories (`a/`) and files in one byte order: a directory is a prefix of its
    // content, so it always comes first.
    enum Member<'e, 'a> {
        Directory(String),
        File(&'e mut TarEntry<'a>),
    }
    let mut members: Vec<Member<'_, '_>> = directories.into_iter().map(Member::Directory).collect();
    members.extend(entries.iter_mut().map(Member::File));
    let key = |member: &Member<'_, '_>| -> Vec<u8> {
        match member {
            Member::Directory(path) => path.as_bytes().to_vec(),
            Member::File(entry) => entry.path.as_bytes().to_vec(),
        }
    };
    members.sort_by_key(key);

    let mut builder = tar::Builder::new(out);
    let mut total = 0;
    for member in members {
        match member {
            Member::Directory(path) => {
                let mut header = header(tar::EntryType::Directory, DIRECTORY_MODE, 0);
                builder.append_data(&mut header, &path, io::empty())?;
            }
            Member::File(entry) => {
                let mut header = header(tar::EntryType::Regular, entry.mode, entry.size);
                let reader = ExactReader {
                    inner: &mut entry.content,
                    remaining: entry.size,
                    path: &entry.path,
                };
                builder.append_data(&mut header, &entry.path, reader)?;
                total += entry.size;
            }
        }
    }
    builder.into_inner()?.flush()?;
    Ok(total)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(ENTRY_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// A path an image tool will put where it says: relative, no empty, `.` or `..` parts.
fn check_path(path: &str) -> io::Result<()> {
    let bad = path.is_empty()
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        || path.contains('\0');
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{path}` is not a usable path inside an image"),
        ));
    }
    Ok(())
}

/// Reads exactly `remaining` bytes from `inner`: a short or long reader is an error rather
/// than a tar whose headers lie.
struct ExactReader<'r, R: Read + ?Sized> {
    inner: &'r mut R,
    remaining: u64,
    path: &'r str,
}

impl<R: Read + ?Sized> Read for ExactReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("`{}` holds more bytes than its size", self.path),
                )),
            };
        }
        let limit = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..limit])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "`{}` ended {} bytes before its size",
                    self.path, self.remaining
                ),
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}
