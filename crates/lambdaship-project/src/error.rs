//! Errors found while reading a project: each names the file or field and the fix.

use std::path::PathBuf;

/// A problem with the project's files or configuration.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// Neither a pyproject.toml nor a requirements.txt.
    #[error(
        "no pyproject.toml or requirements.txt in {dir}: run `uv init` there to start a uv project, or add a requirements.txt"
    )]
    NoProject {
        /// The directory that was searched.
        dir: PathBuf,
    },
    /// The project directory itself is missing.
    #[error("project directory {dir} does not exist")]
    NoDirectory {
        /// The directory given.
        dir: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A TOML file does not parse or has a value of the wrong kind; the message has the
    /// line and column.
    #[error("{path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and the offending text.
        message: String,
    },
    /// A setting has a bad value.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file holding the setting.
        path: PathBuf,
        /// The TOML key, e.g. `[tool.lambdaship] handler`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A uv project without its lock file.
    #[error(
        "{lock} not found: lambdaship installs exactly what uv.lock pins; run `uv lock` in {root} and build again"
    )]
    MissingLock {
        /// The expected lock file.
        lock: PathBuf,
        /// The workspace root to run `uv lock` in.
        root: PathBuf,
    },
    /// `--function` named a function the project does not define.
    #[error("no function named `{name}` in {path}: the project defines {available}")]
    UnknownFunction {
        /// The name asked for.
        name: String,
        /// The pyproject.toml.
        path: PathBuf,
        /// The defined names, comma-separated.
        available: String,
    },
}

impl ProjectError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ProjectError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        path: impl Into<PathBuf>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ProjectError::Invalid {
            path: path.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}
