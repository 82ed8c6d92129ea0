//! The pinned requirement list uv prints (`uv export`, `uv pip compile`), split into
//! third-party pins and local packages.

use lambdaship_project::normalize_package_name;

/// A third-party requirement: one logical line of the list, hashes included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The normalized package name.
    pub name: String,
    /// The pinned version, when the line is `name==version`.
    pub version: Option<String>,
    /// The whole requirement as uv printed it, continuation lines joined.
    pub line: String,
}

/// A pinned requirement list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Packages from an index or a URL.
    pub pins: Vec<Pin>,
    /// Local directories (workspace members, path dependencies), as written.
    pub local_paths: Vec<String>,
}

impl Requirements {
    /// Parses uv's requirements.txt output.
    pub fn parse(text: &str) -> Self {
        let mut requirements = Requirements::default();
        let mut logical = String::new();
        for raw in text.lines() {
            let line = raw.trim();
            if let Some(continued) = line.strip_suffix('\\') {
                logical.push_str(continued.trim());
                logical.push(' ');
                continue;
            }
            logical.push_str(line);
            let requirement = std::mem::take(&mut logical);
            let requirement = requirement.trim();
            if requirement.is_empty() || requirement.starts_with('#') {
                continue;
            }
            let requirement = requirement
                .strip_prefix("-e ")
                .map(str::trim)
                .unwrap_or(requirement);
            if is_local_path(requirement) {
                requirements.local_paths.push(requirement.to_string());
            } else if !requirement.starts_with('-') {
                requirements.pins.push(Pin::parse(requirement));
            }
        }
        requirements.pins.sort_by(|a, b| a.name.cmp(&b.name));
        requirements
    }

    /// The pins as a requirements file for `uv pip install`.
    pub fn pins_file(&self) -> String {
        self.pins
            .iter()
            .map(|pin| format!("{}\n", pin.line))
            .collect()
    }
}

fn is_local_path(requirement: &str) -> bool {
    requirement.starts_with('.') || requirement.starts_with('/') || requirement.starts_with("file:")
}

impl Pin {
    fn parse(line: &str) -> Self {
        let end = line
            .find(['=', '<', '>', '!', '~', ';', '[', ' ', '@'])
            .unwrap_or(line.len());
        let name = normalize_package_name(line[..end].trim());
        let version = line[end..].strip_prefix("==").map(|rest| {
            rest.split(|c: char| c == ';' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_string()
        });
        Pin {
            name,
            version,
            line: line.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_pins_and_local_paths() {
        let text = "./library\nannotated-types==0.8.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n\
                    Typing_Extensions==4.16.0 ; python_full_version < '3.13'\n\
                    pkg @ git+https://example.invalid/pkg@abc\n-e ./other\n";
        let requirements = Requirements::parse(text);
        assert_eq!(requirements.local_paths, ["./library", "./other"]);
        let names: Vec<_> = requirements.pins.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["annotated-types", "pkg", "typing-extensions"]);
        assert_eq!(requirements.pins[0].version.as_deref(), Some("0.8.0"));
        assert_eq!(
            requirements.pins[0].line,
            "annotated-types==0.8.0 --hash=sha256:aa --hash=sha256:bb"
        );
        assert_eq!(requirements.pins[1].version, None);
        assert_eq!(requirements.pins[2].version.as_deref(), Some("4.16.0"));
    }
}
