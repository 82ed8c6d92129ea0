//! OCI image layout directories (`oci-layout`, `index.json`, `blobs/sha256/…`): written from
//! the store as a whole new directory renamed into place, and read as a base image.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};
use serde_json::json;

use crate::base::{descriptor_digest, import_blob};
use crate::compose::MANIFEST_MEDIA_TYPE;
use crate::{BaseImage, BlobStore, Digest, Image, ImageError};

/// The `oci-layout` file's content.
pub const OCI_LAYOUT_FILE: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// The annotation that names an image in a layout (its tag).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `index.json` of a layout that holds `image` as `ref_name`, with `extra` annotations.
pub fn index_json(image: &Image, ref_name: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut annotations = serde_json::Map::new();
    for (key, value) in extra {
        annotations.insert((*key).to_string(), json!(value));
    }
    annotations.insert(REF_NAME_ANNOTATION.to_string(), json!(ref_name));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": image.manifest_digest.to_string(),
            "size": image.manifest_size,
            "annotations": annotations,
        }],
    });
    // A json! value always serialises.
    serde_json::to_vec(&index).unwrap_or_default()
}

/// Writes `image` from `store` as an OCI image layout at `dest`, its manifest named
/// `ref_name`. The directory is made beside `dest` and renamed into place; an older one is
/// replaced. Blobs are hard-linked from the store (copied across file systems) and made
/// read-only, so the store cannot be changed through them. Returns `false`, writing
/// nothing, when `dest` already holds exactly this image.
pub fn write_oci_layout(
    store: &BlobStore,
    image: &Image,
    ref_name: &str,
    dest: &Path,
) -> Result<bool, ImageError> {
    let index = index_json(image, ref_name, &[]);
    if layout_holds(dest, &index, image) {
        return Ok(false);
    }
    let parent = parent_of(dest);
    fs::create_dir_all(&parent).map_err(|e| ImageError::io("create", &parent, e))?;
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(dest)))
        .tempdir_in(&parent)
        .map_err(|e| ImageError::io("write to", &parent, e))?;
    let blobs = temp.path().join("blobs").join("sha256");
    fs::create_dir_all(&blobs).map_err(|e| ImageError::io("create", &blobs, e))?;
    for (digest, _) in image.blobs() {
        link_or_copy(&store.path(&digest), &blobs.join(digest.hex()))?;
    }
    for (name, bytes) in [("oci-layout", OCI_LAYOUT_FILE), ("index.json", &index[..])] {
        let path = temp.path().join(name);
        fs::write(&path, bytes).map_err(|e| ImageError::io("write", &path, e))?;
    }
    // A temporary directory is private; the layout is an ordinary readable directory.
    for dir in [temp.path(), &temp.path().join("blobs"), &blobs] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| ImageError::io("write", dir, e))?;
    }
    replace_with(&temp.keep(), dest)?;
    Ok(true)
}

/// Renames `new` to `dest`, moving an existing `dest` aside first and deleting it after.
pub(crate) fn replace_with(new: &Path, dest: &Path) -> Result<(), ImageError> {
    let old = if fs::symlink_metadata(dest).is_ok() {
        let aside =
            parent_of(dest).join(format!(".{}.old.{}", file_name(dest), std::process::id()));
        let _ = remove_any(&aside);
        fs::rename(dest, &aside).map_err(|e| ImageError::io("replace", dest, e))?;
        Some(aside)
    } else {
        None
    };
    if let Err(error) = fs::rename(new, dest) {
        if let Some(old) = &old {
            let _ = fs::rename(old, dest);
        }
        let _ = remove_any(new);
        return Err(ImageError::io("write", dest, error));
    }
    if let Some(old) = old {
        remove_any(&old).map_err(|e| ImageError::io("remove", &old, e))?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Whether `dest` is a layout with this index and every blob of `image` at its size.
fn layout_holds(dest: &Path, index: &[u8], image: &Image) -> bool {
    fs::read(dest.join("index.json")).is_ok_and(|on_disk| on_disk == index)
        && fs::read(dest.join("oci-layout")).is_ok_and(|on_disk| on_disk == OCI_LAYOUT_FILE)
        && image.blobs().iter().all(|(digest, size)| {
            fs::metadata(dest.join("blobs/sha256").join(digest.hex()))
                .is_ok_and(|meta| meta.len() == *size)
        })
}

fn link_or_copy(from: &Path, to: &Path) -> Result<(), ImageError> {
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to).map_err(|e| ImageError::io("copy", from, e))?;
    }
    fs::set_permissions(to, fs::Permissions::from_mode(0o444))
        .map_err(|e| ImageError::io("write", to, e))
}

pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".to_string())
}

/// Reads the OCI image layout `dir` as a base image for linux/`architecture`, importing
/// its blobs into `store` (each checked against its digest; those already there are not
/// read again). A layout holding several images, or an index of platforms, gives the one
/// for the architecture.
pub fn read_oci_layout(
    dir: &Path,
    store: &BlobStore,
    architecture: &str,
    source: &str,
) -> Result<BaseImage, ImageError> {
    let index_path = dir.join("index.json");
    if !dir.join("oci-layout").is_file() || !index_path.is_file() {
        return Err(ImageError::invalid(
            source,
            format!(
                "{} is not an OCI image layout (it needs `oci-layout` and `index.json`); make one with `skopeo copy docker://IMAGE oci:DIR`",
                dir.display()
            ),
        ));
    }
    let blob_path = |digest: &Digest| dir.join("blobs").join("sha256").join(digest.hex());
    let text = fs::read(&index_path).map_err(|e| ImageError::io("read", &index_path, e))?;
    let index: ImageIndex = serde_json::from_slice(&text).map_err(|e| {
        ImageError::invalid(
            source,
            format!("{} is not an image index: {e}", index_path.display()),
        )
    })?;
    let mut candidates: Vec<Descriptor> = Vec::new();
    let mut pending: Vec<(Descriptor, usize)> =
        index.manifests().iter().map(|d| (d.clone(), 0)).collect();
    while let Some((descriptor, depth)) = pending.pop() {
        match descriptor.media_type().as_ref() {
            INDEX_MEDIA_TYPE | DOCKER_LIST_MEDIA_TYPE if depth < 4 => {
                let digest = descriptor_digest(&descriptor, source)?;
                let path = blob_path(&digest);
                let bytes = fs::read(&path).map_err(|e| ImageError::io("read", &path, e))?;
                if Digest::of(&bytes) != digest {
                    return Err(ImageError::invalid(
                        source,
                        format!("the blob {} is damaged", path.display()),
                    ));
                }
                let nested: ImageIndex = serde_json::from_slice(&bytes)
                    .map_err(|e| ImageError::invalid(source, format!("its index {digest}: {e}")))?;
                pending.extend(nested.manifests().iter().map(|d| (d.clone(), depth + 1)));
            }
            MANIFEST_MEDIA_TYPE | DOCKER_MANIFEST_MEDIA_TYPE => candidates.push(descriptor),
            _ => {}
        }
    }
    let chosen = choose(candidates, architecture, source)?;
    let manifest_digest = descriptor_digest(&chosen, source)?;
    import_blob(
        store,
        &blob_path(&manifest_digest),
        &manifest_digest,
        source,
    )?;
    let manifest: oci_spec::image::ImageManifest = serde_json::from_slice(
        &store
            .read(&manifest_digest)
            .map_err(|e| ImageError::io("read", store.path(&manifest_digest), e))?,
    )
    .map_err(|e| ImageError::invalid(source, format!("its manifest: {e}")))?;
    for descriptor in std::iter::once(manifest.config()).chain(manifest.layers()) {
        let digest = descriptor_digest(descriptor, source)?;
        import_blob(store, &blob_path(&digest), &digest, source)?;
    }
    BaseImage::from_store(store, &manifest_digest, source)
}

/// The one image manifest among `candidates` for linux/`architecture`.
fn choose(
    mut candidates: Vec<Descriptor>,
    architecture: &str,
    source: &str,
) -> Result<Descriptor, ImageError> {
    if candidates.len() > 1 {
        let platforms: Vec<String> = candidates
            .iter()
            .filter_map(|d| d.platform().as_ref())
            .map(|p| format!("{}/{}", p.os(), p.architecture()))
            .collect();
        candidates.retain(|d| {
            d.platform().as_ref().is_some_and(|p| {
                p.os().to_string() == "linux" && p.architecture().to_string() == architecture
            })
        });
        if candidates.len() != 1 {
            return Err(ImageError::invalid(
                source,
                format!(
                    "it holds several images ({}) and not exactly one for linux/{architecture}: copy the one you want into a layout of its own, e.g. `skopeo copy --override-arch {architecture} docker://IMAGE oci:DIR`",
                    if platforms.is_empty() {
                        "without platforms".to_string()
                    } else {
                        platforms.join(", ")
                    }
                ),
            ));
        }
    }
    candidates
        .pop()
        .ok_or_else(|| ImageError::invalid(source, "its index.json names no image manifest"))
}
