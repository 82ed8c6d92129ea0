//! The project model: reads a Python project (pyproject.toml with `[project]`,
//! `[dependency-groups]`, `[build-system]`, `[tool.uv.workspace]`, `[tool.uv.sources]` and
//! `[tool.lambdaship]`; uv.lock; or a bare requirements.txt) into the Lambda functions it
//! defines and the dependency set they share.
//!
//! Nothing here runs a program or writes a file: the build crate does that.

mod base_image;
mod config;
mod error;
mod function;
mod http;
mod image_repository;
mod lock;
mod pyproject;
mod target;
mod web;
mod workspace;

use std::path::{Path, PathBuf};

pub use base_image::{BASE_IMAGE_FORMS, BaseImageSource};
pub use config::{
    DEFAULT_HANDLER, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, DependencySelection, Overrides,
};
pub use error::ProjectError;
pub use function::{FunctionSpec, Handler, check_bucket_name, check_role};
pub use http::{Api, CorsConfig, HttpConfig, MediaType, PayloadFormat, Stage, UrlInvokeMode};
pub use image_repository::{IMAGE_REPOSITORY_FORMS, ImageRepository};
pub use lock::{LockFile, LockedPackage};
pub use pyproject::normalize_package_name;
pub use target::{Architecture, Layout, Runtime, RuntimeOs};
pub use web::{ADAPTER_LAYER_PATH, DEFAULT_WEB_PORT, EXEC_WRAPPER_PATH, WEB_HANDLER, WebApp};
pub use workspace::Workspace;

use config::ConfigResolver;
use pyproject::PyProject;

/// Where a project's third-party dependencies are pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependencies {
    /// A uv project: uv.lock in the workspace root pins everything.
    Locked(Workspace),
    /// A requirements.txt, resolved by uv for the target at build time.
    Requirements(PathBuf),
}

/// A project and the Lambda functions it defines.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project directory (canonical).
    pub dir: PathBuf,
    /// The pyproject.toml holding the configuration, when there is one.
    pub pyproject: Option<PathBuf>,
    /// The project name (`[project].name`, or the directory name).
    pub name: String,
    /// Where the dependencies are pinned.
    pub dependencies: Dependencies,
    /// Dependency groups and extras installed with the project's dependencies.
    pub selection: DependencySelection,
    /// Whether the project itself is a package to build and install (`[build-system]`).
    pub has_build_system: bool,
    /// The functions, in definition order (sorted by name for function tables).
    pub functions: Vec<FunctionSpec>,
}

impl Project {
    /// Reads the project in `dir`, applying `overrides` to every function.
    pub fn load(dir: &Path, overrides: &Overrides) -> Result<Project, ProjectError> {
        if !dir.is_dir() {
            return Err(ProjectError::NoDirectory {
                dir: dir.to_path_buf(),
            });
        }
        let dir = dir.canonicalize().map_err(|e| ProjectError::io(dir, e))?;
        let pyproject_path = dir.join("pyproject.toml");
        let requirements = dir.join("requirements.txt");
        let pyproject = if pyproject_path.is_file() {
            Some(PyProject::read(&pyproject_path)?)
        } else if requirements.is_file() {
            None
        } else {
            return Err(ProjectError::NoProject { dir });
        };
        let pyproject = pyproject.unwrap_or_default();
        let dir_name = dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".to_string());
        let name = pyproject
            .project
            .as_ref()
            .and_then(|project| project.name.clone())
            .unwrap_or(dir_name);
        let default_function_name = function::sanitize_function_name(&name);
        let config_path = if pyproject_path.is_file() {
            pyproject_path.clone()
        } else {
            requirements.clone()
        };

        let dependencies = if pyproject.project.is_some() {
            let workspace = workspace::locate(&dir, &name, &pyproject)?;
            if !workspace.lock_file.is_file() {
                return Err(ProjectError::MissingLock {
                    lock: workspace.lock_file,
                    root: workspace.root,
                });
            }
            check_path_sources(&pyproject, &pyproject_path, &dir)?;
            Dependencies::Locked(workspace)
        } else if requirements.is_file() {
            Dependencies::Requirements(requirements)
        } else {
            return Err(ProjectError::invalid(
                &pyproject_path,
                "[project]",
                "no [project] table and no requirements.txt beside it: add a [project] table with the dependencies (`uv init`), or a requirements.txt",
            ));
        };

        let has_build_system = pyproject.build_system.is_some();
        let raw = pyproject.tool.lambdaship.clone().unwrap_or_default();
        let resolver = ConfigResolver {
            path: &config_path,
            default_name: &default_function_name,
            overrides,
            project_dir: &dir,
            has_build_system,
        };
        let functions = resolver.functions(&raw)?;
        let selection = resolver.dependency_selection(&raw);
        check_selection(&pyproject, &selection, &config_path)?;

        Ok(Project {
            pyproject: pyproject_path.is_file().then_some(pyproject_path),
            dir,
            name,
            dependencies,
            selection,
            has_build_system,
            functions,
        })
    }

    /// The functions to build: the one named, or all of them.
    pub fn select(&self, name: Option<&str>) -> Result<Vec<&FunctionSpec>, ProjectError> {
        let Some(name) = name else {
            return Ok(self.functions.iter().collect());
        };
        match self.functions.iter().find(|f| f.name == name) {
            Some(function) => Ok(vec![function]),
            None => Err(ProjectError::UnknownFunction {
                name: name.to_string(),
                path: self
                    .pyproject
                    .clone()
                    .unwrap_or_else(|| self.dir.join("requirements.txt")),
                available: self
                    .functions
                    .iter()
                    .map(|f| format!("`{}`", f.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// Every `[tool.uv.sources]` path must exist, or uv fails later with a less direct message.
fn check_path_sources(pyproject: &PyProject, path: &Path, dir: &Path) -> Result<(), ProjectError> {
    for (name, source) in pyproject.path_sources() {
        if !dir.join(source).exists() {
            return Err(ProjectError::invalid(
                path,
                format!("[tool.uv.sources] {name}"),
                format!("path `{source}` does not exist: fix the path or remove the source"),
            ));
        }
    }
    Ok(())
}

/// Groups and extras must exist in the pyproject.
fn check_selection(
    pyproject: &PyProject,
    selection: &DependencySelection,
    path: &Path,
) -> Result<(), ProjectError> {
    for group in &selection.groups {
        if !pyproject.dependency_groups.contains_key(group) {
            return Err(ProjectError::invalid(
                path,
                "[tool.lambdaship] groups",
                format!("no dependency group `{group}` in [dependency-groups]"),
            ));
        }
    }
    let extras = pyproject
        .project
        .as_ref()
        .map(|project| &project.optional_dependencies);
    for extra in &selection.extras {
        if !extras.is_some_and(|extras| extras.contains_key(extra)) {
            return Err(ProjectError::invalid(
                path,
                "[tool.lambdaship] extras",
                format!("no extra `{extra}` in [project.optional-dependencies]"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
