//! Builds Lambda artifacts from a project: uv installs the right wheels for the target,
//! bytecode is compiled by the runtime's interpreter, and deterministic archives are written
//! from a content-addressed cache.
//!
//! The flow: requirements (uv export or uv pip compile) -> packs of installed packages
//! (third-party, local) -> app files -> archives per function -> checks -> atomic write.

mod adapter;
mod archive;
mod assemble;
mod bytecode;
mod cache;
mod elf;
mod entries;
mod error;
mod image;
mod output;
mod packages;
mod platform;
mod push;
mod requirements;
mod tree;
mod uv;
mod web;
mod wheel_errors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lambdaship_project::{Dependencies, FunctionSpec, LockFile, Project};
use serde::Serialize;

pub use archive::{ArchiveEntry, ArchiveStats, CompressedFile, write_zip};
pub use assemble::{IMAGE_LIMIT_BYTES, LAYER_LIMIT, UNZIPPED_LIMIT_BYTES};
pub use cache::{Cache, KeyBuilder, file_stamp};
pub use error::BuildError;
pub use image::{image_architecture, image_store};
pub use platform::{Target, dependency_root, layer_site_packages};
pub use push::{Pushed, push_image};
pub use uv::Uv;

use assemble::{Assembled, FunctionParts, assemble};
use bytecode::BytecodeCompiler;
use entries::{EntryOptions, build_entries};
use packages::{PackContext, PackTarget};
use requirements::Requirements;

/// Zipped size above which Lambda needs the code uploaded through S3.
pub const DIRECT_UPLOAD_LIMIT_BYTES: u64 = 50 * 1024 * 1024;

/// Receives progress as a build goes; the CLI renders it.
pub trait Progress: Sync {
    /// A new step starts.
    fn step(&self, message: &str);
    /// Something the user should know; the build goes on.
    fn warn(&self, message: &str);
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _message: &str) {}
    fn warn(&self, _message: &str) {}
}

/// What to build and where.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Build only this function.
    pub function: Option<String>,
    /// The output directory; default `dist/lambda` in the project.
    pub out_dir: Option<PathBuf>,
    /// Leave bytecode out.
    pub no_bytecode: bool,
    /// The cache root; default [`Cache::default_root`].
    pub cache_dir: Option<PathBuf>,
    /// With the `image` layout, also write each image as a docker-archive tar.
    pub docker_archive: bool,
    /// With the `image` layout, ask the registry for a base image's tag again instead of
    /// using the digest it was resolved to before.
    pub pull: bool,
}

/// The kind of an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// The whole function in one archive.
    Zip,
    /// A dependency layer.
    Layer,
    /// The function's own code, used with its layer.
    App,
    /// A container image: an OCI image layout directory.
    Image,
}

/// One written archive, or image.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    /// The function it belongs to.
    pub function: String,
    /// What it is.
    pub kind: ArtifactKind,
    /// Where it was written.
    pub path: PathBuf,
    /// SHA-256 of the file, hex; for an image, of its manifest.
    pub sha256: String,
    /// File size in bytes; for an image, the bytes of all its blobs (manifest, config and
    /// layers, the base's included).
    pub size: u64,
    /// Sum of the uncompressed sizes of its files; for an image, of the files in the layers
    /// lambdaship adds.
    pub unzipped_size: u64,
    /// An image's manifest digest, `sha256:…`: its identity in a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// An image's docker-archive tar, when one was written (`--docker-archive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_archive: Option<PathBuf>,
}

/// The result of a build.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The archives written.
    pub artifacts: Vec<Artifact>,
}

/// Builds the functions of `project`.
pub fn build(
    project: &Project,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuildReport, BuildError> {
    let functions = project.select(options.function.as_deref())?;
    let cache = Cache::open(
        &options
            .cache_dir
            .clone()
            .unwrap_or_else(Cache::default_root),
    )?;
    let uv = Uv::locate(&cache)?;
    let context = PackContext {
        uv: &uv,
        cache: &cache,
        progress,
    };
    let config = project
        .pyproject
        .clone()
        .unwrap_or_else(|| project.dir.join("requirements.txt"))
        .display()
        .to_string();

    let (locked, pending_export) = locked_requirements(project, &context)?;
    let lock = match &project.dependencies {
        Dependencies::Locked(workspace) if locked.is_some() => {
            Some(LockFile::read(&workspace.lock_file)?)
        }
        _ => None,
    };
    let mut compilers = Compilers::new(!options.no_bytecode, &cache);
    let mut planned = Vec::new();
    let mut images = Vec::new();
    for function in functions {
        let target = Target::of(function);
        let (requirements, base) = match (&locked, &project.dependencies) {
            (Some(requirements), Dependencies::Locked(workspace)) => {
                (requirements.clone(), workspace.root.clone())
            }
            (_, Dependencies::Requirements(file)) => {
                progress.step(&format!(
                    "Resolving {} for {}",
                    file.display(),
                    target.describe()
                ));
                (
                    Requirements::parse(
                        &uv.compile(file, target)
                            .map_err(|e| wheel_errors::explain(e, target, None))?,
                    ),
                    project.dir.clone(),
                )
            }
            _ => (Requirements::default(), project.dir.clone()),
        };
        let compiler = compilers.get(target, &uv, &project.dir, progress);
        let parts = function_parts(
            project,
            function,
            &requirements,
            &base,
            lock.as_ref(),
            compiler.as_ref(),
            &context,
        )?;
        let adapter = match function.web {
            Some(_) => Some(adapter::load_adapter(function)?),
            None => None,
        };
        match assemble(function, parts, adapter.as_deref(), &config)? {
            Assembled::Archives(archives) => {
                for archive in archives {
                    planned.push((function.name.clone(), archive));
                }
            }
            Assembled::Image(parts) => {
                images.push(image::plan(
                    function,
                    parts,
                    &cache,
                    options.pull,
                    &config,
                    progress,
                )?);
            }
        }
    }

    if let Some(pending) = pending_export {
        pending.confirm(&cache)?;
    }
    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| project.dir.join("dist").join("lambda"));
    let mut artifacts = output::write_archives(&out_dir, &planned, &cache, progress)?;
    if !images.is_empty() {
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| BuildError::io("cannot create the output directory", &out_dir, e))?;
        artifacts.extend(image::write_images(
            &out_dir,
            images,
            &cache,
            options.docker_archive,
            progress,
        )?);
    }
    for artifact in artifacts.iter().filter(|a| a.kind != ArtifactKind::Image) {
        if artifact.size > DIRECT_UPLOAD_LIMIT_BYTES {
            progress.warn(&format!(
                "{} is {:.1} MB zipped: over Lambda's 50 MB direct upload limit, so deploying it needs an S3 upload",
                artifact.path.display(),
                artifact.size as f64 / 1_048_576.0
            ));
        }
    }
    Ok(BuildReport { artifacts })
}

/// The exported requirements of a uv project, cached by the content of the lock and every
/// workspace pyproject.toml. On a cache miss the lock check runs in the background; the
/// returned [`PendingExport`] must be confirmed before anything is written.
fn locked_requirements(
    project: &Project,
    context: &PackContext<'_>,
) -> Result<(Option<Requirements>, Option<PendingExport>), BuildError> {
    let Dependencies::Locked(workspace) = &project.dependencies else {
        return Ok((None, None));
    };
    let mut key = KeyBuilder::new("export");
    key.add_str(&context.uv.version)
        .add_str(workspace.package.as_deref().unwrap_or(""))
        .add_str(&project.selection.groups.join(","))
        .add_str(&project.selection.extras.join(","));
    for input in workspace.lock_inputs() {
        let content =
            std::fs::read(&input).map_err(|e| BuildError::io("cannot read", &input, e))?;
        key.add_str(&input.display().to_string()).add(&content);
    }
    let key = key.finish();
    let (text, pending) = match context.cache.text(&key) {
        Some(text) => (text, None),
        None => {
            context.progress.step("Exporting the locked requirements");
            let check = context.uv.start_lock_check(workspace)?;
            let text = match context.uv.export(workspace, &project.selection) {
                Ok(text) => text,
                // A stale lock explains a failed export better than the export's own error.
                Err(error) => return Err(check.finish().err().unwrap_or(error)),
            };
            let pending = PendingExport {
                check,
                key,
                text: text.clone(),
            };
            (text, Some(pending))
        }
    };
    let mut requirements = Requirements::parse(&text);
    if project.has_build_system {
        let own = relative_to(&project.dir, &workspace.root);
        requirements.local_paths.push(own);
    }
    Ok((Some(requirements), pending))
}

/// An export whose lock check is still running.
struct PendingExport {
    check: uv::LockCheck,
    key: String,
    text: String,
}

impl PendingExport {
    /// Waits for the lock check and, when the lock is current, caches the export.
    fn confirm(self, cache: &Cache) -> Result<(), BuildError> {
        self.check.finish()?;
        cache.put_text(&self.key, &self.text)
    }
}

/// `dir` as a `./`-path relative to `base`.
fn relative_to(dir: &Path, base: &Path) -> String {
    match dir.strip_prefix(base) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_string(),
        Ok(relative) => format!("./{}", relative.display()),
        Err(_) => dir.display().to_string(),
    }
}

/// Bytecode compilers by runtime, looked up once each; a missing interpreter is reported
/// once.
struct Compilers<'a> {
    enabled: bool,
    cache: &'a Cache,
    found: BTreeMap<u8, Option<BytecodeCompiler>>,
}

impl<'a> Compilers<'a> {
    fn new(enabled: bool, cache: &'a Cache) -> Self {
        Compilers {
            enabled,
            cache,
            found: BTreeMap::new(),
        }
    }

    fn get(
        &mut self,
        target: Target,
        uv: &Uv,
        cwd: &Path,
        progress: &dyn Progress,
    ) -> Option<BytecodeCompiler> {
        if !self.enabled {
            return None;
        }
        let minor = target.runtime.minor();
        let cache = self.cache;
        self.found
            .entry(minor)
            .or_insert_with(|| {
                let compiler = bytecode::find_compiler(uv, minor, cwd, cache);
                if compiler.is_none() {
                    progress.warn(&format!(
                        "no Python 3.{minor} interpreter found: building {} without bytecode, so every cold start compiles every module. Install Python 3.{minor} (e.g. `uv python install 3.{minor}` or your OS package) to get bytecode, or pass --no-bytecode to silence this",
                        target.runtime
                    ));
                }
                compiler
            })
            .clone()
    }
}

/// Everything that goes into one function's archives.
fn function_parts(
    project: &Project,
    function: &FunctionSpec,
    requirements: &Requirements,
    base: &Path,
    lock: Option<&LockFile>,
    compiler: Option<&BytecodeCompiler>,
    context: &PackContext<'_>,
) -> Result<FunctionParts, BuildError> {
    let target = Target::of(function);
    let dependency_root = dependency_root(function.runtime, function.layout);
    let task_root_pack = PackTarget {
        target,
        compiler,
        shown_root: platform::TASK_ROOT,
        function: &function.name,
    };
    // App code is compiled by a separate interpreter process: let it run while the
    // dependency packs are loaded.
    let (third_party, local, app) = std::thread::scope(|scope| {
        let app = scope.spawn(|| app_entries(project, function, &task_root_pack, context));
        let third_party = packages::third_party(
            context,
            requirements,
            &function.build_from_source,
            lock,
            &PackTarget {
                target,
                compiler,
                shown_root: &dependency_root,
                function: &function.name,
            },
        );
        let local = packages::local(context, base, &requirements.local_paths, &task_root_pack);
        let app = app
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (third_party, local, app)
    });
    let (third_party, local, app) = (third_party?, local?, app?);
    Ok(FunctionParts {
        third_party,
        local,
        app,
    })
}

/// The `include` files, with bytecode, compressed through the per-file cache so only changed
/// files cost anything.
fn app_entries(
    project: &Project,
    function: &FunctionSpec,
    pack: &PackTarget<'_>,
    context: &PackContext<'_>,
) -> Result<Vec<ArchiveEntry>, BuildError> {
    let mut files = Vec::new();
    for include in &function.include {
        let path = project.dir.join(include);
        if !path.exists() {
            return Err(BuildError::IncludeMissing {
                function: function.name.clone(),
                path: include.clone(),
                dir: project.dir.clone(),
            });
        }
        let prefix = if path.is_dir() {
            format!("{}/", include.trim_end_matches('/'))
        } else {
            include.clone()
        };
        files.extend(
            tree::collect(&path, &prefix).map_err(|e| BuildError::io("cannot read", &path, e))?,
        );
    }
    let staging = context.cache.staging()?;
    let options = EntryOptions {
        compiler: pack.compiler,
        shown_root: pack.shown_root,
        staging: staging.path(),
        target: pack.target,
        function: pack.function,
        file_cache: Some(context.cache),
        portable_scripts: false,
    };
    let (entries, failures) = build_entries(&files, &options)?;
    for failure in failures {
        context.progress.warn(&format!(
            "{} does not compile for {}: {}",
            failure.source.display(),
            function.runtime,
            failure.message
        ));
    }
    Ok(entries)
}
