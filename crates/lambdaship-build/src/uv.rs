//! Drives uv, the resolver and installer: lambdaship never resolves or installs packages
//! itself. uv is never allowed to download an interpreter.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use lambdaship_project::{DependencySelection, Workspace};

use crate::cache::{Cache, KeyBuilder, file_stamp};
use crate::error::BuildError;
use crate::platform::Target;

/// A located uv.
#[derive(Debug, Clone)]
pub struct Uv {
    program: Vec<OsString>,
    /// `uv --version` output, e.g. `uv 0.13.9`.
    pub version: String,
}

impl Uv {
    /// Finds uv on PATH, or as `python3 -m uv`. The version of a uv on PATH is remembered
    /// in `cache` by the executable's size, time and inode, so a build does not start a
    /// process only to ask it.
    pub fn locate(cache: &Cache) -> Result<Uv, BuildError> {
        if let Some(path) = find_on_path("uv")
            && let Some(stamp) = file_stamp(&path)
        {
            let key = KeyBuilder::new("uv-version")
                .add_str(&path.display().to_string())
                .add_str(&stamp)
                .finish();
            if let Some(version) = cache.text(&key) {
                return Ok(Uv {
                    program: vec![path.into_os_string()],
                    version,
                });
            }
            if let Some(version) = version_of(&[path.clone().into_os_string()]) {
                // Remembering is an optimisation: a cache that cannot be written costs time.
                let _ = cache.put_text(&key, &version);
                return Ok(Uv {
                    program: vec![path.into_os_string()],
                    version,
                });
            }
        }
        let module: Vec<OsString> = ["python3", "-m", "uv"].map(OsString::from).to_vec();
        match version_of(&module) {
            Some(version) => Ok(Uv {
                program: module,
                version,
            }),
            None => Err(BuildError::UvMissing),
        }
    }

    fn command(&self, cwd: &Path) -> Command {
        let mut command = Command::new(&self.program[0]);
        command
            .args(&self.program[1..])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1")
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, mut command: Command, action: &str) -> Result<Output, BuildError> {
        let output = command.output().map_err(|source| BuildError::Spawn {
            program: format!("uv {action}"),
            source,
        })?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(BuildError::Uv {
                action: action.to_string(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// The locked, non-dev, non-editable requirements of the workspace's project, as uv.lock
    /// has them (`--frozen`); [`Uv::start_lock_check`] tells whether the lock is current.
    pub fn export(
        &self,
        workspace: &Workspace,
        selection: &DependencySelection,
    ) -> Result<String, BuildError> {
        let mut command = self.command(&workspace.root);
        command.args([
            "export",
            "--frozen",
            "--format",
            "requirements.txt",
            "--no-default-groups",
            "--no-editable",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--quiet",
        ]);
        if let Some(package) = &workspace.package {
            command.args(["--package", package]);
        }
        for group in &selection.groups {
            command.args(["--group", group]);
        }
        for extra in &selection.extras {
            command.args(["--extra", extra]);
        }
        let output = self.run(command, "export")?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Starts `uv lock --check` in the background: it costs a resolution, so the build goes
    /// on and [`LockCheck::finish`] is awaited before anything is written.
    pub fn start_lock_check(&self, workspace: &Workspace) -> Result<LockCheck, BuildError> {
        let mut command = self.command(&workspace.root);
        command
            .args(["lock", "--check", "--quiet"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn().map_err(|source| BuildError::Spawn {
            program: "uv lock --check".to_string(),
            source,
        })?;
        Ok(LockCheck {
            child,
            lock: workspace.lock_file.clone(),
            root: workspace.root.clone(),
        })
    }

    /// Resolves a requirements.txt for `target`, pinned and hashed.
    pub fn compile(&self, requirements: &Path, target: Target) -> Result<String, BuildError> {
        let dir = requirements.parent().unwrap_or(Path::new("."));
        let mut command = self.command(dir);
        command
            .args(["pip", "compile", "--quiet", "--no-header", "--no-annotate"])
            .args(["--generate-hashes", "--python-version"])
            .arg(target.runtime.python_version())
            .arg("--python-platform")
            .arg(target.uv_python_platform())
            .arg(requirements);
        let output = self.run(command, "pip compile")?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Installs the pinned `requirements` file into `site` for `target`, wheels only except
    /// for the packages not in `wheel_only`.
    pub fn install_pins(
        &self,
        requirements: &Path,
        site: &Path,
        target: Target,
        wheel_only: &[String],
    ) -> Result<(), BuildError> {
        let cwd = requirements.parent().unwrap_or(Path::new("."));
        let make = || {
            let mut command = self.install_command(cwd, target, site);
            for name in wheel_only {
                command.args(["--only-binary", name]);
            }
            command.arg("-r").arg(requirements);
            command
        };
        self.run_offline_first(make, Some(site), "pip install")
    }

    /// Installs the exact `packages` (`name==version` pins, no dependencies resolved) into
    /// `site` for `target`, wheels only.
    pub fn install_packages(
        &self,
        packages: &[&str],
        site: &Path,
        target: Target,
    ) -> Result<(), BuildError> {
        let cwd = site.parent().unwrap_or(Path::new("."));
        let make = || {
            let mut command = self.install_command(cwd, target, site);
            command.args(["--only-binary", ":all:"]).args(packages);
            command
        };
        self.run_offline_first(make, Some(site), "pip install")
    }

    /// Builds each local package in `paths` (relative to `base`) into a wheel from its
    /// current sources (`uv build` never reuses an old build), then installs the wheels into
    /// `site`.
    pub fn install_local(
        &self,
        base: &Path,
        paths: &[String],
        site: &Path,
        target: Target,
        staging: &Path,
    ) -> Result<(), BuildError> {
        let wheels = staging.join("wheels");
        for path in paths {
            let make = || {
                let mut command = self.command(base);
                command
                    .args(["build", "--wheel", "--quiet", "--no-create-gitignore"])
                    .arg("--out-dir")
                    .arg(&wheels)
                    .arg(path);
                command
            };
            self.run_offline_first(make, None, "build")?;
        }
        let mut built: Vec<PathBuf> = std::fs::read_dir(&wheels)
            .map_err(|e| BuildError::io("cannot read", &wheels, e))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
            .collect();
        built.sort();
        let make = || {
            let mut command = self.install_command(base, target, site);
            command.args(&built);
            command
        };
        self.run_offline_first(make, Some(site), "pip install")
    }

    /// Runs an install from uv's cache alone first, and over the network only when the cache
    /// cannot satisfy it. The pins are exact and hashed, so a cached index page can only make
    /// the offline attempt fail, never install something else; it saves the index round trips
    /// that dominate a warm install.
    fn run_offline_first(
        &self,
        make: impl Fn() -> Command,
        output: Option<&Path>,
        action: &str,
    ) -> Result<(), BuildError> {
        let mut offline = make();
        offline.arg("--offline");
        if self.run(offline, action).is_ok() {
            return Ok(());
        }
        if let Some(output) = output.filter(|output| output.exists()) {
            std::fs::remove_dir_all(output)
                .map_err(|e| BuildError::io("cannot clean", output, e))?;
        }
        self.run(make(), action)?;
        Ok(())
    }

    fn install_command(&self, cwd: &Path, target: Target, site: &Path) -> Command {
        let mut command = self.command(cwd);
        command
            .args(["pip", "install", "--quiet", "--no-deps"])
            .args(["--no-installer-metadata", "--no-compile-bytecode"])
            .arg("--python-version")
            .arg(target.runtime.python_version())
            .arg("--python-platform")
            .arg(target.uv_python_platform())
            .arg("--target")
            .arg(site);
        command
    }

    /// An interpreter of exactly Python `3.minor` on this machine, never downloaded.
    pub fn find_python(&self, minor: u8, cwd: &Path) -> Option<PathBuf> {
        let mut command = self.command(cwd);
        command
            .args(["python", "find", "--system", "--no-project"])
            .arg(format!("3.{minor}"));
        let output = command.output().ok()?;
        let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
        (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
    }
}

/// The first executable file named `name` in PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| {
            std::fs::metadata(path)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// `program --version`, when it runs and answers.
fn version_of(program: &[OsString]) -> Option<String> {
    let output = Command::new(&program[0])
        .args(&program[1..])
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !version.is_empty()).then_some(version)
}

/// A running `uv lock --check`.
#[derive(Debug)]
pub struct LockCheck {
    child: Child,
    lock: PathBuf,
    root: PathBuf,
}

impl LockCheck {
    /// Waits for the check: an out-of-date lock is [`BuildError::StaleLock`].
    pub fn finish(self) -> Result<(), BuildError> {
        let output = self
            .child
            .wait_with_output()
            .map_err(|source| BuildError::Spawn {
                program: "uv lock --check".to_string(),
                source,
            })?;
        if output.status.success() {
            return Ok(());
        }
        let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if message.contains("needs to be updated") {
            Err(BuildError::StaleLock {
                lock: self.lock,
                root: self.root,
            })
        } else {
            Err(BuildError::Uv {
                action: "lock --check".to_string(),
                message,
            })
        }
    }
}
