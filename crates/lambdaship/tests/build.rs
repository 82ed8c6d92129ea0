//! `lambdaship build` end to end: real uv, real packages from the index, real CPython 3.11
//! importing what was built.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The seed's API Gateway (REST) test event.
const SEED_EVENT: &str = r#"{"httpMethod": "GET", "path": "/", "requestContext": {}, "version": "1.0", "headers": {}, "multiValueHeaders": {}, "queryStringParameters": null, "multiValueQueryStringParameters": null, "body": null, "isBase64Encoded": false}"#;

/// A script that imports the handler as Lambda's runtime would, calls it with the seed's
/// event, and checks every .pyc it finds is unchecked-hash and records `root`.
fn handler_check_script(handler_module: &str, roots: &[(&Path, &str)]) -> String {
    let roots: Vec<String> = roots
        .iter()
        .map(|(dir, shown)| format!("({:?}, {:?})", dir.display().to_string(), shown))
        .collect();
    format!(
        r#"
import importlib, json, marshal, pathlib
mod = importlib.import_module({handler_module:?})
response = mod.handler(json.loads({SEED_EVENT:?}), None)
print(json.dumps(response))
checked = 0
for root, shown in [{roots}]:
    for pyc in pathlib.Path(root).rglob("*.cpython-311.pyc"):
        data = pyc.read_bytes()
        flags = int.from_bytes(data[4:8], "little")
        assert flags == 1, f"{{pyc}} is not unchecked-hash: flags={{flags}}"
        code = marshal.loads(data[16:])
        assert code.co_filename.startswith(shown + "/"), (pyc, code.co_filename)
        checked += 1
assert checked > 100, checked
"#,
        roots = roots.join(", ")
    )
}

#[test]
fn fastapi_zip_for_python311_imports_and_answers_with_unchecked_hash_bytecode() {
    let project = copy_example("hello-fastapi");
    // Host junk that must never reach the archive.
    write(
        project.path(),
        "app/__pycache__/main.cpython-311.pyc",
        "stale",
    );
    write(project.path(), "app/.venv/pyvenv.cfg", "home = /usr\n");
    write(project.path(), "app/.git/HEAD", "ref: refs/heads/main\n");

    let run = build(project.path(), &["--arch", "x86_64"]);
    let zip = run.artifact("zip");
    assert_eq!(
        zip,
        project
            .path()
            .canonicalize()
            .unwrap()
            .join("dist/lambda/hello-fastapi.zip")
    );

    let records = zip_records(&zip);
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    for record in &records {
        assert_eq!(record.date, (1980, 1, 1), "{}", record.name);
        assert_eq!(record.extra_fields, 0, "{}", record.name);
        if record.name.ends_with('/') {
            assert_eq!(record.mode, 0o040755, "{}", record.name);
        } else if record.name.starts_with("bin/") {
            assert_eq!(record.mode, 0o100755, "{}", record.name);
        } else if record.name.ends_with(".py") || record.name.ends_with(".pyc") {
            assert_eq!(record.mode, 0o100644, "{}", record.name);
        } else {
            // Native libraries keep the execute bit their wheel gives them.
            assert!(
                [0o100644, 0o100755].contains(&record.mode),
                "{}",
                record.name
            );
        }
    }
    assert!(names.contains(&"app/main.py"));
    assert!(names.contains(&"app/__pycache__/main.cpython-311.pyc"));
    assert!(names.iter().any(|n| n.starts_with("fastapi/")));
    assert!(names.iter().any(|n| n.starts_with("mangum/")));
    // Dev dependencies (fastapi[standard] brings uvicorn and fastapi-cli) stay out.
    assert!(
        !names.iter().any(|n| n.starts_with("uvicorn")),
        "dev deps leaked"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("fastapi_cli")),
        "dev deps leaked"
    );
    // Junk stays out.
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".venv") || n.contains(".git/"))
    );
    assert!(!names.contains(&".lock"));

    let task_root = unzip(&zip);
    let output = python(
        &handler_check_script("app.main", &[(task_root.path(), "/var/task")]),
        &[task_root.path()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(r#""statusCode": 200"#), "{stdout}");
    assert!(stdout.contains(r#"Hello, world!"#), "{stdout}");
}

/// The ELF machine of the first `.so` under `prefix` whose name contains `tag`.
fn native_library(zip: &Path, prefix: &str, tag: &str) -> (String, u16) {
    let dir = unzip(zip);
    let name = zip_names(zip)
        .into_iter()
        .find(|n| n.starts_with(prefix) && n.ends_with(".so"))
        .unwrap_or_else(|| panic!("no native library under {prefix}"));
    assert!(name.contains(tag), "{name} is not for {tag}");
    let bytes = std::fs::read(dir.path().join(&name)).unwrap();
    (name, u16::from_le_bytes([bytes[18], bytes[19]]))
}

#[test]
fn both_examples_build_for_both_architectures_and_runtimes() {
    for example in ["hello-fastapi", "workspace"] {
        let project = copy_example(example);
        for (arch, machine) in [("x86_64", 62u16), ("arm64", 183u16)] {
            for (runtime, tag) in [("python3.11", "311"), ("python3.13", "313")] {
                let run = build(project.path(), &["--arch", arch, "--runtime", runtime]);
                let zip = run.artifact("zip");
                let (library, found) =
                    native_library(&zip, "pydantic_core/", &format!("cpython-{tag}"));
                assert_eq!(found, machine, "{example} {arch} {runtime}: {library}");
                let names = zip_names(&zip);
                let has_bytecode = names
                    .iter()
                    .any(|n| n.ends_with(&format!(".cpython-{tag}.pyc")));
                let warned = run
                    .stderr()
                    .contains(&format!("no Python 3.{} interpreter found", &tag[1..]));
                assert!(
                    has_bytecode != warned,
                    "{example} {runtime}: bytecode {has_bytecode}, warned {warned}"
                );
                assert!(
                    !names
                        .iter()
                        .any(|n| n.ends_with(".pyc") && !n.contains(&format!("cpython-{tag}"))),
                    "bytecode of another Python version in {example} {runtime}"
                );
                if example == "workspace" {
                    assert!(names.contains(&"library/__init__.py".to_string()));
                    assert!(names.contains(&"app/main.py".to_string()));
                }
            }
        }
    }
}

#[test]
fn layers_layout_puts_dependencies_in_a_layer_and_the_workspace_in_the_app() {
    let project = copy_example("workspace");
    let run = build(project.path(), &["--layout", "layers"]);
    let layer = run.artifact("layer");
    let app = run.artifact("app");
    assert!(layer.ends_with("uv-aws-lambda-example-layer.zip"));
    assert!(app.ends_with("uv-aws-lambda-example.zip"));

    let layer_names = zip_names(&layer);
    let prefix = "python/lib/python3.11/site-packages/";
    assert!(
        layer_names
            .iter()
            .all(|n| n.starts_with(prefix) || prefix.starts_with(n.as_str())),
        "layer paths: {layer_names:?}"
    );
    assert!(
        layer_names
            .iter()
            .any(|n| n.starts_with(&format!("{prefix}fastapi/")))
    );
    let app_names = zip_names(&app);
    assert!(app_names.contains(&"app/main.py".to_string()));
    assert!(app_names.contains(&"library/__init__.py".to_string()));
    assert!(!app_names.iter().any(|n| n.starts_with("fastapi")));

    let opt = unzip(&layer);
    let task = unzip(&app);
    let site = opt.path().join(prefix.trim_end_matches('/'));
    let output = python(
        &handler_check_script(
            "app.main",
            &[
                (task.path(), "/var/task"),
                (site.as_path(), "/opt/python/lib/python3.11/site-packages"),
            ],
        ),
        &[task.path(), site.as_path(), &opt.path().join("python")],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Hello from library!"));
}

#[test]
fn builds_are_byte_identical_across_paths_times_umasks_and_caches() {
    let first = copy_example("workspace");
    let second = copy_example("workspace");
    // Different modification times and a different umask for the second copy.
    let mut touch = Command::new("touch");
    touch
        .args(["-d", "2001-02-03 04:05:06"])
        .arg(second.path().join("app/main.py"))
        .arg(second.path().join("library/src/library/__init__.py"));
    assert!(
        run(touch, std::time::Duration::from_secs(10), "touch")
            .status
            .success()
    );

    let runs: Vec<_> = [(first.path(), "022"), (second.path(), "077")]
        .into_iter()
        .map(|(dir, umask)| {
            let cache = tempfile::tempdir().unwrap();
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_lambdaship"))
                .env("LAMBDASHIP_CACHE_DIR", cache.path());
            let run = build_with(command, dir, &["--layout", "layers"]);
            (run, cache)
        })
        .collect();
    let first_hashes = artifact_hashes(&runs[0].0);
    assert_eq!(first_hashes.len(), 2);
    assert_eq!(first_hashes, artifact_hashes(&runs[1].0));
    // And the same again from a warm cache.
    assert_eq!(
        first_hashes,
        artifact_hashes(&build(first.path(), &["--layout", "layers"]))
    );
}

#[test]
fn editing_app_code_rebuilds_only_the_app_and_keeps_the_dependency_packs() {
    let project = copy_example("hello-fastapi");
    let cache = tempfile::tempdir().unwrap();
    let build_here = || {
        let mut command = lambdaship();
        command.env("LAMBDASHIP_CACHE_DIR", cache.path());
        build_with(command, project.path(), &[])
    };
    let before = build_here();
    let packs = |dir: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir.join("packs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let packs_before = packs(cache.path());
    write(
        project.path(),
        "app/main.py",
        &std::fs::read_to_string(project.path().join("app/main.py"))
            .unwrap()
            .replace("Hello, world!", "Hello again!"),
    );
    let after = build_here();
    assert!(
        !after.stderr().contains("Installing"),
        "dependencies were reinstalled"
    );
    assert_eq!(packs(cache.path()), packs_before);
    assert_ne!(artifact_hashes(&before), artifact_hashes(&after));
    let task_root = unzip(&after.artifact("zip"));
    let main = std::fs::read_to_string(task_root.path().join("app/main.py")).unwrap();
    assert!(main.contains("Hello again!"));
}

#[test]
fn a_failed_build_leaves_the_previous_artifact_untouched() {
    let project = copy_example("hello-fastapi");
    let good = build(project.path(), &[]);
    let zip = good.artifact("zip");
    let before = std::fs::read(&zip).unwrap();
    let pyproject = project.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        text.replace("app.main.handler", "app.missing.handler"),
    )
    .unwrap();
    let bad = build(project.path(), &[]);
    assert!(!bad.success());
    assert!(bad.stderr().contains("app.missing"), "{}", bad.stderr());
    assert_eq!(std::fs::read(&zip).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(zip.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");
}

#[test]
fn a_requirements_txt_project_builds() {
    let project = tempfile::tempdir().unwrap();
    write(project.path(), "requirements.txt", "idna==3.10\n");
    write(
        project.path(),
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    return idna.encode(event['host']).decode()\n",
    );
    let run = build(project.path(), &["--runtime", "python3.11"]);
    let zip = run.artifact("zip");
    let names = zip_names(&zip);
    assert!(names.contains(&"lambda_function.py".to_string()));
    assert!(names.contains(&"idna/core.py".to_string()));
    let task_root = unzip(&zip);
    let output = python(
        "import lambda_function; print(lambda_function.lambda_handler({'host': 'bücher.example'}, None))",
        &[task_root.path()],
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("xn--bcher-kva.example"));
}

#[test]
fn several_functions_share_one_dependency_set() {
    let project = copy_example("hello-fastapi");
    let pyproject = project.path().join("pyproject.toml");
    let mut text = std::fs::read_to_string(&pyproject).unwrap();
    text.push_str(
        "\n[tool.lambdaship.functions.api]\n\n[tool.lambdaship.functions.api-arm]\narchitecture = \"arm64\"\nmemory = 1024\n",
    );
    std::fs::write(
        &pyproject,
        text.replace("name = \"hello-fastapi\"\nhandler", "handler"),
    )
    .unwrap();
    let run = build(project.path(), &[]);
    let artifacts = run.artifacts();
    let functions: Vec<_> = artifacts
        .iter()
        .map(|a| a["function"].as_str().unwrap())
        .collect();
    assert_eq!(functions, ["api", "api-arm"]);
    let only = build(project.path(), &["--function", "api-arm"]);
    assert_eq!(only.artifacts().len(), 1);
    let unknown = build(project.path(), &["--function", "nope"]);
    assert!(!unknown.success());
    assert!(
        unknown.stderr().contains("no function named `nope`"),
        "{}",
        unknown.stderr()
    );
}

#[test]
fn editing_a_workspace_member_rebuilds_its_wheel() {
    let project = copy_example("workspace");
    let first = build(project.path(), &[]);
    let source = project.path().join("library/src/library/__init__.py");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &source,
        text.replace("Hello from library!", "Hello from the edited library!"),
    )
    .unwrap();
    let second = build(project.path(), &[]);
    assert_ne!(artifact_hashes(&first), artifact_hashes(&second));
    let task_root = unzip(&second.artifact("zip"));
    let installed = std::fs::read_to_string(task_root.path().join("library/__init__.py")).unwrap();
    assert!(installed.contains("edited library"), "{installed}");
}

#[test]
fn an_unchanged_layer_is_not_rewritten_but_a_tampered_one_is() {
    use std::os::unix::fs::MetadataExt;
    let project = copy_example("hello-fastapi");
    let first = build(project.path(), &["--layout", "layers"]);
    let layer = first.artifact("layer");
    let inode = std::fs::metadata(&layer).unwrap().ino();
    write(project.path(), "app/extra.py", "VALUE = 1\n");
    let second = build(project.path(), &["--layout", "layers"]);
    assert_eq!(
        std::fs::metadata(&layer).unwrap().ino(),
        inode,
        "layer rewritten"
    );
    assert!(zip_names(&second.artifact("app")).contains(&"app/extra.py".to_string()));
    // Sorted by file name: the layer comes first.
    assert_eq!(artifact_hashes(&first)[0], artifact_hashes(&second)[0]);

    std::fs::write(&layer, b"not a zip").unwrap();
    let third = build(project.path(), &["--layout", "layers"]);
    assert_eq!(artifact_hashes(&third), artifact_hashes(&second));
    assert!(
        zip_names(&layer).len() > 100,
        "the tampered layer was not rebuilt"
    );
}

#[test]
fn exclude_patterns_leave_files_and_their_bytecode_out() {
    let project = copy_example("hello-fastapi");
    write(project.path(), "app/fixtures/sample.py", "DATA = 1\n");
    let pyproject = project.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        text.replace(
            "timeout = 30",
            "timeout = 30\nexclude = [\"app/fixtures/**\", \"**/fastapi/openapi/docs.py\"]",
        ),
    )
    .unwrap();
    let names = zip_names(&build(project.path(), &[]).artifact("zip"));
    assert!(
        !names.iter().any(|n| n.starts_with("app/fixtures/")),
        "{names:?}"
    );
    assert!(!names.contains(&"fastapi/openapi/docs.py".to_string()));
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("fastapi/openapi/__pycache__/docs.")),
        "bytecode of an excluded source stayed"
    );
    assert!(names.contains(&"fastapi/openapi/utils.py".to_string()));
}

#[test]
fn builds_do_not_depend_on_where_the_interpreter_uv_uses_lives() {
    // uv writes console scripts (and their RECORD hashes) for the interpreter it finds on
    // PATH: a build from a machine whose python3 lives elsewhere must give the same bytes.
    let elsewhere = tempfile::tempdir().unwrap();
    let venv = elsewhere.path().join("some/other/place/venv");
    let mut create = Command::new("python3");
    create.args(["-m", "venv", "--without-pip"]).arg(&venv);
    assert!(
        run(
            create,
            std::time::Duration::from_secs(60),
            "python3 -m venv"
        )
        .status
        .success()
    );
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let runs: Vec<_> = [None, Some(path)]
        .into_iter()
        .map(|path| {
            let project = copy_example("workspace");
            let cache = tempfile::tempdir().unwrap();
            let mut command = Command::new(env!("CARGO_BIN_EXE_lambdaship"));
            command.env("LAMBDASHIP_CACHE_DIR", cache.path());
            if let Some(path) = path {
                command.env("PATH", path);
            }
            let run = build_with(command, project.path(), &["--layout", "layers"]);
            (artifact_hashes(&run), project, cache)
        })
        .collect();
    assert_eq!(runs[0].0, runs[1].0);
}
