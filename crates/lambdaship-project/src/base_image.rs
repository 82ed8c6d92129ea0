//! `base_image` (and `--base-image`): where an image function's base image comes from.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::target::{Architecture, Runtime};

/// The accepted forms, for messages.
pub const BASE_IMAGE_FORMS: &str = "an OCI image layout directory, a docker-archive tar (a path, or `oci:PATH` / `docker-archive:PATH`), or a registry reference `host[:port]/name:tag`, e.g. `public.ecr.aws/lambda/python:3.13`";

/// Where a base image is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseImageSource {
    /// An OCI image layout directory.
    OciLayout(PathBuf),
    /// A docker-archive tar (`docker save`).
    DockerArchive(PathBuf),
    /// A registry reference, `host[:port]/name[:tag][@digest]`.
    Registry(String),
}

impl BaseImageSource {
    /// The AWS base image for `runtime` on `architecture`:
    /// `public.ecr.aws/lambda/python:3.X`, `3.X-arm64` for arm64.
    pub fn default_for(runtime: Runtime, architecture: Architecture) -> Self {
        let suffix = match architecture {
            Architecture::X86_64 => "",
            Architecture::Arm64 => "-arm64",
        };
        BaseImageSource::Registry(format!(
            "public.ecr.aws/lambda/python:{}{suffix}",
            runtime.python_version()
        ))
    }

    /// Reads a `base_image` value; relative paths start at `dir`. A value with a prefix
    /// (`oci:`, `docker-archive:`), an existing path, or one written as a path (`/…`, `./…`,
    /// `../…`, `….tar`) is a path; one whose first part names a registry host (with a `.` or
    /// a port, or `localhost`) is a registry reference.
    pub fn parse(value: &str, dir: &Path) -> Result<Self, String> {
        let value = value.trim();
        let invalid =
            |why: &str| format!("`{value}` is not a base image{why}: expected {BASE_IMAGE_FORMS}");
        if value.is_empty() {
            return Err(invalid(""));
        }
        for (prefix, make) in [
            ("oci:", BaseImageSource::OciLayout as fn(PathBuf) -> Self),
            ("docker-archive:", BaseImageSource::DockerArchive),
        ] {
            if let Some(path) = value.strip_prefix(prefix) {
                if path.is_empty() {
                    return Err(invalid(&format!(" (`{prefix}` needs a path after it)")));
                }
                return Ok(make(dir.join(path)));
            }
        }
        let path = dir.join(value);
        let written_as_path = value.starts_with('/')
            || value.starts_with("./")
            || value.starts_with("../")
            || value.ends_with(".tar");
        if path.exists() || written_as_path {
            return Ok(
                if path.is_dir() || !(path.is_file() || value.ends_with(".tar")) {
                    BaseImageSource::OciLayout(path)
                } else {
                    BaseImageSource::DockerArchive(path)
                },
            );
        }
        check_reference(value)
            .map_err(|why| invalid(&format!(" ({why}, and no such path exists)")))?;
        Ok(BaseImageSource::Registry(value.to_string()))
    }
}

impl fmt::Display for BaseImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseImageSource::OciLayout(path) => write!(f, "oci:{}", path.display()),
            BaseImageSource::DockerArchive(path) => write!(f, "docker-archive:{}", path.display()),
            BaseImageSource::Registry(reference) => f.write_str(reference),
        }
    }
}

/// Checks `host[:port]/name[:tag][@sha256:hex]` as the distribution spec writes it.
fn check_reference(value: &str) -> Result<(), String> {
    let (rest, digest) = match value.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (value, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(format!("`{digest}` is not a sha256 digest"));
        }
    }
    let Some((host, path)) = rest.split_once('/') else {
        return Err("a registry reference starts with its registry host".to_string());
    };
    if !names_a_host(host) {
        return Err(format!(
            "`{host}` is not a registry host (a host has a `.` or a `:port`, or is `localhost`)"
        ));
    }
    check_registry_host(host)?;
    let (name, tag) = match path.rsplit_once(':') {
        Some((name, tag)) => (name, Some(tag)),
        None => (path, None),
    };
    check_repository_path(name)?;
    if let Some(tag) = tag {
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !tag_ok {
            return Err(format!("`{tag}` is not a valid tag"));
        }
    } else if digest.is_none() {
        return Err("it needs a tag (`:TAG`) or a digest (`@sha256:…`)".to_string());
    }
    Ok(())
}

/// Whether the first part of a reference names a registry host rather than a repository:
/// as Docker decides, a host has a `.` or a `:port`, or is `localhost`.
pub(crate) fn names_a_host(first_part: &str) -> bool {
    first_part.contains('.') || first_part.contains(':') || first_part == "localhost"
}

/// Checks `host[:port]`: dot-separated labels of letters, digits and `-`, and a valid port.
pub(crate) fn check_registry_host(host: &str) -> Result<(), String> {
    let (hostname, port) = host.split_once(':').unwrap_or((host, ""));
    let host_ok = !hostname.is_empty()
        && hostname
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && (host.split_once(':').is_none() || (!port.is_empty() && port.parse::<u16>().is_ok()));
    if host_ok {
        Ok(())
    } else {
        Err(format!("`{host}` is not a valid registry host"))
    }
}

/// Checks a repository path: `/`-separated parts of lower-case letters, digits and `._-`,
/// each starting and ending with a letter or digit.
pub(crate) fn check_repository_path(name: &str) -> Result<(), String> {
    let component_ok = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid repository name (lower-case letters, digits and `._-`, parts separated by `/`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_paths_or_registry_references() {
        let dir = Path::new("/project");
        assert_eq!(
            BaseImageSource::parse("oci:base", dir),
            Ok(BaseImageSource::OciLayout(dir.join("base")))
        );
        assert_eq!(
            BaseImageSource::parse("docker-archive:/tmp/b.tar", dir),
            Ok(BaseImageSource::DockerArchive(PathBuf::from("/tmp/b.tar")))
        );
        assert_eq!(
            BaseImageSource::parse("./images/base.tar", dir),
            Ok(BaseImageSource::DockerArchive(
                dir.join("./images/base.tar")
            ))
        );
        assert_eq!(
            BaseImageSource::parse("/nowhere/layout", dir),
            Ok(BaseImageSource::OciLayout(PathBuf::from("/nowhere/layout")))
        );
        for reference in [
            "public.ecr.aws/lambda/python:3.13",
            "localhost:5000/base:1",
            "127.0.0.1:5000/a/b@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert_eq!(
                BaseImageSource::parse(reference, dir),
                Ok(BaseImageSource::Registry(reference.to_string())),
                "{reference}"
            );
        }
        for bad in [
            "",
            "python:3.13",
            "public.ecr.aws/Lambda/python:3.13",
            "localhost:99999/x:1",
            "oci:",
            "host.io/x",
            "host.io/x:bad tag",
        ] {
            let error = BaseImageSource::parse(bad, dir).unwrap_err();
            assert!(error.contains("host[:port]/name:tag"), "{bad}: {error}");
        }
        assert_eq!(
            BaseImageSource::default_for(Runtime::Python312, Architecture::Arm64).to_string(),
            "public.ecr.aws/lambda/python:3.12-arm64"
        );
    }
}
