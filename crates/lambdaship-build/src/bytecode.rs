//! Bytecode for fast cold starts: unchecked-hash .pyc compiled by an interpreter of the
//! runtime's exact minor version, recording the paths Lambda will see.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde::Deserialize;

use crate::cache::{Cache, KeyBuilder};
use crate::error::BuildError;
use crate::uv::Uv;

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

    /// Starts compiling `jobs`, several interpreters at once when there are many; the caller
    /// can do other work until [`RunningCompile::wait`].
    pub fn start(&self, jobs: &[CompileJob]) -> Result<RunningCompile, BuildError> {
        let mut running = RunningCompile {
            python: self.python.display().to_string(),
            children: Vec::new(),
        };
        if jobs.is_empty() {
            return Ok(running);
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = jobs.len().div_ceil(FILES_PER_WORKER).clamp(1, cores);
        let mut chunks: Vec<Vec<&CompileJob>> = vec![Vec::new(); workers];
        for (index, job) in jobs.iter().enumerate() {
            chunks[index % workers].push(job);
        }
        let spawn_error = |source| BuildError::Spawn {
            program: self.python.display().to_string(),
            source,
        };
        for chunk in &chunks {
            let mut child = Command::new(&self.python)
                .args(["-I", "-S", "-B", "-c", COMPILE_SCRIPT])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(spawn_error)?;
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
            // The script reads all of stdin before writing anything, so this cannot block on
            // a full stdout pipe.
            let written = payload.and_then(|payload| {
                let mut stdin = child
                    .stdin
                    .take()
                    .ok_or_else(|| std::io::Error::other("no stdin"))?;
                stdin.write_all(&payload)
            });
            running.children.push(child);
            written.map_err(spawn_error)?;
        }
        Ok(running)
    }
}

/// Compiler processes at work.
#[derive(Debug)]
pub struct RunningCompile {
    python: String,
    children: Vec<Child>,
}

impl RunningCompile {
    /// Waits for every process; returns the sources that did not compile.
    pub fn wait(self) -> Result<Vec<CompileFailure>, BuildError> {
        let mut failures = Vec::new();
        for child in self.children {
            let output = child
                .wait_with_output()
                .map_err(|source| BuildError::Spawn {
                    program: self.python.clone(),
                    source,
                })?;
            let parsed: Option<ScriptOutput> = serde_json::from_slice(&output.stdout).ok();
            let Some(parsed) = parsed.filter(|_| output.status.success()) else {
                return Err(BuildError::Compiler {
                    python: self.python.clone(),
                    message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                });
            };
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

/// The compiler for Python 3.`minor`: the interpreter found last time when it is unchanged
/// (`uv python find` inspects every interpreter on the machine, which costs more than a
/// whole incremental build), else a fresh `uv python find`.
pub fn find_compiler(uv: &Uv, minor: u8, cwd: &Path, cache: &Cache) -> Option<BytecodeCompiler> {
    let key = KeyBuilder::new("python").add(&[minor]).finish();
    if let Some(remembered) = cache.text(&key) {
        let mut lines = remembered.lines();
        if let (Some(path), Some(tag), Some(stamp)) = (lines.next(), lines.next(), lines.next())
            && file_stamp(Path::new(path)).as_deref() == Some(stamp)
        {
            return Some(BytecodeCompiler {
                python: PathBuf::from(path),
                cache_tag: tag.to_string(),
            });
        }
    }
    let compiler = BytecodeCompiler::new(uv.find_python(minor, cwd)?, minor)?;
    if let Some(stamp) = file_stamp(&compiler.python) {
        let record = format!(
            "{}\n{}\n{stamp}\n",
            compiler.python.display(),
            compiler.cache_tag
        );
        // Remembering is an optimisation: a cache that cannot be written costs only time.
        let _ = cache.put_text(&key, &record);
    }
    Some(compiler)
}

/// Size and modification time of the file `path` resolves to.
fn file_stamp(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let modified = metadata
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{} {}", metadata.len(), modified.as_nanos()))
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
