//! The images of `PackageType: Image` functions: `Code.ImageUri` pulled from its registry
//! into the cache's image store (the store `lambdaship build` keeps base images in), blobs
//! already there never fetched again, and pinned to the manifest digest it had then, as
//! Lambda resolves a tag once when the code is set.

use std::path::Path;

use lambdaship_build::Cache;
use lambdaship_image::{
    BaseImage, BlobStore, Platform, Reference, RegistryAuth, RegistryError, pull_blocking,
    read_oci_layout,
};

use crate::error::ApiError;
use crate::model::ImageRef;

/// The image store.
#[derive(Debug, Clone)]
pub struct Images {
    store: BlobStore,
}

impl Images {
    /// The image store of `cache` (`CACHE/images`).
    pub fn new(cache: &Cache) -> Images {
        Images {
            store: lambdaship_build::image_store(cache),
        }
    }

    /// The store's directory, which holds every image a function of this service runs.
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// Imports the OCI image layout `dir` (as `lambdaship build --layout image` writes it)
    /// for linux/`architecture` (`x86_64` or `arm64`), blobs already in the store skipped,
    /// and returns an `ImageUri` that names it by digest in `repository`: such a URI needs
    /// no registry, since its image is here.
    pub fn import_layout(
        &self,
        dir: &Path,
        architecture: &str,
        repository: &str,
    ) -> Result<String, lambdaship_image::ImageError> {
        let platform = Platform::new("linux", architecture);
        let source = dir.display().to_string();
        let image = read_oci_layout(dir, &self.store, &platform.architecture, &source)?;
        Ok(format!("{repository}@{}", image.manifest_digest))
    }

    /// The image `uri` names, for a function of `architecture` (`x86_64` or `arm64`), in
    /// the store: pulled from its registry (plain HTTP only for a registry on this machine),
    /// unless the URI pins a digest whose image is already here.
    pub fn fetch(&self, uri: &str, architecture: &str) -> Result<ImageRef, ApiError> {
        let reference: Reference = uri.parse().map_err(|e: lambdaship_image::ReferenceError| {
            ApiError::invalid(format!("ImageUri: {e}"))
        })?;
        let platform = Platform::new("linux", architecture);
        let local = reference.digest().and_then(|digest| {
            BaseImage::from_store(&self.store, digest, uri)
                .ok()
                .filter(|image| image.check_platform(&platform.architecture).is_ok())
                .map(|_| *digest)
        });
        let digest = match local {
            Some(digest) => digest,
            None => {
                let auth = RegistryAuth::from_docker_config(reference.registry());
                // On a thread of its own: the blocking pull starts a Tokio runtime, which
                // cannot be done on a thread that belongs to one (the control plane runs on
                // the service's blocking pool).
                let pulled = std::thread::scope(|scope| {
                    scope
                        .spawn(|| pull_blocking(&reference, &platform, &self.store, &auth))
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .map_err(|error| pull_error(uri, &reference, &error))?;
                pulled.manifest_digest
            }
        };
        Ok(ImageRef {
            uri: uri.to_string(),
            resolved_uri: format!(
                "{}/{}@{digest}",
                reference.registry(),
                reference.repository()
            ),
            manifest_digest: digest.to_string(),
        })
    }
}

/// A failed pull, said as Lambda says a missing image, with the registry's own words.
fn pull_error(uri: &str, reference: &Reference, error: &RegistryError) -> ApiError {
    let registry = reference.registry();
    match error {
        RegistryError::ManifestNotFound { .. } => ApiError::invalid(format!(
            "Source image {uri} does not exist. Provide a valid source image. (The registry {registry} has no such image: {error}.)"
        )),
        _ => ApiError::invalid(format!(
            "Source image {uri} cannot be pulled from the registry {registry}: {error}"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use lambdaship_image::{TarEntry, write_layer};
    use serde_json::json;

    use super::*;

    /// An amd64 image of one layer, written into `images`' store by hand.
    fn image(images: &Images) -> lambdaship_image::Digest {
        let layer = write_layer(
            &images.store,
            vec![TarEntry::bytes("var/task/app.py", 0o644, b"x = 1\n")],
        )
        .unwrap();
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["app.handler"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
        }))
        .unwrap();
        let config_digest = images.store.put(&config).unwrap();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": lambdaship_image::MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": lambdaship_image::CONFIG_MEDIA_TYPE, "digest": config_digest.to_string(), "size": config.len()},
            "layers": [{"mediaType": lambdaship_image::LAYER_MEDIA_TYPE, "digest": layer.digest.to_string(), "size": layer.size}],
        });
        images
            .store
            .put(&serde_json::to_vec(&manifest).unwrap())
            .unwrap()
    }

    #[test]
    fn an_image_pinned_by_digest_and_already_here_needs_no_registry() {
        let dir = tempfile::tempdir().unwrap();
        let images = Images {
            store: BlobStore::new(dir.path()),
        };
        let digest = image(&images);
        // Nothing listens on port 1: any attempt to reach the registry would fail.
        let uri = format!("127.0.0.1:1/app:v1@{digest}");
        let found = images.fetch(&uri, "x86_64").unwrap();
        assert_eq!(found.uri, uri);
        assert_eq!(found.manifest_digest, digest.to_string());
        assert_eq!(found.resolved_uri, format!("127.0.0.1:1/app@{digest}"));
        assert_eq!(found.digest_hex(), digest.hex());

        // For arm64 the image here does not do: the registry is asked, and named.
        let error = images.fetch(&uri, "arm64").unwrap_err();
        assert_eq!(error.code, "InvalidParameterValueException");
        assert!(
            error.message.contains(&format!("Source image {uri}"))
                && error.message.contains("registry 127.0.0.1:1"),
            "{}",
            error.message
        );
        let error = images.fetch("Not A Reference", "x86_64").unwrap_err();
        assert!(error.message.starts_with("ImageUri: "), "{}", error.message);
    }
}
