//! Images and registries end to end: a base image pulled from Debian's docker-registry on
//! loopback, `build --push` uploading only what the registry lacks, and skopeo reading
//! back what was pushed. The registry and skopeo helpers are lambdaship-image's.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../lambdaship-image/tests/support/mod.rs"]
mod registry_support;

use std::path::Path;

use common::*;
use registry_support::{Auth, Registry};
use serde_json::Value;

/// The project on `base_image`.
fn project(base_image: &str) -> tempfile::TempDir {
    image_project(&format!("base_image = \"{base_image}\"\n"))
}

/// A Lambda-shaped base image (fixtures/make_base_image.py) copied into `registry` as
/// `lambda/python:3.11`, digests preserved.
fn publish_base(registry: &Registry, dir: &Path) -> String {
    let layout = make_base_image(dir, "base", "amd64");
    let reference = format!("{}/lambda/python:3.11", registry.host());
    registry_support::skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        &format!("oci:{}", layout.display()),
        &format!("docker://{reference}"),
    ]);
    reference
}

fn inspect(reference: &str, config: bool) -> Value {
    let target = format!("docker://{reference}");
    let mut args = vec!["inspect", "--tls-verify=false"];
    if config {
        args.push("--config");
    }
    args.push(&target);
    serde_json::from_slice(&registry_support::skopeo(&args).stdout).unwrap()
}

#[test]
fn a_registry_base_is_pulled_once_and_pushes_send_only_what_changed() {
    let registry = Registry::start(Auth::None);
    let scratch = tempfile::tempdir().unwrap();
    let base = publish_base(&registry, scratch.path());
    let project = project(&base);
    let target = format!("{}/imagefn:v1", registry.host());

    // First build: the base is pulled, the image pushed whole (the repository is new).
    let first = build_image(project.path(), &["--push", &target]);
    let artifact = first.artifacts()[0].clone();
    let digest = artifact["digest"].as_str().unwrap().to_string();
    let push = pushed(&first);
    assert_eq!(push["digest"], digest.as_str(), "{push}");
    assert_eq!(push["skipped"], 0, "{push}");
    let blobs = push["uploaded"].as_u64().unwrap();
    assert_eq!(
        blobs, 4,
        "config, the base's layer, dependencies and app: {push}"
    );

    // What skopeo reads from the registry is what was built.
    let remote = inspect(&target, false);
    assert_eq!(remote["Digest"], digest.as_str());
    assert_eq!(remote["Architecture"], "amd64");
    assert_eq!(remote["Layers"].as_array().unwrap().len(), 3);
    let config = inspect(&target, true);
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["lambda_function.lambda_handler"])
    );
    assert_eq!(config["config"]["WorkingDir"], "/var/task");

    // Unchanged: the push sends no blob bytes, and the base is not asked for again (it is
    // deleted from the registry here, and the build still works from what it pulled).
    registry_support::skopeo(&["delete", "--tls-verify=false", &format!("docker://{base}")]);
    let again = build_image(project.path(), &["--push", &target]);
    let push = pushed(&again);
    assert_eq!(push["digest"], digest.as_str());
    assert_eq!(push["uploaded"], 0, "{push}");
    assert_eq!(push["bytes_sent"], 0, "{push}");
    assert_eq!(push["skipped"], blobs, "{push}");

    // An app edit: only the app layer and the config go up.
    write(
        project.path(),
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    return {'host': idna.encode(event['host']).decode()}\n",
    );
    let edited = build_image(project.path(), &["--push", &target]);
    let push = pushed(&edited);
    assert_ne!(push["digest"], digest.as_str());
    assert_eq!(push["uploaded"], 2, "app layer and config: {push}");
    assert_eq!(inspect(&target, false)["Digest"], push["digest"]);

    // --pull asks the registry again, which no longer has the base.
    let refreshed = build_image(project.path(), &["--pull"]);
    assert!(!refreshed.success());
    assert!(
        refreshed
            .stderr()
            .contains(&format!("cannot pull the base image {base}")),
        "{}",
        refreshed.stderr()
    );
}

#[test]
fn registry_failures_say_what_and_how_to_fix() {
    let registry = Registry::start(Auth::None);
    let host = registry.host();

    // A base image the registry does not have: named, with the offline ways.
    let missing = project(&format!("{host}/lambda/python:9.99"));
    let run = build_image(missing.path(), &[]);
    run.assert_failed_with(
        missing.path(),
        &[
            &format!("cannot pull the base image {host}/lambda/python:9.99"),
            "not found",
            "skopeo copy docker://",
            "--base-image PATH",
        ],
    );

    // A registry nobody listens on.
    let unreachable = project("127.0.0.1:9/lambda/python:3.11");
    let run = build_image(unreachable.path(), &[]);
    run.assert_failed_with(
        unreachable.path(),
        &["cannot reach the registry at 127.0.0.1:9"],
    );

    // Bad --push values, refused before anything is built.
    for (value, phrase) in [
        (
            "127.0.0.1:5000/Upper/case:v1",
            "127.0.0.1:5000/Upper/case:v1",
        ),
        ("127.0.0.1:5000/app:bad tag", "tag"),
        (
            "127.0.0.1:5000/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "push to a tag",
        ),
    ] {
        let project = project("base");
        let run = build_image(project.path(), &["--push", value]);
        run.assert_failed_with(project.path(), &[phrase]);
    }

    // --push without the image layout.
    let zip = project("base");
    write(
        zip.path(),
        "pyproject.toml",
        "[tool.lambdaship]\nname = \"zipfn\"\nruntime = \"python3.11\"\n",
    );
    let run = build_image(zip.path(), &["--push", &format!("{host}/zipfn:v1")]);
    assert!(!run.success());
    assert!(
        run.stderr().contains("--push needs an image"),
        "{}",
        run.stderr()
    );
}
