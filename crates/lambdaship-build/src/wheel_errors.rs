//! Explains uv's "no wheel" resolution failures: which package, for which target, what its
//! wheels are built for, and the fix.

use lambdaship_project::{LockFile, normalize_package_name};

use crate::error::BuildError;
use crate::platform::Target;

/// `error` rewritten to name the package and the fix when uv could not find a usable wheel;
/// any other error is returned as it is. `lock` tells an sdist-only package from one whose
/// wheels are all for other platforms.
pub(crate) fn explain(error: BuildError, target: Target, lock: Option<&LockFile>) -> BuildError {
    let BuildError::Uv { message, .. } = &error else {
        return error;
    };
    let Some((package, version)) = failing_package(message) else {
        return error;
    };
    let no_match = message.contains("has no wheels with a matching");
    if !no_match && !message.contains("has no usable wheels") {
        return error;
    }
    let locked = version
        .as_deref()
        .and_then(|version| lock.and_then(|lock| lock.find(&package, version)));
    let version_text = version.map(|v| format!(" {v}")).unwrap_or_default();
    if let Some(locked) = locked
        && locked.wheels.is_empty()
    {
        return BuildError::SdistOnly {
            package,
            version: version_text,
            target: target.describe(),
        };
    }
    let available = match locked {
        Some(locked) => platforms_for_python(&locked.wheels, target),
        None => uv_platform_hint(message),
    };
    if locked.is_none() && !no_match {
        // Without a lock, "no usable wheels" may mean either: say both.
        return BuildError::NoUsableWheel {
            package,
            version: version_text,
            target: target.describe(),
        };
    }
    BuildError::NoWheelForTarget {
        package,
        version: version_text,
        target: target.describe(),
        available,
    }
}

/// The package and version of uv's "Because NAME{MARKERS}==VERSION has no ..." sentence.
fn failing_package(message: &str) -> Option<(String, Option<String>)> {
    let start = message.find("Because ")? + "Because ".len();
    let spec = message[start..].split(" has no ").next()?.trim();
    // Drop a marker block: `numpy{python_full_version < '3.12'}==2.4.6`.
    let spec = match (spec.find('{'), spec.find('}')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &spec[..open], &spec[close + 1..])
        }
        _ => spec.to_string(),
    };
    if spec.contains(' ') {
        return None;
    }
    Some(match spec.split_once("==") {
        Some((name, version)) => (normalize_package_name(name), Some(version.to_string())),
        None => (normalize_package_name(&spec), None),
    })
}

/// uv's hint "Wheels are available for `x` (v1) on the following platforms: `a`, `b`".
fn uv_platform_hint(message: &str) -> String {
    message
        .lines()
        .find_map(|line| line.split_once("on the following platforms: "))
        .map(|(_, platforms)| format!(": wheels exist only for {}", platforms.replace('`', "")))
        .unwrap_or_default()
}

/// What the locked wheels are built for, for the target's Python: e.g.
/// `: its cp311 wheels are for manylinux_2_27_x86_64.manylinux_2_28_x86_64, win_amd64`.
fn platforms_for_python(wheels: &[String], target: Target) -> String {
    let python_tag = format!("cp3{}", target.runtime.minor());
    let mut platforms: Vec<&str> = wheels
        .iter()
        .filter_map(|wheel| {
            let stem = wheel.strip_suffix(".whl")?;
            let mut parts = stem.rsplitn(4, '-');
            let platform = parts.next()?;
            let abi = parts.next()?;
            let python = parts.next()?;
            let fits_python = abi == "abi3"
                || python
                    .split('.')
                    .any(|tag| tag == python_tag || tag == "py3");
            fits_python.then_some(platform)
        })
        .collect();
    platforms.sort_unstable();
    platforms.dedup();
    if platforms.is_empty() {
        format!(": it has no {python_tag} wheels at all")
    } else {
        format!(": its {python_tag} wheels are for {}", platforms.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdaship_project::{Architecture, Runtime};

    const TARGET: Target = Target {
        runtime: Runtime::Python311,
        architecture: Architecture::X86_64,
    };

    fn uv_error(message: &str) -> BuildError {
        BuildError::Uv {
            action: "pip install".to_string(),
            message: message.to_string(),
        }
    }

    #[test]
    fn marker_blocks_are_dropped_from_the_package() {
        assert_eq!(
            failing_package(
                "cause: Because numpy{python_full_version < '3.12'}==2.4.6 has no usable wheels"
            ),
            Some(("numpy".to_string(), Some("2.4.6".to_string())))
        );
    }

    #[test]
    fn platform_failures_list_the_available_platforms() {
        let error = explain(
            uv_error(
                "  cause: Because pywin32==306 has no wheels with a matching platform tag (e.g., `manylinux_2_17_x86_64`) and you require pywin32==306, we can conclude that your requirements are unsatisfiable.\n\nhint: Wheels are available for `pywin32` (v306) on the following platforms: `win32`, `win_amd64`",
            ),
            TARGET,
            None,
        );
        let text = error.to_string();
        assert!(
            text.contains("`pywin32` 306 has no wheel for python3.11 on x86_64"),
            "{text}"
        );
        assert!(text.contains("win32, win_amd64"), "{text}");
    }

    #[test]
    fn wheels_for_newer_glibc_are_listed_from_the_lock() {
        let wheels = [
            "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "numpy-2.4.6-cp311-cp311-win_amd64.whl",
            "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        ]
        .map(String::from);
        assert_eq!(
            platforms_for_python(&wheels, TARGET),
            ": its cp311 wheels are for manylinux_2_27_x86_64.manylinux_2_28_x86_64, win_amd64"
        );
    }

    #[test]
    fn other_failures_keep_uvs_message() {
        let error = explain(uv_error("network down"), TARGET, None);
        assert!(error.to_string().contains("network down"));
    }
}
