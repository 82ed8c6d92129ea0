//! The managed Python runtime: an interpreter of the runtime's exact version and the
//! pinned awslambdaric, installed once per version into the cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lambdaship_build::{Cache, KeyBuilder, Target, Uv};
use lambdaship_project::{Architecture, Runtime};

use crate::error::RuntimeError;

/// The script the interpreter runs: it sets the import path and starts awslambdaric.
const BOOTSTRAP: &str = include_str!("../../../python/lambda_bootstrap.py");

/// The awslambdaric release for python3.10 and later (its wheels cover 3.10-3.14).
const AWSLAMBDARIC: &str = "4.2.2";
/// The last awslambdaric release with python3.9 wheels.
const AWSLAMBDARIC_PY39: &str = "4.0.4";
/// awslambdaric's own dependencies, pinned so every machine runs the same client.
const CLIENT_DEPENDENCIES: [&str; 2] = ["simplejson==3.20.2", "snapshot-restore-py==1.0.0"];

/// A ready managed Python runtime.
#[derive(Debug, Clone)]
pub struct PythonRuntime {
    /// The interpreter, of the runtime's exact minor version.
    pub interpreter: PathBuf,
    /// The runtime directory (`LAMBDA_RUNTIME_DIR`): awslambdaric, the bootstrap script and
    /// the zygote's script.
    pub runtime_dir: PathBuf,
}

/// The pinned awslambdaric version for `runtime`.
pub fn awslambdaric_version(runtime: Runtime) -> &'static str {
    if runtime.minor() == 9 {
        AWSLAMBDARIC_PY39
    } else {
        AWSLAMBDARIC
    }
}

/// Finds the interpreter and installs the runtime client for `runtime` on this machine's
/// architecture, once: later calls find both in the cache without starting a process.
pub fn provision(cache: &Cache, runtime: Runtime) -> Result<PythonRuntime, RuntimeError> {
    let version = awslambdaric_version(runtime);
    let architecture = host_architecture();
    let interpreter = find_interpreter(cache, runtime)?;
    let runtime_dir = cache.root().join("runtimes").join(format!(
        "{runtime}-{}-awslambdaric-{version}-{}",
        architecture.machine(),
        &KeyBuilder::new("bootstrap")
            .add_str(BOOTSTRAP)
            .add_str(crate::zygote::SCRIPT)
            .finish()[..12]
    ));
    if !runtime_dir.join("bootstrap.py").is_file() {
        install_client(cache, runtime, architecture, &interpreter, &runtime_dir)?;
    }
    Ok(PythonRuntime {
        interpreter,
        runtime_dir,
    })
}

/// The architecture this machine runs natively.
pub fn host_architecture() -> Architecture {
    if cfg!(target_arch = "aarch64") {
        Architecture::Arm64
    } else {
        Architecture::X86_64
    }
}

/// An interpreter of exactly `3.minor`, remembered in the cache while it exists.
pub fn find_interpreter(cache: &Cache, runtime: Runtime) -> Result<PathBuf, RuntimeError> {
    let key = KeyBuilder::new("interpreter")
        .add_str(&runtime.to_string())
        .finish();
    if let Some(path) = cache.text(&key).map(PathBuf::from)
        && path.is_file()
    {
        return Ok(path);
    }
    let uv = Uv::locate(cache)?;
    let cwd = std::env::temp_dir();
    let path = uv
        .find_python(runtime.minor(), &cwd)
        .ok_or(RuntimeError::NoInterpreter {
            minor: runtime.minor(),
        })?;
    // Remembering is an optimisation: a cache that cannot be written costs time.
    let _ = cache.put_text(&key, &path.display().to_string());
    Ok(path)
}

/// Installs awslambdaric and the bootstrap into a staging directory, compiles their
/// bytecode (the runtime directory is never written at run time), then renames it into place.
fn install_client(
    cache: &Cache,
    runtime: Runtime,
    architecture: Architecture,
    interpreter: &Path,
    runtime_dir: &Path,
) -> Result<(), RuntimeError> {
    let version = awslambdaric_version(runtime);
    let parent = runtime_dir.parent().unwrap_or(cache.root());
    std::fs::create_dir_all(parent).map_err(|e| RuntimeError::io("cannot create", parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".install-")
        .tempdir_in(parent)
        .map_err(|e| RuntimeError::io("cannot create a directory in", parent, e))?;
    let site = staging.path().join("runtime");
    let uv = Uv::locate(cache)?;
    let client = format!("awslambdaric=={version}");
    let mut packages = vec![client.as_str()];
    packages.extend(CLIENT_DEPENDENCIES);
    uv.install_packages(
        &packages,
        &site,
        Target {
            runtime,
            architecture,
        },
    )
    .map_err(|source| RuntimeError::RuntimeClient {
        version,
        minor: runtime.minor(),
        source: Box::new(source),
    })?;
    let script = site.join("bootstrap.py");
    std::fs::write(&script, BOOTSTRAP).map_err(|e| RuntimeError::io("cannot write", &script, e))?;
    let zygote = site.join(crate::zygote::SCRIPT_NAME);
    std::fs::write(&zygote, crate::zygote::SCRIPT)
        .map_err(|e| RuntimeError::io("cannot write", &zygote, e))?;
    let compiled = Command::new(interpreter)
        .args(["-m", "compileall", "-q", "-j", "0"])
        .arg(&site)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status();
    if !compiled.is_ok_and(|status| status.success()) {
        // Without bytecode the client still runs, only its import is slower.
        eprintln!(
            "warning: could not compile the runtime client's bytecode with {}",
            interpreter.display()
        );
    }
    if let Err(error) = std::fs::rename(&site, runtime_dir)
        && !runtime_dir.join("bootstrap.py").is_file()
    {
        return Err(RuntimeError::io("cannot create", runtime_dir, error));
    }
    Ok(())
}
