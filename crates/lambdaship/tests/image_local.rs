//! Image functions run on this machine: `lambdaship invoke` and `lambdaship dev` unpack the
//! built image's /var/task and /opt and run them with the host's Python, and `lambdaship
//! server` does the same with images it pulls from Debian's docker-registry for the real aws
//! CLI. The base image is one the tests make (fixtures/make_base_image.py), with a file of
//! its own under /opt that only the image can supply.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../lambdaship-image/tests/support/mod.rs"]
mod registry_support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::server::{LocalServer, aws_lambda, json_of, text};
use common::*;
use registry_support::{Auth, Registry};
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/my-lambda-role";

/// What the base image puts in /opt/python, which Lambda's Python puts on sys.path.
const BASE_MODULE: &str = "opt/python/base_marker.py=MARKER = 'from the base image'\n";

/// Writes a Lambda-shaped base image (an OCI layout) at `dir/base` holding `files`.
fn make_base(dir: &Path, files: &[&str]) {
    let mut command = Command::new("python3");
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make_base_image.py"))
        .arg(dir.join("base"))
        .arg("amd64")
        .args(files);
    let output = run(command, Duration::from_secs(60), "make_base_image.py");
    assert!(output.status.success(), "{output:?}");
}

/// Puts the project's function into the image layout, on the base at `./base`.
fn use_image_layout(dir: &Path) {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[tool.lambdaship]\n"));
    let text = text.replacen(
        "[tool.lambdaship]\n",
        "[tool.lambdaship]\nlayout = \"image\"\nbase_image = \"base\"\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
}

/// `examples/hello-fastapi` as an image function on a base with [`BASE_MODULE`].
fn hello_image() -> tempfile::TempDir {
    let project = copy_example("hello-fastapi");
    make_base(project.path(), &[BASE_MODULE]);
    use_image_layout(project.path());
    project
}

fn invoke(dir: &Path, args: &[&str]) -> Output {
    let mut command = lambdaship();
    command.arg("invoke").arg(dir).args(args);
    run(command, Duration::from_secs(300), "lambdaship invoke")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The digest of the image the last build wrote for `function`.
fn built_digest(dir: &Path, function: &str) -> String {
    let index = dir.join(format!("dist/lambda/{function}-image/index.json"));
    let index: Value = serde_json::from_slice(&std::fs::read(index).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The seed's response.json for `body`, with the true content-length.
fn seed_response(body: &str) -> Value {
    json!({
        "statusCode": 200,
        "headers": {"content-length": body.len().to_string(), "content-type": "application/json"},
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": false
    })
}

#[test]
fn invoke_runs_the_image_and_answers_the_seeds_event() {
    let project = hello_image();
    let dir = project.path();
    let event = dir.join("event.json");
    let output = invoke(dir, &["--event", event.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response, seed_response("\"Hello, world!\""));
    let logs = stderr(&output);
    assert!(logs.contains("GET / 200"), "{logs}");
    assert!(logs.contains("\tInit Duration: "), "{logs}");

    // The build wrote the image and nothing else, and the run unpacked that image.
    let written: Vec<String> = std::fs::read_dir(dir.join("dist/lambda"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, ["hello-fastapi-image"]);
    let digest = built_digest(dir, "hello-fastapi");
    let unpacked = shared_cache()
        .join("code")
        .join(format!("image-{}", digest.trim_start_matches("sha256:")));
    assert!(
        unpacked.join("var/task/app/main.py").is_file(),
        "{}",
        unpacked.display()
    );
    assert!(unpacked.join("opt/python/base_marker.py").is_file());
    assert!(
        !unpacked.join("lambda-entrypoint.sh").exists(),
        "only /var/task and /opt"
    );

    // What only the image holds, its base layer's /opt/python, is importable as on Lambda;
    // the image's Env reached the function, its PATH did not.
    write(
        dir,
        "app/main.py",
        "import os\nimport base_marker\n\ndef handler(event, context):\n    return [base_marker.MARKER, os.environ.get('LAMBDA_TASK_ROOT'), '/var/lang' in os.environ['PATH']]\n",
    );
    let output = invoke(dir, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer[0], "from the base image");
    assert_ne!(
        answer[1], "/var/task",
        "not isolated: the unpacked task root"
    );
    assert_eq!(answer[2], false, "the base's PATH leads into its /var/lang");

    // Isolated, the image's directories are at Lambda's paths.
    write(
        dir,
        "app/main.py",
        "import os\nimport base_marker\n\ndef handler(event, context):\n    return [os.getcwd(), base_marker.__file__]\n",
    );
    let output = invoke(dir, &["--isolate"]);
    let logs = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{logs}");
    if logs.contains("--isolate is not possible here") {
        eprintln!("isolation is not possible on this machine: {logs}");
        return;
    }
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer, json!(["/var/task", "/opt/python/base_marker.py"]));
}

/// A port nothing listens on now: tests run in parallel and their apps must not meet.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `curl -s URL`, bounded.
fn curl(url: &str) -> String {
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "60", url]);
    let output = run(command, Duration::from_secs(90), "curl");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn dev_serves_a_web_function_from_its_image_and_rebuilds_it_on_edits() {
    let project = copy_example("flask-web");
    let dir = project.path();
    make_base(dir, &[]);
    use_image_layout(dir);
    // The seed's gunicorn.conf.py binds 8080; gunicorn's own -b overrides it, so that tests
    // running at once do not share a port.
    let port = free_port();
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "web = \"gunicorn -c gunicorn.conf.py app:app\"",
        &format!(
            "web = \"gunicorn -c gunicorn.conf.py -b 127.0.0.1:{port} app:app\"\nweb_port = {port}"
        ),
        1,
    );
    std::fs::write(&path, text).unwrap();

    // Images are reproducible: dev builds this same image, whose digest tells where it is
    // unpacked.
    let digest = build(dir, &[]).artifacts()[0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let unpacked = |digest: &str| {
        shared_cache()
            .join("code")
            .join(format!("image-{}", digest.trim_start_matches("sha256:")))
    };

    let dev = {
        let mut command = lambdaship();
        command
            .arg("dev")
            .arg(dir)
            .args(["--port", "0", "--api", "url"]);
        LocalServer::spawn(command, "lambdaship dev serving")
    };
    let base = format!(
        "http://{}",
        dev.endpoint["http://".len()..].split('/').next().unwrap()
    );
    let url = format!("{base}/api/hello?name=Lambda");
    let hello = curl(&url);
    assert_eq!(
        serde_json::from_str::<Value>(&hello)
            .unwrap_or_else(|e| panic!("{e}: {hello}\n--- dev ---\n{}", dev.output())),
        json!({"message": "Hello, Lambda!"})
    );
    // The web adapter and the exec wrapper came from the image's /opt.
    assert!(
        unpacked(&digest)
            .join("opt/extensions/lambdaship-adapter")
            .is_file()
    );
    assert!(
        unpacked(&digest)
            .join("opt/lambdaship-exec-wrapper")
            .is_file()
    );

    // An edit: the image is rebuilt and the next requests run it.
    let app = dir.join("app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, source.replace("f'Hello, {name}!'", "f'Hi, {name}!'")).unwrap();
    let start = Instant::now();
    while !curl(&url).contains("Hi, Lambda!") {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the edit was never served:\n{}",
            dev.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    dev.wait_for_output("rebuilt the image", Duration::from_secs(30));
    let edited = build(dir, &[]).artifacts()[0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(edited, digest);
    assert!(unpacked(&edited).join("var/task/app.py").is_file());
}

/// `lambdaship build DIR --json --push REFERENCE`, with no Docker credentials from the
/// machine; the pushed digest.
fn push(dir: &Path, reference: &str) -> String {
    pushed(&build_image(dir, &["--push", reference]))["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `aws lambda invoke` with the seed's event.json; the payload it wrote.
fn aws_invoke(server: &LocalServer, dir: &Path, function: &str) -> Value {
    let status = json_of(&aws_lambda(
        server,
        dir,
        &[
            "invoke",
            "--function-name",
            function,
            "--payload",
            "file://event.json",
            "--cli-binary-format",
            "raw-in-base64-out",
            "response.json",
        ],
    ));
    assert_eq!(status["StatusCode"], 200, "{status}");
    assert!(status.get("FunctionError").is_none(), "{status}");
    serde_json::from_slice(&std::fs::read(dir.join("response.json")).unwrap()).unwrap()
}

#[test]
fn the_server_runs_images_pulled_from_a_registry_for_the_aws_cli() {
    let registry = Registry::start(Auth::None);
    let host = registry.host();
    let project = hello_image();
    let dir = project.path();
    let v1 = push(dir, &format!("{host}/hello:v1"));

    let state = tempfile::tempdir().unwrap();
    let server = {
        let mut command = lambdaship();
        command
            .env("DOCKER_CONFIG", dir.join(".no-docker-config"))
            .arg("server")
            .args(["--port", "0", "--state"])
            .arg(state.path());
        LocalServer::spawn(command, "listening on ")
    };
    let uri = format!("{host}/hello:v1");
    let created = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "create-function",
            "--function-name",
            "hello",
            "--package-type",
            "Image",
            "--code",
            &format!("ImageUri={uri}"),
            "--role",
            ROLE,
        ],
    ));
    assert_eq!(created["PackageType"], "Image", "{created}");
    assert_eq!(created["CodeSha256"], v1.trim_start_matches("sha256:"));
    assert!(created.get("Runtime").is_none(), "{created}");
    assert_eq!(
        aws_invoke(&server, dir, "hello"),
        seed_response("\"Hello, world!\"")
    );

    let function = json_of(&aws_lambda(
        &server,
        dir,
        &["get-function", "--function-name", "hello"],
    ));
    assert_eq!(
        function["Code"],
        json!({"RepositoryType": "ECR", "ImageUri": uri, "ResolvedImageUri": format!("{host}/hello@{v1}")})
    );

    // A new image, with a second handler: update-function-code changes the answer.
    write(
        dir,
        "app/main.py",
        "def handler(event, context):\n    return 'Hello, image!'\n\ndef other(event, context):\n    return 'other handler'\n",
    );
    let v2 = push(dir, &format!("{host}/hello:v2"));
    assert_ne!(v1, v2);
    let updated = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "update-function-code",
            "--function-name",
            "hello",
            "--image-uri",
            &format!("{host}/hello:v2"),
        ],
    ));
    assert_eq!(updated["CodeSha256"], v2.trim_start_matches("sha256:"));
    assert_eq!(aws_invoke(&server, dir, "hello"), json!("Hello, image!"));

    // ImageConfig.Command names another handler in the same image.
    let other = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "create-function",
            "--function-name",
            "hello-other",
            "--package-type",
            "Image",
            "--code",
            &format!("ImageUri={host}/hello@{v2}"),
            "--image-config",
            r#"{"Command": ["app.main.other"]}"#,
            "--role",
            ROLE,
        ],
    ));
    assert_eq!(
        other["ImageConfigResponse"],
        json!({"ImageConfig": {"Command": ["app.main.other"]}})
    );
    assert_eq!(
        aws_invoke(&server, dir, "hello-other"),
        json!("other handler")
    );

    // A package type never changes, and an image that is not there is named.
    std::fs::write(
        dir.join("empty.zip"),
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    )
    .unwrap();
    let refused = aws_lambda(
        &server,
        dir,
        &[
            "update-function-code",
            "--function-name",
            "hello",
            "--zip-file",
            "fileb://empty.zip",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused)
            .contains("Please provide ImageUri when updating a function with packageType Image"),
        "{}",
        text(&refused)
    );
    let missing = aws_lambda(
        &server,
        dir,
        &[
            "create-function",
            "--function-name",
            "missing",
            "--package-type",
            "Image",
            "--code",
            &format!("ImageUri={host}/hello:nope"),
            "--role",
            ROLE,
        ],
    );
    assert!(!missing.status.success());
    let message = stderr(&missing);
    assert!(
        message.contains("InvalidParameterValueException")
            && message.contains(&format!("Source image {host}/hello:nope does not exist"))
            && message.contains(&format!("registry {host}")),
        "{message}"
    );
    let listed = json_of(&aws_lambda(&server, dir, &["list-functions"]));
    let names: Vec<&str> = listed["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    drop(server);
}
