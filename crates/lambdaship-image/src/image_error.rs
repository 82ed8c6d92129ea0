//! What can go wrong reading a base image or writing an image, said so the user can act.

use std::path::PathBuf;

/// An image that cannot be read, composed or written.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `read`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A base image source that is not a usable image.
    #[error("{source_name} is not a usable base image: {message}")]
    Invalid {
        /// The source as the user named it.
        source_name: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A base image built for another platform than the target.
    #[error(
        "the base image {source_name} is for {found}, but the image is built for linux/{expected}: use a base image for linux/{expected} (the Lambda Python base images tag it `3.X` for x86_64 and `3.X-arm64` for arm64), or change the function's `architecture`"
    )]
    Platform {
        /// The source as the user named it.
        source_name: String,
        /// The base image's `os/architecture`.
        found: String,
        /// The target architecture, e.g. `amd64`.
        expected: String,
    },
}

impl ImageError {
    /// An I/O failure on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A base image that is not usable, with the reason.
    pub fn invalid(source_name: &str, message: impl Into<String>) -> Self {
        ImageError::Invalid {
            source_name: source_name.to_string(),
            message: message.into(),
        }
    }
}
