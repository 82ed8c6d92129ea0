//! Pulling an image into the blob store: the manifest (picked from an index for the wanted
//! platform), its config, checked against that platform before any layer moves, and the
//! layers the store lacks.

use std::io::Write as _;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use oci_client::RegistryOperation;
use oci_client::errors::OciDistributionError;
use oci_spec::image::{Descriptor, ImageIndex};

use super::client::{PARALLEL_TRANSFERS, Session};
use super::error::{RegistryError, Subject};
use super::manifest::{self, ACCEPTED, DOCKER_CONFIG, Fetched, OCI_CONFIG};
use super::{Platform, RegistryAuth};
use crate::{BlobStore, BlobWriter, Digest, Reference};

/// An image now in the blob store.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The reference pulled, pinned to the manifest's digest.
    pub reference: Reference,
    /// The digest of the single-platform manifest (not of the index it was picked from).
    pub manifest_digest: Digest,
    /// The manifest's bytes, exactly as the registry stores them.
    pub manifest: Vec<u8>,
    /// The manifest's media type (OCI manifest or Docker v2 schema 2).
    pub media_type: String,
    /// The image config.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Blobs (config and layers) downloaded by this pull; the others were in the store.
    pub fetched: usize,
    /// Bytes of those blobs.
    pub bytes_fetched: u64,
}

/// Pulls `reference` for `platform` into `store`, downloading only the blobs it lacks.
pub async fn pull(
    reference: &Reference,
    platform: &Platform,
    store: &BlobStore,
    auth: &RegistryAuth,
) -> Result<PulledImage, RegistryError> {
    let session = Session::new(reference, auth)?;
    let context = &session.context;
    session
        .client
        .auth(
            &session.oci_reference,
            &session.auth,
            RegistryOperation::Pull,
        )
        .await
        .map_err(|e| context.error(e, Subject::Other))?;

    let (bytes, digest) = fetch_manifest(&session, &session.oci_reference).await?;
    let (bytes, digest, media_type, manifest) = match manifest::classify(&bytes, context)? {
        Fetched::Single {
            media_type,
            manifest,
        } => (bytes, digest, media_type, manifest),
        Fetched::Index(index) => {
            let chosen = choose_platform(&index, platform, reference)?;
            let digest_text = chosen.digest().to_string();
            let child = session.oci_reference.clone_with_digest(digest_text);
            let (bytes, digest) = fetch_manifest(&session, &child).await?;
            match manifest::classify(&bytes, context)? {
                Fetched::Single {
                    media_type,
                    manifest,
                } => (bytes, digest, media_type, manifest),
                Fetched::Index(_) => {
                    return Err(RegistryError::Unsupported {
                        reference: reference.to_string(),
                        what: "manifest",
                        detail: "an image index inside an image index".into(),
                    });
                }
            }
        }
    };

    if !store.contains(&digest) {
        write_blob(store, &digest, &bytes, reference)?;
    }

    let config = manifest.config().clone();
    let config_type = config.media_type().to_string();
    if config_type != OCI_CONFIG && config_type != DOCKER_CONFIG {
        return Err(RegistryError::Unsupported {
            reference: reference.to_string(),
            what: "media type",
            detail: format!(
                "the config is `{config_type}`, so this is not a container image \
                 (expected {OCI_CONFIG} or {DOCKER_CONFIG})"
            ),
        });
    }
    let mut fetched = 0;
    let mut bytes_fetched = 0;
    let config_digest = manifest::digest_of(&config, context)?;
    if !store.contains(&config_digest) {
        fetch_blob(&session, store, &config, config_digest).await?;
        fetched += 1;
        bytes_fetched += config.size();
    }
    check_platform(store, &config_digest, platform, reference)?;

    let layers = manifest.layers().clone();
    let mut missing = Vec::new();
    for layer in &layers {
        let digest = manifest::digest_of(layer, context)?;
        if !store.contains(&digest) && !missing.iter().any(|(_, d)| *d == digest) {
            missing.push((layer, digest));
        }
    }
    fetched += missing.len();
    bytes_fetched += missing.iter().map(|(layer, _)| layer.size()).sum::<u64>();
    stream::iter(missing)
        .map(|(layer, digest)| fetch_blob(&session, store, layer, digest))
        .buffer_unordered(PARALLEL_TRANSFERS)
        .try_collect::<Vec<()>>()
        .await?;

    Ok(PulledImage {
        reference: reference.with_digest(digest),
        manifest_digest: digest,
        manifest: bytes,
        media_type,
        config,
        layers,
        fetched,
        bytes_fetched,
    })
}

/// A manifest's bytes and digest; oci-client has checked them against the reference's
/// digest, or the registry's `Docker-Content-Digest`.
async fn fetch_manifest(
    session: &Session<'_>,
    reference: &oci_client::Reference,
) -> Result<(Vec<u8>, Digest), RegistryError> {
    let context = &session.context;
    let (bytes, digest) = session
        .client
        .pull_manifest_raw(reference, &session.auth, ACCEPTED)
        .await
        .map_err(|e| context.error(e, Subject::Manifest))?;
    Ok((bytes.to_vec(), manifest::parse_digest(&digest, context)?))
}

/// The index entry for `wanted` (any CPU variant), or an error listing what there is.
fn choose_platform<'a>(
    index: &'a ImageIndex,
    wanted: &Platform,
    reference: &Reference,
) -> Result<&'a Descriptor, RegistryError> {
    let platform_of = |entry: &Descriptor| {
        entry.platform().as_ref().map(|p| {
            (
                p.os().to_string(),
                p.architecture().to_string(),
                p.variant().clone(),
            )
        })
    };
    let chosen = index.manifests().iter().find(|entry| {
        platform_of(entry)
            .is_some_and(|(os, arch, _)| os == wanted.os && arch == wanted.architecture)
    });
    if let Some(entry) = chosen {
        return Ok(entry);
    }
    let mut available: Vec<String> = index
        .manifests()
        .iter()
        .filter_map(platform_of)
        // Attestation manifests (buildx provenance) are listed as unknown/unknown.
        .filter(|(os, _, _)| os != "unknown")
        .map(|(os, arch, variant)| match variant {
            Some(variant) => format!("{os}/{arch}/{variant}"),
            None => format!("{os}/{arch}"),
        })
        .collect();
    available.dedup();
    Err(RegistryError::NoMatchingPlatform {
        reference: reference.to_string(),
        wanted: wanted.to_string(),
        available: if available.is_empty() {
            "no platform-specific images".into()
        } else {
            available.join(", ")
        },
    })
}

/// The config's `os` and `architecture` against the wanted platform; a config that does
/// not say is let through, as some hand-made images omit them.
fn check_platform(
    store: &BlobStore,
    config: &Digest,
    wanted: &Platform,
    reference: &Reference,
) -> Result<(), RegistryError> {
    let path = store.path(config);
    let bytes = store
        .read(config)
        .map_err(|source| RegistryError::Store { path, source })?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Unsupported {
            reference: reference.to_string(),
            what: "config",
            detail: format!("it is not JSON: {e}"),
        })?;
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let found_arch = field("architecture");
    let found_os = field("os");
    let arch_differs = found_arch
        .as_ref()
        .is_some_and(|a| *a != wanted.architecture);
    let os_differs = found_os.as_ref().is_some_and(|o| *o != wanted.os);
    if arch_differs || os_differs {
        let found = Platform::new(
            found_os.unwrap_or_else(|| wanted.os.clone()),
            found_arch.unwrap_or_else(|| wanted.architecture.clone()),
        );
        let (found, wanted) = if os_differs {
            (found.to_string(), wanted.to_string())
        } else {
            (
                found.describe_architecture(),
                wanted.describe_architecture(),
            )
        };
        return Err(RegistryError::WrongPlatform {
            reference: reference.to_string(),
            found,
            wanted,
        });
    }
    Ok(())
}

/// Streams a blob into the store, where it appears only if it has the right digest.
async fn fetch_blob(
    session: &Session<'_>,
    store: &BlobStore,
    descriptor: &Descriptor,
    digest: Digest,
) -> Result<(), RegistryError> {
    let context = &session.context;
    let digest_text = digest.to_string();
    let subject = Subject::Blob(&digest_text);
    let mut body = session
        .client
        .pull_blob_stream(&session.oci_reference, digest_text.as_str())
        .await
        .map_err(|e| context.error(e, subject))?;
    let store_error = |source| RegistryError::Store {
        path: store.root().to_path_buf(),
        source,
    };
    let mut writer = store.writer().map_err(store_error)?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| context.error(OciDistributionError::IoError(e), subject))?;
        writer.write_all(&chunk).map_err(store_error)?;
        if writer.size() > descriptor.size() {
            break;
        }
    }
    if writer.size() != descriptor.size() {
        return Err(context.protocol(format!(
            "blob {digest} of {}: received {}{} bytes, the manifest says {}",
            context.reference,
            if writer.size() > descriptor.size() {
                "more than "
            } else {
                ""
            },
            writer.size(),
            descriptor.size()
        )));
    }
    commit(store, writer, &digest, || {
        format!("blob {digest} of {}", context.reference)
    })
}

/// Stores bytes already in memory (a manifest) under the digest they were checked against.
fn write_blob(
    store: &BlobStore,
    digest: &Digest,
    bytes: &[u8],
    reference: &Reference,
) -> Result<(), RegistryError> {
    let store_error = |source| RegistryError::Store {
        path: store.root().to_path_buf(),
        source,
    };
    let mut writer = store.writer().map_err(store_error)?;
    writer.write_all(bytes).map_err(store_error)?;
    commit(store, writer, digest, || {
        format!("the manifest of {reference}")
    })
}

/// Commits a blob that must have `expected` as digest. Content with another digest lands
/// under its own name, which is still correct content addressing (and removing it could
/// remove a good blob another writer stored meanwhile); the error names both digests.
fn commit(
    store: &BlobStore,
    writer: BlobWriter,
    expected: &Digest,
    what: impl FnOnce() -> String,
) -> Result<(), RegistryError> {
    let store_error = |source| RegistryError::Store {
        path: store.root().to_path_buf(),
        source,
    };
    let actual = writer.commit(None).map_err(store_error)?;
    if actual == *expected {
        return Ok(());
    }
    Err(RegistryError::DigestMismatch {
        what: what(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    })
}
