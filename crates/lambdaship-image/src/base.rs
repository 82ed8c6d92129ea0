//! A base image held in a [`BlobStore`]: its manifest, its config (kept as JSON so fields
//! this crate does not know survive), and every blob they name in the store. Readers of OCI
//! layouts, docker-archive tars and registries all end here.

use std::io;
use std::path::Path;

use oci_spec::image::{Descriptor, ImageManifest, MediaType};
use serde_json::Value;

use crate::{BlobStore, Digest, ImageError};

/// A base image whose manifest, config and layers are in a store.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// Where it came from, as the user named it (for messages).
    pub source: String,
    /// The digest of its manifest blob in the store.
    pub manifest_digest: Digest,
    /// Its manifest.
    pub manifest: ImageManifest,
    /// Its config.
    pub config: Value,
}

impl BaseImage {
    /// The image whose manifest blob is `manifest_digest` in `store`; every blob it names
    /// must be there.
    pub fn from_store(
        store: &BlobStore,
        manifest_digest: &Digest,
        source: &str,
    ) -> Result<BaseImage, ImageError> {
        let read = |digest: &Digest| {
            store
                .read(digest)
                .map_err(|e| ImageError::io("read", store.path(digest), e))
        };
        let manifest: ImageManifest = serde_json::from_slice(&read(manifest_digest)?)
            .map_err(|e| ImageError::invalid(source, format!("its manifest is not valid: {e}")))?;
        let config_digest = descriptor_digest(manifest.config(), source)?;
        let config: Value = serde_json::from_slice(&read(&config_digest)?)
            .map_err(|e| ImageError::invalid(source, format!("its config is not JSON: {e}")))?;
        if !config.is_object() {
            return Err(ImageError::invalid(
                source,
                "its config is not a JSON object",
            ));
        }
        for layer in manifest.layers() {
            let digest = descriptor_digest(layer, source)?;
            if !store.contains(&digest) {
                return Err(ImageError::io(
                    "find",
                    store.path(&digest),
                    io::ErrorKind::NotFound.into(),
                ));
            }
        }
        Ok(BaseImage {
            source: source.to_string(),
            manifest_digest: *manifest_digest,
            manifest,
            config,
        })
    }

    /// The `os/architecture[/variant]` its config declares.
    pub fn platform(&self) -> String {
        let field = |name: &str| self.config.get(name).and_then(Value::as_str);
        let mut platform = format!(
            "{}/{}",
            field("os").unwrap_or("an unknown OS"),
            field("architecture").unwrap_or("an unknown architecture")
        );
        if let Some(variant) = field("variant") {
            platform.push('/');
            platform.push_str(variant);
        }
        platform
    }

    /// Refuses a base image that is not linux/`architecture` (`amd64` or `arm64`).
    pub fn check_platform(&self, architecture: &str) -> Result<(), ImageError> {
        let field = |name: &str| self.config.get(name).and_then(Value::as_str);
        if field("os") == Some("linux") && field("architecture") == Some(architecture) {
            return Ok(());
        }
        Err(ImageError::Platform {
            source_name: self.source.clone(),
            found: self.platform(),
            expected: architecture.to_string(),
        })
    }

    /// The uncompressed digests of its layers (`rootfs.diff_ids`).
    pub fn diff_ids(&self) -> Vec<String> {
        self.config
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The sha256 digest a descriptor names; other algorithms are refused.
pub fn descriptor_digest(descriptor: &Descriptor, source: &str) -> Result<Digest, ImageError> {
    descriptor.digest().to_string().parse().map_err(|_| {
        ImageError::invalid(
            source,
            format!(
                "it names the blob {}: only sha256 digests are supported",
                descriptor.digest()
            ),
        )
    })
}

/// The OCI media type of a layer: Docker's types map to their OCI equivalents (the same
/// bytes), OCI's stay as they are.
pub fn oci_layer_media_type(media_type: &MediaType) -> MediaType {
    match media_type.as_ref() {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => MediaType::ImageLayerGzip,
        "application/vnd.docker.image.rootfs.diff.tar" => MediaType::ImageLayer,
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
            MediaType::ImageLayerNonDistributableGzip
        }
        _ => media_type.clone(),
    }
}

/// The media type of a layer blob, from its first bytes: gzip, zstd, or a plain tar.
pub fn sniff_layer_media_type(head: &[u8]) -> MediaType {
    if head.starts_with(&[0x1f, 0x8b]) {
        MediaType::ImageLayerGzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        MediaType::ImageLayerZstd
    } else {
        MediaType::ImageLayer
    }
}

/// Copies the blob at `path` into `store` as `expected`, unless the store has it: content
/// with another digest is refused.
pub fn import_blob(
    store: &BlobStore,
    path: &Path,
    expected: &Digest,
    source: &str,
) -> Result<(), ImageError> {
    if store.contains(expected) {
        return Ok(());
    }
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ImageError::invalid(
            source,
            format!(
                "its blob {expected} is missing ({} does not exist)",
                path.display()
            ),
        ),
        _ => ImageError::io("read", path, e),
    })?;
    let mut writer = store
        .writer()
        .map_err(|e| ImageError::io("write to", store.root(), e))?;
    io::copy(&mut file, &mut writer).map_err(|e| ImageError::io("copy", path, e))?;
    writer.commit(Some(expected)).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => ImageError::invalid(
            source,
            format!("the blob {} is damaged: {e}", path.display()),
        ),
        _ => ImageError::io("write to", store.root(), e),
    })?;
    Ok(())
}
