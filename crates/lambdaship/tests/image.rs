//! `lambdaship build --layout image` end to end: a base image the test makes itself (the
//! public one cannot be reached here), real packages, and Debian's skopeo reading and
//! verifying what was written.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn skopeo(args: &[&str]) -> String {
    let mut command = Command::new("skopeo");
    command.args(["--insecure-policy"]).args(args);
    let output = run(command, Duration::from_secs(120), "skopeo");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn inspect(transport: &str, path: &Path, config: bool) -> Value {
    let reference = format!("{transport}:{}", path.display());
    let args: Vec<&str> = if config {
        vec!["inspect", "--config", &reference]
    } else {
        vec!["inspect", &reference]
    };
    serde_json::from_str(&skopeo(&args)).unwrap()
}

/// The single image artifact of a build.
fn image_artifact(run: &BuildRun) -> Value {
    let artifacts = run.artifacts();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let artifact = artifacts[0].clone();
    assert_eq!(artifact["kind"], "image");
    artifact
}

/// Every member of the gzip'd layer blobs in a `dir:` copy: (layer index, path, mode, type).
fn layer_members(copy: &Path, layers: &[Value]) -> Vec<(usize, String, u32, String)> {
    let blobs: Vec<String> = layers
        .iter()
        .map(|l| {
            copy.join(l.as_str().unwrap().trim_start_matches("sha256:"))
                .display()
                .to_string()
        })
        .collect();
    let script = format!(
        r#"
import json, tarfile
out = []
for index, path in enumerate({blobs:?}):
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            assert m.mtime == 315532800 and m.uid == 0 and m.gid == 0, m.name
            assert m.uname == "" and m.gname == "", m.name
            out.append([index, m.name, m.mode, "dir" if m.isdir() else "file"])
print(json.dumps(out))
"#
    );
    let output = python(&script, &[]);
    serde_json::from_slice::<Vec<(usize, String, u32, String)>>(&output.stdout).unwrap()
}

#[test]
fn an_image_builds_on_a_local_base_and_skopeo_reads_it() {
    let project = image_project("base_image = \"base\"\n");
    let base = make_base_image(project.path(), "base", "amd64");
    let base_layers = inspect("oci", &base, false)["Layers"].clone();

    let run = build(project.path(), &["--docker-archive"]);
    let artifact = image_artifact(&run);
    let layout = PathBuf::from(artifact["path"].as_str().unwrap());
    assert_eq!(
        layout,
        project
            .path()
            .canonicalize()
            .unwrap()
            .join("dist/lambda/imagefn-image")
    );
    let digest = artifact["digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{artifact}");
    assert!(artifact["size"].as_u64().unwrap() > 0);

    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());
    assert_eq!(
        index["manifests"][0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "latest"
    );

    let image = inspect("oci", &layout, false);
    assert_eq!(image["Digest"], digest.as_str());
    assert_eq!(image["Architecture"], "amd64");
    assert_eq!(image["Os"], "linux");
    let layers = image["Layers"].as_array().unwrap().clone();
    assert_eq!(layers.len(), 3, "base + dependencies + app: {image}");
    assert_eq!(layers[0], base_layers[0], "the base layer keeps its digest");

    let config = inspect("oci", &layout, true);
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["lambda_function.lambda_handler"])
    );
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/lambda-entrypoint.sh"])
    );
    assert_eq!(config["config"]["WorkingDir"], "/var/task");
    let env = config["config"]["Env"].as_array().unwrap();
    assert!(
        env.iter().any(|v| v == "LAMBDA_TASK_ROOT=/var/task"),
        "{env:?}"
    );
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 3);

    // skopeo verifies every blob against its digest while copying.
    let copy = tempfile::tempdir().unwrap();
    let out = copy.path().join("image");
    skopeo(&[
        "copy",
        &format!("oci:{}", layout.display()),
        &format!("dir:{}", out.display()),
    ]);
    let members = layer_members(&out, &layers[1..]);
    let find = |name: &str| {
        members
            .iter()
            .find(|m| m.1.trim_end_matches('/') == name)
            .unwrap_or_else(|| panic!("no {name} in {members:?}"))
            .clone()
    };
    assert_eq!(
        find("var/task/lambda_function.py"),
        (
            1,
            "var/task/lambda_function.py".into(),
            0o644,
            "file".into()
        )
    );
    assert_eq!(
        find("var/task/idna/core.py").0,
        0,
        "packages are in the dependency layer"
    );
    assert_eq!(find("var/task/idna/core.py").2, 0o644);
    assert_eq!(find("var/task").2, 0o755);
    assert!(
        members.iter().any(|m| m.0 == 1
            && m.1
                .starts_with("var/task/__pycache__/lambda_function.cpython-311")),
        "bytecode as in zips: {members:?}"
    );
    // Sorted by path (a directory's with its `/`), so parents come first.
    let names: Vec<String> = members
        .iter()
        .filter(|m| m.0 == 0)
        .map(|m| match m.3.as_str() {
            "dir" => format!("{}/", m.1.trim_end_matches('/')),
            _ => m.1.clone(),
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    // The docker-archive tar: skopeo reads it as the same image.
    let tar = PathBuf::from(artifact["docker_archive"].as_str().unwrap());
    let archived = inspect("docker-archive", &tar, true);
    assert_eq!(archived["rootfs"], config["rootfs"]);
    assert_eq!(archived["config"]["Cmd"], config["config"]["Cmd"]);
    let check = python(
        &format!(
            r#"
import json, tarfile
with tarfile.open({:?}) as tar:
    names = tar.getnames()
    manifest = json.load(tar.extractfile("manifest.json"))
assert "oci-layout" in names and "index.json" in names, names
assert len(manifest) == 1 and manifest[0]["RepoTags"], manifest
assert all(layer in names for layer in manifest[0]["Layers"]), manifest
assert manifest[0]["Config"] in names
print(len(manifest[0]["Layers"]))
"#,
            tar.display().to_string()
        ),
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "3");

    // The same inputs, the same image.
    let again = image_artifact(&build(project.path(), &["--docker-archive"]));
    assert_eq!(again["digest"], digest.as_str());

    // An app edit changes the app layer only.
    write(
        project.path(),
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    return idna.encode(event['host']).decode().upper()\n",
    );
    let edited = image_artifact(&build(project.path(), &[]));
    assert_ne!(edited["digest"], digest.as_str());
    let edited_layers = inspect("oci", &layout, false)["Layers"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edited_layers[..2], layers[..2]);
    assert_ne!(edited_layers[2], layers[2]);
    let leftovers: Vec<String> = std::fs::read_dir(project.path().join("dist/lambda"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_docker_archive_base_works() {
    let project = image_project("");
    let base = make_base_image(project.path(), "base", "amd64");
    let tar = project.path().join("base.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}", base.display()),
        &format!("docker-archive:{}", tar.display()),
    ]);
    for value in [
        format!("docker-archive:{}", tar.display()),
        tar.display().to_string(),
    ] {
        let run = build(project.path(), &["--base-image", &value]);
        let artifact = image_artifact(&run);
        let layout = PathBuf::from(artifact["path"].as_str().unwrap());
        let image = inspect("oci", &layout, false);
        assert_eq!(image["Layers"].as_array().unwrap().len(), 3, "{image}");
        let copy = tempfile::tempdir().unwrap();
        skopeo(&[
            "copy",
            &format!("oci:{}", layout.display()),
            &format!("dir:{}", copy.path().join("image").display()),
        ]);
    }
}

#[test]
fn bad_base_images_are_refused_with_what_to_do() {
    // A base for another architecture.
    let project_dir = image_project("");
    make_base_image(project_dir.path(), "base-arm64", "arm64");
    let run = build(project_dir.path(), &["--base-image", "oci:base-arm64"]);
    // --base-image paths start where the command runs, not in the project.
    run.assert_failed_with(project_dir.path(), &["base-arm64", "does not exist"]);
    let arm = project_dir.path().join("base-arm64");
    let run = build(
        project_dir.path(),
        &["--base-image", &format!("oci:{}", arm.display())],
    );
    run.assert_failed_with(
        project_dir.path(),
        &["linux/arm64", "linux/amd64", "architecture"],
    );

    // A missing path in the configuration.
    let missing = image_project("base_image = \"./images/base\"\n");
    build(missing.path(), &[]).assert_failed_with(
        missing.path(),
        &[
            "images/base",
            "does not exist",
            "base_image",
            "--base-image",
        ],
    );

    // Not a path and not a registry reference.
    let invalid = image_project("base_image = \"python:3.11\"\n");
    build(invalid.path(), &[]).assert_failed_with(
        invalid.path(),
        &[
            "base_image",
            "python:3.11",
            "host[:port]/name:tag",
            "OCI image layout",
        ],
    );
    let run = build(invalid.path(), &["--base-image", "Host.io/Bad:tag"]);
    assert!(!run.success());
    assert!(run.stderr().contains("--base-image"), "{}", run.stderr());

    // The default base is in a registry: named, with the offline ways.
    let default = image_project("");
    build(default.path(), &[]).assert_failed_with(
        default.path(),
        &[
            "public.ecr.aws/lambda/python:3.11",
            "skopeo copy",
            "--base-image",
            "docker-archive tar",
        ],
    );

    // Not an image.
    let not_image = image_project("base_image = \"oci:lambda_function.py\"\n");
    build(not_image.path(), &[]).assert_failed_with(
        not_image.path(),
        &["not an OCI image layout", "skopeo copy"],
    );
}
