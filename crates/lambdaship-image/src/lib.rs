//! OCI container images for Lambda, built and moved without a Docker engine.
//!
//! The pieces: [`Digest`] names content, [`BlobStore`] holds blobs by digest (base images
//! are fetched into it once), layers are written reproducibly ([`write_layer`]), images are
//! composed on a [`BaseImage`] ([`compose`]) and saved as OCI image layouts
//! ([`write_oci_layout`]) or docker-archive tars ([`write_docker_archive`]), which are also
//! read as base images; the distribution API pulls and pushes them.

mod base;
mod compose;
mod digest;
mod docker_archive;
mod image_error;
mod layer;
mod layout;
mod reference;
pub mod registry;
mod saved;
mod store;
mod tar_writer;
mod unpack;

pub use base::{BaseImage, oci_layer_media_type};
pub use compose::{
    CONFIG_MEDIA_TYPE, CREATED, Image, ImageSpec, MANIFEST_MEDIA_TYPE, RUNTIME_LABEL, compose,
};
pub use digest::{Digest, DigestError};
pub use docker_archive::{read_docker_archive, write_docker_archive};
pub use image_error::ImageError;
pub use layer::{GZIP_LEVEL, LAYER_MEDIA_TYPE, Layer, write_layer};
pub use layout::{REF_NAME_ANNOTATION, read_oci_layout, write_oci_layout};
pub use reference::{DEFAULT_TAG, DOCKER_HUB, Reference, ReferenceError};
pub use registry::{
    ImageToPush, Platform, PulledImage, PushReport, RegistryAuth, RegistryError, pull,
    pull_blocking, push, push_blocking,
};
pub use saved::SavedImage;
pub use store::{BlobStore, BlobWriter};
pub use tar_writer::{ENTRY_MTIME, TarEntry, write_tar};
pub use unpack::{UnpackError, unpack_layers, unpack_layers_observed};
