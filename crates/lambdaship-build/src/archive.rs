//! Deterministic zip archives.
//!
//! Written by hand on purpose: a reproducible Lambda archive needs byte-exact headers (one
//! fixed DOS time and no extended-timestamp or other extra fields, Unix modes, no data
//! descriptors) and the content cache needs to write already-deflated bytes with a known
//! CRC. rawzip adds an extended-timestamp field whenever a time is set and always streams
//! with data descriptors; the zip crate cannot take pre-compressed data. The format pieces
//! needed here are the local header, the central directory and the end records.

use std::io::{self, Write};
use std::sync::Arc;

use flate2::Compression;
use flate2::write::DeflateEncoder;
use sha2::{Digest, Sha256};

/// DOS date of 1980-01-01, the earliest a zip can hold (an earlier time underflows to 2098).
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
/// DOS time 00:00:00.
const DOS_TIME_MIDNIGHT: u16 = 0;
/// "Version made by": Unix (3), spec 2.0, so readers apply the Unix modes.
const VERSION_MADE_BY_UNIX: u16 = (3 << 8) | 20;
const VERSION_NEEDED: u16 = 20;
const VERSION_NEEDED_ZIP64: u16 = 45;
/// General purpose flag bit 11: names are UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
/// The compression level used for every entry: fixed so the bytes never vary.
const DEFLATE_LEVEL: u32 = 6;

/// Bytes that can back a [`Payload`]: an owned buffer or a mapped cache file.
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Bytes shared between the cache and an archive being written, without copying.
#[derive(Clone)]
pub struct Payload {
    buffer: SharedBytes,
    start: usize,
    len: usize,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payload({} bytes)", self.len)
    }
}

impl Payload {
    /// The whole of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        Payload {
            buffer: Arc::new(bytes),
            start: 0,
            len,
        }
    }

    /// `len` bytes of `buffer` from `start`; `None` when out of bounds.
    pub fn slice(buffer: &SharedBytes, start: usize, len: usize) -> Option<Self> {
        let end = start.checked_add(len)?;
        ((**buffer).as_ref().len() >= end).then(|| Payload {
            buffer: Arc::clone(buffer),
            start,
            len,
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &(*self.buffer).as_ref()[self.start..self.start + self.len]
    }
}

/// A file's content, compressed once and reusable in any archive.
#[derive(Debug, Clone)]
pub struct CompressedFile {
    /// CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// Uncompressed size.
    pub size: u64,
    /// SHA-256 of the uncompressed bytes: identifies the content when deciding whether an
    /// archive on disk already holds exactly these files.
    pub sha256: [u8; 32],
    /// Whether `data` is deflated (otherwise stored).
    pub deflated: bool,
    /// The bytes as they go into the archive.
    pub data: Payload,
}

impl CompressedFile {
    /// Compresses `content`; content that deflate cannot shrink is stored as is.
    pub fn compress(content: &[u8]) -> io::Result<Self> {
        let crc32 = crc32fast::hash(content);
        let mut encoder = DeflateEncoder::new(
            Vec::with_capacity(content.len() / 2 + 64),
            Compression::new(DEFLATE_LEVEL),
        );
        encoder.write_all(content)?;
        let deflated = encoder.finish()?;
        let (deflated_flag, data) = if deflated.len() < content.len() {
            (true, deflated)
        } else {
            (false, content.to_vec())
        };
        Ok(CompressedFile {
            crc32,
            size: content.len() as u64,
            sha256: Sha256::digest(content).into(),
            deflated: deflated_flag,
            data: Payload::new(data),
        })
    }
}

/// One archive member.
#[derive(Debug, Clone)]
pub struct ArchiveEntry {
    /// The path inside the archive, `/`-separated, no leading `/`.
    pub path: String,
    /// Whether the file is executable (mode 0755 rather than 0644).
    pub executable: bool,
    /// The content.
    pub file: CompressedFile,
}

/// What an archive holds, for the report and the limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArchiveStats {
    /// Bytes written.
    pub size: u64,
    /// Sum of the files' uncompressed sizes.
    pub unzipped_size: u64,
    /// Number of entries, directories included.
    pub entries: u64,
}

struct CentralRecord {
    name: Vec<u8>,
    external_attributes: u32,
    crc32: u32,
    compressed: u64,
    size: u64,
    method: u16,
    offset: u64,
}

/// Writes `entries` as a zip archive to `out`: entries sorted by path, a directory entry for
/// every parent directory, one fixed time, Unix modes 0644/0755, no extra fields. The same
/// entries always give the same bytes.
pub fn write_zip<W: Write>(entries: &[ArchiveEntry], out: W) -> io::Result<ArchiveStats> {
    let mut members: Vec<(&str, Option<&ArchiveEntry>)> = Vec::new();
    let mut directories = std::collections::BTreeSet::new();
    for entry in entries {
        let mut end = 0;
        while let Some(slash) = entry.path[end..].find('/') {
            end += slash + 1;
            directories.insert(&entry.path[..end]);
        }
        members.push((entry.path.as_str(), Some(entry)));
    }
    members.extend(directories.into_iter().map(|dir| (dir, None)));
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    members.dedup_by(|a, b| a.0 == b.0);

    let mut out = CountingWriter {
        inner: out,
        count: 0,
    };
    let mut central = Vec::with_capacity(members.len());
    let mut unzipped_size = 0;
    for (path, entry) in members {
        let offset = out.count;
        let record = match entry {
            Some(entry) => {
                unzipped_size += entry.file.size;
                let mode = if entry.executable { 0o100755 } else { 0o100644 };
                CentralRecord {
                    name: path.as_bytes().to_vec(),
                    external_attributes: mode << 16,
                    crc32: entry.file.crc32,
                    compressed: entry.file.data.as_slice().len() as u64,
                    size: entry.file.size,
                    method: if entry.file.deflated {
                        METHOD_DEFLATED
                    } else {
                        METHOD_STORED
                    },
                    offset,
                }
            }
            None => CentralRecord {
                name: path.as_bytes().to_vec(),
                // The MS-DOS directory bit (0x10) as well, for readers that ignore Unix modes.
                external_attributes: (0o040755 << 16) | 0x10,
                crc32: 0,
                compressed: 0,
                size: 0,
                method: METHOD_STORED,
                offset,
            },
        };
        write_local_header(&mut out, &record)?;
        if let Some(entry) = entry {
            out.write_all(entry.file.data.as_slice())?;
        }
        central.push(record);
    }
    let central_start = out.count;
    for record in &central {
        write_central_header(&mut out, record)?;
    }
    let central_size = out.count - central_start;
    write_end_records(&mut out, central.len() as u64, central_size, central_start)?;
    out.flush()?;
    Ok(ArchiveStats {
        size: out.count,
        unzipped_size,
        entries: central.len() as u64,
    })
}

fn too_large(what: &str) -> io::Error {
    io::Error::other(format!(
        "{what} is over 4 GiB, which Lambda archives never reach"
    ))
}

fn u32_field(value: u64, what: &str) -> io::Result<u32> {
    u32::try_from(value).map_err(|_| too_large(what))
}

fn write_local_header<W: Write>(out: &mut W, record: &CentralRecord) -> io::Result<()> {
    let mut header = Vec::with_capacity(30 + record.name.len());
    header.extend_from_slice(&0x04034b50u32.to_le_bytes());
    push_shared_fields(&mut header, record)?;
    header.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    header.extend_from_slice(&record.name);
    out.write_all(&header)
}

fn write_central_header<W: Write>(out: &mut W, record: &CentralRecord) -> io::Result<()> {
    let mut header = Vec::with_capacity(46 + record.name.len());
    header.extend_from_slice(&0x02014b50u32.to_le_bytes());
    header.extend_from_slice(&VERSION_MADE_BY_UNIX.to_le_bytes());
    push_shared_fields(&mut header, record)?;
    header.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    header.extend_from_slice(&0u16.to_le_bytes()); // comment length
    header.extend_from_slice(&0u16.to_le_bytes()); // disk number
    header.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    header.extend_from_slice(&record.external_attributes.to_le_bytes());
    header.extend_from_slice(&u32_field(record.offset, "the archive")?.to_le_bytes());
    header.extend_from_slice(&record.name);
    out.write_all(&header)
}

/// The fields local and central headers share, from "version needed" to the name length.
fn push_shared_fields(header: &mut Vec<u8>, record: &CentralRecord) -> io::Result<()> {
    header.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
    header.extend_from_slice(&FLAG_UTF8.to_le_bytes());
    header.extend_from_slice(&record.method.to_le_bytes());
    header.extend_from_slice(&DOS_TIME_MIDNIGHT.to_le_bytes());
    header.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
    header.extend_from_slice(&record.crc32.to_le_bytes());
    header.extend_from_slice(&u32_field(record.compressed, "a compressed file")?.to_le_bytes());
    header.extend_from_slice(&u32_field(record.size, "a file")?.to_le_bytes());
    header.extend_from_slice(&name_len(&record.name)?.to_le_bytes());
    Ok(())
}

fn name_len(name: &[u8]) -> io::Result<u16> {
    u16::try_from(name.len()).map_err(|_| io::Error::other("an archive path is over 64 KiB"))
}

/// The end of central directory record, preceded by the zip64 records when the entry count
/// does not fit in 16 bits (a large dependency tree can pass 65535 files).
fn write_end_records<W: Write>(
    out: &mut CountingWriter<W>,
    count: u64,
    central_size: u64,
    central_start: u64,
) -> io::Result<()> {
    let needs_zip64 = count > 0xfffe;
    if needs_zip64 {
        let zip64_start = out.count;
        let mut record = Vec::with_capacity(56 + 20);
        record.extend_from_slice(&0x06064b50u32.to_le_bytes());
        record.extend_from_slice(&44u64.to_le_bytes());
        record.extend_from_slice(&VERSION_MADE_BY_UNIX.to_le_bytes());
        record.extend_from_slice(&VERSION_NEEDED_ZIP64.to_le_bytes());
        record.extend_from_slice(&0u32.to_le_bytes());
        record.extend_from_slice(&0u32.to_le_bytes());
        record.extend_from_slice(&count.to_le_bytes());
        record.extend_from_slice(&count.to_le_bytes());
        record.extend_from_slice(&central_size.to_le_bytes());
        record.extend_from_slice(&central_start.to_le_bytes());
        record.extend_from_slice(&0x07064b50u32.to_le_bytes());
        record.extend_from_slice(&0u32.to_le_bytes());
        record.extend_from_slice(&zip64_start.to_le_bytes());
        record.extend_from_slice(&1u32.to_le_bytes());
        out.write_all(&record)?;
    }
    let count16 = if needs_zip64 { 0xffff } else { count as u16 };
    let mut end = Vec::with_capacity(22);
    end.extend_from_slice(&0x06054b50u32.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&count16.to_le_bytes());
    end.extend_from_slice(&count16.to_le_bytes());
    end.extend_from_slice(&u32_field(central_size, "the central directory")?.to_le_bytes());
    end.extend_from_slice(&u32_field(central_start, "the archive")?.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&end)
}

struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.count += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, content: &[u8], executable: bool) -> ArchiveEntry {
        ArchiveEntry {
            path: path.to_string(),
            executable,
            file: CompressedFile::compress(content).expect("compress"),
        }
    }

    #[test]
    fn entries_are_sorted_dated_1980_with_unix_modes_and_no_extra_fields() {
        let entries = vec![
            entry("pkg/mod.py", &b"x = 1\n".repeat(100), false),
            entry("bin/tool", b"#!/bin/sh\n", true),
            entry("a.py", b"", false),
        ];
        let mut bytes = Vec::new();
        let stats = write_zip(&entries, &mut bytes).expect("write");
        assert_eq!(stats.size, bytes.len() as u64);
        assert_eq!(stats.entries, 5);

        let archive = rawzip::ZipArchive::from_slice(&bytes).expect("valid zip");
        let mut seen = Vec::new();
        for record in archive.entries() {
            let record = record.expect("entry");
            let name = String::from_utf8(record.file_path().as_ref().to_vec()).expect("utf8");
            assert_eq!(record.extra_fields().count(), 0, "{name}");
            let mode = record.mode().value();
            let dos = record.last_modified();
            assert_eq!((dos.year(), dos.month(), dos.day()), (1980, 1, 1));
            seen.push((name, mode & 0o777));
        }
        assert_eq!(
            seen,
            [
                ("a.py".to_string(), 0o644),
                ("bin/".to_string(), 0o755),
                ("bin/tool".to_string(), 0o755),
                ("pkg/".to_string(), 0o755),
                ("pkg/mod.py".to_string(), 0o644),
            ]
        );
    }

    #[test]
    fn same_entries_same_bytes_in_any_input_order() {
        let a = vec![entry("x/1", b"one", false), entry("x/2", b"two", false)];
        let b = vec![a[1].clone(), a[0].clone()];
        let (mut first, mut second) = (Vec::new(), Vec::new());
        write_zip(&a, &mut first).expect("write");
        write_zip(&b, &mut second).expect("write");
        assert_eq!(first, second);
    }

    #[test]
    fn more_than_65535_entries_use_the_zip64_end_records() {
        let empty = CompressedFile::compress(b"").expect("compress");
        let entries: Vec<ArchiveEntry> = (0..70_000)
            .map(|n| ArchiveEntry {
                path: format!("f{n:05}"),
                executable: false,
                file: empty.clone(),
            })
            .collect();
        let mut bytes = Vec::new();
        let stats = write_zip(&entries, &mut bytes).expect("write");
        assert_eq!(stats.entries, 70_000);
        let archive = rawzip::ZipArchive::from_slice(&bytes).expect("valid zip64");
        assert_eq!(archive.entries_hint(), 70_000);
        assert_eq!(archive.entries().count(), 70_000);
    }

    #[test]
    fn incompressible_content_is_stored() {
        let file = CompressedFile::compress(b"ab").expect("compress");
        assert!(!file.deflated);
        assert_eq!(file.data.as_slice(), b"ab");
    }
}
