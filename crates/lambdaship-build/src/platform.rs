//! What a runtime and an architecture mean for the files in an artifact.

use lambdaship_project::{Architecture, FunctionSpec, Layout, Runtime};

/// The platform a function's files are built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The Python runtime.
    pub runtime: Runtime,
    /// The CPU architecture.
    pub architecture: Architecture,
}

/// The ELF `e_machine` of `architecture`: EM_X86_64 (62) or EM_AARCH64 (183).
pub fn architecture_elf_machine(architecture: Architecture) -> u16 {
    match architecture {
        Architecture::X86_64 => 62,
        Architecture::Arm64 => 183,
    }
}

/// Where Lambda mounts the function's own archive.
pub const TASK_ROOT: &str = "/var/task";
/// Where Lambda extracts layers.
pub const LAYER_ROOT: &str = "/opt";

impl Target {
    /// The target of `function`.
    pub fn of(function: &FunctionSpec) -> Self {
        Target {
            runtime: function.runtime,
            architecture: function.architecture,
        }
    }

    /// uv's `--python-platform` value: the architecture and the newest manylinux level the
    /// runtime's glibc runs, e.g. `x86_64-manylinux_2_17` for python3.11.
    pub fn uv_python_platform(self) -> String {
        let (major, minor) = self.runtime.os().manylinux_glibc();
        format!("{}-manylinux_{major}_{minor}", self.architecture.machine())
    }

    /// The manylinux tag, e.g. `manylinux_2_17_x86_64`, for messages.
    pub fn manylinux_tag(self) -> String {
        let (major, minor) = self.runtime.os().manylinux_glibc();
        format!("manylinux_{major}_{minor}_{}", self.architecture.machine())
    }

    /// The ELF `e_machine` a native library must have: EM_X86_64 (62) or EM_AARCH64 (183).
    pub fn elf_machine(self) -> u16 {
        architecture_elf_machine(self.architecture)
    }

    /// A short description, e.g. `python3.11 on x86_64 (manylinux_2_17_x86_64)`.
    pub fn describe(self) -> String {
        format!(
            "{} on {} ({})",
            self.runtime,
            self.architecture,
            self.manylinux_tag()
        )
    }
}

/// The directory inside a layer archive that Lambda puts on `sys.path`:
/// `python/lib/pythonX.Y/site-packages/`.
pub fn layer_site_packages(runtime: Runtime) -> String {
    format!(
        "python/lib/python{}/site-packages/",
        runtime.python_version()
    )
}

/// Where third-party packages land at run time, as the bytecode should record it.
pub fn dependency_root(runtime: Runtime, layout: Layout) -> String {
    match layout {
        Layout::Zip | Layout::Image => TASK_ROOT.to_string(),
        Layout::Layers => format!(
            "{LAYER_ROOT}/{}",
            layer_site_packages(runtime).trim_end_matches('/')
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_follows_the_runtime_os() {
        let old = Target {
            runtime: Runtime::Python311,
            architecture: Architecture::X86_64,
        };
        let new = Target {
            runtime: Runtime::Python313,
            architecture: Architecture::Arm64,
        };
        assert_eq!(old.uv_python_platform(), "x86_64-manylinux_2_17");
        assert_eq!(new.uv_python_platform(), "aarch64-manylinux_2_34");
        assert_eq!(new.elf_machine(), 183);
        assert_eq!(
            dependency_root(Runtime::Python313, Layout::Layers),
            "/opt/python/lib/python3.13/site-packages"
        );
    }
}
