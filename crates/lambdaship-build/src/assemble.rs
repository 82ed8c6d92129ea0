//! Puts a function's parts together into its archives and enforces what Lambda would
//! refuse at deploy time: the handler module, the layer count, the unzipped size.

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobSet, GlobSetBuilder};
use lambdaship_project::{ADAPTER_LAYER_PATH, FunctionSpec, Layout, WEB_HANDLER};

use crate::ArtifactKind;
use crate::archive::{ArchiveEntry, CompressedFile};
use crate::error::BuildError;
use crate::platform::layer_site_packages;
use crate::web;

/// Lambda's limit on a function's unzipped code and layers.
pub const UNZIPPED_LIMIT_BYTES: u64 = 262_144_000;
/// Lambda's limit on a container image, uncompressed.
pub const IMAGE_LIMIT_BYTES: u64 = 10 * 1024 * 1024 * 1024;
/// Lambda's limit on layers per function.
pub const LAYER_LIMIT: usize = 5;

/// A function's code, each part relative to its import root.
pub(crate) struct FunctionParts {
    /// Third-party packages.
    pub third_party: Vec<ArchiveEntry>,
    /// Local packages (workspace members, path dependencies, the project wheel).
    pub local: Vec<ArchiveEntry>,
    /// Files copied from `include`.
    pub app: Vec<ArchiveEntry>,
}

/// An archive ready to write.
pub(crate) struct PlannedArchive {
    /// What it is.
    pub kind: ArtifactKind,
    /// Its file name in the output directory.
    pub file_name: String,
    /// Its entries.
    pub entries: Vec<ArchiveEntry>,
}

/// The layers a container image adds to its base, each relative to its root.
pub(crate) struct ImageParts {
    /// Third-party packages, for /var/task.
    pub dependencies: Vec<ArchiveEntry>,
    /// Local packages and `include` files, for /var/task.
    pub app: Vec<ArchiveEntry>,
    /// A web function's adapter and exec wrapper, for /opt.
    pub opt: Vec<ArchiveEntry>,
}

/// What a function's build writes.
pub(crate) enum Assembled {
    /// Zip archives.
    Archives(Vec<PlannedArchive>),
    /// The layers of a container image.
    Image(ImageParts),
}

/// The archives (or image layers) of `function` from its parts, after `exclude`, checked.
///
/// A web function (`web`) also gets its handler script in the task root, and `adapter` with
/// the exec wrapper at the root of a layer: its dependency layer, or a layer of their own
/// for the zip layout (only a layer reaches `/opt/extensions`).
pub(crate) fn assemble(
    function: &FunctionSpec,
    parts: FunctionParts,
    adapter: Option<&[u8]>,
    config: &str,
) -> Result<Assembled, BuildError> {
    let excluded = exclude_set(&function.exclude);
    let third_party = apply_excludes(parts.third_party, &excluded);
    let mut task_root: BTreeMap<String, ArchiveEntry> = BTreeMap::new();
    let mut layer: BTreeMap<String, ArchiveEntry> = BTreeMap::new();
    let dependency_root = match function.layout {
        Layout::Zip => &mut task_root,
        Layout::Layers | Layout::Image => &mut layer,
    };
    dependency_root.extend(third_party.into_iter().map(|e| (e.path.clone(), e)));
    // Later parts win: the project's own code over its dependencies.
    for entry in apply_excludes(parts.local, &excluded)
        .into_iter()
        .chain(apply_excludes(parts.app, &excluded))
    {
        task_root.insert(entry.path.clone(), entry);
    }

    let mut layer_root: Vec<ArchiveEntry> = Vec::new();
    match (&function.web, adapter) {
        (Some(web), Some(adapter)) => {
            let scripts = web::console_scripts(&third_party_view(&task_root, &layer));
            let handler = web::handler_script(function, web, &scripts, config)?;
            task_root.insert(
                WEB_HANDLER.to_string(),
                file(WEB_HANDLER, handler.as_bytes())?,
            );
            layer_root.push(file(
                web::EXEC_WRAPPER_FILE,
                web::exec_wrapper(function).as_bytes(),
            )?);
            layer_root.push(file(ADAPTER_LAYER_PATH, adapter)?);
        }
        _ => check_handler(function, &task_root, &layer, config)?,
    }
    if function.layout == Layout::Image {
        if !function.layers.is_empty() {
            return Err(BuildError::ImageWithLayers {
                function: function.name.clone(),
                config: config.to_string(),
            });
        }
        check_unzipped_size(
            function,
            task_root.values().chain(layer.values()).chain(&layer_root),
            IMAGE_LIMIT_BYTES,
        )?;
        return Ok(Assembled::Image(ImageParts {
            dependencies: layer.into_values().collect(),
            app: task_root.into_values().collect(),
            opt: layer_root,
        }));
    }
    let own_layers = usize::from(function.layout == Layout::Layers || !layer_root.is_empty());
    if own_layers + function.layers.len() > LAYER_LIMIT {
        return Err(BuildError::TooManyLayers {
            function: function.name.clone(),
            count: own_layers + function.layers.len(),
        });
    }
    check_unzipped_size(
        function,
        task_root.values().chain(layer.values()),
        UNZIPPED_LIMIT_BYTES,
    )?;

    let mut archives = Vec::new();
    match function.layout {
        Layout::Zip => {
            archives.push(PlannedArchive {
                kind: ArtifactKind::Zip,
                file_name: format!("{}.zip", function.name),
                entries: task_root.into_values().collect(),
            });
            if !layer_root.is_empty() {
                archives.push(PlannedArchive {
                    kind: ArtifactKind::Layer,
                    file_name: format!("{}-adapter-layer.zip", function.name),
                    entries: layer_root,
                });
            }
        }
        Layout::Layers | Layout::Image => {
            let prefix = layer_site_packages(function.runtime);
            archives.push(PlannedArchive {
                kind: ArtifactKind::Layer,
                file_name: format!("{}-layer.zip", function.name),
                entries: layer
                    .into_values()
                    .map(|mut entry| {
                        entry.path = format!("{prefix}{}", entry.path);
                        entry
                    })
                    .chain(layer_root)
                    .collect(),
            });
            archives.push(PlannedArchive {
                kind: ArtifactKind::App,
                file_name: format!("{}.zip", function.name),
                entries: task_root.into_values().collect(),
            });
        }
    }
    Ok(Assembled::Archives(archives))
}

/// Every dependency entry, wherever the layout put them (for the console scripts).
fn third_party_view(
    task_root: &BTreeMap<String, ArchiveEntry>,
    layer: &BTreeMap<String, ArchiveEntry>,
) -> Vec<ArchiveEntry> {
    task_root
        .values()
        .chain(layer.values())
        .filter(|e| e.path.contains(".dist-info/"))
        .cloned()
        .collect()
}

/// An executable file made by the build.
fn file(path: &str, content: &[u8]) -> Result<ArchiveEntry, BuildError> {
    Ok(ArchiveEntry {
        path: path.to_string(),
        executable: true,
        file: CompressedFile::compress(content)
            .map_err(|source| BuildError::io("cannot compress", path, source))?,
    })
}

fn exclude_set(patterns: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    // Patterns were validated when the project was read.
    for glob in patterns.iter().filter_map(|p| Glob::new(p).ok()) {
        builder.add(glob);
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// `entries` without those matching `excluded`, nor the .pyc of an excluded source.
fn apply_excludes(entries: Vec<ArchiveEntry>, excluded: &GlobSet) -> Vec<ArchiveEntry> {
    if excluded.is_empty() {
        return entries;
    }
    let dropped_sources: BTreeSet<String> = entries
        .iter()
        .filter(|e| e.path.ends_with(".py") && excluded.is_match(&e.path))
        .map(|e| e.path.clone())
        .collect();
    entries
        .into_iter()
        .filter(|entry| {
            !excluded.is_match(&entry.path)
                && !pyc_source(&entry.path).is_some_and(|source| dropped_sources.contains(&source))
        })
        .collect()
}

/// The source of a PEP 3147 .pyc path: `a/__pycache__/m.cpython-311.pyc` -> `a/m.py`.
fn pyc_source(path: &str) -> Option<String> {
    let (dir, file) = path.strip_suffix(".pyc")?.rsplit_once("__pycache__/")?;
    let (stem, _tag) = file.rsplit_once('.')?;
    Some(format!("{dir}{stem}.py"))
}

fn check_handler(
    function: &FunctionSpec,
    task_root: &BTreeMap<String, ArchiveEntry>,
    layer: &BTreeMap<String, ArchiveEntry>,
    config: &str,
) -> Result<(), BuildError> {
    let candidates = function.handler.module_file_candidates();
    let native_prefix = format!("{}.", function.handler.module().replace('.', "/"));
    let found = |map: &BTreeMap<String, ArchiveEntry>| {
        candidates.iter().any(|c| map.contains_key(c))
            || map
                .range(native_prefix.clone()..)
                .take_while(|(path, _)| path.starts_with(&native_prefix))
                .any(|(path, _)| {
                    path.ends_with(".so") && !path[native_prefix.len()..].contains('/')
                })
    };
    if found(task_root) || found(layer) {
        return Ok(());
    }
    Err(BuildError::HandlerNotFound {
        function: function.name.clone(),
        handler: function.handler.to_string(),
        module: function.handler.module().to_string(),
        candidates: candidates.join(" or "),
        config: config.to_string(),
    })
}

fn check_unzipped_size<'a>(
    function: &FunctionSpec,
    entries: impl Iterator<Item = &'a ArchiveEntry>,
    limit: u64,
) -> Result<(), BuildError> {
    let mut by_package: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total = 0;
    for entry in entries {
        total += entry.file.size;
        let top = entry.path.split('/').next().unwrap_or(&entry.path);
        *by_package.entry(top).or_default() += entry.file.size;
    }
    if total <= limit {
        return Ok(());
    }
    let mut largest: Vec<_> = by_package.into_iter().collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let largest = largest
        .iter()
        .take(8)
        .map(|(name, size)| format!("    {name}: {:.1} MB", *size as f64 / 1_000_000.0))
        .collect::<Vec<_>>()
        .join("\n");
    if limit == IMAGE_LIMIT_BYTES {
        return Err(BuildError::ImageTooLarge {
            function: function.name.clone(),
            size_mb: total as f64 / 1_000_000.0,
            largest,
        });
    }
    Err(BuildError::TooLarge {
        function: function.name.clone(),
        size_mb: total as f64 / 1_000_000.0,
        largest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyc_sources_are_found() {
        assert_eq!(
            pyc_source("pkg/__pycache__/mod.cpython-311.pyc").as_deref(),
            Some("pkg/mod.py")
        );
        assert_eq!(
            pyc_source("__pycache__/six.cpython-313.pyc").as_deref(),
            Some("six.py")
        );
        assert_eq!(pyc_source("pkg/mod.py"), None);
    }
}
