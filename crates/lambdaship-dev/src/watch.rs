//! Watches a project for edits worth a rebuild, and gathers an editor's burst of events
//! (write to a temporary file, rename, touch) into one.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use crate::DevError;

/// How long after the first relevant event further ones join the same rebuild. Editors
/// finish a save within a few milliseconds; a longer wait only delays the rebuild.
const SETTLE: Duration = Duration::from_millis(15);

/// Directories whose content never goes into a build.
const IGNORED_DIRECTORIES: [&str; 14] = [
    ".git",
    ".hg",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    "dist",
    "build",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    ".lambdaship",
    ".idea",
];

/// A file-system watcher over a project's directories.
pub struct ProjectWatcher {
    _watcher: notify::RecommendedWatcher,
    roots: Vec<PathBuf>,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
}

/// One settled burst of edits.
#[derive(Debug)]
pub struct Edits {
    /// The files that changed (deduplicated, in order of first change).
    pub paths: Vec<PathBuf>,
    /// When the first of them was seen.
    pub first_seen: Instant,
}

impl ProjectWatcher {
    /// Watches every directory in `roots`, recursively.
    pub fn new(roots: &[PathBuf]) -> Result<ProjectWatcher, DevError> {
        let (sender, events) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = sender.send(event);
        })
        .map_err(|e| DevError::Watch(e.to_string()))?;
        for root in roots {
            watcher
                .watch(root, RecursiveMode::Recursive)
                .map_err(|e| DevError::Watch(format!("{}: {e}", root.display())))?;
        }
        Ok(ProjectWatcher {
            _watcher: watcher,
            roots: roots.to_vec(),
            events,
        })
    }

    /// Blocks until files change, then returns them once the burst settles; `None` when the
    /// watcher has stopped.
    pub fn next(&self) -> Option<Edits> {
        let mut edits = Edits {
            paths: Vec::new(),
            first_seen: Instant::now(),
        };
        loop {
            let event = self.events.recv().ok()?;
            if collect(&self.roots, &mut edits.paths, event) {
                edits.first_seen = Instant::now();
                break;
            }
        }
        let deadline = edits.first_seen + SETTLE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    collect(&self.roots, &mut edits.paths, event);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Some(edits),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Some(edits),
            }
        }
    }
}

/// Adds the relevant paths of `event` to `paths`; whether there were any.
fn collect(
    roots: &[PathBuf],
    paths: &mut Vec<PathBuf>,
    event: notify::Result<notify::Event>,
) -> bool {
    let Ok(event) = event else {
        return false;
    };
    if !matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any
    ) {
        return false;
    }
    // Permission and timestamp changes do not change a build.
    if let EventKind::Modify(notify::event::ModifyKind::Metadata(_)) = event.kind {
        return false;
    }
    let mut any = false;
    for path in event.paths {
        // Only the part below the watched root counts: a project may itself live in a
        // directory called `build` or `venv`.
        let below = roots
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .unwrap_or(&path);
        if is_relevant(below) {
            any = true;
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    any
}

/// Whether an edit of `path` may change a build: not in a tool's or an environment's
/// directory, not an editor's swap or backup file, not bytecode.
pub fn is_relevant(path: &Path) -> bool {
    let ignored_directory = path.components().any(|component| {
        let name = component.as_os_str().to_string_lossy();
        IGNORED_DIRECTORIES.contains(&name.as_ref())
    });
    if ignored_directory {
        return false;
    }
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    let in_egg_info = path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().ends_with(".egg-info"));
    let editor_noise = in_egg_info
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".pyc")
        || name.starts_with(".#")
        || name == "4913"
        || name == ".DS_Store"
        || is_sed_temporary(&name);
    !editor_noise
}

/// `sed -i` writes its result to `sedXXXXXX` beside the file, then renames it.
fn is_sed_temporary(name: &str) -> bool {
    name.len() == 9
        && name.starts_with("sed")
        && name[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_source_edits_count() {
        assert!(is_relevant(Path::new("/p/app/main.py")));
        assert!(is_relevant(Path::new("/p/uv.lock")));
        assert!(!is_relevant(Path::new(
            "/p/app/__pycache__/main.cpython-311.pyc"
        )));
        assert!(!is_relevant(Path::new("/p/.venv/lib/x.py")));
        assert!(!is_relevant(Path::new("/p/dist/lambda/f.zip")));
        assert!(!is_relevant(Path::new("/p/app/.main.py.swp")));
        assert!(!is_relevant(Path::new("/p/app/main.py~")));
        assert!(!is_relevant(Path::new("/p/app/sedb3232F")));
        assert!(is_relevant(Path::new("/p/app/sedation.py")));
        assert!(!is_relevant(Path::new("lib/pkg.egg-info/PKG-INFO")));
        assert!(!is_relevant(Path::new("lib/build/lib/pkg/x.py")));
    }
}
