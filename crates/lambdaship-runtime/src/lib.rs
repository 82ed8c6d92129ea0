//! Local AWS Lambda execution environments: the Runtime API (2018-06-01) and the
//! Extensions API (2020-01-01), real processes with Lambda's variables, import path,
//! limits, lifecycle and logs, and a pool of environments per function.
//!
//! [`LocalRuntime::prepare`] turns a function's configuration and code (zip archives, or a
//! container image whose `/var/task` and `/opt` are unpacked: see [`ImageCode`]) into a
//! [`FunctionPool`]; [`FunctionPool::invoke`] runs an event through it.

mod api;
pub mod archive;
mod code;
mod environment;
mod error;
mod function;
mod image;
mod invocation;
pub mod isolate;
pub mod limits;
mod logs;
mod memory;
mod pool;
mod process;
mod python;
mod spec;
mod zygote;

use std::path::PathBuf;
use std::sync::Arc;

use lambdaship_build::Cache;

pub use code::{CodeStore, UnpackedCode};
pub use error::{InvokeError, RuntimeError};
pub use function::{DEFAULT_ACCOUNT_ID, FunctionConfig, RuntimeKind, default_region};
pub use image::{BASE_VARIABLES, ImageCode};
pub use invocation::{FunctionResult, InvokeOutcome, InvokeRequest, Report};
pub use logs::{DiscardLogs, LogSink, StderrLogs};
pub use pool::{Answered, FunctionPool, PoolOptions};
pub use python::{
    PythonRuntime, awslambdaric_version, find_interpreter, host_architecture, provision,
};
pub use spec::RESERVED_VARIABLES;
pub use zygote::{ZygoteNotices, ZygoteOptions};

/// A function's code: zip archives, or a container image.
#[derive(Debug, Clone)]
pub enum FunctionCode {
    /// A zip archive and its layers.
    Archives {
        /// The function's zip archive.
        archive: PathBuf,
        /// Layer zip archives, extracted in this order into the opt directory.
        layers: Vec<PathBuf>,
    },
    /// A container image, whose `/var/task` and `/opt` are the code.
    Image(ImageCode),
}

impl FunctionCode {
    /// The code of `function` among the artifacts of a build: its image, its zip, or its
    /// app archive on top of its dependency layer.
    pub fn from_artifacts(
        artifacts: &[lambdaship_build::Artifact],
        function: &str,
    ) -> Option<FunctionCode> {
        use lambdaship_build::ArtifactKind;
        let find = |kind: ArtifactKind| {
            artifacts
                .iter()
                .find(|artifact| artifact.function == function && artifact.kind == kind)
        };
        if let Some(image) = find(ArtifactKind::Image) {
            // An image layout's directory is a blob store of the image's blobs.
            return Some(FunctionCode::Image(ImageCode {
                store: image.path.clone(),
                manifest_digest: image.digest.as_deref()?.parse().ok()?,
                command: None,
            }));
        }
        let of = |kind: ArtifactKind| find(kind).map(|artifact| artifact.path.clone());
        match (
            of(ArtifactKind::Zip),
            of(ArtifactKind::App),
            of(ArtifactKind::Layer),
        ) {
            // A zip can come with a layer of its own: a web function's adapter.
            (Some(archive), _, layer) => Some(FunctionCode::Archives {
                archive,
                layers: layer.into_iter().collect(),
            }),
            (None, Some(archive), layer) => Some(FunctionCode::Archives {
                archive,
                layers: layer.into_iter().collect(),
            }),
            _ => None,
        }
    }
}

/// Prepares functions to run on this machine.
#[derive(Debug, Clone)]
pub struct LocalRuntime {
    cache: Cache,
    store: CodeStore,
    zygotes: zygote::Zygotes,
}

impl LocalRuntime {
    /// A runtime keeping unpacked code and runtime clients in `cache`.
    pub fn new(cache: &Cache) -> Result<LocalRuntime, RuntimeError> {
        Ok(LocalRuntime {
            cache: cache.clone(),
            store: CodeStore::new(cache)?,
            zygotes: zygote::Zygotes::default(),
        })
    }

    /// Unpacks the code, provisions the runtime (interpreter and awslambdaric for Python)
    /// and returns the function's pool of environments.
    ///
    /// For an image, the image decides what its config can: the handler is
    /// [`ImageCode::command`] or the image's `CMD` (`config.handler` is not used), the
    /// runtime is the one its [`lambdaship_image::RUNTIME_LABEL`] label names, else the
    /// Python it carries, else `config.runtime` (with a warning in
    /// [`FunctionPool::warnings`]), and its `Env` (less [`BASE_VARIABLES`]) comes beneath
    /// `config.environment`.
    pub fn prepare(
        &self,
        config: FunctionConfig,
        code: &FunctionCode,
        logs: Arc<dyn LogSink>,
        options: PoolOptions,
    ) -> Result<FunctionPool, RuntimeError> {
        let host = host_architecture();
        let name = config.name.clone();
        let foreign = |architecture: String| RuntimeError::ForeignArchitecture {
            function: name.clone(),
            architecture,
            host: host.to_string(),
        };
        if config.architecture != host {
            return Err(foreign(config.architecture.to_string()));
        }
        let mut config = config;
        let mut warnings = Vec::new();
        let unpacked = match code {
            FunctionCode::Archives { archive, layers } => self.store.unpack(archive, layers)?,
            FunctionCode::Image(image) => {
                let (store, opened) = image::open(image)?;
                let source = image::describe(image);
                let settings = image::ImageSettings::of(&opened.config);
                // Checked before the layers are read: a foreign image is refused at once.
                if let Some(architecture) = settings.lambda_architecture()
                    && architecture != host.to_string()
                {
                    return Err(foreign(architecture));
                }
                let (unpacked, interpreter) = self.store.unpack_image(&store, &opened, &source)?;
                let choice = image::choose_runtime(&settings, interpreter, config.runtime, &source);
                config.runtime = choice.runtime(config.runtime);
                if let image::RuntimeChoice::Default(warning) = choice {
                    warnings.push(warning);
                }
                config.handler = image
                    .command
                    .as_ref()
                    .unwrap_or(&settings.command)
                    .first()
                    .cloned()
                    .ok_or_else(|| RuntimeError::BadImage {
                        image: source.clone(),
                        message: "it has no command (CMD) to name the handler: set one in the image (`CMD [\"module.handler\"]`), or ImageConfig.Command on the function".to_string(),
                    })?;
                // The function's own variables win, as on Lambda.
                for (name, value) in settings.environment {
                    config.environment.entry(name).or_insert(value);
                }
                unpacked
            }
        };
        let python = match config.runtime {
            RuntimeKind::Python(runtime) => Some(python::provision(&self.cache, runtime)?),
            RuntimeKind::Provided { .. } => None,
        };
        let mut options = options;
        if is_web_function(&config) {
            // The web app behind lambdaship's adapter listens on a fixed port, and local
            // environments share this machine's network (on Lambda each has its own): one
            // environment at a time, and the requests beyond it queue instead of failing.
            options.concurrency = 1;
            options.queue = Some(config.timeout);
        }
        let mut isolation_unavailable = None;
        if options.isolate
            && let Err(reason) = isolate::probe()
        {
            isolation_unavailable = Some(reason.to_string());
            options.isolate = false;
        }
        let scratch = self.cache.root().join("tmp");
        let extensions = spec::find_extensions(&unpacked.opt);
        let mut spec = spec::EnvSpec {
            config,
            code: unpacked,
            python,
            extensions,
            isolate: options.isolate,
            scratch,
            logs,
            zygote: None,
        };
        if let Some(zygote) = &options.zygote {
            spec.zygote = zygote::ZygotePlan::for_function(
                &self.zygotes,
                &spec,
                matches!(code, FunctionCode::Archives { .. }),
                self.cache.root(),
                zygote,
            );
        }
        let mut pool = FunctionPool::new(Arc::new(spec), options, isolation_unavailable);
        pool.warnings = warnings;
        Ok(pool)
    }
}

/// Whether `config` is a web app behind lambdaship's adapter (`web` in `[tool.lambdaship]`).
pub fn is_web_function(config: &FunctionConfig) -> bool {
    config
        .environment
        .get("AWS_LAMBDA_EXEC_WRAPPER")
        .is_some_and(|wrapper| wrapper == lambdaship_project::EXEC_WRAPPER_PATH)
}
