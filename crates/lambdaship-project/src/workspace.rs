//! Finds the uv workspace a project belongs to: its root, lock file and members.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::ProjectError;
use crate::pyproject::{PyProject, WorkspaceTable};

/// The uv workspace (or the single project) that owns the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The directory holding uv.lock and the workspace's pyproject.toml.
    pub root: PathBuf,
    /// `root/uv.lock`.
    pub lock_file: PathBuf,
    /// Every member's directory (the root's own project included), sorted.
    pub members: Vec<PathBuf>,
    /// The project's package name when it is a member other than the root: `uv export
    /// --package` selects it.
    pub package: Option<String>,
}

impl Workspace {
    /// The files whose content decides what `uv export` prints: the lock and every member's
    /// pyproject.toml.
    pub fn lock_inputs(&self) -> Vec<PathBuf> {
        let mut inputs = vec![self.lock_file.clone()];
        let root_pyproject = self.root.join("pyproject.toml");
        inputs.push(root_pyproject.clone());
        inputs.extend(
            self.members
                .iter()
                .map(|member| member.join("pyproject.toml"))
                .filter(|path| *path != root_pyproject),
        );
        inputs
    }
}

/// Finds the workspace of the project in `project_dir` (canonical) named `name`.
pub(crate) fn locate(
    project_dir: &Path,
    name: &str,
    pyproject: &PyProject,
) -> Result<Workspace, ProjectError> {
    if let Some(table) = &pyproject.tool.uv.workspace {
        return workspace_at(project_dir, table, None);
    }
    for ancestor in project_dir.ancestors().skip(1) {
        let candidate = ancestor.join("pyproject.toml");
        if !candidate.is_file() {
            continue;
        }
        let parent = PyProject::read(&candidate)?;
        let Some(table) = &parent.tool.uv.workspace else {
            continue;
        };
        let members = expand_members(ancestor, table, &candidate)?;
        if members.iter().any(|member| member == project_dir) {
            return workspace_at(ancestor, table, Some(name.to_string()));
        }
        // uv stops at the first workspace root above a project; so do we.
        break;
    }
    Ok(Workspace {
        root: project_dir.to_path_buf(),
        lock_file: project_dir.join("uv.lock"),
        members: vec![project_dir.to_path_buf()],
        package: None,
    })
}

fn workspace_at(
    root: &Path,
    table: &WorkspaceTable,
    package: Option<String>,
) -> Result<Workspace, ProjectError> {
    let mut members = expand_members(root, table, &root.join("pyproject.toml"))?;
    members.push(root.to_path_buf());
    members.sort();
    members.dedup();
    Ok(Workspace {
        root: root.to_path_buf(),
        lock_file: root.join("uv.lock"),
        members,
        package,
    })
}

fn glob_set(patterns: &[String], path: &Path, field: &str) -> Result<GlobSet, ProjectError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern.trim_end_matches('/')).map_err(|e| {
            ProjectError::invalid(path, field, format!("bad glob `{pattern}`: {e}"))
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| ProjectError::invalid(path, field, e.to_string()))
}

/// The member directories matched by `members` and not by `exclude`: those holding a
/// pyproject.toml, as uv requires.
fn expand_members(
    root: &Path,
    table: &WorkspaceTable,
    pyproject: &Path,
) -> Result<Vec<PathBuf>, ProjectError> {
    let include = glob_set(&table.members, pyproject, "[tool.uv.workspace] members")?;
    let exclude = glob_set(&table.exclude, pyproject, "[tool.uv.workspace] exclude")?;
    let depth = table
        .members
        .iter()
        .map(|pattern| {
            if pattern.contains("**") {
                usize::MAX
            } else {
                pattern.trim_end_matches('/').split('/').count()
            }
        })
        .max()
        .unwrap_or(0);
    let mut members = Vec::new();
    let walker = walk_dirs(root, depth);
    for dir in walker {
        let Ok(relative) = dir.strip_prefix(root) else {
            continue;
        };
        if include.is_match(relative)
            && !exclude.is_match(relative)
            && dir.join("pyproject.toml").is_file()
        {
            members.push(dir);
        }
    }
    members.sort();
    Ok(members)
}

/// Directories under `root` down to `depth` levels, skipping hidden and virtual-env ones.
fn walk_dirs(root: &Path, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut frontier = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, level)) = frontier.pop() {
        if level >= depth {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "node_modules" || name == "__pycache__" {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
                frontier.push((entry.path(), level + 1));
            }
        }
    }
    found
}
