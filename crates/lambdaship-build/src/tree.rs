//! Collects the files of a source or install tree, leaving out what only a developer's
//! machine has: bytecode caches, VCS and tool directories, virtual environments.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// A file found in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Its path relative to the archive root it goes to, `/`-separated.
    pub relative: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Whether any execute bit is set.
    pub executable: bool,
}

/// Directory names never copied from a project tree.
const JUNK_DIRECTORIES: &[&str] = &[
    "__pycache__",
    ".git",
    ".hg",
    ".svn",
    ".venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    ".idea",
    ".vscode",
    ".aws-sam",
    "node_modules",
];

/// File names never copied from a project tree.
const JUNK_FILES: &[&str] = &[".DS_Store", "Thumbs.db"];

/// Whether a directory is host junk: a known tool directory, or a virtual environment (it
/// holds a `pyvenv.cfg`) whatever its name.
fn is_junk_directory(path: &Path, name: &str) -> bool {
    JUNK_DIRECTORIES.contains(&name)
        || name.ends_with(".egg-info")
        || path.join("pyvenv.cfg").is_file()
}

fn is_junk_file(name: &str) -> bool {
    JUNK_FILES.contains(&name) || name.ends_with(".pyc") || name.ends_with(".pyo")
}

/// The files under `root` (a directory or a single file), with `prefix` put before their
/// relative paths, junk left out, sorted by path.
pub fn collect(root: &Path, prefix: &str) -> io::Result<Vec<TreeFile>> {
    let mut files = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            if entry.depth() == 0 {
                return true;
            }
            if entry.file_type().is_dir() {
                !is_junk_directory(entry.path(), &name)
            } else {
                !is_junk_file(&name)
            }
        });
    for entry in walker {
        // walkdir's message names the offending path.
        let entry = entry.map_err(io::Error::other)?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(root)
            .map_err(io::Error::other)?
            .to_string_lossy()
            .into_owned();
        let relative = if relative.is_empty() {
            // `root` is a single file: it keeps its own name.
            prefix.trim_end_matches('/').to_string()
        } else {
            format!("{prefix}{relative}")
        };
        let mode = entry
            .metadata()
            .map_err(io::Error::other)?
            .permissions()
            .mode();
        files.push(TreeFile {
            relative,
            path: entry.into_path(),
            executable: mode & 0o111 != 0,
        });
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk_is_left_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for path in [
            "app/main.py",
            "app/__pycache__/main.cpython-311.pyc",
            "app/stale.pyc",
            "app/.git/HEAD",
            "app/env/pyvenv.cfg",
            "app/env/lib/x.py",
            "app/data/.DS_Store",
            "app/data/table.csv",
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "x").expect("write");
        }
        let files = collect(&root.join("app"), "app/").expect("collect");
        let names: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["app/data/table.csv", "app/main.py"]);
    }

    #[test]
    fn a_single_file_keeps_its_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("lambda_function.py");
        std::fs::write(&file, "x").expect("write");
        let files = collect(&file, "lambda_function.py").expect("collect");
        assert_eq!(files[0].relative, "lambda_function.py");
    }
}
