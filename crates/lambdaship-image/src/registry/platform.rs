//! The platform an image is wanted for, in the image spec's words (`linux`, `amd64`) and in
//! Lambda's (`x86_64`), since users think in the latter.

use std::fmt;

/// An operating system and CPU architecture, as image indexes and configs name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux` for Lambda.
    pub os: String,
    /// `amd64` or `arm64` for Lambda (GOARCH names, as images use).
    pub architecture: String,
}

impl Platform {
    /// A platform from its parts; Lambda's `x86_64` is taken as `amd64` and `aarch64` as
    /// `arm64`.
    pub fn new(os: impl Into<String>, architecture: impl Into<String>) -> Self {
        let architecture = architecture.into();
        let architecture = match architecture.as_str() {
            "x86_64" => "amd64".to_string(),
            "aarch64" => "arm64".to_string(),
            _ => architecture,
        };
        Platform {
            os: os.into(),
            architecture,
        }
    }

    /// Lambda's `x86_64`.
    pub fn linux_amd64() -> Self {
        Platform::new("linux", "amd64")
    }

    /// Lambda's `arm64`.
    pub fn linux_arm64() -> Self {
        Platform::new("linux", "arm64")
    }

    /// The architecture as a user of Lambda knows it: `x86_64 (amd64)` or `arm64`.
    pub fn describe_architecture(&self) -> String {
        match self.architecture.as_str() {
            "amd64" => "x86_64 (amd64)".to_string(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaks_both_lambda_and_image_names() {
        assert_eq!(Platform::new("linux", "x86_64"), Platform::linux_amd64());
        assert_eq!(Platform::new("linux", "aarch64"), Platform::linux_arm64());
        assert_eq!(Platform::linux_amd64().to_string(), "linux/amd64");
        assert_eq!(
            Platform::linux_amd64().describe_architecture(),
            "x86_64 (amd64)"
        );
        assert_eq!(Platform::linux_arm64().describe_architecture(), "arm64");
    }
}
