//! The parts of pyproject.toml lambdaship reads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::config::RawConfig;
use crate::error::ProjectError;

/// A parsed pyproject.toml. Tables lambdaship does not use are ignored; its own table is
/// strict, so a misspelt key is an error rather than a silent default.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PyProject {
    pub project: Option<ProjectTable>,
    #[serde(rename = "dependency-groups", default)]
    pub dependency_groups: BTreeMap<String, toml::Value>,
    #[serde(rename = "build-system")]
    pub build_system: Option<toml::Value>,
    #[serde(default)]
    pub tool: ToolTable,
}

/// `[project]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProjectTable {
    pub name: Option<String>,
    #[serde(rename = "optional-dependencies", default)]
    pub optional_dependencies: BTreeMap<String, toml::Value>,
}

/// `[tool]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ToolTable {
    #[serde(default)]
    pub uv: UvTable,
    pub lambdaship: Option<RawConfig>,
}

/// `[tool.uv]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UvTable {
    pub workspace: Option<WorkspaceTable>,
    #[serde(default)]
    pub sources: BTreeMap<String, toml::Value>,
}

/// `[tool.uv.workspace]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WorkspaceTable {
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl PyProject {
    /// Reads and parses `path`; a parse error carries its line and column.
    pub fn read(path: &Path) -> Result<Self, ProjectError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProjectError::io(path, e))?;
        toml::from_str(&text).map_err(|e| ProjectError::Toml {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// The `path` of each `[tool.uv.sources]` entry that is a local directory.
    pub fn path_sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tool.uv.sources.iter().filter_map(|(name, source)| {
            source
                .get("path")
                .and_then(toml::Value::as_str)
                .map(|path| (name.as_str(), path))
        })
    }
}

/// Normalizes a Python package name as PEP 503 does: lowercase, runs of `-_.` become `-`.
pub fn normalize_package_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize_package_name("Pydantic_Core"), "pydantic-core");
        assert_eq!(normalize_package_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_package_name("a__b"), "a-b");
    }
}
