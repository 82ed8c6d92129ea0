//! What can go wrong talking to a registry, worded for the person who has to fix it, and
//! the translation from oci-client's errors (which know the HTTP status but not what we
//! were doing) into these.

use std::path::PathBuf;

use oci_client::errors::{OciDistributionError, OciErrorCode};

use crate::{Digest, Reference};

/// A pull or push that failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No connection could be made (or it broke): the host is down, the port closed, or
    /// the network unavailable.
    #[error("cannot reach the registry at {address} ({scheme}): {reason}")]
    Unreachable {
        /// `host:port` as dialled.
        address: String,
        /// `http` or `https`.
        scheme: &'static str,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        reason: String,
    },

    /// The registry answered 401 or 403.
    #[error(
        "the registry {registry} refused {who} for repository `{repository}`{detail}: {hint}",
        who = if *.anonymous { "anonymous access" } else { "the credentials" },
        detail = if .detail.is_empty() { String::new() } else { format!(" ({})", .detail) },
        hint = if *.anonymous {
            "it needs a user name and password (or `docker login` to it, which lambdaship reads from ~/.docker/config.json)"
        } else {
            "check the user name and password (or token) and that they may use this repository"
        }
    )]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// The repository path.
        repository: String,
        /// Whether no credentials were sent.
        anonymous: bool,
        /// What the registry said, when it said something useful.
        detail: String,
    },

    /// The tag or digest names no manifest in that repository (or the repository does not
    /// exist).
    #[error("{reference} not found: the registry has no such repository, tag or digest")]
    ManifestNotFound {
        /// The canonical reference asked for.
        reference: String,
    },

    /// The manifest lists a blob that the registry does not have.
    #[error("{reference}: the registry lacks the blob {digest} that its manifest lists")]
    BlobNotFound {
        /// The canonical reference being pulled.
        reference: String,
        /// The missing blob.
        digest: String,
    },

    /// Content did not hash to the digest that named it.
    #[error(
        "{what} has digest {actual}, expected {expected}: the registry sent other content than it named"
    )]
    DigestMismatch {
        /// What was being fetched.
        what: String,
        /// The digest that named it.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },

    /// A manifest, config or digest kind this crate does not handle.
    #[error("{reference}: unsupported {what}: {detail}")]
    Unsupported {
        /// The canonical reference.
        reference: String,
        /// "media type", "manifest", "digest algorithm"…
        what: &'static str,
        /// What was found and what is accepted.
        detail: String,
    },

    /// An image index without an image for the wanted platform.
    #[error("{reference} has no image for {wanted}; it has {available}")]
    NoMatchingPlatform {
        /// The canonical reference.
        reference: String,
        /// `os/architecture` wanted.
        wanted: String,
        /// The platforms the index lists, comma-separated.
        available: String,
    },

    /// A single-platform image built for another architecture (or OS).
    #[error("the image {reference} is for {found}, the function targets {wanted}")]
    WrongPlatform {
        /// The canonical reference.
        reference: String,
        /// What the image's config says, e.g. `arm64`.
        found: String,
        /// What was wanted, e.g. `x86_64 (amd64)`.
        wanted: String,
    },

    /// A blob to push is missing from the local store (or has another size).
    #[error("cannot push {digest}: {problem} in the blob store at {path}")]
    MissingBlob {
        /// The blob's digest.
        digest: Digest,
        /// Where it should be.
        path: PathBuf,
        /// "it is not" / "it has N bytes, the descriptor says M".
        problem: String,
    },

    /// Reading or writing the local blob store failed.
    #[error("blob store at {path}: {source}")]
    Store {
        /// The file or directory involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// Anything else the registry did that does not follow the protocol.
    #[error("registry {registry}: {detail}")]
    Protocol {
        /// `host[:port]`.
        registry: String,
        /// What happened.
        detail: String,
    },

    /// The blocking wrappers cannot run inside an async runtime (or start one).
    #[error("cannot run the registry client: {0}")]
    Runtime(String),
}

/// What a request was about, to word the error.
#[derive(Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// The manifest of the reference.
    Manifest,
    /// A blob of the reference, being pulled.
    Blob(&'a str),
    /// An upload into the repository.
    Upload,
    /// Anything else (auth, upload sessions).
    Other,
}

/// The context that oci-client's errors lack.
pub(crate) struct Context<'a> {
    pub reference: &'a Reference,
    pub scheme: &'static str,
    pub anonymous: bool,
}

impl Context<'_> {
    /// Translates an oci-client error about `subject`.
    pub(crate) fn error(&self, error: OciDistributionError, subject: Subject<'_>) -> RegistryError {
        use OciDistributionError as E;
        match error {
            E::RequestError(error) => match error.status() {
                Some(status) => self.status(status.as_u16(), String::new(), subject),
                None if error.is_connect() || error.is_timeout() => self.unreachable(&error),
                None => self.protocol(innermost(&error)),
            },
            E::UnauthorizedError { .. } => self.status(401, String::new(), subject),
            E::AuthenticationFailure(reason) => self.unauthorized(reason),
            E::ServerError { code, message, .. } => self.status(code, message, subject),
            E::RegistryError { envelope, .. } => {
                let detail = envelope
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .filter(|m| !m.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                let code = envelope.errors.first().map(|e| &e.code);
                match code {
                    Some(OciErrorCode::Unauthorized) => self.status(401, detail, subject),
                    Some(OciErrorCode::Denied) => self.status(403, detail, subject),
                    Some(
                        OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound,
                    ) => self.status(404, detail, subject),
                    _ => self.protocol(detail),
                }
            }
            E::DigestError(oci_client::errors::DigestError::VerificationError {
                expected,
                actual,
            }) => RegistryError::DigestMismatch {
                what: self.what(subject),
                expected,
                actual,
            },
            E::IoError(error) => match digest_mismatch_in(&error) {
                Some((expected, actual)) => RegistryError::DigestMismatch {
                    what: self.what(subject),
                    expected,
                    actual,
                },
                None => self.protocol(error.to_string()),
            },
            E::UnsupportedMediaTypeError(media_type) => RegistryError::Unsupported {
                reference: self.reference.to_string(),
                what: "media type",
                detail: media_type,
            },
            E::UnsupportedSchemaVersionError(version) => self.schema_version(version),
            other => self.protocol(other.to_string()),
        }
    }

    fn status(&self, code: u16, detail: String, subject: Subject<'_>) -> RegistryError {
        match (code, subject) {
            (401 | 403, _) => self.unauthorized(detail),
            (404, Subject::Manifest) => RegistryError::ManifestNotFound {
                reference: self.reference.to_string(),
            },
            (404, Subject::Blob(digest)) => RegistryError::BlobNotFound {
                reference: self.reference.to_string(),
                digest: digest.to_string(),
            },
            (404, Subject::Upload) => self.protocol(format!(
                "has no repository `{}` to push to (on ECR, create the repository first)",
                self.reference.repository()
            )),
            _ => {
                let detail = if detail.trim().is_empty() {
                    format!("answered HTTP {code}")
                } else {
                    format!("answered HTTP {code}: {}", detail.trim())
                };
                self.protocol(detail)
            }
        }
    }

    pub(crate) fn unauthorized(&self, detail: String) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.reference.registry().to_string(),
            repository: self.reference.repository().to_string(),
            anonymous: self.anonymous,
            detail: detail.trim().chars().take(300).collect(),
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> RegistryError {
        let default_port = if self.scheme == "http" { 80 } else { 443 };
        let host = self.reference.host();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        RegistryError::Unreachable {
            address: format!("{host}:{}", self.reference.port().unwrap_or(default_port)),
            scheme: self.scheme,
            reason: innermost(error),
        }
    }

    pub(crate) fn protocol(&self, detail: String) -> RegistryError {
        RegistryError::Protocol {
            registry: self.reference.registry().to_string(),
            detail,
        }
    }

    pub(crate) fn schema_version(&self, version: i32) -> RegistryError {
        RegistryError::Unsupported {
            reference: self.reference.to_string(),
            what: "manifest",
            detail: format!(
                "schema version {version}; only schema 2 manifests (OCI or Docker v2 schema 2) \
                 are read, push the image again with a current tool"
            ),
        }
    }

    fn what(&self, subject: Subject<'_>) -> String {
        match subject {
            Subject::Manifest => format!("the manifest of {}", self.reference),
            Subject::Blob(digest) => format!("blob {digest} of {}", self.reference),
            Subject::Upload | Subject::Other => self.reference.to_string(),
        }
    }
}

/// The message at the bottom of an error's chain, where the useful words are (reqwest's
/// own message is "error sending request for url …").
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// oci-client's verifying stream reports a mismatch as an I/O error wrapping its
/// `DigestError`.
fn digest_mismatch_in(error: &std::io::Error) -> Option<(String, String)> {
    let inner = error.get_ref()?;
    match inner.downcast_ref::<oci_client::errors::DigestError>()? {
        oci_client::errors::DigestError::VerificationError { expected, actual } => {
            Some((expected.clone(), actual.clone()))
        }
        _ => None,
    }
}
