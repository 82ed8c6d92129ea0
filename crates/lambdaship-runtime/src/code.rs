//! Function code on disk: archives unpacked once into directories named by their content.

use std::io::Read;
use std::path::{Path, PathBuf};

use lambdaship_build::{Cache, KeyBuilder};
use lambdaship_image::{BaseImage, BlobStore};
use lambdaship_project::Runtime;
use sha2::{Digest, Sha256};

use crate::FunctionCode;
use crate::error::RuntimeError;
use crate::image::InterpreterScan;

/// The file beside an unpacked image's `var` and `opt` that remembers what its layers said
/// about it outside those directories.
const IMAGE_NOTES: &str = "lambdaship-image.json";

/// The directories of an image a function gets, as image paths.
const IMAGE_ROOTS: [&str; 2] = ["var/task", "opt"];

/// Where unpacked code lives: `<cache>/code/<sha256>` for archives,
/// `<cache>/code/opt-<sha256 of the layer hashes>` for combined layers, and
/// `<cache>/code/image-<manifest digest>` for an image (its `var/task` is the task root,
/// its `opt` the opt directory).
#[derive(Debug, Clone)]
pub struct CodeStore {
    root: PathBuf,
    cache: Cache,
}

/// The directories of one function's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedCode {
    /// The function archive's content: the task root.
    pub task_root: PathBuf,
    /// The layers, extracted in order: the opt directory.
    pub opt: PathBuf,
}

impl CodeStore {
    /// The store inside `cache`.
    pub fn new(cache: &Cache) -> Result<CodeStore, RuntimeError> {
        let root = cache.root().join("code");
        std::fs::create_dir_all(&root).map_err(|e| RuntimeError::io("cannot create", &root, e))?;
        Ok(CodeStore {
            root,
            cache: cache.clone(),
        })
    }

    /// Unpacks the function archive and its layers (each once per content).
    pub fn unpack(&self, archive: &Path, layers: &[PathBuf]) -> Result<UnpackedCode, RuntimeError> {
        let digest = self.digest(archive)?;
        let task_root = self.root.join(&digest);
        if !task_root.is_dir() {
            self.extract_into_new(&task_root, &[archive.to_path_buf()])?;
        }
        let mut key = Sha256::new();
        for layer in layers {
            key.update(self.digest(layer)?.as_bytes());
        }
        let opt = self
            .root
            .join(format!("opt-{}", hex::encode(key.finalize())));
        if !opt.is_dir() {
            self.extract_into_new(&opt, layers)?;
        }
        Ok(UnpackedCode { task_root, opt })
    }

    /// Unpacks `code`, archives or image (each once per content).
    pub fn unpack_code(&self, code: &FunctionCode) -> Result<UnpackedCode, RuntimeError> {
        match code {
            FunctionCode::Archives { archive, layers } => self.unpack(archive, layers),
            FunctionCode::Image(image) => {
                let (store, opened) = crate::image::open(image)?;
                let source = crate::image::describe(image);
                Ok(self.unpack_image(&store, &opened, &source)?.0)
            }
        }
    }

    /// Unpacks the `/var/task` and `/opt` of `image` from its layers in `store`, once per
    /// manifest digest; also returns the Python interpreter the image carries, if any (the
    /// layers are read whole anyway, so this is learnt on the way).
    pub(crate) fn unpack_image(
        &self,
        store: &BlobStore,
        image: &BaseImage,
        source: &str,
    ) -> Result<(UnpackedCode, Option<Runtime>), RuntimeError> {
        let dir = self
            .root
            .join(format!("image-{}", image.manifest_digest.hex()));
        let unpacked = |dir: &Path| UnpackedCode {
            task_root: dir.join("var").join("task"),
            opt: dir.join("opt"),
        };
        if dir.is_dir() {
            let interpreter = std::fs::read(dir.join(IMAGE_NOTES))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|notes| notes["interpreter"].as_str().map(str::to_string))
                .and_then(|name| name.parse().ok());
            return Ok((unpacked(&dir), interpreter));
        }
        let bad = |message: String| RuntimeError::BadImage {
            image: source.to_string(),
            message,
        };
        let mut layers = Vec::new();
        for layer in image.manifest.layers() {
            let digest: lambdaship_image::Digest =
                layer.digest().to_string().parse().map_err(|_| {
                    bad(format!(
                        "its layer {} is not named by a sha256 digest",
                        layer.digest()
                    ))
                })?;
            layers.push(digest);
        }
        let staging = tempfile::Builder::new()
            .prefix(".unpack-")
            .tempdir_in(&self.root)
            .map_err(|e| RuntimeError::io("cannot create a directory in", &self.root, e))?;
        let mut scan = InterpreterScan::default();
        for digest in &layers {
            // A base image's big layers write nothing under /var/task and /opt: once that is
            // known (with the interpreter they carry), a new image on the same base, as every
            // rebuild of `dev` is, does not read them again. A layer with only directories
            // there is skipped too: the directories are made anyway.
            let key = KeyBuilder::new("image-layer-notes")
                .add_str(&digest.to_string())
                .finish();
            let known = self.cache.text(&key).and_then(|text| {
                let (writes, interpreter) = text.split_once(' ')?;
                Some((writes == "writes", InterpreterScan::from_note(interpreter)?))
            });
            if let Some((false, interpreter)) = &known {
                scan.merge(interpreter);
                continue;
            }
            let mut layer_scan = InterpreterScan::default();
            let mut writes = false;
            lambdaship_image::unpack_layers_observed(
                &[store.path(digest)],
                &IMAGE_ROOTS,
                staging.path(),
                &mut |path, is_dir| {
                    layer_scan.observe(path, is_dir);
                    writes |= !is_dir && IMAGE_ROOTS.iter().any(|root| path.starts_with(root));
                },
            )
            .map_err(|e| bad(e.to_string()))?;
            scan.merge(&layer_scan);
            let note = format!(
                "{} {}",
                if writes { "writes" } else { "nothing" },
                layer_scan.to_note()
            );
            // Remembering is an optimisation: a cache that cannot be written costs time.
            let _ = self.cache.put_text(&key, &note);
        }
        let code = unpacked(staging.path());
        // An image without files there still runs with empty directories, as on Lambda.
        for made in [&code.task_root, &code.opt] {
            std::fs::create_dir_all(made)
                .map_err(|e| RuntimeError::io("cannot create", made, e))?;
        }
        let interpreter = scan.runtime();
        let notes = serde_json::json!({"interpreter": interpreter.map(|r| r.to_string())});
        let notes_path = staging.path().join(IMAGE_NOTES);
        std::fs::write(&notes_path, notes.to_string())
            .map_err(|e| RuntimeError::io("cannot write", &notes_path, e))?;
        let staged = staging.keep();
        if let Err(error) = std::fs::rename(&staged, &dir) {
            let _ = std::fs::remove_dir_all(&staged);
            // Another process unpacked the same image first: theirs is as good.
            if !dir.is_dir() {
                return Err(RuntimeError::io("cannot create", &dir, error));
            }
        }
        Ok((unpacked(&dir), interpreter))
    }

    /// The SHA-256 of a file, remembered by its size, time and inode so an unchanged
    /// archive is not hashed again at every cold start.
    fn digest(&self, path: &Path) -> Result<String, RuntimeError> {
        let stamp_key = lambdaship_build::file_stamp(path).map(|stamp| {
            lambdaship_build::KeyBuilder::new("code-digest")
                .add_str(&path.display().to_string())
                .add_str(&stamp)
                .finish()
        });
        if let Some(digest) = stamp_key.as_deref().and_then(|key| self.cache.text(key)) {
            return Ok(digest);
        }
        let bytes = std::fs::read(path).map_err(|e| RuntimeError::io("cannot read", path, e))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if let Some(key) = stamp_key {
            // Remembering is an optimisation: a cache that cannot be written costs time.
            let _ = self.cache.put_text(&key, &digest);
        }
        Ok(digest)
    }

    /// Extracts `archives` in order into a staging directory, then renames it to `target`,
    /// so a directory under its final name is always complete.
    fn extract_into_new(&self, target: &Path, archives: &[PathBuf]) -> Result<(), RuntimeError> {
        let staging = tempfile::Builder::new()
            .prefix(".unpack-")
            .tempdir_in(&self.root)
            .map_err(|e| RuntimeError::io("cannot create a directory in", &self.root, e))?;
        for archive in archives {
            extract(archive, staging.path())?;
        }
        let staged = staging.keep();
        if let Err(error) = std::fs::rename(&staged, target) {
            let _ = std::fs::remove_dir_all(&staged);
            // Another process unpacked the same content first: theirs is as good.
            if !target.is_dir() {
                return Err(RuntimeError::io("cannot create", target, error));
            }
        }
        Ok(())
    }
}

/// Extracts one zip archive into `dir`; later files overwrite earlier ones, as Lambda
/// extracts layers. The archive is inspected first ([`crate::archive::inspect`]): nothing of a
/// hostile or damaged archive is written.
fn extract(archive: &Path, dir: &Path) -> Result<(), RuntimeError> {
    let bad = |message: String| RuntimeError::BadArchive {
        path: archive.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(archive).map_err(|e| RuntimeError::io("cannot read", archive, e))?;
    crate::archive::inspect(&bytes, u64::MAX).map_err(|problem| bad(problem.to_string()))?;
    let zip = rawzip::ZipArchive::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut entries = zip.entries();
    while let Some(entry) = entries.next_entry().map_err(|e| bad(e.to_string()))? {
        let name = String::from_utf8_lossy(entry.file_path().as_ref()).into_owned();
        let relative = crate::archive::relative_path(&name)
            .ok_or_else(|| bad(format!("entry `{name}` points outside the archive")))?;
        // Each archive was inspected alone; layers share a directory, so a link one layer
        // made could lead a later layer's entry elsewhere. Nothing is written through one.
        if let Some(link) = existing_link_above(dir, &relative) {
            return Err(bad(format!(
                "entry `{name}` would be written through the symbolic link `{}` an earlier archive made",
                link.display()
            )));
        }
        let path = dir.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&path)
                .map_err(|e| RuntimeError::io("cannot create", &path, e))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| RuntimeError::io("cannot create", parent, e))?;
        }
        let local = zip
            .get_entry(entry.wayfinder())
            .map_err(|e| bad(e.to_string()))?;
        let decoder = crate::archive::decoder(&name, entry.compression_method(), local.data())
            .map_err(|problem| bad(problem.to_string()))?;
        // Inspection measured the entry: its declared size is its size.
        let mut content = Vec::with_capacity(entry.uncompressed_size_hint() as usize);
        let read = local.verifying_reader(decoder).read_to_end(&mut content);
        read.map_err(|e| bad(format!("entry `{name}`: {e}")))?;
        let mode = entry.mode().value();
        if mode & 0o170000 == 0o120000 {
            let target = String::from_utf8_lossy(&content).into_owned();
            let _ = std::fs::remove_file(&path);
            std::os::unix::fs::symlink(&target, &path)
                .map_err(|e| RuntimeError::io("cannot create", &path, e))?;
            continue;
        }
        // A later layer replaces the file: remove first so a read-only one is no obstacle.
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, &content).map_err(|e| RuntimeError::io("cannot write", &path, e))?;
        let permissions = if mode & 0o777 == 0 {
            0o644
        } else {
            mode & 0o777
        };
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(permissions))
            .map_err(|e| RuntimeError::io("cannot set the mode of", &path, e))?;
    }
    Ok(())
}

/// The first directory on the way from `dir` to `relative` that is a symbolic link.
fn existing_link_above(dir: &Path, relative: &Path) -> Option<PathBuf> {
    let mut path = dir.to_path_buf();
    let parents = relative.parent()?;
    for component in parents.components() {
        path.push(component);
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => return Some(path),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A zip of stored files, names written verbatim.
    fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut archive = rawzip::ZipArchiveWriter::new(Vec::new());
        for (name, content) in files {
            let (mut entry, config) = archive
                .new_file(rawzip::path::EntryPath::verbatim(name.as_bytes()))
                .unix_permissions(0o644)
                .start()
                .unwrap();
            let mut writer = config.wrap(&mut entry);
            writer.write_all(content).unwrap();
            let (_, descriptor) = writer.finish().unwrap();
            entry.finish(descriptor).unwrap();
        }
        archive.finish().unwrap()
    }

    #[test]
    fn a_hostile_archive_is_refused_before_anything_is_written() {
        let temp = tempfile::tempdir().unwrap();
        let archive = temp.path().join("code.zip");
        std::fs::write(&archive, zip(&[("app.py", b"x"), ("../evil", b"x")])).unwrap();
        let dir = temp.path().join("root");
        std::fs::create_dir(&dir).unwrap();
        let error = extract(&archive, &dir).unwrap_err();
        assert!(
            matches!(&error, RuntimeError::BadArchive { message, .. } if message.contains("`../evil`")),
            "{error}"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert!(!temp.path().join("evil").exists());
    }

    #[test]
    fn entries_are_written_where_the_inspection_said() {
        let temp = tempfile::tempdir().unwrap();
        let archive = temp.path().join("code.zip");
        std::fs::write(&archive, zip(&[("./a/../b.py", b"b"), ("c/d.py", b"d")])).unwrap();
        let dir = temp.path().join("root");
        std::fs::create_dir(&dir).unwrap();
        extract(&archive, &dir).unwrap();
        assert_eq!(std::fs::read(dir.join("b.py")).unwrap(), b"b");
        assert_eq!(std::fs::read(dir.join("c/d.py")).unwrap(), b"d");
        assert!(!dir.join("a").exists());
    }

    /// An image of `layers` (paths and contents) in `store`, opened.
    fn image(store: &BlobStore, layers: &[&[(&str, &str)]]) -> BaseImage {
        use lambdaship_image::{TarEntry, write_layer};
        let mut descriptors = Vec::new();
        let mut diff_ids = Vec::new();
        for files in layers {
            let entries = files
                .iter()
                .map(|(path, text)| TarEntry::bytes(path, 0o644, text.as_bytes()))
                .collect();
            let layer = write_layer(store, entries).unwrap();
            diff_ids.push(layer.diff_id.to_string());
            descriptors.push(serde_json::json!({
                "mediaType": lambdaship_image::LAYER_MEDIA_TYPE,
                "digest": layer.digest.to_string(),
                "size": layer.size,
            }));
        }
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux", "config": {"Cmd": ["app.handler"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .unwrap();
        let config_digest = store.put(&config).unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": lambdaship_image::MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": lambdaship_image::CONFIG_MEDIA_TYPE, "digest": config_digest.to_string(), "size": config.len()},
            "layers": descriptors,
        });
        let digest = store.put(&serde_json::to_vec(&manifest).unwrap()).unwrap();
        BaseImage::from_store(store, &digest, "test image").unwrap()
    }

    #[test]
    fn a_base_layer_with_nothing_under_var_task_and_opt_is_read_once() {
        let temp = tempfile::tempdir().unwrap();
        let store = BlobStore::new(temp.path().join("images"));
        let code = CodeStore::new(&Cache::open(&temp.path().join("cache")).unwrap()).unwrap();
        let base: &[(&str, &str)] = &[("var/lang/bin/python3.12", "interpreter")];
        let first = image(&store, &[base, &[("var/task/app.py", "v = 1\n")]]);
        let second = image(&store, &[base, &[("var/task/app.py", "v = 2\n")]]);
        let (unpacked, interpreter) = code.unpack_image(&store, &first, "first").unwrap();
        assert_eq!(interpreter, Some(Runtime::Python312));
        assert!(unpacked.task_root.join("app.py").is_file());
        assert!(unpacked.opt.is_dir(), "made even when the image has none");

        // The base layer's blob gone: the second image is unpacked without reading it, and
        // still knows its interpreter.
        let base_layer: lambdaship_image::Digest = first.manifest.layers()[0]
            .digest()
            .to_string()
            .parse()
            .unwrap();
        std::fs::remove_file(store.path(&base_layer)).unwrap();
        let (unpacked, interpreter) = code.unpack_image(&store, &second, "second").unwrap();
        assert_eq!(interpreter, Some(Runtime::Python312));
        assert_eq!(
            std::fs::read_to_string(unpacked.task_root.join("app.py")).unwrap(),
            "v = 2\n"
        );
        // Unpacked once: the same image again reads nothing.
        std::fs::remove_dir_all(store.root()).unwrap();
        let (again, interpreter) = code.unpack_image(&store, &second, "second").unwrap();
        assert_eq!(again, unpacked);
        assert_eq!(interpreter, Some(Runtime::Python312));
    }

    #[test]
    fn a_later_archive_never_writes_through_an_earlier_ones_link() {
        let temp = tempfile::tempdir().unwrap();
        let outside = temp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let dir = temp.path().join("opt");
        std::fs::create_dir(&dir).unwrap();
        // What an earlier layer may leave: a link that a later one could follow.
        std::os::unix::fs::symlink(&outside, dir.join("lib")).unwrap();
        let archive = temp.path().join("layer.zip");
        std::fs::write(&archive, zip(&[("lib/x.py", b"x")])).unwrap();
        let error = extract(&archive, &dir).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}
