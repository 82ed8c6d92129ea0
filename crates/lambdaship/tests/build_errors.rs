//! Every bad input of `lambdaship build`: a short error naming the file, field or package and
//! the fix, a non-zero exit, and nothing written.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;

fn set_config(project: &Path, from: &str, to: &str) {
    let path = project.join("pyproject.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in pyproject.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn no_project_files() {
    let project = tempfile::tempdir().unwrap();
    build(project.path(), &[]).assert_failed_with(
        project.path(),
        &["no pyproject.toml or requirements.txt", "uv init"],
    );
}

#[test]
fn invalid_toml_names_line_and_column() {
    let project = copy_example("hello-fastapi");
    set_config(project.path(), "memory = 512", "memory = 512MB");
    build(project.path(), &[])
        .assert_failed_with(project.path(), &["pyproject.toml", "line 24, column"]);
}

#[test]
fn missing_lock_says_uv_lock() {
    let project = copy_example("hello-fastapi");
    std::fs::remove_file(project.path().join("uv.lock")).unwrap();
    build(project.path(), &[])
        .assert_failed_with(project.path(), &["uv.lock not found", "run `uv lock`"]);
}

#[test]
fn stale_lock_says_uv_lock() {
    let project = copy_example("hello-fastapi");
    set_config(
        project.path(),
        "\"mangum\",",
        "\"mangum\",\n    \"idna>=3\",",
    );
    build(project.path(), &[])
        .assert_failed_with(project.path(), &["uv.lock is out of date", "run `uv lock`"]);
}

#[test]
fn unknown_runtime_architecture_and_layout() {
    let project = copy_example("hello-fastapi");
    for (flag, value, message) in [
        ("--runtime", "python3.8", "unknown runtime `python3.8`"),
        ("--arch", "amd64", "unknown architecture `amd64`"),
        ("--layout", "tar", "unknown layout `tar`"),
    ] {
        build(project.path(), &[flag, value]).assert_failed_with(project.path(), &[message]);
    }
    for (from, to, message) in [
        (
            "runtime = \"python3.11\"",
            "runtime = \"python2.7\"",
            "unknown runtime `python2.7`",
        ),
        (
            "architecture = \"x86_64\"",
            "architecture = \"i386\"",
            "unknown architecture `i386`",
        ),
        (
            "timeout = 30",
            "timeout = 30\nlayout = \"docker\"",
            "unknown layout `docker`",
        ),
    ] {
        let project = copy_example("hello-fastapi");
        set_config(project.path(), from, to);
        build(project.path(), &[])
            .assert_failed_with(project.path(), &["pyproject.toml", "line", message]);
    }
}

#[test]
fn handler_module_missing_from_the_package() {
    let project = copy_example("hello-fastapi");
    set_config(project.path(), "app.main.handler", "app.api.handler");
    build(project.path(), &[]).assert_failed_with(
        project.path(),
        &["handler `app.api.handler`", "app/api.py", "set `handler`"],
    );
}

#[test]
fn include_path_missing() {
    let project = copy_example("hello-fastapi");
    set_config(
        project.path(),
        "timeout = 30",
        "timeout = 30\ninclude = [\"app\", \"static\"]",
    );
    build(project.path(), &[])
        .assert_failed_with(project.path(), &["include path `static` does not exist"]);
}

#[test]
fn uv_not_installed_says_how_to_install_it() {
    let project = copy_example("hello-fastapi");
    let empty = tempfile::tempdir().unwrap();
    let mut command = lambdaship();
    command.env("PATH", empty.path());
    build_with(command, project.path(), &[])
        .assert_failed_with(project.path(), &["uv is not installed", "pip install uv"]);
}

/// A uv project depending on `requirement`, locked by the real uv.
fn locked_project(requirement: &str, config: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    write(
        project.path(),
        "pyproject.toml",
        &format!(
            "[project]\nname = \"demo\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\ndependencies = [\"{requirement}\"]\n\n[tool.lambdaship]\nhandler = \"app.main.handler\"\nruntime = \"python3.11\"\n{config}"
        ),
    );
    write(project.path(), "app/__init__.py", "");
    write(
        project.path(),
        "app/main.py",
        "def handler(event, context):\n    return event\n",
    );
    uv(project.path(), &["lock", "--quiet"]);
    project
}

#[test]
fn sdist_only_package_names_it_and_the_opt_in_which_then_builds() {
    let project = locked_project("docopt==0.6.2", "");
    build(project.path(), &[]).assert_failed_with(
        project.path(),
        &[
            "package `docopt` 0.6.2 has no wheel",
            "build_from_source = [\"docopt\"]",
        ],
    );
    let allowed = locked_project("docopt==0.6.2", "build_from_source = [\"docopt\"]\n");
    let run = build(allowed.path(), &[]);
    assert!(zip_names(&run.artifact("zip")).contains(&"docopt.py".to_string()));
}

#[test]
fn package_without_a_wheel_for_the_target_names_it_and_the_platforms() {
    let project = tempfile::tempdir().unwrap();
    write(project.path(), "requirements.txt", "pywin32==306\n");
    write(
        project.path(),
        "lambda_function.py",
        "def lambda_handler(e, c):\n    return e\n",
    );
    build(project.path(), &["--runtime", "python3.11"]).assert_failed_with(
        project.path(),
        &[
            "package `pywin32` 306 has no wheel for python3.11 on x86_64",
            "win_amd64",
        ],
    );
}

#[test]
fn locked_package_whose_wheels_need_a_newer_glibc_lists_them() {
    // numpy 2.4 has cp311 wheels for manylinux_2_27/2_28 only; python3.11 runs on glibc 2.26.
    let project = locked_project("numpy==2.4.6", "");
    build(project.path(), &[]).assert_failed_with(
        project.path(),
        &[
            "package `numpy` 2.4.6 has no wheel for python3.11 on x86_64 (manylinux_2_17_x86_64)",
            "manylinux_2_27_x86_64.manylinux_2_28_x86_64",
        ],
    );
}

#[test]
fn native_code_for_another_architecture_names_the_file() {
    let project = copy_example("hello-fastapi");
    let native = std::env::current_exe().unwrap();
    std::fs::copy(native, project.path().join("app/_speedups.so")).unwrap();
    let other = if cfg!(target_arch = "x86_64") {
        "arm64"
    } else {
        "x86_64"
    };
    build(project.path(), &["--arch", other]).assert_failed_with(
        project.path(),
        &[
            "app/_speedups.so is a native library for",
            &format!("runs on {other}"),
        ],
    );
}

#[test]
fn more_than_five_layers() {
    let project = copy_example("hello-fastapi");
    let arns: Vec<String> = (1..=5)
        .map(|n| format!("\"arn:aws:lambda:us-east-1:123456789012:layer:extra{n}:1\""))
        .collect();
    set_config(
        project.path(),
        "timeout = 30",
        &format!("timeout = 30\nlayers = [{}]", arns.join(", ")),
    );
    build(project.path(), &["--layout", "layers"])
        .assert_failed_with(project.path(), &["would have 6 layers", "Lambda allows 5"]);
}

#[test]
fn over_250_mb_unzipped_lists_the_largest_packages() {
    let project = copy_example("hello-fastapi");
    let big = std::fs::File::create(project.path().join("app/model.bin")).unwrap();
    // Sparse zeros: large unzipped, cheap to make and to compress.
    big.set_len(260 * 1024 * 1024).unwrap();
    build(project.path(), &[]).assert_failed_with(
        project.path(),
        &[
            "MB unzipped with its layers",
            "Lambda allows 250 MB",
            "app:",
        ],
    );
}

#[test]
fn over_50_mb_zipped_warns_about_s3_upload() {
    let project = copy_example("hello-fastapi");
    // 52 MB that deflate cannot shrink (xorshift noise).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..52 * 1024 * 1024 / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    std::fs::write(project.path().join("app/noise.bin"), noise).unwrap();
    let run = build(project.path(), &[]);
    assert!(run.success(), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("over Lambda's 50 MB direct upload limit"),
        "{}",
        run.stderr()
    );
}

#[test]
fn sdist_only_package_in_a_requirements_file_names_both_fixes() {
    let project = tempfile::tempdir().unwrap();
    write(project.path(), "requirements.txt", "docopt==0.6.2\n");
    write(
        project.path(),
        "lambda_function.py",
        "def lambda_handler(e, c):\n    return e\n",
    );
    build(project.path(), &["--runtime", "python3.11"]).assert_failed_with(
        project.path(),
        &[
            "package `docopt` 0.6.2 has no wheel usable on python3.11 on x86_64",
            "build_from_source = [\"docopt\"]",
        ],
    );
}
