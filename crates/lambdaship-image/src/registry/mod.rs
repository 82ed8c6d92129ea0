//! The OCI distribution API: pulling images into the blob store and pushing them from it.
//!
//! [`pull`] and [`push`] are async; [`pull_blocking`] and [`push_blocking`] run them on a
//! runtime of their own for synchronous callers such as the build.

mod auth;
mod client;
mod error;
mod manifest;
mod platform;
mod pull;
mod push;

pub use auth::RegistryAuth;
pub use error::RegistryError;
pub use manifest::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
pub use platform::Platform;
pub use pull::{PulledImage, pull};
pub use push::{ImageToPush, PushReport, push};

use crate::{BlobStore, Reference};

/// [`pull`] for synchronous callers. Must not be called from inside an async runtime
/// (that is refused with [`RegistryError::Runtime`]).
pub fn pull_blocking(
    reference: &Reference,
    platform: &Platform,
    store: &BlobStore,
    auth: &RegistryAuth,
) -> Result<PulledImage, RegistryError> {
    block_on(pull(reference, platform, store, auth))
}

/// [`push`] for synchronous callers. Must not be called from inside an async runtime
/// (that is refused with [`RegistryError::Runtime`]).
pub fn push_blocking(
    store: &BlobStore,
    reference: &Reference,
    image: ImageToPush<'_>,
    auth: &RegistryAuth,
) -> Result<PushReport, RegistryError> {
    block_on(push(store, reference, image, auth))
}

fn block_on<T>(future: impl Future<Output = Result<T, RegistryError>>) -> Result<T, RegistryError> {
    // Tokio panics when a runtime is started inside another; say so instead.
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(RegistryError::Runtime(
            "the blocking pull and push cannot run inside an async runtime: call the async \
             `pull`/`push` there"
                .into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RegistryError::Runtime(e.to_string()))?;
    runtime.block_on(future)
}
