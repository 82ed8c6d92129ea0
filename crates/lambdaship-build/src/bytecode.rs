//! Bytecode for fast cold starts: unchecked-hash .pyc compiled by an interpreter of the
//! runtime's exact minor version, recording the paths Lambda will see.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::cache::{Cache, KeyBuilder, file_stamp};
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
            let mut payload = Vec::new();
            for job in chunk {
                let fields = [
                    job.source.as_os_str(),
                    job.output.as_os_str(),
                    OsStr::new(&job.shown_as),
                ];
                for field in fields {
                    payload.extend_from_slice(field.as_bytes());
                    payload.push(0);
                }
            }
            // The script reads all of stdin before writing anything, so this cannot block on
            // a full stdout pipe.
            let written = child
                .stdin
                .take()
                .ok_or_else(|| std::io::Error::other("no stdin"))
                .and_then(|mut stdin| stdin.write_all(&payload));
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
            // stdout: the cache tag, then (source, message) pairs, each NUL-terminated.
            let mut fields = output.stdout.split(|&b| b == 0);
            if !output.status.success() || fields.next().is_none_or(<[u8]>::is_empty) {
                return Err(BuildError::Compiler {
                    python: self.python.clone(),
                    message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                });
            }
            while let (Some(source), Some(message)) = (fields.next(), fields.next()) {
                failures.push(CompileFailure {
                    source: PathBuf::from(OsStr::from_bytes(source)),
                    message: String::from_utf8_lossy(message).into_owned(),
                });
            }
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

    /// The fast compile script must write exactly what py_compile writes.
    #[test]
    fn script_output_matches_py_compile_and_reports_bad_sources() {
        let compiler = BytecodeCompiler::new(PathBuf::from("python3"), 11)
            .expect("the machine's python3 is CPython 3.11");
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("good.py");
        let bad = dir.path().join("bad.py");
        std::fs::write(
            &good,
            "import os\n\ndef f(x):\n    return [i * x for i in range(3)]\n",
        )
        .expect("write");
        std::fs::write(&bad, "print 'python 2'\n").expect("write");
        let jobs: Vec<CompileJob> = [&good, &bad]
            .into_iter()
            .map(|source| CompileJob {
                source: source.clone(),
                output: dir
                    .path()
                    .join("out")
                    .join(source.file_name().expect("name")),
                shown_as: format!(
                    "/var/task/{}",
                    source.file_name().expect("name").to_string_lossy()
                ),
            })
            .collect();
        let failures = compiler.start(&jobs).expect("start").wait().expect("wait");
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].source, bad);

        let reference = dir.path().join("reference.pyc");
        let status = Command::new("python3")
            .arg("-c")
            .arg("import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile='/var/task/good.py', doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)")
            .arg(&good)
            .arg(&reference)
            .status()
            .expect("python3 runs");
        assert!(status.success());
        assert_eq!(
            std::fs::read(&jobs[0].output).expect("compiled"),
            std::fs::read(&reference).expect("reference")
        );
    }
}
