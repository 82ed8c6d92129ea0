//! docker-archive tars, the format of `docker save` and `docker load`: written as Docker 25+
//! writes them (an OCI layout plus the legacy `manifest.json`), and read as a base image in
//! both that form and the older one (`ID/layer.tar` files, symlinks for repeated layers).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use oci_spec::image::{ImageManifestBuilder, MediaType};
use serde::Deserialize;
use serde_json::json;

use crate::base::sniff_layer_media_type;
use crate::compose::descriptor;
use crate::layout::{OCI_LAYOUT_FILE, file_name, index_json, parent_of};
use crate::tar_writer::{TarEntry, write_tar};
use crate::{BaseImage, BlobStore, Digest, Image, ImageError};

/// Writes `image` from `store` as a docker-archive tar at `dest`, tagged `repo_tag`
/// (`name:tag`). Written under a temporary name beside `dest` and renamed into place.
pub fn write_docker_archive(
    store: &BlobStore,
    image: &Image,
    repo_tag: &str,
    dest: &Path,
) -> Result<(), ImageError> {
    let blob_name = |digest: &Digest| format!("blobs/sha256/{}", digest.hex());
    let layers: Vec<String> = image
        .blobs()
        .iter()
        .skip(1)
        .take(image.layers.len())
        .map(|(digest, _)| blob_name(digest))
        .collect();
    let config = image
        .blobs()
        .first()
        .map(|(digest, _)| blob_name(digest))
        .unwrap_or_default();
    let manifest = json!([{"Config": config, "RepoTags": [repo_tag], "Layers": layers}]);
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    let tag = repo_tag.rsplit_once(':').map_or("latest", |(_, tag)| tag);
    let full_name = format!("docker.io/library/{repo_tag}");
    let index = index_json(image, tag, &[("io.containerd.image.name", &full_name)]);

    let mut files = Vec::new();
    for (digest, size) in image.blobs() {
        let path = store.path(&digest);
        let file = File::open(&path).map_err(|e| ImageError::io("read", &path, e))?;
        files.push((blob_name(&digest), size, BufReader::new(file)));
    }
    let mut entries: Vec<TarEntry<'_>> = files
        .iter_mut()
        .map(|(name, size, file)| TarEntry::reader(name, 0o644, *size, file))
        .collect();
    entries.push(TarEntry::bytes("oci-layout", 0o644, OCI_LAYOUT_FILE));
    entries.push(TarEntry::bytes("index.json", 0o644, &index));
    entries.push(TarEntry::bytes("manifest.json", 0o644, &manifest));

    let parent = parent_of(dest);
    std::fs::create_dir_all(&parent).map_err(|e| ImageError::io("create", &parent, e))?;
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(dest)))
        .tempfile_in(&parent)
        .map_err(|e| ImageError::io("write to", &parent, e))?;
    let mut out = io::BufWriter::new(temp.as_file());
    write_tar(entries, &mut out).map_err(|e| ImageError::io("write", dest, e))?;
    out.flush().map_err(|e| ImageError::io("write", dest, e))?;
    drop(out);
    use std::os::unix::fs::PermissionsExt;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| ImageError::io("write", dest, e))?;
    temp.persist(dest)
        .map_err(|e| ImageError::io("write", dest, e.error))?;
    Ok(())
}

/// One image of `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Where a member's bytes are in the tar.
enum Member {
    File { position: u64, size: u64 },
    Link(String),
}

/// Reads the docker-archive tar at `path` as a base image, importing its config and layers
/// into `store`.
pub fn read_docker_archive(
    path: &Path,
    store: &BlobStore,
    source: &str,
) -> Result<BaseImage, ImageError> {
    let members = index_members(path, source)?;
    let mut file = File::open(path).map_err(|e| ImageError::io("read", path, e))?;
    let manifest_bytes = read_member(&mut file, &members, "manifest.json", path, source)?;
    let images: Vec<ArchiveManifest> = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| ImageError::invalid(source, format!("its manifest.json: {e}")))?;
    let image = match images.as_slice() {
        [one] => one,
        [] => {
            return Err(ImageError::invalid(
                source,
                "its manifest.json names no image",
            ));
        }
        many => {
            let tags: Vec<String> = many
                .iter()
                .flat_map(|image| image.repo_tags.clone().unwrap_or_default())
                .collect();
            return Err(ImageError::invalid(
                source,
                format!(
                    "it holds {} images ({}): save the base image alone, e.g. `docker save IMAGE -o base.tar`",
                    many.len(),
                    tags.join(", ")
                ),
            ));
        }
    };

    let config = read_member(&mut file, &members, &image.config, path, source)?;
    let config_digest = store
        .put(&config)
        .map_err(|e| ImageError::io("write to", store.root(), e))?;
    let mut layers = Vec::new();
    for name in &image.layers {
        let (position, size) = locate(&members, name, source)?;
        let named = name
            .strip_prefix("blobs/sha256/")
            .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok());
        let mut head = [0u8; 4];
        file.seek(SeekFrom::Start(position))
            .and_then(|_| file.read_exact(&mut head[..size.min(4) as usize]))
            .map_err(|e| ImageError::io("read", path, e))?;
        let media_type = sniff_layer_media_type(&head[..size.min(4) as usize]);
        let digest = match named {
            Some(digest) if store.contains(&digest) => digest,
            _ => {
                let mut writer = store
                    .writer()
                    .map_err(|e| ImageError::io("write to", store.root(), e))?;
                file.seek(SeekFrom::Start(position))
                    .map_err(|e| ImageError::io("read", path, e))?;
                io::copy(&mut (&mut file).take(size), &mut writer)
                    .map_err(|e| ImageError::io("read", path, e))?;
                writer.commit(named.as_ref()).map_err(|e| {
                    ImageError::invalid(source, format!("its layer {name} is damaged: {e}"))
                })?
            }
        };
        layers.push(descriptor(media_type, &digest, size)?);
    }
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(
            MediaType::ImageConfig,
            &config_digest,
            config.len() as u64,
        )?)
        .layers(layers)
        .build()
        .map_err(|e| ImageError::invalid(source, format!("its manifest: {e}")))?;
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| ImageError::invalid(source, format!("its manifest: {e}")))?;
    let manifest_digest = store
        .put(&manifest_bytes)
        .map_err(|e| ImageError::io("write to", store.root(), e))?;
    BaseImage::from_store(store, &manifest_digest, source)
}

/// Every file and link of the tar, by normalised path.
fn index_members(path: &Path, source: &str) -> Result<BTreeMap<String, Member>, ImageError> {
    let file = File::open(path).map_err(|e| ImageError::io("read", path, e))?;
    let not_a_tar = |e: io::Error| {
        ImageError::invalid(
            source,
            format!(
                "{} is not a tar archive ({e}); make one with `docker save IMAGE -o FILE.tar` or `skopeo copy docker://IMAGE docker-archive:FILE.tar`",
                path.display()
            ),
        )
    };
    let mut archive = tar::Archive::new(file);
    let mut members = BTreeMap::new();
    for entry in archive.entries().map_err(not_a_tar)? {
        let entry = entry.map_err(not_a_tar)?;
        let name = normalise(&entry.path().map_err(not_a_tar)?.to_string_lossy());
        let kind = entry.header().entry_type();
        if kind.is_file() {
            members.insert(
                name,
                Member::File {
                    position: entry.raw_file_position(),
                    size: entry.size(),
                },
            );
        } else if kind.is_symlink() || kind.is_hard_link() {
            let Some(target) = entry.link_name().map_err(not_a_tar)? else {
                continue;
            };
            let target = target.to_string_lossy();
            let resolved = if kind.is_symlink() && !target.starts_with('/') {
                let dir = name.rsplit_once('/').map_or("", |(dir, _)| dir);
                resolve(dir, &target)
            } else {
                normalise(&target)
            };
            members.insert(name, Member::Link(resolved));
        }
    }
    if members.is_empty() {
        return Err(not_a_tar(io::ErrorKind::InvalidData.into()));
    }
    Ok(members)
}

/// The position and size of `name`, following links (a few levels).
fn locate(
    members: &BTreeMap<String, Member>,
    name: &str,
    source: &str,
) -> Result<(u64, u64), ImageError> {
    let mut current = normalise(name);
    for _ in 0..8 {
        match members.get(&current) {
            Some(Member::File { position, size }) => return Ok((*position, *size)),
            Some(Member::Link(target)) => current = target.clone(),
            None => break,
        }
    }
    Err(ImageError::invalid(
        source,
        format!("its manifest.json names {name}, which the archive does not hold"),
    ))
}

fn read_member(
    file: &mut File,
    members: &BTreeMap<String, Member>,
    name: &str,
    path: &Path,
    source: &str,
) -> Result<Vec<u8>, ImageError> {
    let (position, size) = locate(members, name, source).map_err(|_| {
        ImageError::invalid(
            source,
            format!("{} has no {name}: it is not a docker-archive tar (make one with `docker save IMAGE -o FILE.tar`)", path.display()),
        )
    })?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(position))
        .and_then(|_| file.take(size).read_to_end(&mut bytes))
        .map_err(|e| ImageError::io("read", path, e))?;
    Ok(bytes)
}

/// `./a//b/` → `a/b`.
fn normalise(path: &str) -> String {
    resolve("", path)
}

/// `target` relative to the directory `dir`, `.` and `..` resolved.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}
