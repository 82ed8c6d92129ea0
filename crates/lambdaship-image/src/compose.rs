//! A new image from a base image and layers: the base's config with our command, working
//! directory, platform, layers and history; and a single-platform OCI manifest (Lambda
//! refuses image indexes). Both are written to the store; the same inputs give the same
//! digests, since every time in them is fixed.

use oci_spec::image::{
    Descriptor, DescriptorBuilder, ImageManifest, ImageManifestBuilder, MediaType,
};
use serde_json::{Map, Value, json};

use crate::base::{descriptor_digest, oci_layer_media_type};
use crate::layer::{LAYER_MEDIA_TYPE, Layer};
use crate::{BaseImage, BlobStore, Digest, ImageError};

/// The image config's and history's `created`: the same instant as every layer entry.
pub const CREATED: &str = "1980-01-01T00:00:00Z";

/// The label of an image lambdaship built that names the Lambda runtime of its code, e.g.
/// `python3.12`: local runs use the host's interpreter of that version, since the base
/// image's own interpreter is not run without a container engine.
pub const RUNTIME_LABEL: &str = "dev.lambdaship.runtime";

/// The OCI media type of an image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI media type of an image config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// What to put on top of a base image.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// `config.Cmd`: the arguments the base's entrypoint gets (on Lambda, the handler).
    pub cmd: Vec<String>,
    /// `config.WorkingDir`.
    pub working_dir: String,
    /// Variables added to the base's `config.Env` (replacing one of the same name).
    pub env: Vec<(String, String)>,
    /// Labels added to the base's `config.Labels` (replacing one of the same name).
    pub labels: Vec<(String, String)>,
    /// The target architecture as images name it: `amd64` or `arm64`.
    pub architecture: String,
    /// The layers, bottom first, each with the history line that says what it holds.
    pub layers: Vec<(Layer, String)>,
}

/// An image written to a store.
#[derive(Debug, Clone)]
pub struct Image {
    /// The manifest's digest: the image's identity.
    pub manifest_digest: Digest,
    /// The manifest's size in bytes.
    pub manifest_size: u64,
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
}

impl Image {
    /// Every blob of the image (config, layers, manifest) with its size.
    pub fn blobs(&self) -> Vec<(Digest, u64)> {
        let mut blobs = Vec::with_capacity(self.layers.len() + 2);
        for descriptor in std::iter::once(&self.config).chain(&self.layers) {
            // Descriptors made by compose always hold sha256 digests.
            if let Ok(digest) = descriptor.digest().to_string().parse() {
                blobs.push((digest, descriptor.size()));
            }
        }
        blobs.push((self.manifest_digest, self.manifest_size));
        blobs
    }

    /// The bytes of all its blobs: what a registry holds for it.
    pub fn size(&self) -> u64 {
        self.blobs().iter().map(|(_, size)| size).sum()
    }
}

/// Writes the config and manifest of `base` plus `spec` into `store`.
pub fn compose(store: &BlobStore, base: &BaseImage, spec: &ImageSpec) -> Result<Image, ImageError> {
    let config = image_config(base, spec)?;
    let config_bytes = serde_json::to_vec(&config)
        .map_err(|e| ImageError::invalid(&base.source, format!("its config: {e}")))?;
    let config_digest = store
        .put(&config_bytes)
        .map_err(|e| ImageError::io("write to", store.root(), e))?;
    let config = descriptor(
        MediaType::ImageConfig,
        &config_digest,
        config_bytes.len() as u64,
    )?;

    let mut layers = Vec::new();
    for layer in base.manifest.layers() {
        let digest = descriptor_digest(layer, &base.source)?;
        let mut copy = descriptor(
            oci_layer_media_type(layer.media_type()),
            &digest,
            layer.size(),
        )?;
        // Annotations are a hash map, whose order would vary the manifest's bytes; the
        // registry `urls` of a non-distributable layer are kept.
        if let Some(urls) = layer.urls() {
            copy.set_urls(Some(urls.clone()));
        }
        layers.push(copy);
    }
    for (layer, _) in &spec.layers {
        layers.push(descriptor(
            MediaType::from(LAYER_MEDIA_TYPE),
            &layer.digest,
            layer.size,
        )?);
    }
    let manifest: ImageManifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config.clone())
        .layers(layers.clone())
        .build()
        .map_err(|e| ImageError::invalid(&base.source, format!("its manifest: {e}")))?;
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| ImageError::invalid(&base.source, format!("its manifest: {e}")))?;
    let manifest_digest = store
        .put(&manifest_bytes)
        .map_err(|e| ImageError::io("write to", store.root(), e))?;
    Ok(Image {
        manifest_digest,
        manifest_size: manifest_bytes.len() as u64,
        config,
        layers,
    })
}

/// A descriptor of a blob.
pub fn descriptor(
    media_type: MediaType,
    digest: &Digest,
    size: u64,
) -> Result<Descriptor, ImageError> {
    let digest: oci_spec::image::Digest = digest
        .to_string()
        .parse()
        .map_err(|e| ImageError::invalid("this image", format!("digest {digest}: {e}")))?;
    DescriptorBuilder::default()
        .media_type(media_type)
        .digest(digest)
        .size(size)
        .build()
        .map_err(|e| ImageError::invalid("this image", format!("a descriptor: {e}")))
}

/// The base's config with `spec` applied; fields it does not set are kept as they are.
fn image_config(base: &BaseImage, spec: &ImageSpec) -> Result<Value, ImageError> {
    let mut config = base.config.clone();
    let Some(root) = config.as_object_mut() else {
        return Err(ImageError::invalid(
            &base.source,
            "its config is not a JSON object",
        ));
    };
    root.insert("created".into(), json!(CREATED));
    root.insert("architecture".into(), json!(spec.architecture));
    root.insert("os".into(), json!("linux"));
    // A variant names the base's CPU flavour; an arm64 image is v8 by definition.
    if spec.architecture != "arm64" {
        root.remove("variant");
    }

    let runtime = object_field(root, "config");
    let mut env: Vec<String> = runtime
        .get("Env")
        .and_then(Value::as_array)
        .map(|vars| {
            vars.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for (name, value) in &spec.env {
        let prefix = format!("{name}=");
        env.retain(|var| !var.starts_with(&prefix));
        env.push(format!("{name}={value}"));
    }
    runtime.insert("Env".into(), json!(env));
    if !spec.labels.is_empty() {
        let labels = object_field(runtime, "Labels");
        for (name, value) in &spec.labels {
            labels.insert(name.clone(), json!(value));
        }
    }
    runtime.insert("Cmd".into(), json!(spec.cmd));
    runtime.insert("WorkingDir".into(), json!(spec.working_dir));

    let base_layers = base.diff_ids().len();
    let rootfs = object_field(root, "rootfs");
    rootfs.insert("type".into(), json!("layers"));
    let mut diff_ids: Vec<Value> = base.diff_ids().into_iter().map(Value::from).collect();
    diff_ids.extend(
        spec.layers
            .iter()
            .map(|(l, _)| json!(l.diff_id.to_string())),
    );
    rootfs.insert("diff_ids".into(), Value::Array(diff_ids));

    // History lines pair with the layers that are not `empty_layer`; when the base's do not
    // (or it has none), lines for ours alone would pair with the wrong layers.
    let history = root
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let non_empty = history
        .iter()
        .filter(|h| h.get("empty_layer").and_then(Value::as_bool) != Some(true))
        .count();
    if non_empty == base_layers {
        let mut history = history;
        history.extend(spec.layers.iter().map(|(_, created_by)| {
            json!({"created": CREATED, "created_by": created_by, "comment": "lambdaship"})
        }));
        root.insert("history".into(), Value::Array(history));
    }
    Ok(config)
}

/// The object under `name` in `root`, made (or replacing a non-object) when needed.
fn object_field<'a>(root: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let slot = root.entry(name).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{
        TarEntry, read_docker_archive, read_oci_layout, write_docker_archive, write_layer,
        write_oci_layout,
    };

    /// A base image in `store`, as a registry pull or a layout import leaves it.
    fn base(store: &BlobStore, architecture: &str) -> BaseImage {
        let layer = write_layer(
            store,
            vec![TarEntry::bytes(
                "lambda-entrypoint.sh",
                0o755,
                b"#!/bin/sh\n",
            )],
        )
        .unwrap();
        let config = json!({
            "architecture": architecture,
            "os": "linux",
            "future_field": {"kept": true},
            "config": {
                "Entrypoint": ["/lambda-entrypoint.sh"],
                "Env": ["PATH=/usr/bin", "LAMBDA_TASK_ROOT=/var/task"],
                "WorkingDir": "/var/task",
            },
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id.to_string()]},
            "history": [{"created_by": "base"}],
        });
        let config_bytes = serde_json::to_vec(&config).unwrap();
        let config_digest = store.put(&config_bytes).unwrap();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest.to_string(), "size": config_bytes.len()},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer.digest.to_string(), "size": layer.size}],
        });
        let digest = store.put(&serde_json::to_vec(&manifest).unwrap()).unwrap();
        BaseImage::from_store(store, &digest, "test-base").unwrap()
    }

    fn spec(store: &BlobStore, app: &[u8]) -> ImageSpec {
        let layer =
            write_layer(store, vec![TarEntry::bytes("var/task/app.py", 0o644, app)]).unwrap();
        ImageSpec {
            cmd: vec!["app.handler".into()],
            working_dir: "/var/task".into(),
            env: vec![("PATH".into(), "/opt/bin".into())],
            labels: vec![(RUNTIME_LABEL.into(), "python3.11".into())],
            architecture: "amd64".into(),
            layers: vec![(layer, "app".into())],
        }
    }

    #[test]
    fn config_keeps_the_base_and_sets_command_platform_layers_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let base = base(&store, "amd64");
        let image = compose(&store, &base, &spec(&store, b"x = 1\n")).unwrap();
        let again = compose(&store, &base, &spec(&store, b"x = 1\n")).unwrap();
        assert_eq!(image.manifest_digest, again.manifest_digest);
        let other = compose(&store, &base, &spec(&store, b"x = 2\n")).unwrap();
        assert_ne!(image.manifest_digest, other.manifest_digest);
        assert_eq!(image.layers[0].digest(), other.layers[0].digest());

        let manifest: Value =
            serde_json::from_slice(&store.read(&image.manifest_digest).unwrap()).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(manifest["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
        let config_digest: Digest = image.config.digest().to_string().parse().unwrap();
        let config: Value = serde_json::from_slice(&store.read(&config_digest).unwrap()).unwrap();
        assert_eq!(config["future_field"]["kept"], true);
        assert_eq!(config["created"], CREATED);
        assert_eq!(config["config"]["Cmd"], json!(["app.handler"]));
        assert_eq!(
            config["config"]["Entrypoint"],
            json!(["/lambda-entrypoint.sh"])
        );
        assert_eq!(
            config["config"]["Env"],
            json!(["LAMBDA_TASK_ROOT=/var/task", "PATH=/opt/bin"])
        );
        assert_eq!(
            config["config"]["Labels"],
            json!({RUNTIME_LABEL: "python3.11"})
        );
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(config["history"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn another_architecture_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let error = base(&store, "arm64").check_platform("amd64").unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("linux/arm64") && message.contains("linux/amd64"),
            "{message}"
        );
    }

    #[test]
    fn layouts_and_docker_archives_round_trip_as_base_images() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("store"));
        let base = base(&store, "amd64");
        let image = compose(&store, &base, &spec(&store, b"x = 1\n")).unwrap();

        let layout = dir.path().join("out/fn-image");
        assert!(write_oci_layout(&store, &image, "latest", &layout).unwrap());
        assert!(!write_oci_layout(&store, &image, "latest", &layout).unwrap());
        let other = compose(&store, &base, &spec(&store, b"x = 2\n")).unwrap();
        assert!(write_oci_layout(&store, &other, "latest", &layout).unwrap());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["fn-image"]);

        let fresh = BlobStore::new(dir.path().join("fresh"));
        let read = read_oci_layout(&layout, &fresh, "amd64", "layout").unwrap();
        assert_eq!(read.manifest_digest, other.manifest_digest);
        assert_eq!(read.config["config"]["Cmd"], json!(["app.handler"]));

        let tar = dir.path().join("out/fn-image.tar");
        write_docker_archive(&store, &other, "fn:latest", &tar).unwrap();
        let fresh = BlobStore::new(dir.path().join("fresh2"));
        let read = read_docker_archive(&tar, &fresh, "archive").unwrap();
        assert_eq!(read.manifest.layers().len(), 2);
        assert_eq!(read.config["config"]["Cmd"], json!(["app.handler"]));
        assert_eq!(read.manifest.layers()[1].digest(), other.layers[1].digest());
    }
}
