//! Container image functions, run without a container engine: the image's `/var/task` and
//! `/opt` are unpacked from its layers and run by this machine's interpreter of the image's
//! runtime version, as the function's code would run in a zip. The base image's own
//! `/var/lang` (its interpreter) and `/var/runtime` (its runtime client) are not executed:
//! they are built for Amazon Linux and need the image's whole file system around them.
//!
//! What the image's config says is honoured where a local run can honour it: `Cmd[0]` is the
//! handler (Lambda's `ImageConfig.Command` overrides it, as it overrides `CMD`), and the
//! config's `Env` reaches the function beneath its own variables, except the variables that
//! describe the base image's file system (see [`BASE_VARIABLES`]). The entrypoint is not run:
//! on Lambda base images it only starts the runtime client, which the local runtime starts
//! itself.

use std::path::{Path, PathBuf};

use lambdaship_image::{BaseImage, BlobStore, Digest, ImageError, RUNTIME_LABEL};
use lambdaship_project::Runtime;
use serde_json::Value;

use crate::error::RuntimeError;
use crate::function::RuntimeKind;

/// A container image function's code: an image in a blob store.
#[derive(Debug, Clone)]
pub struct ImageCode {
    /// The directory of the blob store holding the image (`blobs/sha256/...`): an OCI image
    /// layout written by `lambdaship build`, or the cache's image store a pull wrote to.
    pub store: PathBuf,
    /// The digest of the image's manifest.
    pub manifest_digest: Digest,
    /// Lambda's `ImageConfig.Command`, which replaces the image's `CMD` (its first word is
    /// the handler).
    pub command: Option<Vec<String>>,
}

/// Variables of an image's `Env` a local run leaves out: they describe the base image's
/// file system (`PATH` and `LD_LIBRARY_PATH` lead into its `/var/lang`, which is not
/// unpacked) or the Lambda environment, which the local runtime sets itself for this
/// machine, as it does for a zip function.
pub const BASE_VARIABLES: [&str; 6] = [
    "PATH",
    "LD_LIBRARY_PATH",
    "LANG",
    "TZ",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Directories of an image where an interpreter `python3.N` says which Python the image
/// runs, in the order they are believed: the Lambda base images keep theirs in /var/lang.
const INTERPRETER_DIRS: [&str; 3] = ["var/lang/bin", "usr/local/bin", "usr/bin"];

/// What an image's config tells a local run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImageSettings {
    /// `architecture`, as images name it (`amd64`, `arm64`).
    pub(crate) architecture: Option<String>,
    /// `config.Cmd`.
    pub(crate) command: Vec<String>,
    /// `config.Env`, less [`BASE_VARIABLES`] and values leading into `/var/lang` or
    /// `/var/runtime`, in order.
    pub(crate) environment: Vec<(String, String)>,
    /// The [`RUNTIME_LABEL`] label, when the image has one.
    pub(crate) runtime_label: Option<String>,
}

impl ImageSettings {
    /// The settings in an image config (JSON as the image spec has it).
    pub(crate) fn of(config: &Value) -> ImageSettings {
        let strings = |value: Option<&Value>| -> Vec<String> {
            value
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let runtime = config.get("config");
        let environment = strings(runtime.and_then(|c| c.get("Env")))
            .into_iter()
            .filter_map(|entry| {
                let (name, value) = entry.split_once('=')?;
                Some((name.to_string(), value.to_string()))
            })
            .filter(|(name, value)| {
                !BASE_VARIABLES.contains(&name.as_str())
                    && !value.contains("/var/lang")
                    && !value.contains("/var/runtime")
            })
            .collect();
        ImageSettings {
            architecture: config
                .get("architecture")
                .and_then(Value::as_str)
                .map(str::to_string),
            command: strings(runtime.and_then(|c| c.get("Cmd"))),
            environment,
            runtime_label: runtime
                .and_then(|c| c.get("Labels"))
                .and_then(|labels| labels.get(RUNTIME_LABEL))
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// The architecture in Lambda's words (`x86_64`, `arm64`), when the config says.
    pub(crate) fn lambda_architecture(&self) -> Option<String> {
        self.architecture.as_deref().map(|name| match name {
            "amd64" => "x86_64".to_string(),
            other => other.to_string(),
        })
    }
}

/// Opens the image `code` names, checking that its manifest, config and every layer are
/// in the store.
pub(crate) fn open(code: &ImageCode) -> Result<(BlobStore, BaseImage), RuntimeError> {
    let store = BlobStore::new(&code.store);
    let source = describe(code);
    let image = BaseImage::from_store(&store, &code.manifest_digest, &source).map_err(|e| {
        RuntimeError::BadImage {
            image: source.clone(),
            // The message of `Invalid` already names the image, as a base image.
            message: match e {
                ImageError::Invalid { message, .. } => message,
                other => other.to_string(),
            },
        }
    })?;
    Ok((store, image))
}

/// The image as messages name it.
pub(crate) fn describe(code: &ImageCode) -> String {
    format!("{} in {}", code.manifest_digest, code.store.display())
}

/// Notes the Python an image carries from the paths of its entries (see
/// [`INTERPRETER_DIRS`]).
#[derive(Debug, Default)]
pub(crate) struct InterpreterScan {
    /// The best place found so far (an index into [`INTERPRETER_DIRS`]) and the newest
    /// supported runtime there.
    found: Option<(usize, Runtime)>,
}

impl InterpreterScan {
    /// Looks at one entry of a layer.
    pub(crate) fn observe(&mut self, path: &Path, is_dir: bool) {
        if is_dir {
            return;
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        let Some(rank) = INTERPRETER_DIRS
            .iter()
            .position(|dir| parent == Path::new(dir))
        else {
            return;
        };
        // `python3.12` names a runtime; `python3.12-config` and `python3` do not.
        let Ok(runtime) = name.to_string_lossy().parse::<Runtime>() else {
            return;
        };
        self.add(rank, runtime);
    }

    /// Takes what another scan found (of another layer of the same image).
    pub(crate) fn merge(&mut self, other: &InterpreterScan) {
        if let Some((rank, runtime)) = other.found {
            self.add(rank, runtime);
        }
    }

    fn add(&mut self, rank: usize, runtime: Runtime) {
        let better = match self.found {
            None => true,
            Some((best, newest)) => rank < best || (rank == best && runtime > newest),
        };
        if better {
            self.found = Some((rank, runtime));
        }
    }

    /// The runtime of the interpreter found, if any.
    pub(crate) fn runtime(&self) -> Option<Runtime> {
        self.found.map(|(_, runtime)| runtime)
    }

    /// What was found, as the cache keeps it: `RANK:python3.N`, or empty.
    pub(crate) fn to_note(&self) -> String {
        self.found
            .map(|(rank, runtime)| format!("{rank}:{runtime}"))
            .unwrap_or_default()
    }

    /// A scan from [`InterpreterScan::to_note`]'s text; `None` when it is not one.
    pub(crate) fn from_note(note: &str) -> Option<InterpreterScan> {
        if note.is_empty() {
            return Some(InterpreterScan::default());
        }
        let (rank, runtime) = note.split_once(':')?;
        let rank: usize = rank.parse().ok().filter(|r| *r < INTERPRETER_DIRS.len())?;
        Some(InterpreterScan {
            found: Some((rank, runtime.parse().ok()?)),
        })
    }
}

/// How the runtime of an image function was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuntimeChoice {
    /// The image's [`RUNTIME_LABEL`] named it.
    Label(RuntimeKind),
    /// The image carries this interpreter.
    Interpreter(Runtime),
    /// Nothing in the image says: the caller's default, with the warning to show.
    Default(String),
}

impl RuntimeChoice {
    /// The runtime chosen (the caller's `default` when the image says nothing).
    pub(crate) fn runtime(&self, default: RuntimeKind) -> RuntimeKind {
        match self {
            RuntimeChoice::Label(kind) => *kind,
            RuntimeChoice::Interpreter(runtime) => RuntimeKind::Python(*runtime),
            RuntimeChoice::Default(_) => default,
        }
    }
}

/// The runtime of an image: its label, else the interpreter it carries, else `default`.
pub(crate) fn choose_runtime(
    settings: &ImageSettings,
    interpreter: Option<Runtime>,
    default: RuntimeKind,
    image: &str,
) -> RuntimeChoice {
    let label = settings.runtime_label.as_deref();
    if let Some(kind) = label.and_then(RuntimeKind::parse) {
        return RuntimeChoice::Label(kind);
    }
    if let Some(runtime) = interpreter {
        return RuntimeChoice::Interpreter(runtime);
    }
    let said = match label {
        Some(value) => format!("its label {RUNTIME_LABEL}=`{value}` names no Lambda runtime"),
        None => format!(
            "it has no {RUNTIME_LABEL} label and no python3.N interpreter in /var/lang/bin, /usr/local/bin or /usr/bin"
        ),
    };
    RuntimeChoice::Default(format!(
        "the image {image} does not say which Python it runs ({said}): running it with {}; label the image `{RUNTIME_LABEL}=python3.X` (lambdaship build does) to choose",
        default.name()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_keep_the_command_label_and_the_builds_variables() {
        let config = json!({
            "architecture": "amd64",
            "config": {
                "Env": [
                    "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                    "LD_LIBRARY_PATH=/var/lang/lib:/lib64",
                    "LANG=en_US.UTF-8",
                    "TZ=:/etc/localtime",
                    "LAMBDA_TASK_ROOT=/var/task",
                    "LAMBDA_RUNTIME_DIR=/var/runtime",
                    "PYTHONPATH=/var/runtime",
                    "AWS_LAMBDA_EXEC_WRAPPER=/opt/lambdaship-exec-wrapper",
                    "AWS_LWA_PORT=8080",
                    "EMPTY=",
                    "NOT_A_VARIABLE"
                ],
                "Cmd": ["app.handler", "ignored"],
                "Labels": {RUNTIME_LABEL: "python3.11"}
            }
        });
        let settings = ImageSettings::of(&config);
        assert_eq!(settings.command, ["app.handler", "ignored"]);
        assert_eq!(settings.lambda_architecture().as_deref(), Some("x86_64"));
        assert_eq!(settings.runtime_label.as_deref(), Some("python3.11"));
        assert_eq!(
            settings.environment,
            [
                (
                    "AWS_LAMBDA_EXEC_WRAPPER".to_string(),
                    "/opt/lambdaship-exec-wrapper".to_string()
                ),
                ("AWS_LWA_PORT".to_string(), "8080".to_string()),
                ("EMPTY".to_string(), String::new()),
            ]
        );
        assert_eq!(ImageSettings::of(&json!({})), ImageSettings::default());
    }

    #[test]
    fn the_interpreter_in_var_lang_is_believed_first() {
        let mut scan = InterpreterScan::default();
        for (path, dir) in [
            ("usr/bin/python3.9", false),
            ("usr/bin/python3.11", false),
            ("var/lang/bin/python3.12-config", false),
            ("var/lang/bin/python3", false),
            ("var/lang/lib/python3.13", true),
        ] {
            scan.observe(Path::new(path), dir);
        }
        assert_eq!(scan.runtime(), Some(Runtime::Python311));
        let mut layer = InterpreterScan::default();
        layer.observe(Path::new("var/lang/bin/python3.12"), false);
        layer.observe(Path::new("usr/local/bin/python3.13"), false);
        let note = layer.to_note();
        assert_eq!(note, "0:python3.12");
        scan.merge(&InterpreterScan::from_note(&note).unwrap());
        assert_eq!(scan.runtime(), Some(Runtime::Python312));
        assert_eq!(InterpreterScan::from_note("").unwrap().runtime(), None);
        assert!(InterpreterScan::from_note("9:python3.12").is_none());
        assert!(InterpreterScan::from_note("0:cobol").is_none());
    }

    #[test]
    fn the_runtime_comes_from_the_label_then_the_interpreter_then_the_default() {
        let default = RuntimeKind::Python(Runtime::Python313);
        let labelled = ImageSettings {
            runtime_label: Some("python3.11".into()),
            ..ImageSettings::default()
        };
        assert_eq!(
            choose_runtime(&labelled, Some(Runtime::Python312), default, "x"),
            RuntimeChoice::Label(RuntimeKind::Python(Runtime::Python311))
        );
        let bare = ImageSettings::default();
        assert_eq!(
            choose_runtime(&bare, Some(Runtime::Python312), default, "x").runtime(default),
            RuntimeKind::Python(Runtime::Python312)
        );
        let RuntimeChoice::Default(warning) = choose_runtime(&bare, None, default, "img") else {
            panic!("no default");
        };
        assert!(
            warning.contains("img") && warning.contains("python3.13"),
            "{warning}"
        );
        assert!(warning.contains(RUNTIME_LABEL), "{warning}");
        let mislabelled = ImageSettings {
            runtime_label: Some("cobol".into()),
            ..ImageSettings::default()
        };
        let RuntimeChoice::Default(warning) = choose_runtime(&mislabelled, None, default, "img")
        else {
            panic!("no default");
        };
        assert!(warning.contains("`cobol`"), "{warning}");
    }
}
