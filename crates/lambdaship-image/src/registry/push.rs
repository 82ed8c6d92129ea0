//! Pushing an image from the blob store: blobs the registry has are skipped (HEAD), the
//! others go up whole (POST then PUT, streamed from their files), a few at a time, and the
//! manifest goes last, so that a tag never points at an incomplete image.

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use oci_client::RegistryOperation;
use oci_client::errors::OciDistributionError;
use oci_spec::image::Descriptor;
use reqwest::header::HeaderValue;

use super::RegistryAuth;
use super::client::{PARALLEL_TRANSFERS, Session, to_oci_reference};
use super::error::{RegistryError, Subject};
use super::manifest::{self, DOCKER_MANIFEST, OCI_MANIFEST};
use crate::{BlobStore, Digest, Reference};

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
    /// Blob bytes uploaded (the manifest not counted).
    pub bytes_sent: u64,
    /// The manifest's digest: `reference@manifest_digest` is what Lambda's ImageUri takes.
    pub manifest_digest: Digest,
    /// The tag already named this manifest: nothing was checked blob by blob or sent.
    pub already_tagged: bool,
}

/// An image to push: its manifest as stored, and the blobs it refers to.
#[derive(Debug, Clone, Copy)]
pub struct ImageToPush<'a> {
    /// The manifest's bytes, pushed exactly as they are.
    pub manifest: &'a [u8],
    /// Its media type (OCI image manifest or Docker v2 schema 2), sent as Content-Type.
    pub media_type: &'a str,
    /// The config and the layers, all in the blob store.
    pub blobs: &'a [Descriptor],
}

/// Pushes `image` from `store` to `reference` (by tag, or by digest when it has none).
pub async fn push(
    store: &BlobStore,
    reference: &Reference,
    image: ImageToPush<'_>,
    auth: &RegistryAuth,
) -> Result<PushReport, RegistryError> {
    if image.media_type != OCI_MANIFEST && image.media_type != DOCKER_MANIFEST {
        return Err(RegistryError::Unsupported {
            reference: reference.to_string(),
            what: "media type",
            detail: format!(
                "cannot push a `{}`: only single-platform manifests ({OCI_MANIFEST} or \
                 {DOCKER_MANIFEST}), which is what Lambda takes",
                image.media_type
            ),
        });
    }
    // oci-client panics working around a manifest PUT answered without `Location` (ECR
    // does that) when the reference has no tag; a push names a tag anyway.
    if reference.tag().is_none() {
        return Err(RegistryError::Unsupported {
            reference: reference.to_string(),
            what: "push reference",
            detail: "it names only a digest; push to a tag (REPOSITORY:TAG)".into(),
        });
    }
    let manifest_digest = Digest::of(image.manifest);
    if let Some(pinned) = reference.digest()
        && *pinned != manifest_digest
    {
        return Err(RegistryError::DigestMismatch {
            what: format!("the manifest to push to {reference}"),
            expected: pinned.to_string(),
            actual: manifest_digest.to_string(),
        });
    }

    let session = Session::new(reference, auth)?;
    let context = &session.context;
    let mut blobs = Vec::new();
    for descriptor in image.blobs {
        let digest = manifest::digest_of(descriptor, context)?;
        if !blobs.iter().any(|(_, d)| *d == digest) {
            check_in_store(store, &digest, descriptor.size())?;
            blobs.push((descriptor.size(), digest));
        }
    }

    // Asking for the push token first makes refused credentials fail before any upload.
    session
        .client
        .auth(
            &session.oci_reference,
            &session.auth,
            RegistryOperation::Push,
        )
        .await
        .map_err(|e| context.error(e, Subject::Other))?;

    let target = to_oci_reference(reference, false);
    // The tag already names this manifest: the registry has the image and every blob it
    // refers to (a registry accepts a manifest only once it holds them), so one HEAD is the
    // whole push. Any failure here just means the full push below.
    let tagged = session
        .client
        .fetch_manifest_digest(&target, &session.auth)
        .await;
    if tagged.is_ok_and(|digest| digest == manifest_digest.to_string()) {
        return Ok(PushReport {
            uploaded: 0,
            skipped: blobs.len(),
            bytes_sent: 0,
            manifest_digest,
            already_tagged: true,
        });
    }

    let outcomes: Vec<Option<u64>> = stream::iter(blobs)
        .map(|(size, digest)| push_blob(&session, store, digest, size))
        .buffer_unordered(PARALLEL_TRANSFERS)
        .try_collect()
        .await?;

    let content_type = HeaderValue::from_str(image.media_type)
        .map_err(|e| context.protocol(format!("media type is not a header value: {e}")))?;
    session
        .client
        .push_manifest_raw(&target, image.manifest.to_vec(), content_type)
        .await
        .map_err(|e| context.error(e, Subject::Upload))?;

    Ok(PushReport {
        uploaded: outcomes.iter().flatten().count(),
        skipped: outcomes.iter().filter(|o| o.is_none()).count(),
        bytes_sent: outcomes.iter().flatten().sum(),
        manifest_digest,
        already_tagged: false,
    })
}

/// Uploads one blob unless the registry has it; the bytes sent, or `None` when skipped.
async fn push_blob(
    session: &Session<'_>,
    store: &BlobStore,
    digest: Digest,
    size: u64,
) -> Result<Option<u64>, RegistryError> {
    let context = &session.context;
    let digest_text = digest.to_string();
    let present = session
        .client
        .blob_exists(&session.oci_reference, &digest_text)
        .await
        .map_err(|e| context.error(e, Subject::Upload))?;
    if present {
        return Ok(None);
    }
    let path = store.path(&digest);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|source| RegistryError::Store { path, source })?;
    // Streamed from the file: a layer of hundreds of megabytes is never held whole.
    let body = tokio_util::io::ReaderStream::new(file).map_err(OciDistributionError::IoError);
    session
        .client
        .push_blob_stream(&session.oci_reference, body, &digest_text, Some(size))
        .await
        .map_err(|e| context.error(e, Subject::Upload))?;
    Ok(Some(size))
}

fn check_in_store(store: &BlobStore, digest: &Digest, size: u64) -> Result<(), RegistryError> {
    let path = store.path(digest);
    let problem = match std::fs::metadata(&path) {
        Ok(meta) if meta.len() == size => return Ok(()),
        Ok(meta) => format!("it has {} bytes, its descriptor says {size}", meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "it is not".to_string(),
        Err(source) => return Err(RegistryError::Store { path, source }),
    };
    Err(RegistryError::MissingBlob {
        digest: *digest,
        path: store.root().to_path_buf(),
        problem,
    })
}
