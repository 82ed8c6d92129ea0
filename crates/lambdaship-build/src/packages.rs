//! Installed package sets ("packs"): third-party pins and local packages, installed by uv
//! for the target, compiled and compressed once, and cached as a whole.

use std::path::Path;

use lambdaship_project::LockFile;

use crate::Progress;
use crate::archive::ArchiveEntry;
use crate::bytecode::BytecodeCompiler;
use crate::cache::{Cache, KeyBuilder};
use crate::entries::{EntryOptions, build_entries};
use crate::error::BuildError;
use crate::platform::Target;
use crate::requirements::Requirements;
use crate::tree;
use crate::uv::Uv;
use crate::wheel_errors;

/// What every pack build needs.
pub(crate) struct PackContext<'a> {
    pub uv: &'a Uv,
    pub cache: &'a Cache,
    pub progress: &'a dyn Progress,
}

/// How a pack is built for one function group.
pub(crate) struct PackTarget<'a> {
    pub target: Target,
    pub compiler: Option<&'a BytecodeCompiler>,
    /// Where Lambda sees the pack's import root, e.g. `/var/task`.
    pub shown_root: &'a str,
    /// The function named in errors.
    pub function: &'a str,
}

impl PackTarget<'_> {
    fn add_to(&self, key: &mut KeyBuilder) {
        key.add_str(&self.target.runtime.to_string())
            .add_str(&self.target.uv_python_platform())
            .add_str(
                self.compiler
                    .map_or("no-bytecode", BytecodeCompiler::cache_tag),
            )
            .add_str(self.shown_root);
    }
}

/// The third-party packages pinned in `requirements`, installed from wheels (sdists only for
/// `build_from_source`).
pub(crate) fn third_party(
    context: &PackContext<'_>,
    requirements: &Requirements,
    build_from_source: &[String],
    lock: Option<&LockFile>,
    pack: &PackTarget<'_>,
) -> Result<Vec<ArchiveEntry>, BuildError> {
    let pins = requirements.pins_file();
    let mut key = KeyBuilder::new("third-party");
    key.add_str(&context.uv.version).add_str(&pins);
    key.add_str(&build_from_source.join(","));
    pack.add_to(&mut key);
    let key = key.finish();
    if let Some(entries) = context.cache.pack(&key) {
        return Ok(entries);
    }
    if requirements.pins.is_empty() {
        return Ok(Vec::new());
    }
    context.progress.step(&format!(
        "Installing {} packages for {}",
        requirements.pins.len(),
        pack.target.describe()
    ));
    let staging = context.cache.staging()?;
    let requirements_file = staging.path().join("requirements.txt");
    std::fs::write(&requirements_file, &pins)
        .map_err(|e| BuildError::io("cannot write", &requirements_file, e))?;
    let site = staging.path().join("site");
    let wheel_only: Vec<String> = requirements
        .pins
        .iter()
        .map(|pin| pin.name.clone())
        .filter(|name| !build_from_source.contains(name))
        .collect();
    context
        .uv
        .install_pins(&requirements_file, &site, pack.target, &wheel_only)
        .map_err(|e| wheel_errors::explain(e, pack.target, lock))?;
    let entries = install_tree_entries(context, staging.path(), &site, pack)?;
    context.cache.put_pack(&key, &entries)?;
    Ok(entries)
}

/// Local packages (workspace members, path dependencies, the project itself), built as
/// wheels from their current sources and installed.
pub(crate) fn local(
    context: &PackContext<'_>,
    base: &Path,
    paths: &[String],
    pack: &PackTarget<'_>,
) -> Result<Vec<ArchiveEntry>, BuildError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut key = KeyBuilder::new("local");
    key.add_str(&context.uv.version);
    pack.add_to(&mut key);
    for path in paths {
        key.add_str(path);
        let dir = base.join(path);
        for file in tree::collect(&dir, "").map_err(|e| BuildError::io("cannot read", &dir, e))? {
            let content = std::fs::read(&file.path)
                .map_err(|e| BuildError::io("cannot read", &file.path, e))?;
            key.add_str(&file.relative)
                .add(&[u8::from(file.executable)])
                .add(&content);
        }
    }
    let key = key.finish();
    if let Some(entries) = context.cache.pack(&key) {
        return Ok(entries);
    }
    context
        .progress
        .step(&format!("Building local packages: {}", paths.join(", ")));
    let staging = context.cache.staging()?;
    let site = staging.path().join("site");
    context
        .uv
        .install_local(base, paths, &site, pack.target, staging.path())?;
    let entries = install_tree_entries(context, staging.path(), &site, pack)?;
    context.cache.put_pack(&key, &entries)?;
    Ok(entries)
}

/// Entries for what uv installed into `site`.
fn install_tree_entries(
    context: &PackContext<'_>,
    staging: &Path,
    site: &Path,
    pack: &PackTarget<'_>,
) -> Result<Vec<ArchiveEntry>, BuildError> {
    let mut files = tree::collect(site, "").map_err(|e| BuildError::io("cannot read", site, e))?;
    // uv's lock file for the target directory, not part of any package.
    files.retain(|file| file.relative != ".lock");
    if pack.compiler.is_some() {
        context.progress.step(&format!(
            "Compiling bytecode for {} files",
            files.iter().filter(|f| f.relative.ends_with(".py")).count()
        ));
    }
    let options = EntryOptions {
        compiler: pack.compiler,
        shown_root: pack.shown_root,
        staging,
        target: pack.target,
        function: pack.function,
        file_cache: None,
        portable_scripts: true,
    };
    // Third-party sources that are not valid Python for this version (Python 2 leftovers,
    // templates) are shipped without bytecode, as pip and uv do.
    let (entries, _failures) = build_entries(&files, &options)?;
    Ok(entries)
}
