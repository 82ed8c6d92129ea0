//! Why an environment could not be prepared or an invocation not be made.

use std::path::PathBuf;

use lambdaship_build::BuildError;

/// Failures of the runtime core itself (the function's own failures are
/// [`crate::FunctionResult::Error`]).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An artifact is not a zip archive lambdaship can unpack.
    #[error("{} is not a usable zip archive: {message}", path.display())]
    BadArchive {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A container image that cannot be run: missing blobs, an unreadable layer, no
    /// handler.
    #[error("cannot run the image {image}: {message}")]
    BadImage {
        /// The image, as messages name it.
        image: String,
        /// What is wrong with it and how to fix it.
        message: String,
    },
    /// No interpreter of the runtime's Python version.
    #[error(
        "no Python 3.{minor} interpreter on this machine, and runtime python3.{minor} needs exactly that version (Lambda runs python3.{minor}).\n  fix: install Python 3.{minor} (your OS packages, pyenv, or `uv python install 3.{minor}`) so that `uv python find 3.{minor}` finds it, or set `runtime` in [tool.lambdaship] to a version you have"
    )]
    NoInterpreter {
        /// The Python minor version.
        minor: u8,
    },
    /// awslambdaric could not be installed.
    #[error(
        "cannot install the runtime client (awslambdaric {version}) for python3.{minor}: {source}\n  fix: the first local run of a Python version needs the package index once; after that it runs offline"
    )]
    RuntimeClient {
        /// The pinned version.
        version: &'static str,
        /// The Python minor version.
        minor: u8,
        /// The cause.
        source: Box<BuildError>,
    },
    /// A `provided` runtime without a bootstrap executable.
    #[error(
        "runtime {runtime} needs an executable `bootstrap` at the root of the function's archive or of a layer, and there is none"
    )]
    NoBootstrap {
        /// The runtime name.
        runtime: String,
    },
    /// The build or the cache failed.
    #[error(transparent)]
    Build(Box<BuildError>),
    /// A process of the environment could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The function is built for an architecture this machine does not run.
    #[error(
        "function `{function}` is built for {architecture}, and this machine runs {host}: local runs need code for this machine.\n  fix: build it with `--arch {host}` (or `architecture = \"{host}\"` in [tool.lambdaship]) to run it here"
    )]
    ForeignArchitecture {
        /// The function.
        function: String,
        /// Its architecture.
        architecture: String,
        /// This machine's.
        host: String,
    },
    /// The local Runtime API could not listen.
    #[error("cannot open the local Runtime API on 127.0.0.1: {0}")]
    Listen(std::io::Error),
}

impl From<BuildError> for RuntimeError {
    fn from(error: BuildError) -> Self {
        RuntimeError::Build(Box::new(error))
    }
}

impl RuntimeError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        RuntimeError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Why an invocation was refused before it reached the function.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The event is over Lambda's limit.
    #[error(
        "the event is {size} bytes, over Lambda's limit of {limit} bytes for a synchronous invocation"
    )]
    RequestTooLarge {
        /// Event size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Every environment allowed by the concurrency limit is busy.
    #[error("Rate Exceeded.")]
    Throttled {
        /// The concurrency limit reached.
        limit: usize,
    },
    /// An environment could not be prepared.
    #[error(transparent)]
    Runtime(#[from] Box<RuntimeError>),
    /// The task running the invocation stopped before it ended (the process shutting down).
    #[error("the invocation was cut short: {0}")]
    Interrupted(String),
}

impl From<RuntimeError> for InvokeError {
    fn from(error: RuntimeError) -> Self {
        InvokeError::Runtime(Box::new(error))
    }
}
