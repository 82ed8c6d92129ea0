//! Bytecode for fast cold starts: unchecked-hash .pyc compiled by an interpreter of the
//! runtime's exact minor version, recording the paths Lambda will see.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::error::BuildError;

/// The compile script, run with `python -I -S -B -c`.
const COMPILE_SCRIPT: &str = include_str!("../../../python/compile_bytecode.py");

/// Below this many files a second interpreter costs more than it saves.
const FILES_PER_WORKER: usize = 150;

/// One source to compile.
#[derive(Debug, Clone)]
pub struct CompileJob {
    /// The source file on disk.
    pub source: PathBuf,
    /// Where the .pyc goes.
    pub output: PathBuf,
    /// The path the code object records, e.g. `/var/task/app/main.py`.
    pub shown_as: String,
}

/// A source that did not compile (Python 2 code, templates, syntax errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileFailure {
    /// The source file.
    pub source: PathBuf,
    /// The compiler's message.
    pub message: String,
}

/// An interpreter able to compile for one runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytecodeCompiler {
    python: PathBuf,
    cache_tag: String,
}

#[derive(Deserialize)]
struct ScriptOutput {
    cache_tag: String,
    failed: Vec<(PathBuf, String)>,
}

impl BytecodeCompiler {
    /// A compiler using `python`, which must be CPython 3.`minor`.
    pub fn new(python: PathBuf, minor: u8) -> Option<Self> {
        let output = Command::new(&python)
            .args([
                "-I",
                "-S",
                "-B",
                "-c",
                "import sys; print(sys.implementation.cache_tag)",
            ])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let cache_tag = String::from_utf8_lossy(&output.stdout).trim().to_string();
        (output.status.success() && cache_tag == format!("cpython-3{minor}"))
            .then_some(BytecodeCompiler { python, cache_tag })
    }

    /// The interpreter's cache tag, e.g. `cpython-311`.
    pub fn cache_tag(&self) -> &str {
        &self.cache_tag
    }

    /// The archive path of the .pyc for the source at archive path `source`:
    /// `pkg/mod.py` -> `pkg/__pycache__/mod.cpython-311.pyc`.
    pub fn pyc_path(&self, source: &str) -> Option<String> {
        let stem = source.strip_suffix(".py")?;
        let (dir, name) = match stem.rsplit_once('/') {
            Some((dir, name)) => (format!("{dir}/"), name),
            None => (String::new(), stem),
        };
        Some(format!("{dir}__pycache__/{name}.{}.pyc", self.cache_tag))
    }

    /// Compiles `jobs`, several interpreters at once when there are many.
    pub fn compile(&self, jobs: &[CompileJob]) -> Result<Vec<CompileFailure>, BuildError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = jobs.len().div_ceil(FILES_PER_WORKER).clamp(1, cores);
        let mut chunks: Vec<Vec<&CompileJob>> = vec![Vec::new(); workers];
        for (index, job) in jobs.iter().enumerate() {
            chunks[index % workers].push(job);
        }
        let mut children = Vec::new();
        for chunk in &chunks {
            let mut child = Command::new(&self.python)
                .args(["-I", "-S", "-B", "-c", COMPILE_SCRIPT])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|source| BuildError::Spawn {
                    program: self.python.display().to_string(),
                    source,
                })?;
            let input: Vec<(&Path, &Path, &str)> = chunk
                .iter()
                .map(|job| {
                    (
                        job.source.as_path(),
                        job.output.as_path(),
                        job.shown_as.as_str(),
                    )
                })
                .collect();
            let payload = serde_json::to_vec(&input).map_err(std::io::Error::other);
            let written = payload.and_then(|payload| {
                let mut stdin = child
                    .stdin
                    .take()
                    .ok_or_else(|| std::io::Error::other("no stdin"))?;
                stdin.write_all(&payload)
            });
            written.map_err(|source| BuildError::Spawn {
                program: self.python.display().to_string(),
                source,
            })?;
            children.push(child);
        }
        let mut failures = Vec::new();
        for child in children {
            let output = child
                .wait_with_output()
                .map_err(|source| BuildError::Spawn {
                    program: self.python.display().to_string(),
                    source,
                })?;
            let parsed: Option<ScriptOutput> = serde_json::from_slice(&output.stdout).ok();
            let Some(parsed) = parsed.filter(|_| output.status.success()) else {
                return Err(BuildError::Compiler {
                    python: self.python.display().to_string(),
                    message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                });
            };
            debug_assert_eq!(parsed.cache_tag, self.cache_tag);
            failures.extend(
                parsed
                    .failed
                    .into_iter()
                    .map(|(source, message)| CompileFailure { source, message }),
            );
        }
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiler() -> BytecodeCompiler {
        BytecodeCompiler {
            python: PathBuf::from("python3"),
            cache_tag: "cpython-311".to_string(),
        }
    }

    #[test]
    fn pyc_paths_follow_pep_3147() {
        let compiler = compiler();
        assert_eq!(
            compiler.pyc_path("app/main.py").as_deref(),
            Some("app/__pycache__/main.cpython-311.pyc")
        );
        assert_eq!(
            compiler.pyc_path("six.py").as_deref(),
            Some("__pycache__/six.cpython-311.pyc")
        );
        assert_eq!(compiler.pyc_path("data.json"), None);
    }
}
