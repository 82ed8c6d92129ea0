//! Unpacks part of an image's file system from its layers, for running an image function
//! without a container engine: only the directories Lambda gives the function (`/var/task`,
//! `/opt`) are extracted, the layers applied in order with their whiteouts honoured.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

/// The prefix of a whiteout file: `.wh.NAME` deletes NAME from the layers below.
const WHITEOUT: &str = ".wh.";
/// A directory's opaque marker: the layers below contribute nothing to it.
const OPAQUE: &str = ".wh..wh..opq";

/// Why a layer could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// Reading a layer or writing the tree failed.
    #[error("cannot unpack the image layer {layer}: {source}")]
    Io {
        /// The layer's blob.
        layer: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The directory to unpack into cannot be made.
    #[error("cannot create {dir} to unpack an image into: {source}")]
    Destination {
        /// The directory.
        dir: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A compression this tool does not read.
    #[error(
        "the image layer {0} is neither gzip-compressed nor a plain tar (zstd layers are not supported): rebuild the image with gzip layers"
    )]
    Compression(PathBuf),
}

/// Extracts into `dest` the entries of `layers` (blob files, bottom layer first, gzip'd or
/// plain tars) that lie under one of `roots` (image paths without the leading `/`, e.g.
/// `var/task`). Later layers win; whiteouts delete what lower layers put there. Entries
/// whose path would leave `dest` are skipped.
pub fn unpack_layers(layers: &[PathBuf], roots: &[&str], dest: &Path) -> Result<(), UnpackError> {
    unpack_layers_observed(layers, roots, dest, &mut |_, _| {})
}

/// [`unpack_layers`], showing `observe` every entry of every layer on the way, inside the
/// roots or not: its image path (relative, e.g. `var/lang/bin/python3.12`) and whether it
/// is a directory. The layers are read once either way, so what the image holds outside
/// the extracted directories (which interpreter it carries, say) costs nothing more to
/// learn.
pub fn unpack_layers_observed(
    layers: &[PathBuf],
    roots: &[&str],
    dest: &Path,
    observe: &mut dyn FnMut(&Path, bool),
) -> Result<(), UnpackError> {
    std::fs::create_dir_all(dest).map_err(|source| UnpackError::Destination {
        dir: dest.to_path_buf(),
        source,
    })?;
    for layer in layers {
        let io_error = |source| UnpackError::Io {
            layer: layer.clone(),
            source,
        };
        let reader = open_layer(layer)?;
        let mut archive = tar::Archive::new(reader);
        archive.set_preserve_permissions(true);
        archive.set_overwrite(true);
        for entry in archive.entries().map_err(io_error)? {
            let mut entry = entry.map_err(io_error)?;
            let Some(path) = image_path(&entry.path().map_err(io_error)?) else {
                continue;
            };
            observe(&path, entry.header().entry_type().is_dir());
            if !roots.iter().any(|root| under(&path, root)) {
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == OPAQUE {
                let dir = dest.join(path.parent().unwrap_or(Path::new("")));
                clear_dir(&dir).map_err(io_error)?;
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                remove_any(&dest.join(path.with_file_name(hidden))).map_err(io_error)?;
            } else {
                // A file replacing a directory (or the reverse) from a lower layer.
                let target = dest.join(&path);
                if let Ok(meta) = target.symlink_metadata()
                    && meta.is_dir() != entry.header().entry_type().is_dir()
                {
                    remove_any(&target).map_err(io_error)?;
                }
                entry.unpack_in(dest).map_err(io_error)?;
            }
        }
    }
    Ok(())
}

/// The layer's tar stream, decompressed when it is gzip'd (told by its magic bytes).
fn open_layer(layer: &Path) -> Result<Box<dyn Read>, UnpackError> {
    let io_error = |source| UnpackError::Io {
        layer: layer.to_path_buf(),
        source,
    };
    let mut file = File::open(layer).map_err(io_error)?;
    let mut magic = [0u8; 4];
    let read = read_up_to(&mut file, &mut magic).map_err(io_error)?;
    let file = BufReader::new(File::open(layer).map_err(io_error)?);
    match &magic[..read] {
        [0x1f, 0x8b, ..] => Ok(Box::new(GzDecoder::new(file))),
        // zstd's magic number.
        [0x28, 0xb5, 0x2f, 0xfd] => Err(UnpackError::Compression(layer.to_path_buf())),
        _ => Ok(Box::new(file)),
    }
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A tar entry's path as a relative image path (`./var/task/x` and `/var/task/x` become
/// `var/task/x`); `None` for a path that climbs out with `..`.
fn image_path(path: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!clean.as_os_str().is_empty()).then_some(clean)
}

fn under(path: &Path, root: &str) -> bool {
    path.starts_with(root)
}

fn clear_dir(dir: &Path) -> io::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                remove_any(&entry?.path())?;
            }
            Ok(())
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

fn remove_any(path: &Path) -> io::Result<()> {
    let result = match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) => Err(error),
    };
    match result {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A gzip'd tar layer of (path, content) files; `None` content makes a directory.
    fn layer(dir: &Path, name: &str, entries: &[(&str, Option<&str>)]) -> PathBuf {
        let path = dir.join(name);
        let gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        for (entry, content) in entries {
            let mut header = tar::Header::new_gnu();
            match content {
                Some(text) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(text.len() as u64);
                    header.set_mode(0o755);
                    // Written into the header by hand: the builder refuses absolute paths,
                    // which some image tools write.
                    let name = &mut header.as_gnu_mut().unwrap().name;
                    name[..entry.len()].copy_from_slice(entry.as_bytes());
                    header.set_cksum();
                    builder.append(&header, text.as_bytes()).unwrap();
                }
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    header.set_mode(0o755);
                    builder
                        .append_data(&mut header, entry, io::empty())
                        .unwrap();
                }
            }
        }
        builder
            .into_inner()
            .unwrap()
            .finish()
            .unwrap()
            .flush()
            .unwrap();
        path
    }

    #[test]
    fn applies_layers_in_order_with_whiteouts_and_only_under_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let base = layer(
            dir.path(),
            "base",
            &[
                ("var/lang/bin/python", Some("interpreter")),
                ("var/task/", None),
                ("var/task/old.py", Some("old")),
                ("var/task/keep.py", Some("v1")),
                ("opt/lib/", None),
                ("opt/lib/a.so", Some("a")),
            ],
        );
        let app = layer(
            dir.path(),
            "app",
            &[
                ("./var/task/.wh.old.py", Some("")),
                ("var/task/keep.py", Some("v2")),
                ("opt/lib/.wh..wh..opq", Some("")),
                ("opt/lib/b.so", Some("b")),
                ("/var/task/app.py", Some("app")),
            ],
        );
        let out = dir.path().join("root");
        let mut seen = Vec::new();
        unpack_layers_observed(
            &[base, app],
            &["var/task", "opt"],
            &out,
            &mut |path, dir| seen.push((path.display().to_string(), dir)),
        )
        .unwrap();
        assert!(seen.contains(&("var/lang/bin/python".to_string(), false)));
        assert!(seen.contains(&("var/task".to_string(), true)));
        assert_eq!(seen.len(), 11, "{seen:?}");
        let read = |p: &str| std::fs::read_to_string(out.join(p)).ok();
        assert_eq!(read("var/task/keep.py").as_deref(), Some("v2"));
        assert_eq!(read("var/task/app.py").as_deref(), Some("app"));
        assert_eq!(read("var/task/old.py"), None, "whited out");
        assert_eq!(read("opt/lib/a.so"), None, "opaque directory");
        assert_eq!(read("opt/lib/b.so").as_deref(), Some("b"));
        assert!(!out.join("var/lang").exists(), "outside the roots");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("var/task/app.py"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn refuses_zstd_layers_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let zstd = dir.path().join("zstd");
        std::fs::write(&zstd, [0x28, 0xb5, 0x2f, 0xfd, 0, 0]).unwrap();
        let error = unpack_layers(&[zstd], &["var/task"], &dir.path().join("out")).unwrap_err();
        assert!(error.to_string().contains("zstd"), "{error}");
    }
}
