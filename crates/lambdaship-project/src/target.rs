//! The Lambda target a function is built for: runtime, architecture and artifact layout.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A Lambda Python managed runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub enum Runtime {
    /// `python3.9` (Amazon Linux 2).
    Python39,
    /// `python3.10` (Amazon Linux 2).
    Python310,
    /// `python3.11` (Amazon Linux 2).
    Python311,
    /// `python3.12` (Amazon Linux 2023).
    Python312,
    /// `python3.13` (Amazon Linux 2023).
    Python313,
    /// `python3.14` (Amazon Linux 2023).
    Python314,
}

/// The operating system image a runtime runs on; it fixes the glibc the wheels may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeOs {
    /// Amazon Linux 2, glibc 2.26.
    AmazonLinux2,
    /// Amazon Linux 2023, glibc 2.34.
    AmazonLinux2023,
}

impl Runtime {
    /// Every supported runtime, oldest first.
    pub const ALL: [Runtime; 6] = [
        Runtime::Python39,
        Runtime::Python310,
        Runtime::Python311,
        Runtime::Python312,
        Runtime::Python313,
        Runtime::Python314,
    ];

    /// The runtime used when the project does not name one.
    pub const DEFAULT: Runtime = Runtime::Python313;

    /// The Python minor version, e.g. 11 for `python3.11`.
    pub fn minor(self) -> u8 {
        match self {
            Runtime::Python39 => 9,
            Runtime::Python310 => 10,
            Runtime::Python311 => 11,
            Runtime::Python312 => 12,
            Runtime::Python313 => 13,
            Runtime::Python314 => 14,
        }
    }

    /// The `X.Y` version string, e.g. `3.11`.
    pub fn python_version(self) -> String {
        format!("3.{}", self.minor())
    }

    /// The OS image Lambda runs this runtime on.
    pub fn os(self) -> RuntimeOs {
        if self.minor() <= 11 {
            RuntimeOs::AmazonLinux2
        } else {
            RuntimeOs::AmazonLinux2023
        }
    }
}

impl RuntimeOs {
    /// The newest manylinux glibc level, as `(major, minor)`, whose wheels run on this OS.
    pub fn manylinux_glibc(self) -> (u8, u8) {
        match self {
            // glibc 2.26 has no manylinux tag of its own: the newest one below it is 2.17.
            RuntimeOs::AmazonLinux2 => (2, 17),
            RuntimeOs::AmazonLinux2023 => (2, 34),
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "python3.{}", self.minor())
    }
}

impl FromStr for Runtime {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Runtime::ALL
            .into_iter()
            .find(|runtime| runtime.to_string() == value)
            .ok_or_else(|| {
                format!("unknown runtime `{value}`: expected one of python3.9, python3.10, python3.11, python3.12, python3.13, python3.14")
            })
    }
}

impl TryFrom<String> for Runtime {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// A Lambda instruction set architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub enum Architecture {
    /// `x86_64`.
    X86_64,
    /// `arm64` (Graviton, aarch64 wheels).
    Arm64,
}

impl Architecture {
    /// The machine name wheels and `uv --python-platform` use: `x86_64` or `aarch64`.
    pub fn machine(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "aarch64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        })
    }
}

impl FromStr for Architecture {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "x86_64" => Ok(Architecture::X86_64),
            "arm64" => Ok(Architecture::Arm64),
            _ => Err(format!(
                "unknown architecture `{value}`: expected `x86_64` or `arm64`"
            )),
        }
    }
}

impl TryFrom<String> for Architecture {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// How a function's code is split into artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Layout {
    /// One archive: dependencies and app code at the archive root.
    Zip,
    /// A dependency layer archive (`python/lib/pythonX.Y/site-packages/...`) and an app archive.
    Layers,
    /// A container image: a base image plus a dependency layer and an app layer under
    /// /var/task.
    Image,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Zip => "zip",
            Layout::Layers => "layers",
            Layout::Image => "image",
        })
    }
}

impl FromStr for Layout {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "zip" => Ok(Layout::Zip),
            "layers" => Ok(Layout::Layers),
            "image" => Ok(Layout::Image),
            _ => Err(format!(
                "unknown layout `{value}`: expected `zip`, `layers` or `image`"
            )),
        }
    }
}

impl TryFrom<String> for Layout {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_map_to_their_os_and_manylinux_level() {
        assert_eq!(Runtime::Python311.os().manylinux_glibc(), (2, 17));
        assert_eq!(Runtime::Python312.os().manylinux_glibc(), (2, 34));
        assert_eq!("python3.14".parse::<Runtime>(), Ok(Runtime::Python314));
        assert_eq!(Runtime::Python39.python_version(), "3.9");
    }

    #[test]
    fn unknown_values_name_the_choices() {
        let err = "python3.8".parse::<Runtime>().unwrap_err();
        assert!(
            err.contains("python3.8") && err.contains("python3.14"),
            "{err}"
        );
        assert!(
            "amd64"
                .parse::<Architecture>()
                .unwrap_err()
                .contains("arm64")
        );
        assert!("tar".parse::<Layout>().unwrap_err().contains("layers"));
    }
}
