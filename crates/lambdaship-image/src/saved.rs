//! An image this crate saved as an OCI image layout, opened again to be pushed: the layout's
//! `blobs/` has the shape of a [`BlobStore`], so the push reads the blobs where they are.

use std::path::Path;

use oci_spec::image::Descriptor;

use crate::{BlobStore, Digest, ImageError, ImageToPush, read_oci_layout};

/// A saved image, ready for [`crate::push`].
#[derive(Debug)]
pub struct SavedImage {
    /// The layout's blobs.
    pub store: BlobStore,
    /// The manifest's digest.
    pub manifest_digest: Digest,
    /// The manifest's bytes, as saved.
    pub manifest: Vec<u8>,
    /// The manifest's media type.
    pub media_type: String,
    /// The config and the layers.
    pub blobs: Vec<Descriptor>,
}

impl SavedImage {
    /// Opens the image for linux/`architecture` (`amd64` or `arm64`) in the layout `dir`.
    pub fn open(dir: &Path, architecture: &str) -> Result<SavedImage, ImageError> {
        let store = BlobStore::new(dir);
        let source = dir.display().to_string();
        // Reading the layout into its own blobs imports nothing: it only checks the image.
        let image = read_oci_layout(dir, &store, architecture, &source)?;
        let manifest = store
            .read(&image.manifest_digest)
            .map_err(|e| ImageError::io("read", store.path(&image.manifest_digest), e))?;
        let media_type = image.manifest.media_type().as_ref().map_or_else(
            || crate::MANIFEST_MEDIA_TYPE.to_string(),
            ToString::to_string,
        );
        let blobs = std::iter::once(image.manifest.config().clone())
            .chain(image.manifest.layers().iter().cloned())
            .collect();
        Ok(SavedImage {
            store,
            manifest_digest: image.manifest_digest,
            manifest,
            media_type,
            blobs,
        })
    }

    /// The image as the push takes it.
    pub fn to_push(&self) -> ImageToPush<'_> {
        ImageToPush {
            manifest: &self.manifest,
            media_type: &self.media_type,
            blobs: &self.blobs,
        }
    }
}
