//! The web adapter binary a web function's package carries: where it is found, and the
//! checks that it will run on Lambda (the right architecture, and glibc symbol versions no
//! newer than Amazon Linux 2's 2.26, so both AL2 and AL2023 runtimes load it).

use std::path::{Path, PathBuf};

use lambdaship_project::{Architecture, FunctionSpec};
use object::Endianness;
use object::elf::FileHeader64;
use object::read::elf::FileHeader;

use crate::elf::{elf_machine, machine_name};
use crate::error::BuildError;
use crate::platform::architecture_elf_machine;

/// The newest glibc symbol version the adapter may need: Amazon Linux 2's.
pub const MAX_GLIBC: (u32, u32) = (2, 26);

/// The variable that names the adapter binary for `architecture`.
pub fn adapter_variable(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::X86_64 => "LAMBDASHIP_ADAPTER_X86_64",
        Architecture::Arm64 => "LAMBDASHIP_ADAPTER_ARM64",
    }
}

/// The Rust target triple the adapter is built for on `architecture`.
fn target_triple(architecture: Architecture) -> &'static str {
    match architecture {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

/// Where the adapter for `architecture` is looked for, in order: the variable
/// [`adapter_variable`] names; `lambdaship-adapter-ARCH` beside the lambdaship executable (an
/// installation); the cargo target directory the executable was built in, where
/// `scripts/build-adapter` leaves it.
pub fn adapter_candidates(architecture: Architecture) -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os(adapter_variable(architecture)) {
        return vec![PathBuf::from(path)];
    }
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let built = Path::new(target_triple(architecture))
        .join("adapter")
        .join("lambdaship-adapter");
    let mut candidates = vec![dir.join(format!("lambdaship-adapter-{architecture}"))];
    // target/release/lambdaship, or target/debug/deps/test-binary for the crate's tests.
    for up in dir.ancestors().skip(1).take(2) {
        candidates.push(up.join(&built));
    }
    candidates
}

/// The adapter binary for `function`'s architecture, checked.
pub(crate) fn load_adapter(function: &FunctionSpec) -> Result<Vec<u8>, BuildError> {
    let architecture = function.architecture;
    let candidates = adapter_candidates(architecture);
    let Some(path) = candidates.iter().find(|path| path.is_file()) else {
        let mut looked: Vec<String> = vec![format!("${}", adapter_variable(architecture))];
        looked.extend(candidates.iter().map(|p| p.display().to_string()));
        return Err(BuildError::AdapterMissing {
            function: function.name.clone(),
            architecture,
            looked: looked.join(", "),
            variable: adapter_variable(architecture),
        });
    };
    let unusable = |reason: String| BuildError::AdapterUnusable {
        function: function.name.clone(),
        path: path.clone(),
        reason,
        architecture,
        variable: adapter_variable(architecture),
    };
    let bytes = std::fs::read(path).map_err(|e| unusable(format!("it cannot be read: {e}")))?;
    check_adapter(&bytes, architecture).map_err(unusable)?;
    Ok(bytes)
}

/// Why an adapter binary cannot go into a package for `architecture`, if it cannot.
pub fn check_adapter(bytes: &[u8], architecture: Architecture) -> Result<(), String> {
    let Some(machine) = elf_machine(bytes) else {
        return Err("it is not a Linux executable (no ELF header)".to_string());
    };
    if machine != architecture_elf_machine(architecture) {
        return Err(format!(
            "it is built for {}, the function runs on {}",
            machine_name(machine),
            architecture
        ));
    }
    match newest_glibc(bytes)? {
        Some(needed) if needed > MAX_GLIBC => Err(format!(
            "it needs GLIBC_{}.{}, newer than the {}.{} of Amazon Linux 2: build it with `scripts/build-adapter` (cargo-zigbuild targets glibc {}.{})",
            needed.0, needed.1, MAX_GLIBC.0, MAX_GLIBC.1, MAX_GLIBC.0, MAX_GLIBC.1
        )),
        _ => Ok(()),
    }
}

/// The newest `GLIBC_x.y` version the executable's symbols need; `None` for a binary that
/// needs no glibc version (static, or not linked to glibc).
pub fn newest_glibc(bytes: &[u8]) -> Result<Option<(u32, u32)>, String> {
    let unreadable = |e: object::read::Error| format!("its ELF headers cannot be read: {e}");
    let header = FileHeader64::<Endianness>::parse(bytes).map_err(unreadable)?;
    let endian = header.endian().map_err(unreadable)?;
    if endian != Endianness::Little {
        return Err("it is a big-endian executable".to_string());
    }
    let sections = header.sections(endian, bytes).map_err(unreadable)?;
    let Some((mut needs, link)) = sections.gnu_verneed(endian, bytes).map_err(unreadable)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, bytes, link).map_err(unreadable)?;
    let mut newest = None;
    while let Some((_, mut versions)) = needs.next().map_err(unreadable)? {
        while let Some(version) = versions.next().map_err(unreadable)? {
            let name = version.name(endian, strings).map_err(unreadable)?;
            if let Some(parsed) = parse_glibc(name) {
                newest = newest.max(Some(parsed));
            }
        }
    }
    Ok(newest)
}

/// `GLIBC_2.17` → (2, 17); other version names (`GLIBC_PRIVATE`, `GCC_3.0`) → `None`.
fn parse_glibc(name: &[u8]) -> Option<(u32, u32)> {
    let rest = std::str::from_utf8(name).ok()?.strip_prefix("GLIBC_")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names_parse() {
        assert_eq!(parse_glibc(b"GLIBC_2.17"), Some((2, 17)));
        assert_eq!(parse_glibc(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(parse_glibc(b"GLIBC_2"), Some((2, 0)));
        assert_eq!(parse_glibc(b"GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc(b"GCC_3.0"), None);
    }

    #[test]
    fn this_test_binary_needs_the_hosts_glibc() {
        let exe = std::env::current_exe().expect("current exe");
        let bytes = std::fs::read(exe).expect("read");
        let newest = newest_glibc(&bytes)
            .expect("readable")
            .expect("linked to glibc");
        // Built against this machine's glibc, well past 2.17.
        assert!(newest >= (2, 17), "{newest:?}");
        assert!(
            check_adapter(&bytes, Architecture::Arm64).is_err() || cfg!(target_arch = "aarch64")
        );
    }

    #[test]
    fn a_file_that_is_not_an_executable_is_refused() {
        let refusal = check_adapter(b"#!/bin/sh\necho hi\n", Architecture::X86_64).unwrap_err();
        assert!(refusal.contains("not a Linux executable"), "{refusal}");
    }
}
