//! `lambdaship server` end to end with real clients: the aws CLI (version 2) running the
//! seeds' commands, boto3 driving every operation and error, IAM's role operations on the
//! same port, and the server restarted, killed and hammered.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::server::{
    LocalServer, aws_iam, aws_lambda, json_of, text, tools_python, tools_python_code,
};
use common::*;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/my-lambda-role";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The seed's response.json, with the true content-length (the seed's says 14 for a
/// 15-byte body).
fn seed_response(body: &str) -> Value {
    json!({
        "statusCode": 200,
        "headers": {
            "content-length": body.len().to_string(),
            "content-type": "application/json"
        },
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": false
    })
}

#[test]
fn the_seeds_aws_cli_commands_run_against_the_server_and_survive_a_restart() {
    let project = copy_example("hello-fastapi");
    let dir = project.path();
    // Python 3.11 is the interpreter this machine has: the seeds' python3.13 would build
    // and be accepted, but could not run here.
    let zip_build = build(dir, &["--runtime", "python3.11"]);
    std::fs::copy(zip_build.artifact("zip"), dir.join("package.zip")).unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut server = LocalServer::start(state.path(), &[]);

    // create-function with the built package.zip and the seed's handler.
    let created = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "create-function",
            "--function-name",
            "myFunction",
            "--runtime",
            "python3.11",
            "--zip-file",
            "fileb://package.zip",
            "--handler",
            "app.main.handler",
            "--role",
            ROLE,
        ],
    ));
    assert_eq!(created["State"], "Active");
    assert_eq!(created["LastUpdateStatus"], "Successful");
    assert_eq!(created["Version"], "$LATEST");
    assert_eq!(
        created["CodeSize"].as_u64().unwrap(),
        std::fs::metadata(dir.join("package.zip")).unwrap().len()
    );

    // invoke with the seed's event.json, giving the seed's response.json.
    let invoke = |server: &LocalServer, function: &str, extra: &[&str]| -> Value {
        let mut args = vec![
            "invoke",
            "--function-name",
            function,
            "--payload",
            "file://event.json",
            "--cli-binary-format",
            "raw-in-base64-out",
        ];
        args.extend_from_slice(extra);
        args.push("response.json");
        json_of(&aws_lambda(server, dir, &args))
    };
    let response = |dir: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join("response.json")).unwrap()).unwrap()
    };
    let status = invoke(&server, "myFunction", &[]);
    assert_eq!(
        status,
        json!({"StatusCode": 200, "ExecutedVersion": "$LATEST"})
    );
    assert_eq!(response(dir), seed_response("\"Hello, world!\""));

    // The last 4 KB of logs come back with --log-type Tail.
    let tailed = invoke(&server, "myFunction", &["--log-type", "Tail"]);
    use base64::Engine;
    let logs = base64::engine::general_purpose::STANDARD
        .decode(tailed["LogResult"].as_str().unwrap())
        .unwrap();
    let logs = String::from_utf8_lossy(&logs);
    assert!(logs.contains("START RequestId: "), "{logs}");
    assert!(logs.contains("REPORT RequestId: "), "{logs}");
    server.wait_for_output("[myFunction] REPORT RequestId: ", Duration::from_secs(10));

    // The layer recipe: dependencies in a layer, the app alone, then --layers.
    let layered = build(dir, &["--runtime", "python3.11", "--layout", "layers"]);
    std::fs::copy(layered.artifact("layer"), dir.join("layer_content.zip")).unwrap();
    std::fs::copy(layered.artifact("app"), dir.join("app.zip")).unwrap();
    let layer = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "publish-layer-version",
            "--layer-name",
            "dependencies-layer",
            "--zip-file",
            "fileb://layer_content.zip",
            "--compatible-runtimes",
            "python3.11",
            "--compatible-architectures",
            "x86_64",
        ],
    ));
    assert_eq!(layer["Version"], 1);
    let layer_arn = layer["LayerVersionArn"].as_str().unwrap().to_string();
    assert!(
        layer_arn.ends_with(":layer:dependencies-layer:1"),
        "{layer_arn}"
    );
    json_of(&aws_lambda(
        &server,
        dir,
        &[
            "create-function",
            "--function-name",
            "appOnly",
            "--runtime",
            "python3.11",
            "--zip-file",
            "fileb://app.zip",
            "--handler",
            "app.main.handler",
            "--role",
            ROLE,
        ],
    ));
    // Without the layer, FastAPI is missing: a function error, reported as Lambda does.
    let failed = invoke(&server, "appOnly", &[]);
    assert_eq!(failed["FunctionError"], "Unhandled", "{failed}");
    assert_eq!(response(dir)["errorType"], "Runtime.ImportModuleError");
    let configured = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "update-function-configuration",
            "--function-name",
            "appOnly",
            "--cli-binary-format",
            "raw-in-base64-out",
            "--layers",
            &layer_arn,
        ],
    ));
    assert_eq!(configured["Layers"][0]["Arn"], layer_arn.as_str());
    let status = invoke(&server, "appOnly", &[]);
    assert!(status.get("FunctionError").is_none(), "{status}");
    assert_eq!(response(dir), seed_response("\"Hello, world!\""));

    // update-function-code: the new code answers.
    let main = dir.join("app/main.py");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, source.replace("Hello, world!", "Hello, update!")).unwrap();
    let rebuilt = build(dir, &["--runtime", "python3.11"]);
    std::fs::copy(rebuilt.artifact("zip"), dir.join("package.zip")).unwrap();
    let updated = json_of(&aws_lambda(
        &server,
        dir,
        &[
            "update-function-code",
            "--function-name",
            "myFunction",
            "--zip-file",
            "fileb://package.zip",
        ],
    ));
    assert_ne!(updated["CodeSha256"], created["CodeSha256"]);
    assert_ne!(updated["RevisionId"], created["RevisionId"]);
    invoke(&server, "myFunction", &[]);
    assert_eq!(response(dir), seed_response("\"Hello, update!\""));

    // A restart keeps everything: functions, the layer, the code.
    server.stop();
    let server = LocalServer::start(state.path(), &[]);
    let listed = json_of(&aws_lambda(&server, dir, &["list-functions"]));
    let mut names: Vec<&str> = listed["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["appOnly", "myFunction"]);
    let layers = json_of(&aws_lambda(&server, dir, &["list-layers"]));
    assert_eq!(
        layers["Layers"][0]["LatestMatchingVersion"]["LayerVersionArn"],
        layer_arn.as_str()
    );
    let got = json_of(&aws_lambda(
        &server,
        dir,
        &["get-function", "--function-name", "myFunction"],
    ));
    assert_eq!(got["Configuration"]["CodeSha256"], updated["CodeSha256"]);
    invoke(&server, "myFunction", &[]);
    assert_eq!(response(dir), seed_response("\"Hello, update!\""));
    invoke(&server, "appOnly", &[]);
    assert_eq!(response(dir), seed_response("\"Hello, world!\""));
    let log_file = state.path().join("logs/myFunction.log");
    let kept = std::fs::read_to_string(&log_file).unwrap();
    assert!(kept.matches("START RequestId: ").count() >= 4, "{kept}");
}

#[test]
fn boto3_drives_every_operation_and_error() {
    let state = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = LocalServer::start(
        state.path(),
        &["--retry-delays", "100ms,200ms", "--concurrency", "8"],
    );
    let mut command = tools_python(&fixture("boto3_api.py"), &[&server.endpoint]);
    command
        .env("STATE_DIR", state.path())
        .env("WORK_DIR", work.path());
    let output = run(command, Duration::from_secs(600), "boto3_api.py");
    assert!(
        output.status.success(),
        "{}\nserver output:\n{}",
        text(&output),
        server.output()
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(stdout.contains("ALL CHECKS PASSED"), "{}", text(&output));
    // After its third attempt the failing event is discarded, and never runs again.
    let failing = stdout
        .lines()
        .find_map(|line| line.strip_prefix("async-failing "))
        .unwrap();
    let (path, request_id) = failing.split_once(' ').unwrap();
    server.wait_for_output(
        &format!("async event {request_id} failed on attempt 3 of 3"),
        Duration::from_secs(30),
    );
    let attempts = std::fs::read_to_string(path).unwrap();
    assert_eq!(attempts.lines().count(), 3, "{attempts}");
    let output = server.output();
    assert!(
        output.contains(&format!("[async-writer] START RequestId: {request_id}")),
        "{output}"
    );
}

#[test]
fn the_rie_curl_path_reaches_the_only_function() {
    let state = tempfile::tempdir().unwrap();
    let server = LocalServer::start(state.path(), &[]);
    let output = run(
        tools_python(&fixture("boto3_api.py"), &[&server.endpoint, "rie"]),
        Duration::from_secs(300),
        "rie",
    );
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn a_killed_server_keeps_the_old_or_the_new_state() {
    let state = tempfile::tempdir().unwrap();
    let mut server = LocalServer::start(state.path(), &[]);
    let script = fixture("boto3_api.py");
    // The updater rewrites the function's code in a loop, printing each acknowledged code
    // hash; the server is killed in the middle.
    let mut updater = tools_python(&script, &[&server.endpoint, "hammer"]);
    updater
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = updater.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 15 {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => acknowledged.push(line),
            Err(_) => panic!("the updater stalled after {acknowledged:?}"),
        }
    }
    server.kill();
    let _ = wait_bounded(child, Duration::from_secs(60), "hammer");
    let server = LocalServer::start(state.path(), &[]);
    let mut check = tools_python(&script, &[&server.endpoint, "check-after-crash"]);
    check.env("ACKNOWLEDGED", acknowledged.join(","));
    let output = run(check, Duration::from_secs(300), "check-after-crash");
    assert!(
        output.status.success(),
        "{}\nserver output:\n{}",
        text(&output),
        server.output()
    );
}

/// The trust policy `lambdaship deploy` gives the roles it creates.
const TRUST_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

const BASIC_EXECUTION: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// An aws CLI command that AWS refused: exit code 254 and the error code in its message.
fn refused(output: &Output, code: &str) {
    assert_eq!(output.status.code(), Some(254), "{}", text(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("({code})")), "{}", text(output));
}

fn create_role(server: &LocalServer, name: &str, path: &str) -> Output {
    aws_iam(
        server,
        &[
            "create-role",
            "--role-name",
            name,
            "--path",
            path,
            "--assume-role-policy-document",
            TRUST_POLICY,
            "--description",
            "Execution role of <hello> & co",
        ],
    )
}

fn attached_policies(server: &LocalServer, name: &str) -> Value {
    json_of(&aws_iam(
        server,
        &["list-attached-role-policies", "--role-name", name],
    ))["AttachedPolicies"]
        .clone()
}

#[test]
fn the_aws_cli_and_boto3_manage_roles_on_the_lambda_port() {
    let state = tempfile::tempdir().unwrap();
    let server = LocalServer::start(state.path(), &[]);

    let created =
        json_of(&create_role(&server, "lambdaship-hello", "/service-role/"))["Role"].clone();
    assert_eq!(
        created["Arn"],
        "arn:aws:iam::000000000000:role/service-role/lambdaship-hello"
    );
    assert_eq!(created["Path"], "/service-role/");
    assert_eq!(created["Description"], "Execution role of <hello> & co");
    assert_eq!(created["MaxSessionDuration"], 3600);
    // The CLI decodes the URL-encoded document IAM returns.
    let trust: Value = serde_json::from_str(TRUST_POLICY).unwrap();
    assert_eq!(created["AssumeRolePolicyDocument"], trust);
    let id = created["RoleId"].as_str().unwrap();
    assert!(
        id.len() == 21
            && id.starts_with("AROA")
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{id}"
    );
    assert!(created["CreateDate"].as_str().is_some(), "{created}");

    // Names are found regardless of case, as IAM finds them.
    let got = json_of(&aws_iam(
        &server,
        &["get-role", "--role-name", "LAMBDASHIP-HELLO"],
    ))["Role"]
        .clone();
    assert_eq!(got["RoleId"], created["RoleId"]);
    assert_eq!(got["CreateDate"], created["CreateDate"]);

    let attached = aws_iam(
        &server,
        &[
            "attach-role-policy",
            "--role-name",
            "lambdaship-hello",
            "--policy-arn",
            BASIC_EXECUTION,
        ],
    );
    assert!(attached.status.success(), "{}", text(&attached));
    assert_eq!(
        attached_policies(&server, "lambdaship-hello"),
        json!([{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC_EXECUTION}])
    );

    refused(
        &aws_iam(&server, &["get-role", "--role-name", "missing"]),
        "NoSuchEntity",
    );
    refused(
        &create_role(&server, "lambdaship-hello", "/"),
        "EntityAlreadyExists",
    );
    refused(
        &aws_iam(&server, &["delete-role", "--role-name", "lambdaship-hello"]),
        "DeleteConflict",
    );
    refused(
        &aws_iam(
            &server,
            &[
                "create-role",
                "--role-name",
                "not json",
                "--assume-role-policy-document",
                "{}",
            ],
        ),
        "ValidationError",
    );
    refused(&aws_iam(&server, &["list-users"]), "InvalidAction");

    // boto3 parses the XML into its types, and Lambda on the same port takes the role.
    let script = r#"
import datetime, io, sys, zipfile
import boto3
endpoint = sys.argv[1]
role = boto3.client("iam", endpoint_url=endpoint).get_role(RoleName="lambdaship-hello")["Role"]
assert role["Arn"] == "arn:aws:iam::000000000000:role/service-role/lambdaship-hello", role
assert isinstance(role["CreateDate"], datetime.datetime), role
assert role["CreateDate"].tzinfo is not None, role
assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole", role
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as archive:
    archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
lam = boto3.client("lambda", endpoint_url=endpoint)
created = lam.create_function(
    FunctionName="uses-role", Runtime="python3.11", Role=role["Arn"],
    Handler="lambda_function.lambda_handler", Code={"ZipFile": code.getvalue()})
assert created["Role"] == role["Arn"], created
print("BOTO3 OK")
"#;
    let output = run(
        tools_python_code(script, &[&server.endpoint]),
        Duration::from_secs(120),
        "boto3 iam",
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("BOTO3 OK"));
}

#[test]
fn roles_survive_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let mut server = LocalServer::start(state.path(), &[]);
    let created = json_of(&create_role(&server, "kept", "/"))["Role"].clone();
    let attach = [
        "attach-role-policy",
        "--role-name",
        "kept",
        "--policy-arn",
        BASIC_EXECUTION,
    ];
    assert!(aws_iam(&server, &attach).status.success());
    server.stop();

    let mut server = LocalServer::start(state.path(), &[]);
    let got = json_of(&aws_iam(&server, &["get-role", "--role-name", "kept"]))["Role"].clone();
    assert_eq!(got, created);
    assert_eq!(
        attached_policies(&server, "kept"),
        json!([{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC_EXECUTION}])
    );
    let mut detach = attach;
    detach[0] = "detach-role-policy";
    assert!(aws_iam(&server, &detach).status.success());
    let deleted = aws_iam(&server, &["delete-role", "--role-name", "kept"]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    server.stop();

    // The deletion is kept too.
    let server = LocalServer::start(state.path(), &[]);
    refused(
        &aws_iam(&server, &["get-role", "--role-name", "kept"]),
        "NoSuchEntity",
    );
    let roles = json_of(&aws_iam(&server, &["list-roles"]));
    assert_eq!(roles["Roles"], json!([]));
}
