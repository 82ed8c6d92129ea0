//! The parts of uv.lock lambdaship reads: which distributions each locked package has.

use std::path::Path;

use serde::Deserialize;

use crate::error::ProjectError;
use crate::pyproject::normalize_package_name;

/// A parsed uv.lock.
#[derive(Debug, Default)]
pub struct LockFile {
    /// Every locked package.
    pub packages: Vec<LockedPackage>,
}

/// One `[[package]]` of uv.lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// The normalized name.
    pub name: String,
    /// The locked version, when it has one.
    pub version: Option<String>,
    /// The file names of its wheels.
    pub wheels: Vec<String>,
    /// Whether a source distribution is locked.
    pub has_sdist: bool,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: String,
    version: Option<String>,
    sdist: Option<toml::Value>,
    #[serde(default)]
    wheels: Vec<RawWheel>,
}

#[derive(Deserialize)]
struct RawWheel {
    url: Option<String>,
    filename: Option<String>,
    path: Option<String>,
}

impl LockFile {
    /// Reads and parses a uv.lock.
    pub fn read(path: &Path) -> Result<Self, ProjectError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProjectError::io(path, e))?;
        let raw: RawLock = toml::from_str(&text).map_err(|e| ProjectError::Toml {
            path: path.to_path_buf(),
            message: format!(
                "{}\nthe lock file is damaged: run `uv lock` to write it again",
                e.to_string().trim_end()
            ),
        })?;
        let packages = raw
            .package
            .into_iter()
            .map(|package| LockedPackage {
                name: normalize_package_name(&package.name),
                version: package.version,
                has_sdist: package.sdist.is_some(),
                wheels: package
                    .wheels
                    .into_iter()
                    .filter_map(|wheel| {
                        let location = wheel.filename.or(wheel.url).or(wheel.path)?;
                        Some(location.rsplit('/').next().unwrap_or(&location).to_string())
                    })
                    .collect(),
            })
            .collect();
        Ok(LockFile { packages })
    }

    /// The locked package `name` at `version`.
    pub fn find(&self, name: &str, version: &str) -> Option<&LockedPackage> {
        let name = normalize_package_name(name);
        self.packages
            .iter()
            .find(|p| p.name == name && p.version.as_deref() == Some(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wheels_and_sdists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("uv.lock");
        std::fs::write(
            &path,
            r#"
version = 1
[[package]]
name = "Docopt"
version = "0.6.2"
source = { registry = "https://example.invalid/simple" }
sdist = { url = "https://example.invalid/docopt-0.6.2.tar.gz", hash = "sha256:00" }

[[package]]
name = "idna"
version = "3.20"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/idna-3.20-py3-none-any.whl", hash = "sha256:00" }]
"#,
        )
        .expect("write lock");
        let lock = LockFile::read(&path).expect("parses");
        let docopt = lock.find("docopt", "0.6.2").expect("docopt");
        assert!(docopt.has_sdist && docopt.wheels.is_empty());
        let idna = lock.find("idna", "3.20").expect("idna");
        assert_eq!(idna.wheels, ["idna-3.20-py3-none-any.whl"]);
    }
}
