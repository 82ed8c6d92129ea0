//! OCI container images for Lambda, built and moved without a Docker engine.
//!
//! The pieces: [`Digest`] names content, [`BlobStore`] holds blobs by digest (base images
//! are fetched into it once), layers are written reproducibly, images are saved as OCI image
//! layouts or docker-archive tars, and the distribution API pulls and pushes them.

mod digest;
mod reference;
pub mod registry;
mod store;
mod unpack;

pub use digest::{Digest, DigestError};
pub use reference::{DEFAULT_TAG, DOCKER_HUB, Reference, ReferenceError};
pub use registry::{
    ImageToPush, Platform, PulledImage, PushReport, RegistryAuth, RegistryError, pull,
    pull_blocking, push, push_blocking,
};
pub use store::{BlobStore, BlobWriter};
pub use unpack::{UnpackError, unpack_layers};
