//! Local AWS Lambda execution environments: the Runtime API (2018-06-01) and the
//! Extensions API (2020-01-01), real processes with Lambda's variables, import path,
//! limits, lifecycle and logs, and a pool of environments per function.
//!
//! [`LocalRuntime::prepare`] turns a function's configuration and archives into a
//! [`FunctionPool`]; [`FunctionPool::invoke`] runs an event through it.

mod api;
pub mod archive;
mod code;
mod environment;
mod error;
mod function;
mod invocation;
pub mod isolate;
pub mod limits;
mod logs;
mod memory;
mod pool;
mod process;
mod python;
mod spec;

use std::path::PathBuf;
use std::sync::Arc;

use lambdaship_build::Cache;

pub use code::{CodeStore, UnpackedCode};
pub use error::{InvokeError, RuntimeError};
pub use function::{DEFAULT_ACCOUNT_ID, FunctionConfig, RuntimeKind, default_region};
pub use invocation::{FunctionResult, InvokeOutcome, InvokeRequest, Report};
pub use logs::{DiscardLogs, LogSink, StderrLogs};
pub use pool::{Answered, FunctionPool, PoolOptions};
pub use python::{
    PythonRuntime, awslambdaric_version, find_interpreter, host_architecture, provision,
};
pub use spec::RESERVED_VARIABLES;

/// A function's code: its archive and its layers, in order.
#[derive(Debug, Clone)]
pub struct FunctionCode {
    /// The function's zip archive.
    pub archive: PathBuf,
    /// Layer zip archives, extracted in this order into the opt directory.
    pub layers: Vec<PathBuf>,
}

impl FunctionCode {
    /// The code of `function` among the artifacts of a build: its zip, or its app archive
    /// on top of its dependency layer.
    pub fn from_artifacts(
        artifacts: &[lambdaship_build::Artifact],
        function: &str,
    ) -> Option<FunctionCode> {
        use lambdaship_build::ArtifactKind;
        let of = |kind: ArtifactKind| {
            artifacts
                .iter()
                .find(|artifact| artifact.function == function && artifact.kind == kind)
                .map(|artifact| artifact.path.clone())
        };
        match (
            of(ArtifactKind::Zip),
            of(ArtifactKind::App),
            of(ArtifactKind::Layer),
        ) {
            // A zip can come with a layer of its own: a web function's adapter.
            (Some(archive), _, layer) => Some(FunctionCode {
                archive,
                layers: layer.into_iter().collect(),
            }),
            (None, Some(archive), layer) => Some(FunctionCode {
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
}

impl LocalRuntime {
    /// A runtime keeping unpacked code and runtime clients in `cache`.
    pub fn new(cache: &Cache) -> Result<LocalRuntime, RuntimeError> {
        Ok(LocalRuntime {
            cache: cache.clone(),
            store: CodeStore::new(cache)?,
        })
    }

    /// Unpacks the code, provisions the runtime (interpreter and awslambdaric for Python)
    /// and returns the function's pool of environments.
    pub fn prepare(
        &self,
        config: FunctionConfig,
        code: &FunctionCode,
        logs: Arc<dyn LogSink>,
        options: PoolOptions,
    ) -> Result<FunctionPool, RuntimeError> {
        let host = host_architecture();
        if config.architecture != host {
            return Err(RuntimeError::ForeignArchitecture {
                function: config.name.clone(),
                architecture: config.architecture.to_string(),
                host: host.to_string(),
            });
        }
        let unpacked = self.store.unpack(&code.archive, &code.layers)?;
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
        let spec = spec::EnvSpec {
            config,
            code: unpacked,
            python,
            extensions,
            isolate: options.isolate,
            scratch,
            logs,
        };
        Ok(FunctionPool::new(
            Arc::new(spec),
            options,
            isolation_unavailable,
        ))
    }
}

/// Whether `config` is a web app behind lambdaship's adapter (`web` in `[tool.lambdaship]`).
pub fn is_web_function(config: &FunctionConfig) -> bool {
    config
        .environment
        .get("AWS_LAMBDA_EXEC_WRAPPER")
        .is_some_and(|wrapper| wrapper == lambdaship_project::EXEC_WRAPPER_PATH)
}
