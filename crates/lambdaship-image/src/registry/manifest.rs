//! Recognising manifests by media type, and reading the descriptors out of them.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use super::error::{Context, RegistryError};
use crate::Digest;

/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// A Docker image manifest, version 2 schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// An OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// A Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// What a pull asks for: single manifests and indexes, both OCI and Docker.
pub(crate) const ACCEPTED: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// A manifest as fetched, sorted by kind.
pub(crate) enum Fetched {
    Single {
        media_type: String,
        manifest: Box<ImageManifest>,
    },
    Index(Box<ImageIndex>),
}

/// Sorts out what `bytes` is. The `mediaType` field decides; an OCI document may omit it,
/// and then its shape does (an index has `manifests`, a manifest `config`).
pub(crate) fn classify(bytes: &[u8], context: &Context<'_>) -> Result<Fetched, RegistryError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| context.protocol(format!("the manifest is not JSON: {e}")))?;
    let schema = value
        .get("schemaVersion")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    if schema != 2 {
        return Err(context.schema_version(i32::try_from(schema).unwrap_or(-1)));
    }
    let media_type = match value.get("mediaType").and_then(|v| v.as_str()) {
        Some(media_type) => media_type.to_string(),
        None if value.get("manifests").is_some() => OCI_INDEX.to_string(),
        None => OCI_MANIFEST.to_string(),
    };
    let invalid = |e: serde_json::Error| context.protocol(format!("invalid {media_type}: {e}"));
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => Ok(Fetched::Single {
            manifest: serde_json::from_slice(bytes).map_err(invalid)?,
            media_type,
        }),
        OCI_INDEX | DOCKER_MANIFEST_LIST => Ok(Fetched::Index(
            serde_json::from_slice(bytes).map_err(invalid)?,
        )),
        other => Err(RegistryError::Unsupported {
            reference: context.reference.to_string(),
            what: "media type",
            detail: format!(
                "the manifest is `{other}`; accepted are {}",
                ACCEPTED.join(", ")
            ),
        }),
    }
}

/// A descriptor's digest in our type: other algorithms than SHA-256 are refused, as the
/// blob store and the layers are SHA-256 throughout.
pub(crate) fn digest_of(
    descriptor: &Descriptor,
    context: &Context<'_>,
) -> Result<Digest, RegistryError> {
    parse_digest(descriptor.digest().as_ref(), context)
}

/// A digest string from the registry in our type.
pub(crate) fn parse_digest(text: &str, context: &Context<'_>) -> Result<Digest, RegistryError> {
    text.parse().map_err(|_| RegistryError::Unsupported {
        reference: context.reference.to_string(),
        what: "digest",
        detail: format!("`{text}`: only sha256 digests are handled"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_text(text: &str) -> Result<Fetched, RegistryError> {
        let reference = "127.0.0.1:5000/app:v1".parse().unwrap();
        let context = Context {
            reference: &reference,
            scheme: "http",
            anonymous: true,
        };
        classify(text.as_bytes(), &context)
    }

    #[test]
    fn refuses_schema_1_and_unknown_media_types_with_what_is_accepted() {
        let error = classify_text(r#"{"schemaVersion": 1, "name": "app", "fsLayers": []}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("unsupported manifest: schema version 1"),
            "{error}"
        );
        let error =
            classify_text(r#"{"schemaVersion": 2, "mediaType": "application/vnd.example+json"}"#)
                .err()
                .unwrap()
                .to_string();
        assert!(
            error.contains("`application/vnd.example+json`") && error.contains(OCI_MANIFEST),
            "{error}"
        );
        assert!(classify_text("not json").is_err());
    }

    #[test]
    fn infers_the_kind_of_an_oci_document_without_media_type() {
        let digest = Digest::of(b"x");
        let manifest = format!(
            r#"{{"schemaVersion": 2, "config": {{"mediaType": "{OCI_CONFIG}", "size": 1,
            "digest": "{digest}"}}, "layers": []}}"#
        );
        assert!(matches!(
            classify_text(&manifest),
            Ok(Fetched::Single { media_type, .. }) if media_type == OCI_MANIFEST
        ));
        let index = r#"{"schemaVersion": 2, "manifests": []}"#;
        assert!(matches!(classify_text(index), Ok(Fetched::Index(_))));
    }
}
