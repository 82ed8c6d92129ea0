//! Safety checks for zip archives, made before anything is extracted.
//!
//! [`inspect`] reads every entry of an archive (decompressing into a counting sink, never
//! writing anything or holding a whole entry in memory) and refuses archives that would
//! write outside the extraction directory, whose symbolic links lead outside it, whose
//! headers lie about their content, whose data is corrupt, or that unzip to more than a
//! limit. Entry names are interpreted in this module only: the extractor writes each entry
//! to the path the inspection checked.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use rawzip::{CompressionMethod, Crc32};

/// The most bytes asked of a decompressor at a time.
const CHUNK: usize = 64 * 1024;
/// The longest symbolic link target kept for checking (`PATH_MAX` on Linux): a link's
/// content is its target, so a longer one cannot be a usable link.
const MAX_LINK_TARGET: usize = 4096;
/// The most symbolic links followed while resolving one target (`MAXSYMLINKS` on Linux).
const MAX_LINK_HOPS: u32 = 40;
/// The file type bits of a Unix mode, and the type of a symbolic link.
const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// What an inspected archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// Number of entries, directories and symbolic links included.
    pub entries: usize,
    /// Total bytes of the decompressed entries (directories count 0, a symbolic link the
    /// length of its target): measured, not taken from the headers.
    pub unzipped_size: u64,
}

/// Why an archive is refused. Messages name the entry and say what is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArchiveProblem {
    /// The bytes are not a readable zip archive (no end of central directory, or a
    /// central directory that cannot be read).
    #[error("not a readable zip archive: {message}")]
    NotAZip {
        /// What the zip reader found wrong.
        message: String,
    },
    /// An entry whose path is absolute, climbs above the root with `..`, or goes through
    /// a symbolic link that an earlier entry of the archive creates.
    #[error(
        "entry `{entry}` would be written outside the archive's root: its path is absolute, climbs above the root with `..`, or goes through a symbolic link of the archive"
    )]
    Escapes {
        /// The entry's name as stored.
        entry: String,
    },
    /// A symbolic link whose target is absolute or, resolved from the link's directory
    /// (through the archive's other links), does not stay inside the root.
    #[error(
        "symbolic link `{entry}` points to `{target}`, which is absolute or does not resolve inside the archive's root"
    )]
    SymlinkEscapes {
        /// The link's name as stored.
        entry: String,
        /// Its target.
        target: String,
    },
    /// An entry whose declared uncompressed size is not what its data decompresses to.
    #[error("entry `{entry}` declares {declared} bytes uncompressed but {}", holds(*declared, *actual))]
    SizeMismatch {
        /// The entry's name as stored.
        entry: String,
        /// The uncompressed size in the central directory.
        declared: u64,
        /// The bytes decompressed. Reading stops at the first byte past the declared
        /// size, so when the entry holds more this is `declared + 1`, a lower bound.
        actual: u64,
    },
    /// An entry whose data is damaged: a CRC-32 that does not match, a bad deflate
    /// stream, data outside the archive.
    #[error("entry `{entry}` is corrupt: {message}")]
    Corrupt {
        /// The entry's name as stored.
        entry: String,
        /// What is wrong with it.
        message: String,
    },
    /// An entry compressed with something other than STORE or DEFLATE, the only methods
    /// Lambda reads.
    #[error(
        "entry `{entry}` uses compression method {method}; only stored and deflated entries are supported, as in Lambda"
    )]
    UnsupportedCompression {
        /// The entry's name as stored.
        entry: String,
        /// The method, by number and name.
        method: String,
    },
    /// The entries decompress to more than the limit in total.
    #[error("the archive unzips to more than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

fn holds(declared: u64, actual: u64) -> String {
    if actual > declared {
        format!("decompresses to more (reading stopped at {actual} bytes)")
    } else {
        format!("decompresses to only {actual} bytes")
    }
}

/// Reads every entry (decompressing, without writing anything) and checks it.
///
/// Refuses, with the first problem found: a file that is not a zip; an entry whose path is
/// absolute, climbs above the root or goes through an earlier symbolic link entry; a
/// compression other than STORE and DEFLATE; data that decompresses to another size than
/// declared, or whose CRC-32 differs; a total of decompressed bytes above `max_unzipped`
/// (checked as the bytes come, so a zip bomb costs at most `max_unzipped` bytes of work);
/// and, once all entries are read, a symbolic link whose target is absolute or leaves the
/// root.
///
/// Entry names are split on `/` only (a backslash is an ordinary byte, as on Unix); empty
/// and `.` components are ignored and `..` removes the previous component. Non-UTF-8
/// bytes are read as U+FFFD, as the extractor writes them. Directory entries (names ending
/// in `/`) are not read and count 0 bytes.
pub fn inspect(bytes: &[u8], max_unzipped: u64) -> Result<ArchiveSummary, ArchiveProblem> {
    let not_a_zip = |error: rawzip::Error| ArchiveProblem::NotAZip {
        message: error.to_string(),
    };
    let zip = rawzip::ZipArchive::from_slice(bytes).map_err(not_a_zip)?;
    let mut entries = zip.entries();
    let mut summary = ArchiveSummary {
        entries: 0,
        unzipped_size: 0,
    };
    let mut sink = Sink {
        buffer: vec![0; CHUNK],
        total: 0,
        limit: max_unzipped,
    };
    // Symbolic links by path, and in archive order for deterministic reports.
    let mut links: HashMap<Vec<String>, String> = HashMap::new();
    let mut link_order: Vec<(String, Vec<String>, String)> = Vec::new();
    while let Some(entry) = entries.next_entry().map_err(not_a_zip)? {
        summary.entries += 1;
        let name = String::from_utf8_lossy(entry.file_path().as_ref()).into_owned();
        let escapes = || ArchiveProblem::Escapes {
            entry: name.clone(),
        };
        let path = components(&name).ok_or_else(escapes)?;
        if (1..path.len()).any(|end| links.contains_key(&path[..end])) {
            return Err(escapes());
        }
        if entry.is_dir() {
            continue;
        }
        // A file or link named by the root itself (``, `.`, `a/..`) has nowhere to go.
        if path.is_empty() {
            return Err(escapes());
        }
        let local = zip
            .get_entry(entry.wayfinder())
            .map_err(|error| ArchiveProblem::Corrupt {
                entry: name.clone(),
                message: error.to_string(),
            })?;
        let reader = decoder(&name, entry.compression_method(), local.data())?;
        let declared = Declared {
            size: entry.uncompressed_size_hint(),
            crc: entry.crc32(),
        };
        if is_symlink(entry.mode()) {
            let mut target = Vec::new();
            sink.drain(reader, &name, declared, |chunk| {
                let room = (MAX_LINK_TARGET + 1).saturating_sub(target.len());
                target.extend_from_slice(&chunk[..chunk.len().min(room)]);
            })?;
            if target.len() > MAX_LINK_TARGET {
                return Err(ArchiveProblem::Corrupt {
                    entry: name,
                    message: format!(
                        "the target of this symbolic link is longer than {MAX_LINK_TARGET} bytes"
                    ),
                });
            }
            let target = String::from_utf8_lossy(&target).into_owned();
            links.insert(path.clone(), target.clone());
            link_order.push((name, path, target));
        } else {
            sink.drain(reader, &name, declared, |_| {})?;
        }
    }
    summary.unzipped_size = sink.total;
    // A link's target is resolved when it is used, through links created before or after
    // it: checked once all are known.
    for (name, path, target) in link_order {
        let parent = path.split_last().map_or(&[][..], |(_, parent)| parent);
        if resolve(&links, parent, &target, &mut 0).is_none() {
            return Err(ArchiveProblem::SymlinkEscapes {
                entry: name,
                target,
            });
        }
    }
    Ok(summary)
}

/// The path under the extraction directory that the entry `name` is written to, or `None`
/// when it is absolute or climbs above the root. An empty path is the root itself.
///
/// [`inspect`] refuses every archive with an entry for which this is `None`.
pub(crate) fn relative_path(name: &str) -> Option<PathBuf> {
    components(name).map(|parts| parts.iter().collect())
}

/// The components of an entry name under the root: split on `/`, empty and `.` components
/// dropped, `..` removing the previous one; `None` when absolute or climbing above the root.
fn components(name: &str) -> Option<Vec<String>> {
    if name.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part.to_owned()),
        }
    }
    Some(parts)
}

/// Where `target`, read from the directory `from`, leads: the components under the root,
/// following the archive's `links` as the kernel would (a path through a link continues
/// from the link's own target). `None` when the target is absolute, leaves the root, or
/// needs more than [`MAX_LINK_HOPS`] links.
fn resolve(
    links: &HashMap<Vec<String>, String>,
    from: &[String],
    target: &str,
    hops: &mut u32,
) -> Option<Vec<String>> {
    if target.starts_with('/') {
        return None;
    }
    let mut here = from.to_vec();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                here.pop()?;
            }
            part => {
                here.push(part.to_owned());
                if let Some(next) = links.get(&here) {
                    *hops += 1;
                    if *hops > MAX_LINK_HOPS {
                        return None;
                    }
                    let (_, parent) = here.split_last()?;
                    let resolved = resolve(links, parent, next, hops)?;
                    here = resolved;
                }
            }
        }
    }
    Some(here)
}

/// Whether a Unix mode marks a symbolic link.
fn is_symlink(mode: rawzip::EntryMode) -> bool {
    mode.value() & S_IFMT == S_IFLNK
}

/// The decompressed bytes of an entry's data.
pub(crate) enum Decoder<'a> {
    /// STORE: the data is the content.
    Stored(&'a [u8]),
    /// DEFLATE.
    Deflated(flate2::bufread::DeflateDecoder<&'a [u8]>),
}

impl Read for Decoder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Decoder::Stored(data) => data.read(buf),
            Decoder::Deflated(decoder) => decoder.read(buf),
        }
    }
}

/// The decoder of the entry `name`'s compressed `data`: STORE and DEFLATE only.
pub(crate) fn decoder<'a>(
    name: &str,
    method: CompressionMethod,
    data: &'a [u8],
) -> Result<Decoder<'a>, ArchiveProblem> {
    match method {
        CompressionMethod::STORE => Ok(Decoder::Stored(data)),
        CompressionMethod::DEFLATE => Ok(Decoder::Deflated(flate2::bufread::DeflateDecoder::new(
            data,
        ))),
        other => Err(ArchiveProblem::UnsupportedCompression {
            entry: name.to_owned(),
            method: other.to_string(),
        }),
    }
}

/// What the central directory says an entry decompresses to.
#[derive(Clone, Copy)]
struct Declared {
    size: u64,
    crc: u32,
}

/// Where decompressed bytes go to be counted: a reusable buffer and the running total.
struct Sink {
    buffer: Vec<u8>,
    total: u64,
    limit: u64,
}

impl Sink {
    /// Reads an entry to its end, handing each chunk to `keep`, and checks its size and
    /// CRC-32 against `declared`. Never asks for more than one byte past the entry's
    /// declared size or past the limit, so a lying header or a bomb is stopped there.
    fn drain(
        &mut self,
        mut reader: impl Read,
        name: &str,
        declared: Declared,
        mut keep: impl FnMut(&[u8]),
    ) -> Result<(), ArchiveProblem> {
        let corrupt = |message: String| ArchiveProblem::Corrupt {
            entry: name.to_owned(),
            message,
        };
        let mut size: u64 = 0;
        let mut crc = Crc32::new();
        loop {
            let wanted = declared
                .size
                .saturating_sub(size)
                .min(self.limit.saturating_sub(self.total))
                .saturating_add(1);
            let len = usize::try_from(wanted)
                .unwrap_or(usize::MAX)
                .min(self.buffer.len());
            let chunk = &mut self.buffer[..len];
            let read = match reader.read(chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(corrupt(error.to_string())),
            };
            size += read as u64;
            self.total += read as u64;
            if size > declared.size {
                return Err(ArchiveProblem::SizeMismatch {
                    entry: name.to_owned(),
                    declared: declared.size,
                    actual: size,
                });
            }
            if self.total > self.limit {
                return Err(ArchiveProblem::TooLarge { limit: self.limit });
            }
            crc.update(&chunk[..read]);
            keep(&chunk[..read]);
        }
        if size != declared.size {
            return Err(ArchiveProblem::SizeMismatch {
                entry: name.to_owned(),
                declared: declared.size,
                actual: size,
            });
        }
        let actual = crc.checksum();
        if actual != declared.crc {
            return Err(corrupt(format!(
                "its data has CRC-32 {actual:08x}, the archive declares {:08x}",
                declared.crc
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use rawzip::path::EntryPath;
    use rawzip::{DataDescriptorOutput, ZipArchiveWriter};

    use super::*;

    const FILE: u32 = 0o100644;
    const LINK: u32 = 0o120777;

    /// Builds zips in memory. Names are written verbatim: rawzip's writer would otherwise
    /// normalise away exactly the `..` and `/` these tests need.
    struct Zip(ZipArchiveWriter<Vec<u8>>);

    impl Zip {
        fn new() -> Zip {
            Zip(ZipArchiveWriter::new(Vec::new()))
        }

        /// An entry with `data` as its compressed bytes and `declared` as its CRC and
        /// uncompressed size, written to the data descriptor and the central directory
        /// (rawzip's writer always streams: the local header holds zeros).
        fn raw(
            mut self,
            name: &str,
            mode: u32,
            method: CompressionMethod,
            data: &[u8],
            declared: DataDescriptorOutput,
        ) -> Zip {
            let (mut entry, _config) = self
                .0
                .new_file(EntryPath::verbatim(name.as_bytes()))
                .compression_method(method)
                .unix_permissions(mode)
                .start()
                .unwrap();
            entry.write_all(data).unwrap();
            entry.finish(declared).unwrap();
            self
        }

        fn stored(self, name: &str, mode: u32, content: &[u8]) -> Zip {
            let declared = DataDescriptorOutput::new(rawzip::crc32(content), len(content));
            self.raw(name, mode, CompressionMethod::STORE, content, declared)
        }

        fn file(self, name: &str, content: &[u8]) -> Zip {
            self.stored(name, FILE, content)
        }

        fn link(self, name: &str, target: &str) -> Zip {
            self.stored(name, LINK, target.as_bytes())
        }

        fn deflated(self, name: &str, content: &[u8]) -> Zip {
            let declared = DataDescriptorOutput::new(rawzip::crc32(content), len(content));
            let data = deflate(&[content]);
            self.raw(name, FILE, CompressionMethod::DEFLATE, &data, declared)
        }

        fn dir(mut self, name: &str) -> Zip {
            self.0
                .new_dir(EntryPath::verbatim(name.as_bytes()))
                .unix_permissions(0o40755)
                .create()
                .unwrap();
            self
        }

        fn finish(self) -> Vec<u8> {
            self.0.finish().unwrap()
        }
    }

    fn len(content: &[u8]) -> u64 {
        content.len() as u64
    }

    fn deflate(chunks: &[&[u8]]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        for chunk in chunks {
            encoder.write_all(chunk).unwrap();
        }
        encoder.finish().unwrap()
    }

    fn escapes(entry: &str) -> Result<ArchiveSummary, ArchiveProblem> {
        Err(ArchiveProblem::Escapes {
            entry: entry.to_owned(),
        })
    }

    fn link_escapes(entry: &str, target: &str) -> Result<ArchiveSummary, ArchiveProblem> {
        Err(ArchiveProblem::SymlinkEscapes {
            entry: entry.to_owned(),
            target: target.to_owned(),
        })
    }

    #[test]
    fn a_normal_archive_passes_with_its_summary() {
        let zip = Zip::new()
            .dir("pkg/")
            .file("pkg/__init__.py", b"")
            .deflated(
                "pkg/handler.py",
                &b"def handler(event, context): pass\n".repeat(20),
            )
            .file("./bootstrap", b"#!/bin/sh\n")
            .link("pkg/current", "handler.py")
            .finish();
        assert_eq!(
            inspect(&zip, u64::MAX),
            Ok(ArchiveSummary {
                entries: 5,
                unzipped_size: 34 * 20 + 10 + 10,
            })
        );
        // The limit is inclusive: exactly the unzipped size fits.
        assert!(inspect(&zip, 34 * 20 + 20).is_ok());
        assert_eq!(
            inspect(&zip, 34 * 20 + 19),
            Err(ArchiveProblem::TooLarge { limit: 699 })
        );
    }

    #[test]
    fn an_empty_archive_passes() {
        let zip = Zip::new().finish();
        assert_eq!(
            inspect(&zip, 0),
            Ok(ArchiveSummary {
                entries: 0,
                unzipped_size: 0
            })
        );
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        for name in ["../evil", "/etc/passwd", "a/../../b", "./../x", "a/./../.."] {
            let zip = Zip::new().file("ok", b"x").file(name, b"x").finish();
            assert_eq!(inspect(&zip, u64::MAX), escapes(name), "{name}");
        }
        let zip = Zip::new().dir("../up/").finish();
        assert_eq!(inspect(&zip, u64::MAX), escapes("../up/"));
        // A file named by the root itself cannot be written.
        let zip = Zip::new().file("a/..", b"x").finish();
        assert_eq!(inspect(&zip, u64::MAX), escapes("a/.."));
    }

    #[test]
    fn dot_dot_that_stays_inside_is_accepted() {
        let zip = Zip::new()
            .file("a/../b", b"x")
            .file("a/b/../../c", b"x")
            .dir("./")
            .finish();
        assert!(inspect(&zip, u64::MAX).is_ok());
    }

    #[test]
    fn names_are_normalised_for_the_extractor() {
        let path = |name: &str| relative_path(name);
        assert_eq!(path("a/b.py"), Some(PathBuf::from("a/b.py")));
        assert_eq!(path("./a//b/"), Some(PathBuf::from("a/b")));
        assert_eq!(path("a/../b"), Some(PathBuf::from("b")));
        assert_eq!(path("./"), Some(PathBuf::new()));
        assert_eq!(path("../etc/passwd"), None);
        assert_eq!(path("/etc/passwd"), None);
        assert_eq!(path("a/../../b"), None);
        // A backslash is a byte of a Unix file name, not a separator.
        assert_eq!(path(r"..\..\evil"), Some(PathBuf::from(r"..\..\evil")));
        assert_eq!(path(r"a\..\..\b"), Some(PathBuf::from(r"a\..\..\b")));
    }

    #[test]
    fn backslashes_are_ordinary_bytes() {
        let zip = Zip::new()
            .file(r"..\..\evil", b"x")
            .link("l", r"..\..\x")
            .finish();
        assert!(inspect(&zip, u64::MAX).is_ok());
    }

    #[test]
    fn absolute_link_targets_are_refused() {
        let zip = Zip::new().link("etc", "/etc").finish();
        assert_eq!(inspect(&zip, u64::MAX), link_escapes("etc", "/etc"));
    }

    #[test]
    fn link_targets_that_climb_out_are_refused() {
        let zip = Zip::new().link("a/link", "../../x").finish();
        assert_eq!(inspect(&zip, u64::MAX), link_escapes("a/link", "../../x"));
        let zip = Zip::new().link("link", "..").finish();
        assert_eq!(inspect(&zip, u64::MAX), link_escapes("link", ".."));
    }

    #[test]
    fn links_inside_the_root_are_fine() {
        let zip = Zip::new()
            .dir("sub/")
            .file("sub/lib.so", b"ELF")
            .link("lib", "sub")
            .link("sub/up", "..")
            .link("sub/lib.so.1", "./lib.so")
            .link("dangling", "nothing/here")
            .finish();
        assert_eq!(
            inspect(&zip, u64::MAX),
            Ok(ArchiveSummary {
                entries: 6,
                unzipped_size: 3 + 3 + 2 + 8 + 12,
            })
        );
    }

    #[test]
    fn link_targets_are_resolved_through_other_links() {
        // `here` is the root; `here/..` is physically above it although it reads as the
        // root. The order does not matter: targets resolve when they are used.
        let zip = Zip::new().link("here", ".").link("up", "here/..").finish();
        assert_eq!(inspect(&zip, u64::MAX), link_escapes("up", "here/.."));
        let zip = Zip::new().link("up", "here/..").link("here", ".").finish();
        assert_eq!(inspect(&zip, u64::MAX), link_escapes("up", "here/.."));
        // Through a link that goes deeper, `..` stays inside.
        let zip = Zip::new()
            .link("deep", "a/b/c")
            .link("ok", "deep/../..")
            .finish();
        assert!(inspect(&zip, u64::MAX).is_ok());
        // A loop never resolves.
        let zip = Zip::new().link("a", "b/x").link("b", "a/y").finish();
        assert_eq!(inspect(&zip, u64::MAX), link_escapes("a", "b/x"));
    }

    #[test]
    fn entries_through_an_earlier_link_are_refused() {
        let zip = Zip::new()
            .link("lib", "sub")
            .file("lib/x.py", b"x")
            .finish();
        assert_eq!(inspect(&zip, u64::MAX), escapes("lib/x.py"));
        let zip = Zip::new().link("lib", "sub").dir("lib/deeper/").finish();
        assert_eq!(inspect(&zip, u64::MAX), escapes("lib/deeper/"));
        let zip = Zip::new()
            .link("lib", "sub")
            .link("lib/inner", "x")
            .finish();
        assert_eq!(inspect(&zip, u64::MAX), escapes("lib/inner"));
        // `lib/..` is normalised away: the extractor writes `x` and never goes through.
        let zip = Zip::new()
            .link("lib", "sub")
            .file("lib/../x", b"x")
            .finish();
        assert!(inspect(&zip, u64::MAX).is_ok());
    }

    #[test]
    fn long_link_targets_are_refused() {
        let target = "a/".repeat(MAX_LINK_TARGET);
        let zip = Zip::new().link("long", &target).finish();
        assert!(matches!(
            inspect(&zip, u64::MAX),
            Err(ArchiveProblem::Corrupt { entry, .. }) if entry == "long"
        ));
    }

    /// rawzip's writer takes the CRC and size to declare from the caller
    /// (`DataDescriptorOutput::new`, meant for copying compressed bytes), so a lying size
    /// needs no byte patching: it is written to the central directory (which rawzip and
    /// the extractor trust) and the data descriptor. The CRC declared is the one of the
    /// real data, so only the size lies; the size is checked before the CRC anyway.
    #[test]
    fn a_lying_declared_size_is_refused() {
        let content = b"hello, world";
        let lie = |method: CompressionMethod, data: &[u8], size: u64| {
            let declared = DataDescriptorOutput::new(rawzip::crc32(content), size);
            inspect(
                &Zip::new().raw("f", FILE, method, data, declared).finish(),
                u64::MAX,
            )
        };
        let mismatch = |declared: u64, actual: u64| {
            Err(ArchiveProblem::SizeMismatch {
                entry: "f".to_owned(),
                declared,
                actual,
            })
        };
        let deflated = deflate(&[content]);
        for (method, data) in [
            (CompressionMethod::STORE, &content[..]),
            (CompressionMethod::DEFLATE, &deflated[..]),
        ] {
            // Smaller than the data: reading stops one byte past the declared size.
            assert_eq!(lie(method, data, 5), mismatch(5, 6), "{method:?}");
            assert_eq!(lie(method, data, 0), mismatch(0, 1), "{method:?}");
            // Larger than the data.
            assert_eq!(lie(method, data, 100), mismatch(100, 12), "{method:?}");
            assert!(lie(method, data, 12).is_ok(), "{method:?}");
        }
    }

    #[test]
    fn a_zip_bomb_is_stopped_at_the_limit() {
        const MB: u64 = 1 << 20;
        let zeros = vec![0u8; MB as usize];
        let data = deflate(&vec![&zeros[..]; 50]);
        assert!(data.len() < 100 * 1024, "{} bytes", data.len());
        let bomb = |crc: u32| {
            let declared = DataDescriptorOutput::new(crc, 50 * MB);
            Zip::new()
                .raw("bomb", FILE, CompressionMethod::DEFLATE, &data, declared)
                .finish()
        };
        let mut crc = Crc32::new();
        for _ in 0..50 {
            crc.update(&zeros);
        }
        let honest = bomb(crc.checksum());
        assert_eq!(
            inspect(&honest, MB),
            Err(ArchiveProblem::TooLarge { limit: MB })
        );
        assert_eq!(
            inspect(&honest, u64::MAX),
            Ok(ArchiveSummary {
                entries: 1,
                unzipped_size: 50 * MB,
            })
        );
        // Proof that inspection stops early rather than after decompressing everything:
        // with a wrong CRC, only a complete read could notice it.
        let wrong_crc = bomb(0x1234_5678);
        assert_eq!(
            inspect(&wrong_crc, MB),
            Err(ArchiveProblem::TooLarge { limit: MB })
        );
        assert!(matches!(
            inspect(&wrong_crc, u64::MAX),
            Err(ArchiveProblem::Corrupt { .. })
        ));
    }

    #[test]
    fn the_limit_is_on_the_total_of_all_entries() {
        let content = vec![7u8; 600 * 1024];
        let zip = Zip::new()
            .deflated("one", &content)
            .deflated("two", &content)
            .finish();
        assert_eq!(
            inspect(&zip, 1 << 20),
            Err(ArchiveProblem::TooLarge { limit: 1 << 20 })
        );
        assert!(inspect(&zip, 2 * 600 * 1024).is_ok());
    }

    #[test]
    fn a_non_zip_is_refused() {
        for bytes in [&b""[..], b"not a zip at all", b"PK\x03\x04truncated"] {
            assert!(
                matches!(
                    inspect(bytes, u64::MAX),
                    Err(ArchiveProblem::NotAZip { .. })
                ),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_crc_mismatch_is_refused() {
        let content = b"print('hello')\n";
        let mut zip = Zip::new().file("app.py", content).finish();
        let at = zip
            .windows(content.len())
            .position(|window| window == content)
            .unwrap();
        zip[at] ^= 0x20;
        let problem = inspect(&zip, u64::MAX).unwrap_err();
        assert!(
            matches!(&problem, ArchiveProblem::Corrupt { entry, message }
                if entry == "app.py" && message.contains("CRC-32")),
            "{problem:?}"
        );
        assert!(problem.to_string().contains("`app.py`"), "{problem}");
    }

    #[test]
    fn a_bad_deflate_stream_is_refused() {
        // Block type 3 is reserved: no decoder accepts it.
        let declared = DataDescriptorOutput::new(0, 10);
        let zip = Zip::new()
            .raw(
                "bad",
                FILE,
                CompressionMethod::DEFLATE,
                &[0xff; 16],
                declared,
            )
            .finish();
        assert!(matches!(
            inspect(&zip, u64::MAX),
            Err(ArchiveProblem::Corrupt { entry, .. }) if entry == "bad"
        ));
    }

    #[test]
    fn other_compression_methods_are_refused() {
        let declared = DataDescriptorOutput::new(0, 3);
        let zip = Zip::new()
            .raw("z", FILE, CompressionMethod::ZSTD, b"abc", declared)
            .finish();
        assert_eq!(
            inspect(&zip, u64::MAX),
            Err(ArchiveProblem::UnsupportedCompression {
                entry: "z".to_owned(),
                method: "93 (ZSTD)".to_owned(),
            })
        );
    }

    #[test]
    fn messages_name_the_entry_and_the_problem() {
        let message = |problem: ArchiveProblem| problem.to_string();
        assert_eq!(
            message(ArchiveProblem::SizeMismatch {
                entry: "f".into(),
                declared: 5,
                actual: 6
            }),
            "entry `f` declares 5 bytes uncompressed but decompresses to more (reading stopped at 6 bytes)"
        );
        assert_eq!(
            message(ArchiveProblem::SizeMismatch {
                entry: "f".into(),
                declared: 100,
                actual: 12
            }),
            "entry `f` declares 100 bytes uncompressed but decompresses to only 12 bytes"
        );
        assert!(
            message(ArchiveProblem::Escapes {
                entry: "../x".into()
            })
            .contains("`../x`")
        );
        assert!(
            message(ArchiveProblem::SymlinkEscapes {
                entry: "l".into(),
                target: "/etc".into()
            })
            .contains("`l` points to `/etc`")
        );
    }
}
