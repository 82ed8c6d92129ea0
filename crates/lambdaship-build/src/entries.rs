//! Turns collected files into archive entries: content checks, bytecode, compression.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::archive::{ArchiveEntry, CompressedFile};
use crate::bytecode::{BytecodeCompiler, CompileFailure, CompileJob, RunningCompile};
use crate::cache::{Cache, KeyBuilder};
use crate::elf::{elf_machine, machine_name};
use crate::error::BuildError;
use crate::platform::Target;
use crate::tree::TreeFile;

/// How a set of files becomes entries.
pub(crate) struct EntryOptions<'a> {
    /// Compiles .py files, when bytecode is on and an interpreter was found.
    pub compiler: Option<&'a BytecodeCompiler>,
    /// The directory Lambda sees the files under, e.g. `/var/task`.
    pub shown_root: &'a str,
    /// Where compiled .pyc are written before they are read back.
    pub staging: &'a Path,
    /// The target native code must match.
    pub target: Target,
    /// The function named in errors.
    pub function: &'a str,
    /// Per-file caches for compression and bytecode: worth it for app code that is rebuilt
    /// often, not for dependency sets that are cached as a whole.
    pub file_cache: Option<&'a Cache>,
    /// Rewrite console-script shebangs under `bin/`, which point at the build machine's
    /// interpreter, to `/usr/bin/env python3`.
    pub portable_scripts: bool,
}

/// A file read and checked, ready to compress.
struct LoadedFile {
    relative: String,
    executable: bool,
    content: Vec<u8>,
}

/// The entries for `files` and their .pyc, and the sources that did not compile. Files are
/// compressed while the interpreter compiles.
pub(crate) fn build_entries(
    files: &[TreeFile],
    options: &EntryOptions<'_>,
) -> Result<(Vec<ArchiveEntry>, Vec<CompileFailure>), BuildError> {
    let mut loaded = files
        .par_iter()
        .map(|file| load(file, options))
        .collect::<Result<Vec<_>, _>>()?;
    if options.portable_scripts {
        update_records(&mut loaded);
    }
    let bytecode = match options.compiler {
        Some(compiler) => Some(start_compile(files, &loaded, compiler, options)?),
        None => None,
    };
    let mut entries = compress(loaded, options)?;
    let mut failures = Vec::new();
    if let Some(bytecode) = bytecode {
        let (pyc_files, compile_failures) = bytecode.finish(options)?;
        entries.extend(compress(pyc_files, options)?);
        failures = compile_failures;
    }
    Ok((entries, failures))
}

fn compress(
    files: Vec<LoadedFile>,
    options: &EntryOptions<'_>,
) -> Result<Vec<ArchiveEntry>, BuildError> {
    files
        .into_par_iter()
        .map(|file| {
            let compressed = match options.file_cache {
                Some(cache) => cache.compressed(&file.content)?,
                None => CompressedFile::compress(&file.content)
                    .map_err(|e| BuildError::io("cannot compress", &file.relative, e))?,
            };
            Ok(ArchiveEntry {
                path: file.relative,
                executable: file.executable,
                file: compressed,
            })
        })
        .collect()
}

fn load(file: &TreeFile, options: &EntryOptions<'_>) -> Result<LoadedFile, BuildError> {
    let mut content =
        std::fs::read(&file.path).map_err(|e| BuildError::io("cannot read", &file.path, e))?;
    if let Some(machine) = elf_machine(&content)
        && machine != options.target.elf_machine()
    {
        return Err(BuildError::WrongArchitecture {
            file: file.relative.clone(),
            found: machine_name(machine),
            expected: options.target.architecture.to_string(),
            function: options.function.to_string(),
        });
    }
    if options.portable_scripts && file.relative.starts_with("bin/") {
        content = portable_shebang(content);
    }
    Ok(LoadedFile {
        relative: file.relative.clone(),
        executable: file.executable,
        content,
    })
}

/// Brings the `RECORD` of each installed distribution in line with the scripts whose
/// shebang was made portable. Without this the RECORD keeps the hash of the launcher uv
/// wrote, which names the build machine's interpreter, and the archive would depend on where
/// that interpreter lives.
fn update_records(loaded: &mut [LoadedFile]) {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let scripts: std::collections::HashMap<String, String> = loaded
        .iter()
        .filter(|file| file.relative.starts_with("bin/"))
        .map(|file| {
            let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(&file.content));
            (
                file.relative.clone(),
                format!("sha256={digest},{}", file.content.len()),
            )
        })
        .collect();
    if scripts.is_empty() {
        return;
    }
    for record in loaded
        .iter_mut()
        .filter(|file| file.relative.ends_with(".dist-info/RECORD"))
    {
        let Ok(text) = std::str::from_utf8(&record.content) else {
            continue;
        };
        let mut changed = false;
        let mut updated = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let path = line.split(',').next().unwrap_or_default();
            match scripts.get(path) {
                Some(hash_and_size) => {
                    let ending = if line.ends_with("\r\n") {
                        "\r\n"
                    } else if line.ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    };
                    updated.push_str(&format!("{path},{hash_and_size}{ending}"));
                    changed = true;
                }
                None => updated.push_str(line),
            }
        }
        if changed {
            record.content = updated.into_bytes();
        }
    }
}

/// Replaces a Python launcher line that names the build machine's interpreter with one that
/// finds the runtime's `python3` on PATH. uv writes either `#!/path/to/python` or, for long
/// paths, a `/bin/sh` trampoline that `exec`s it.
fn portable_shebang(content: Vec<u8>) -> Vec<u8> {
    const PORTABLE: &[u8] = b"#!/usr/bin/env python3\n";
    const TRAMPOLINE: &[u8] = b"#!/bin/sh\n'''exec' ";
    if content.starts_with(TRAMPOLINE) {
        let end = content
            .windows(5)
            .position(|w| w == b"' '''")
            .and_then(|at| {
                content[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|nl| at + nl + 1)
            });
        if let Some(end) = end {
            return [PORTABLE, &content[end..]].concat();
        }
    }
    let Some(first_line_end) = content.iter().position(|&b| b == b'\n') else {
        return content;
    };
    let first = &content[..first_line_end];
    if first.starts_with(b"#!") && first.windows(6).any(|w| w == b"python") {
        return [PORTABLE, &content[first_line_end + 1..]].concat();
    }
    content
}

/// Bytecode being produced: .pyc already cached, and compiler processes at work.
struct PendingBytecode {
    ready: Vec<LoadedFile>,
    /// Archive path, compiler output file and cache key of each .pyc being compiled.
    compiling: Vec<(String, PathBuf, String)>,
    running: RunningCompile,
}

/// Starts compiling the .py files among `loaded`, taking cached .pyc when there is a file
/// cache.
fn start_compile(
    files: &[TreeFile],
    loaded: &[LoadedFile],
    compiler: &BytecodeCompiler,
    options: &EntryOptions<'_>,
) -> Result<PendingBytecode, BuildError> {
    let mut ready = Vec::new();
    let mut jobs = Vec::new();
    let mut compiling = Vec::new();
    for (file, source) in files.iter().zip(loaded) {
        let Some(pyc_path) = compiler.pyc_path(&source.relative) else {
            continue;
        };
        let shown_as = format!("{}/{}", options.shown_root, source.relative);
        let key = KeyBuilder::new("pyc")
            .add(&source.content)
            .add_str(&shown_as)
            .add_str(compiler.cache_tag())
            .finish();
        if let Some(pyc) = options.file_cache.and_then(|cache| cache.pyc(&key)) {
            ready.push(LoadedFile {
                relative: pyc_path,
                executable: false,
                content: pyc,
            });
            continue;
        }
        let output = options.staging.join("pyc").join(&pyc_path);
        jobs.push(CompileJob {
            source: file.path.clone(),
            output: output.clone(),
            shown_as,
        });
        compiling.push((pyc_path, output, key));
    }
    Ok(PendingBytecode {
        ready,
        compiling,
        running: compiler.start(&jobs)?,
    })
}

impl PendingBytecode {
    /// Waits for the compiler and reads back what it wrote.
    fn finish(
        self,
        options: &EntryOptions<'_>,
    ) -> Result<(Vec<LoadedFile>, Vec<CompileFailure>), BuildError> {
        let failures = self.running.wait()?;
        let mut ready = self.ready;
        for (pyc_path, output, key) in self.compiling {
            // A source that failed to compile has no .pyc: it is shipped as source only.
            let Ok(pyc) = std::fs::read(&output) else {
                continue;
            };
            if let Some(cache) = options.file_cache {
                cache.put_pyc(&key, &pyc)?;
            }
            ready.push(LoadedFile {
                relative: pyc_path,
                executable: false,
                content: pyc,
            });
        }
        Ok((ready, failures))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_the_rewritten_scripts() {
        let script = b"#!/usr/bin/env python3\nprint(1)\n".to_vec();
        let mut loaded = vec![
            LoadedFile {
                relative: "bin/tool".to_string(),
                executable: true,
                content: script,
            },
            LoadedFile {
                relative: "tool-1.0.dist-info/RECORD".to_string(),
                executable: false,
                content: b"bin/tool,sha256=machine-specific,99\ntool/__init__.py,sha256=abc,3\ntool-1.0.dist-info/RECORD,,\n".to_vec(),
            },
        ];
        update_records(&mut loaded);
        assert_eq!(
            String::from_utf8(loaded[1].content.clone()).unwrap(),
            "bin/tool,sha256=yoZC_hZLX4yhzpUE-RLKTlCRyn-GVKrps9SQ9_XYmGc,32\ntool/__init__.py,sha256=abc,3\ntool-1.0.dist-info/RECORD,,\n"
        );
    }

    #[test]
    fn script_shebangs_become_portable() {
        let direct = b"#!/root/.venv/bin/python\nimport sys\n".to_vec();
        assert_eq!(
            portable_shebang(direct),
            b"#!/usr/bin/env python3\nimport sys\n"
        );
        let trampoline =
            b"#!/bin/sh\n'''exec' '/very/long/python' \"$0\" \"$@\"\n' '''\nimport sys\n".to_vec();
        assert_eq!(
            portable_shebang(trampoline),
            b"#!/usr/bin/env python3\nimport sys\n"
        );
        let shell = b"#!/bin/sh\necho hi\n".to_vec();
        assert_eq!(portable_shebang(shell.clone()), shell);
    }
}
