//! Helpers for the end-to-end tests: run the real binary against copies of the examples,
//! with real uv and CPython, every process bounded in time.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod server;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A build cache shared by the tests of one run (the cache is safe to share).
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("lambdaship-cache")
}

/// Waits for `child`, killing it after `limit`.
pub fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().unwrap(),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "{what} took longer than {limit:?}; stderr:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("{what}: {error}"),
        }
    }
}

/// Runs `command` to completion within `limit`.
pub fn run(mut command: Command, limit: Duration, what: &str) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    wait_bounded(child, limit, what)
}

/// `lambdaship` with the shared cache.
pub fn lambdaship() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lambdaship"));
    command.env("LAMBDASHIP_CACHE_DIR", shared_cache());
    command
}

/// The result of one `lambdaship build`.
pub struct BuildRun {
    pub output: Output,
}

impl BuildRun {
    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The `artifacts` of the JSON report.
    pub fn artifacts(&self) -> Vec<Value> {
        assert!(self.success(), "build failed:\n{}", self.stderr());
        let report: Value = serde_json::from_slice(&self.output.stdout).unwrap();
        report["artifacts"].as_array().unwrap().clone()
    }

    /// The path of the artifact of `kind`.
    pub fn artifact(&self, kind: &str) -> PathBuf {
        let artifacts = self.artifacts();
        let artifact = artifacts
            .iter()
            .find(|a| a["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} artifact in {artifacts:?}"));
        PathBuf::from(artifact["path"].as_str().unwrap())
    }

    /// Asserts the build failed, said each of `phrases`, and wrote nothing.
    pub fn assert_failed_with(&self, project: &Path, phrases: &[&str]) {
        let stderr = self.stderr();
        assert!(!self.success(), "build should fail; stderr:\n{stderr}");
        for phrase in phrases {
            assert!(stderr.contains(phrase), "missing `{phrase}` in:\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !project.join("dist").exists(),
            "a failed build wrote into {}",
            project.join("dist").display()
        );
    }
}

/// Runs `lambdaship build DIR --json ARGS...`.
pub fn build(dir: &Path, args: &[&str]) -> BuildRun {
    build_with(lambdaship(), dir, args)
}

/// Runs `lambdaship build DIR --json ARGS...` from a prepared command.
pub fn build_with(mut command: Command, dir: &Path, args: &[&str]) -> BuildRun {
    command.arg("build").arg(dir).arg("--json").args(args);
    BuildRun {
        output: run(command, Duration::from_secs(600), "lambdaship build"),
    }
}

/// A copy of `examples/NAME` in a temporary directory, without build output.
pub fn copy_example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo_root().join("examples").join(name), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "dist" || name == ".venv" || name == "__pycache__" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Writes `text` to `dir/path`, creating directories.
pub fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Extracts `zip` with Python's zipfile into a new temporary directory.
pub fn unzip(zip: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new("python3");
    command
        .args(["-m", "zipfile", "-e"])
        .arg(zip)
        .arg(dir.path());
    let output = run(command, Duration::from_secs(120), "unzip");
    assert!(output.status.success(), "{:?}", output);
    dir
}

/// Runs a Python 3.11 script as Lambda would: no bytecode written, isolated from the user's
/// environment, with `path` as sys.path ahead of the standard library.
pub fn python(script: &str, path: &[&Path]) -> Output {
    let mut command = Command::new("python3.11");
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", std::env::join_paths(path).unwrap())
        .args(["-S", "-c", script]);
    let output = run(command, Duration::from_secs(120), "python3.11");
    assert!(
        output.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs uv (from PATH, as the tests' setup installs it) in `dir`.
pub fn uv(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("uv");
    command
        .current_dir(dir)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .args(args);
    let output = run(command, Duration::from_secs(300), "uv");
    assert!(
        output.status.success(),
        "uv {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// One zip entry as an archive reader sees it.
#[derive(Debug)]
pub struct ZipRecord {
    pub name: String,
    pub mode: u32,
    pub date: (u16, u8, u8),
    pub extra_fields: usize,
}

/// The entries of `zip`, in archive order.
pub fn zip_records(zip: &Path) -> Vec<ZipRecord> {
    let bytes = std::fs::read(zip).unwrap();
    let archive = rawzip::ZipArchive::from_slice(&bytes).unwrap();
    archive
        .entries()
        .map(|entry| {
            let entry = entry.unwrap();
            let date = entry.last_modified();
            ZipRecord {
                name: String::from_utf8(entry.file_path().as_ref().to_vec()).unwrap(),
                mode: entry.mode().value(),
                date: (date.year(), date.month(), date.day()),
                extra_fields: entry.extra_fields().count(),
            }
        })
        .collect()
}

/// The names of the entries of `zip`.
pub fn zip_names(zip: &Path) -> Vec<String> {
    zip_records(zip).into_iter().map(|r| r.name).collect()
}

/// SHA-256 of the artifacts of a build, by file name.
pub fn artifact_hashes(run: &BuildRun) -> Vec<(String, String)> {
    let mut hashes: Vec<_> = run
        .artifacts()
        .iter()
        .map(|a| {
            let path = PathBuf::from(a["path"].as_str().unwrap());
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                a["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    hashes.sort();
    hashes
}

/// `lambdaship build DIR --json ARGS`, with no Docker credentials from the machine.
pub fn build_image(dir: &Path, args: &[&str]) -> BuildRun {
    let mut command = lambdaship();
    command.env("DOCKER_CONFIG", dir.join(".no-docker-config"));
    build_with(command, dir, args)
}

/// What a successful `build --push --json` reports under `"pushed"`.
pub fn pushed(run: &BuildRun) -> Value {
    assert!(run.success(), "build failed:\n{}", run.stderr());
    let report: Value = serde_json::from_slice(&run.output.stdout).unwrap();
    report["pushed"].clone()
}

/// Writes a base image (an OCI layout shaped like the Lambda Python base image,
/// fixtures/make_base_image.py) at `dir/name` for `architecture` (`amd64` or `arm64`).
pub fn make_base_image(dir: &Path, name: &str, architecture: &str) -> PathBuf {
    let path = dir.join(name);
    let mut command = Command::new("python3");
    command
        .arg(repo_root().join("crates/lambdaship/tests/fixtures/make_base_image.py"))
        .arg(&path)
        .arg(architecture);
    let output = run(command, Duration::from_secs(60), "make_base_image.py");
    assert!(output.status.success(), "{output:?}");
    path
}

/// A small project in the image layout, `imagefn`: one handler module importing idna,
/// configured further by `tool` lines.
pub fn image_project(tool: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    write(project.path(), "requirements.txt", "idna==3.10\n");
    write(
        project.path(),
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    return idna.encode(event['host']).decode()\n",
    );
    write(
        project.path(),
        "pyproject.toml",
        &format!(
            "[tool.lambdaship]\nname = \"imagefn\"\nruntime = \"python3.11\"\nlayout = \"image\"\n{tool}"
        ),
    );
    project
}
