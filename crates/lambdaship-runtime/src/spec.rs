//! Everything the environments of one function share: configuration, code directories,
//! the runtime's command line and the variables Lambda sets.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::code::UnpackedCode;
use crate::error::RuntimeError;
use crate::function::{FunctionConfig, RuntimeKind};
use crate::logs::LogSink;
use crate::python::PythonRuntime;

/// Lambda's fixed paths, which the environment sees when it is isolated.
const TASK_ROOT: &str = "/var/task";
const OPT: &str = "/opt";
const RUNTIME_DIR: &str = "/var/runtime";

/// Variables Lambda reserves: a function's own variables never replace them.
pub const RESERVED_VARIABLES: [&str; 16] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];

/// Variables extensions do not receive.
const HIDDEN_FROM_EXTENSIONS: [&str; 10] = [
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "_AWS_XRAY_DAEMON_ADDRESS",
    "_AWS_XRAY_DAEMON_PORT",
    "_HANDLER",
];

/// A function ready to get environments.
pub(crate) struct EnvSpec {
    pub(crate) config: FunctionConfig,
    pub(crate) code: UnpackedCode,
    pub(crate) python: Option<PythonRuntime>,
    /// External extensions: file name and path.
    pub(crate) extensions: Vec<(String, PathBuf)>,
    /// Whether environments run in their own mount namespace.
    pub(crate) isolate: bool,
    /// Where isolated environments get their private /tmp.
    pub(crate) scratch: PathBuf,
    pub(crate) logs: Arc<dyn LogSink>,
    /// How new environments' runtimes start from a zygote, when they can.
    pub(crate) zygote: Option<crate::zygote::ZygotePlan>,
}

/// The paths a process of the environment sees.
pub(crate) struct SeenPaths {
    pub(crate) task_root: PathBuf,
    pub(crate) opt: PathBuf,
    pub(crate) runtime_dir: PathBuf,
}

impl EnvSpec {
    pub(crate) fn seen_paths(&self) -> SeenPaths {
        if self.isolate {
            SeenPaths {
                task_root: PathBuf::from(TASK_ROOT),
                opt: PathBuf::from(OPT),
                runtime_dir: PathBuf::from(RUNTIME_DIR),
            }
        } else {
            SeenPaths {
                task_root: self.code.task_root.clone(),
                opt: self.code.opt.clone(),
                runtime_dir: self.runtime_dir().to_path_buf(),
            }
        }
    }

    /// The host directory holding the runtime client (an empty code directory for
    /// `provided` runtimes, which have none).
    pub(crate) fn runtime_dir(&self) -> &Path {
        self.python
            .as_ref()
            .map_or(self.code.opt.as_path(), |python| {
                python.runtime_dir.as_path()
            })
    }

    /// The variables of the runtime process, as Lambda sets them.
    pub(crate) fn runtime_env(&self, api: &str, log_stream: &str) -> BTreeMap<String, String> {
        let config = &self.config;
        let paths = self.seen_paths();
        let task_root = paths.task_root.display().to_string();
        let opt = paths.opt.display().to_string();
        let runtime_dir = paths.runtime_dir.display().to_string();
        let mut env = BTreeMap::new();
        let mut set = |key: &str, value: String| {
            env.insert(key.to_string(), value);
        };
        // Unreserved defaults first: the function's own variables may replace them.
        set("LANG", "en_US.UTF-8".to_string());
        let interpreter_dir = self
            .python
            .as_ref()
            .and_then(|python| {
                python
                    .interpreter
                    .parent()
                    .map(|dir| format!("{}:", dir.display()))
            })
            .unwrap_or_default();
        set(
            "PATH",
            format!("{interpreter_dir}/usr/local/bin:/usr/bin/:/bin:{opt}/bin"),
        );
        set(
            "LD_LIBRARY_PATH",
            format!(
                "/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task_root}:{task_root}/lib:{opt}/lib"
            ),
        );
        set("TZ", ":UTC".to_string());
        set("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR".to_string());
        for (key, value) in &config.environment {
            if !RESERVED_VARIABLES.contains(&key.as_str()) {
                set(key, value.clone());
            }
        }
        // The caller's own credentials stand in for the execution role's, so SDK calls
        // from the function work locally as they would on Lambda.
        for key in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            if let Ok(value) = std::env::var(key) {
                set(key, value);
            }
        }
        set("_HANDLER", config.handler.clone());
        set("LAMBDA_TASK_ROOT", task_root);
        set("LAMBDA_RUNTIME_DIR", runtime_dir);
        set("AWS_LAMBDA_RUNTIME_API", api.to_string());
        set("AWS_LAMBDA_FUNCTION_NAME", config.name.clone());
        set("AWS_LAMBDA_FUNCTION_VERSION", config.version.clone());
        set(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        );
        set("AWS_LAMBDA_LOG_GROUP_NAME", config.log_group());
        set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_string());
        set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string());
        set("AWS_REGION", config.region.clone());
        set("AWS_DEFAULT_REGION", config.region.clone());
        if let RuntimeKind::Python(runtime) = config.runtime {
            set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{runtime}"));
        }
        env
    }

    /// The variables of an extension: the runtime's, less those Lambda keeps from them.
    pub(crate) fn extension_env(
        &self,
        runtime_env: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        runtime_env
            .iter()
            .filter(|(key, _)| !HIDDEN_FROM_EXTENSIONS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The runtime's command line: awslambdaric through the bootstrap script, or the
    /// archive's `bootstrap`; behind `AWS_LAMBDA_EXEC_WRAPPER` when it is set.
    pub(crate) fn runtime_command(&self) -> Result<(PathBuf, Vec<OsString>), RuntimeError> {
        let paths = self.seen_paths();
        match (&self.python, self.config.runtime) {
            (Some(python), RuntimeKind::Python(_)) => {
                let bootstrap = paths.runtime_dir.join("bootstrap.py");
                // -S: only the function's code and the runtime client are importable, as on
                // Lambda, never this machine's site-packages. -B: the task root is read-only
                // on Lambda, so nothing may be written into it here either.
                let mut args: Vec<OsString> = vec![
                    "-S".into(),
                    "-B".into(),
                    bootstrap.into_os_string(),
                    paths.opt.into_os_string(),
                ];
                match self.config.environment.get("AWS_LAMBDA_EXEC_WRAPPER") {
                    Some(wrapper) => {
                        args.insert(0, python.interpreter.clone().into_os_string());
                        Ok((self.host_path(wrapper), args))
                    }
                    None => Ok((python.interpreter.clone(), args)),
                }
            }
            _ => {
                let candidates = [
                    (
                        self.code.task_root.join("bootstrap"),
                        paths.task_root.join("bootstrap"),
                    ),
                    (self.code.opt.join("bootstrap"), paths.opt.join("bootstrap")),
                ];
                candidates
                    .into_iter()
                    .find(|(host, _)| host.is_file())
                    .map(|(_, seen)| (seen, Vec::new()))
                    .ok_or_else(|| RuntimeError::NoBootstrap {
                        runtime: self.config.runtime.name(),
                    })
            }
        }
    }

    /// A Lambda path (`/opt/...`, `/var/task/...`) as this environment sees it.
    fn host_path(&self, path: &str) -> PathBuf {
        let paths = self.seen_paths();
        if let Some(rest) = path.strip_prefix("/opt/") {
            return paths.opt.join(rest);
        }
        if let Some(rest) = path.strip_prefix("/var/task/") {
            return paths.task_root.join(rest);
        }
        PathBuf::from(path)
    }
}

/// The external extensions of a function: the executable regular files directly in
/// `<opt>/extensions` (symlinks and directories are not extensions), sorted by name.
pub(crate) fn find_extensions(opt: &Path) -> Vec<(String, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(opt.join("extensions")) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|entry| {
            entry.file_type().is_ok_and(|kind| kind.is_file())
                && entry
                    .metadata()
                    .is_ok_and(|meta| meta.permissions().mode() & 0o111 != 0)
        })
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .collect();
    found.sort();
    found
}
