//! `lambdaship invoke` end to end: the real binary builds the project with uv and runs the
//! event through awslambdaric under CPython 3.11.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn invoke(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut command = lambdaship();
    command.arg("invoke").arg(dir).args(args);
    run(command, Duration::from_secs(300), "lambdaship invoke")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn hello_fastapi_answers_the_seed_event_with_the_seed_response() {
    let project = copy_example("hello-fastapi");
    let event = project.path().join("event.json");
    let output = invoke(project.path(), &["--event", event.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"], "\"Hello, world!\"");
    assert_eq!(response["headers"]["content-type"], "application/json");
    // The seed's response.json says 14, which is not the length of its own body: FastAPI
    // sends the true length of `"Hello, world!"`.
    assert_eq!(response["headers"]["content-length"], "15");
    assert_eq!(response["isBase64Encoded"], false);
    assert_eq!(response["multiValueHeaders"], serde_json::json!({}));
    let logs = stderr(&output);
    assert!(logs.contains("START RequestId: "), "{logs}");
    assert!(logs.contains("GET / 200"), "{logs}");
    assert!(logs.contains("END RequestId: "), "{logs}");
    assert!(logs.contains("\tMemory Size: 512 MB\t"), "{logs}");
    assert!(logs.contains("\tInit Duration: "), "{logs}");
}

#[test]
fn a_function_error_exits_1_with_the_error_payload() {
    let project = copy_example("hello-fastapi");
    write(
        project.path(),
        "app/main.py",
        "def handler(event, context):\n    raise RuntimeError('no luck')\n",
    );
    let output = invoke(project.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let error: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(error["errorType"], "RuntimeError");
    assert_eq!(error["errorMessage"], "no luck");
}

#[test]
fn the_event_comes_from_stdin() {
    let project = copy_example("hello-fastapi");
    write(
        project.path(),
        "app/main.py",
        "def handler(event, context):\n    return event['n'] * 2\n",
    );
    let mut command = lambdaship();
    command
        .arg("invoke")
        .arg(project.path())
        .args(["--event", "-"]);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"n": 21}"#)
            .unwrap();
    }
    let output = wait_bounded(child, Duration::from_secs(300), "lambdaship invoke");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(output.stdout, b"42");
}

#[test]
fn an_event_that_is_not_json_exits_2_naming_the_file() {
    let project = copy_example("hello-fastapi");
    write(project.path(), "bad.json", "{\"httpMethod\": GET}");
    let event = project.path().join("bad.json");
    let output = invoke(project.path(), &["--event", event.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("bad.json is not JSON"), "{message}");
    assert!(message.contains("line 1 column 16"), "{message}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_runtime_without_an_interpreter_says_how_to_get_one() {
    let found = std::process::Command::new("uv")
        .args(["python", "find", "--system", "--no-project", "3.9"])
        .env("UV_PYTHON_DOWNLOADS", "never")
        .output()
        .is_ok_and(|output| output.status.success());
    if found {
        eprintln!("this machine has Python 3.9: nothing to test");
        return;
    }
    let project = tempfile::tempdir().unwrap();
    write(project.path(), "requirements.txt", "");
    write(
        project.path(),
        "lambda_function.py",
        "def lambda_handler(event, context):\n    return 1\n",
    );
    let output = invoke(project.path(), &["--runtime", "python3.9"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("no Python 3.9 interpreter"), "{message}");
    assert!(message.contains("uv python find 3.9"), "{message}");
}

#[test]
fn isolate_runs_the_function_at_var_task() {
    let project = copy_example("hello-fastapi");
    write(
        project.path(),
        "app/main.py",
        "import os\ndef handler(event, context):\n    return os.getcwd()\n",
    );
    let output = invoke(project.path(), &["--isolate"]);
    let logs = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{logs}");
    if logs.contains("--isolate is not possible here") {
        eprintln!("isolation is not possible on this machine: {logs}");
        return;
    }
    assert_eq!(output.stdout, b"\"/var/task\"");
}
