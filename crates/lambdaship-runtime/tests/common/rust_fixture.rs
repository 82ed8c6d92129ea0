//! The Rust lambda_runtime fixture (tests/fixtures/rust-runtime), built on demand.

use std::path::PathBuf;
use std::process::Command;

/// Builds the fixture with cargo (`--release` when `release`) and returns its `bootstrap`.
pub fn rust_bootstrap(cargo: &str, release: bool) -> PathBuf {
    let mut command = Command::new(cargo);
    command.args([
        "build",
        "--quiet",
        "-p",
        "rust-runtime-fixture",
        "--message-format=json",
    ]);
    if release {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .next_back()
        .expect("the fixture's executable")
}
