//! The `image` layout: a container image made of a base image and the function's layers
//! (dependencies and app under /var/task, a web function's adapter under /opt), written as
//! an OCI image layout directory and, on request, a docker-archive tar.
//!
//! Blobs live in a content-addressed store under the cache root: a base image is imported
//! once, and a layer whose entries are unchanged (by the SHA-256 of every entry, as for the
//! archives) is reused without being tarred or compressed again, so an app edit rebuilds
//! only the app layer.

use std::io::Read;
use std::path::Path;

use lambdaship_image::{
    BaseImage, BlobStore, Digest, ImageSpec, Layer, Platform, RUNTIME_LABEL, Reference,
    ReferenceError, RegistryAuth, TarEntry, compose, pull_blocking, read_docker_archive,
    read_oci_layout, write_docker_archive, write_layer, write_oci_layout,
};
use lambdaship_project::{Architecture, BaseImageSource, FunctionSpec};
use serde::{Deserialize, Serialize};

use crate::archive::ArchiveEntry;
use crate::assemble::ImageParts;
use crate::cache::{Cache, KeyBuilder, file_stamp};
use crate::error::BuildError;
use crate::output::content_key;
use crate::platform::{LAYER_ROOT, TASK_ROOT};
use crate::{Artifact, ArtifactKind, Progress};

/// The tag of every image lambdaship writes, in the layout's `index.json` and the
/// docker-archive's `RepoTags`.
pub const IMAGE_TAG: &str = "latest";

/// An image ready to write: its base, in the store, and its layers' entries.
pub(crate) struct PlannedImage {
    function: FunctionSpec,
    base: BaseImage,
    parts: ImageParts,
}

/// The image blob store of `cache` (`CACHE/images`): base images, layers and the images
/// built on them, which local runs and `lambdaship server` pull into too.
pub fn image_store(cache: &Cache) -> BlobStore {
    BlobStore::new(cache.root().join("images"))
}

/// The image of `function` from `parts`, on its base image (read, or imported into the
/// store, now: a missing or unusable base fails the build before anything is written).
pub(crate) fn plan(
    function: &FunctionSpec,
    parts: ImageParts,
    cache: &Cache,
    refresh: bool,
    config: &str,
    progress: &dyn Progress,
) -> Result<PlannedImage, BuildError> {
    let base = base_image(function, cache, refresh, config, progress)?;
    base.check_platform(image_architecture(function.architecture))
        .map_err(|source| BuildError::Image {
            function: function.name.clone(),
            source,
        })?;
    Ok(PlannedImage {
        function: function.clone(),
        base,
        parts,
    })
}

/// The architecture as images name it.
pub fn image_architecture(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::X86_64 => "amd64",
        Architecture::Arm64 => "arm64",
    }
}

/// The base image of `function` in the store. A layout or an archive is imported once:
/// later builds find it by the layout's `index.json`, or the archive's size, time and inode.
fn base_image(
    function: &FunctionSpec,
    cache: &Cache,
    refresh: bool,
    config: &str,
    progress: &dyn Progress,
) -> Result<BaseImage, BuildError> {
    let store = image_store(cache);
    let source = function.base_image_source();
    let name = source.to_string();
    let image_error = |source| BuildError::Image {
        function: function.name.clone(),
        source,
    };
    let architecture = image_architecture(function.architecture);
    let (path, key) = match &source {
        BaseImageSource::Registry(reference) => {
            return pull_base(
                function, reference, &store, cache, refresh, config, progress,
            );
        }
        BaseImageSource::OciLayout(path) | BaseImageSource::DockerArchive(path) => {
            if !path.exists() {
                return Err(BuildError::BaseImageMissing {
                    function: function.name.clone(),
                    path: path.clone(),
                    config: config.to_string(),
                });
            }
            let mut key = KeyBuilder::new("base-image");
            key.add_str(&name).add_str(architecture);
            match &source {
                BaseImageSource::OciLayout(_) => {
                    let index = path.join("index.json");
                    key.add(&std::fs::read(&index).unwrap_or_default());
                }
                _ => {
                    key.add_str(&file_stamp(path).unwrap_or_default());
                }
            }
            (path, key.finish())
        }
    };
    if let Some(digest) = cache
        .text(&key)
        .and_then(|text| text.parse::<Digest>().ok())
        && let Ok(base) = BaseImage::from_store(&store, &digest, &name)
    {
        return Ok(base);
    }
    progress.step(&format!("Importing the base image {name}"));
    let base = match &source {
        BaseImageSource::OciLayout(_) => read_oci_layout(path, &store, architecture, &name),
        _ => read_docker_archive(path, &store, &name),
    }
    .map_err(image_error)?;
    cache.put_text(&key, &base.manifest_digest.to_string())?;
    Ok(base)
}

/// The base image `reference` from its registry, into `store`. A tag is resolved once and
/// the digest kept (as Docker keeps a pulled base), so later builds need no network;
/// `refresh` (`build --pull`) asks the registry again.
fn pull_base(
    function: &FunctionSpec,
    reference: &str,
    store: &BlobStore,
    cache: &Cache,
    refresh: bool,
    config: &str,
    progress: &dyn Progress,
) -> Result<BaseImage, BuildError> {
    let failed = |reason: String| BuildError::BaseImagePull {
        function: function.name.clone(),
        reference: reference.to_string(),
        reason,
        config: config.to_string(),
    };
    let parsed: Reference = reference
        .parse()
        .map_err(|e: ReferenceError| failed(e.to_string()))?;
    let platform = match function.architecture {
        Architecture::X86_64 => Platform::linux_amd64(),
        Architecture::Arm64 => Platform::linux_arm64(),
    };
    let key = KeyBuilder::new("base-image-pull")
        .add_str(&parsed.to_string())
        .add_str(&platform.architecture)
        .finish();
    if !refresh
        && let Some(digest) = cache.text(&key).and_then(|t| t.parse::<Digest>().ok())
        && let Ok(base) = BaseImage::from_store(store, &digest, reference)
    {
        return Ok(base);
    }
    progress.step(&format!("Pulling the base image {parsed}"));
    let auth = RegistryAuth::from_docker_config(parsed.registry());
    // On a thread of its own: the blocking pull starts a runtime, which cannot be done on
    // a thread that already runs one (`lambdaship dev` builds from its runtime's pool).
    let pulled = std::thread::scope(|scope| {
        scope
            .spawn(|| pull_blocking(&parsed, &platform, store, &auth))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
    .map_err(|e| failed(e.to_string()))?;
    let base = BaseImage::from_store(store, &pulled.manifest_digest, reference).map_err(|e| {
        BuildError::Image {
            function: function.name.clone(),
            source: e,
        }
    })?;
    cache.put_text(&key, &pulled.manifest_digest.to_string())?;
    Ok(base)
}

/// Writes each planned image into `out_dir`: `NAME-image/` (an OCI image layout) and, with
/// `docker_archive`, `NAME-image.tar`.
pub(crate) fn write_images(
    out_dir: &Path,
    planned: Vec<PlannedImage>,
    cache: &Cache,
    docker_archive: bool,
    progress: &dyn Progress,
) -> Result<Vec<Artifact>, BuildError> {
    let store = image_store(cache);
    let mut artifacts = Vec::new();
    for image in planned {
        let function = &image.function;
        let image_error = |source| BuildError::Image {
            function: function.name.clone(),
            source,
        };
        let mut layers = Vec::new();
        for (entries, root, what) in [
            (&image.parts.dependencies, TASK_ROOT, "dependencies"),
            (&image.parts.app, TASK_ROOT, "app"),
            (&image.parts.opt, LAYER_ROOT, "web adapter"),
        ] {
            if entries.is_empty() {
                continue;
            }
            let layer = layer(&store, cache, entries, root, progress, function)?;
            layers.push((
                layer,
                format!("lambdaship: {what} of {} in {root}", function.name),
            ));
        }
        let unpacked_size = layers.iter().map(|(layer, _)| layer.content_size).sum();
        let spec = ImageSpec {
            cmd: vec![function.lambda_handler()],
            working_dir: TASK_ROOT.to_string(),
            env: function
                .web
                .iter()
                .flat_map(|web| web.environment())
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            // Local runs read the runtime from here: the base's interpreter is not run
            // without a container engine, the host's of this version is.
            labels: vec![(RUNTIME_LABEL.to_string(), function.runtime.to_string())],
            architecture: image_architecture(function.architecture).to_string(),
            layers,
        };
        let composed = compose(&store, &image.base, &spec).map_err(image_error)?;
        let path = out_dir.join(format!("{}-image", function.name));
        if write_oci_layout(&store, &composed, IMAGE_TAG, &path).map_err(image_error)? {
            progress.step(&format!("Wrote {}", path.display()));
        }
        let archive = if docker_archive {
            let tar = out_dir.join(format!("{}-image.tar", function.name));
            write_archive_if_changed(&store, &composed, function, &tar, cache, progress)?;
            Some(tar)
        } else {
            None
        };
        artifacts.push(Artifact {
            function: function.name.clone(),
            kind: ArtifactKind::Image,
            path,
            sha256: composed.manifest_digest.hex(),
            size: composed.size(),
            unzipped_size: unpacked_size,
            digest: Some(composed.manifest_digest.to_string()),
            docker_archive: archive,
        });
    }
    Ok(artifacts)
}

/// The layer of `entries` under `root`: from the store when these exact entries were
/// written before, else written now.
fn layer(
    store: &BlobStore,
    cache: &Cache,
    entries: &[ArchiveEntry],
    root: &str,
    progress: &dyn Progress,
    function: &FunctionSpec,
) -> Result<Layer, BuildError> {
    let key = KeyBuilder::new("image-layer")
        .add_str(root)
        .add_str(&content_key(entries))
        .finish();
    if let Some(record) = cache
        .text(&key)
        .and_then(|text| serde_json::from_str::<LayerRecord>(&text).ok())
        .and_then(|record| record.layer())
        && store.contains(&record.digest)
    {
        return Ok(record);
    }
    progress.step(&format!(
        "Writing the {} layer of {} ({} files)",
        root,
        function.name,
        entries.len()
    ));
    let prefix = root.trim_start_matches('/');
    let paths: Vec<String> = entries
        .iter()
        .map(|entry| format!("{prefix}/{}", entry.path))
        .collect();
    let tar_entries = entries
        .iter()
        .zip(&paths)
        .map(|(entry, path)| {
            let mode = if entry.executable { 0o755 } else { 0o644 };
            let data = entry.file.data.as_slice();
            let content: Box<dyn Read + '_> = if entry.file.deflated {
                Box::new(flate2::read::DeflateDecoder::new(data))
            } else {
                Box::new(data)
            };
            TarEntry::reader(path, mode, entry.file.size, content)
        })
        .collect();
    let layer = write_layer(store, tar_entries)
        .map_err(|e| BuildError::io("cannot write an image layer to", store.root(), e))?;
    if let Ok(text) = serde_json::to_string(&LayerRecord::of(&layer)) {
        cache.put_text(&key, &text)?;
    }
    Ok(layer)
}

/// A layer as the cache remembers it.
#[derive(Serialize, Deserialize)]
struct LayerRecord {
    digest: String,
    diff_id: String,
    size: u64,
    tar_size: u64,
    content_size: u64,
}

impl LayerRecord {
    fn of(layer: &Layer) -> Self {
        LayerRecord {
            digest: layer.digest.to_string(),
            diff_id: layer.diff_id.to_string(),
            size: layer.size,
            tar_size: layer.tar_size,
            content_size: layer.content_size,
        }
    }

    fn layer(&self) -> Option<Layer> {
        Some(Layer {
            digest: self.digest.parse().ok()?,
            diff_id: self.diff_id.parse().ok()?,
            size: self.size,
            tar_size: self.tar_size,
            content_size: self.content_size,
        })
    }
}

/// Writes the docker-archive tar unless the file there is the one written for this image.
fn write_archive_if_changed(
    store: &BlobStore,
    image: &lambdaship_image::Image,
    function: &FunctionSpec,
    tar: &Path,
    cache: &Cache,
    progress: &dyn Progress,
) -> Result<(), BuildError> {
    let record_key = KeyBuilder::new("written-image-archive")
        .add_str(&tar.display().to_string())
        .finish();
    let record = format!(
        "{} {}",
        image.manifest_digest,
        file_stamp(tar).unwrap_or_default()
    );
    if cache.text(&record_key).as_deref() == Some(record.as_str()) {
        return Ok(());
    }
    let repo_tag = format!("{}:{IMAGE_TAG}", function.name.to_lowercase());
    write_docker_archive(store, image, &repo_tag, tar).map_err(|source| BuildError::Image {
        function: function.name.clone(),
        source,
    })?;
    progress.step(&format!("Wrote {}", tar.display()));
    if let Some(stamp) = file_stamp(tar) {
        cache.put_text(&record_key, &format!("{} {stamp}", image.manifest_digest))?;
    }
    Ok(())
}
