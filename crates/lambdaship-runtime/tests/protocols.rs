//! The Runtime and Extensions APIs spoken by independent clients: a custom runtime and an
//! external extension written against the raw HTTP protocol in Python, and a
//! `provided.al2023` function built with the Rust lambda_runtime crate.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/rust_fixture.rs"]
mod rust_fixture;

use bytes::Bytes;
use common::*;
use lambdaship_runtime::{FunctionResult, InvokeRequest, PoolOptions, RuntimeKind};

fn event(json: &str) -> InvokeRequest {
    InvokeRequest {
        payload: Bytes::from(json.to_string()),
        ..InvokeRequest::default()
    }
}

fn provided(name: &str) -> lambdaship_runtime::FunctionConfig {
    let mut config = config(name, "unused.handler");
    config.runtime = RuntimeKind::Provided { al2023: true };
    config
}

/// A custom runtime in plain Python: it probes the Runtime API's refusals and answers in
/// the mode the event asks for.
const CUSTOM_RUNTIME: &str = r#"#!/usr/bin/env python3
import base64, http.client, json, os, socket
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"

def call(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(API, timeout=30)
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data

def raw(request):
    host, port = API.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        return conn.recv(65536).decode().split(" ")[1]

while True:
    status, headers, body = call("GET", BASE + "/invocation/next")
    rid = headers["lambda-runtime-aws-request-id"]
    event = json.loads(body)
    mode = event.get("mode")
    checks = {
        "headers": {k: v for k, v in headers.items() if k.startswith("lambda-runtime")},
        "next_while_busy": call("GET", BASE + "/invocation/next")[0],
        "wrong_id": call("POST", BASE + "/invocation/not-the-id/response", b"{}")[0],
        "logs_subscription": call("PUT", "/2020-08-15/logs", b"{}")[0],
        "telemetry_subscription": json.loads(call("PUT", "/2022-07-01/telemetry", b"{}")[2]),
        "init_error_after_init": call("POST", BASE + "/init/error", b"{}")[0],
    }
    path = BASE + "/invocation/" + rid
    if mode == "error":
        status = call("POST", path + "/error", json.dumps({"errorType": "CustomError", "errorMessage": "told to fail"}).encode(),
                      {"Lambda-Runtime-Function-Error-Type": "unhandled"})[0]
    elif mode == "stream":
        chunks = b"5\r\nhello\r\n6\r\n world\r\n"
        trailer = b""
        if event.get("fail"):
            trailer = (b"Lambda-Runtime-Function-Error-Type: Runtime.StreamError\r\n"
                       b"Lambda-Runtime-Function-Error-Body: " + base64.b64encode(b'{"errorMessage":"broke midway"}') + b"\r\n")
        status = raw(b"POST " + path.encode() + b"/response HTTP/1.1\r\nHost: runtime\r\n"
                     b"Lambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: text/plain\r\n"
                     b"Transfer-Encoding: chunked\r\n"
                     b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
                     + chunks + b"0\r\n" + trailer + b"\r\n")
    elif mode == "bad-mode":
        status = call("POST", path + "/response", b"{}", {"Lambda-Runtime-Function-Response-Mode": "sideways"})[0]
    else:
        status = call("POST", path + "/response", json.dumps(checks).encode(), {"Content-Type": "application/json"})[0]
    print("first answer", status, "second answer", call("POST", path + "/response", b"{}")[0], flush=True)
"#;

#[test]
fn the_runtime_api_speaks_lambdas_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, logs) = pool(
        dir.path(),
        provided("custom"),
        &[("bootstrap", CUSTOM_RUNTIME.as_bytes(), EXECUTABLE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool
            .invoke(InvokeRequest {
                payload: Bytes::from_static(b"{}"),
                client_context: Some(r#"{"custom":{"k":"v"}}"#.into()),
                cognito_identity: Some(
                    r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#.into(),
                ),
                trace_id: Some(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                        .into(),
                ),
                ..InvokeRequest::default()
            })
            .await
            .unwrap();
        let checks = json(outcome.result.payload());
        let headers = &checks["headers"];
        assert_eq!(
            headers["lambda-runtime-aws-request-id"],
            outcome.request_id.as_str()
        );
        assert_eq!(
            headers["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:custom"
        );
        assert_eq!(
            headers["lambda-runtime-trace-id"],
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        );
        assert_eq!(
            headers["lambda-runtime-client-context"],
            r#"{"custom":{"k":"v"}}"#
        );
        assert_eq!(
            headers["lambda-runtime-cognito-identity"],
            r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#
        );
        let deadline: u64 = headers["lambda-runtime-deadline-ms"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(
            deadline > now + 8_000 && deadline <= now + 10_000,
            "{deadline} vs {now}"
        );
        assert_eq!(checks["next_while_busy"], 403);
        assert_eq!(checks["wrong_id"], 400);
        assert_eq!(checks["logs_subscription"], 202);
        assert_eq!(
            checks["telemetry_subscription"]["errorType"],
            "Telemetry.NotSupported"
        );
        assert_eq!(checks["init_error_after_init"], 403);

        // The error type comes from the body when the header is malformed.
        let failed = pool.invoke(event(r#"{"mode": "error"}"#)).await.unwrap();
        assert_eq!(
            failed.result,
            FunctionResult::Error {
                payload: Bytes::from_static(
                    br#"{"errorType": "CustomError", "errorMessage": "told to fail"}"#
                ),
                error_type: "CustomError".to_string(),
            }
        );

        // Streaming: the chunks reach the caller as they come.
        let (sender, mut chunks) = tokio::sync::mpsc::channel(8);
        let streamed = pool
            .invoke(InvokeRequest {
                payload: Bytes::from_static(br#"{"mode": "stream"}"#),
                stream_to: Some(sender),
                ..InvokeRequest::default()
            })
            .await
            .unwrap();
        assert!(streamed.streamed);
        assert!(!streamed.result.is_error());
        let mut received = Vec::new();
        while let Ok(chunk) = chunks.try_recv() {
            received.extend_from_slice(&chunk);
        }
        assert_eq!(received, b"hello world");

        // Without a receiver the stream is collected; an error in the trailers fails it.
        let collected = pool.invoke(event(r#"{"mode": "stream"}"#)).await.unwrap();
        assert_eq!(collected.result.payload().as_ref(), b"hello world");
        let broken = pool
            .invoke(event(r#"{"mode": "stream", "fail": true}"#))
            .await
            .unwrap();
        assert_eq!(
            broken.result,
            FunctionResult::Error {
                payload: Bytes::from_static(br#"{"errorMessage":"broke midway"}"#),
                error_type: "Runtime.StreamError".to_string(),
            }
        );

        let bad_mode = pool.invoke(event(r#"{"mode": "bad-mode"}"#)).await.unwrap();
        match bad_mode.result {
            FunctionResult::Error { error_type, .. } => {
                assert_eq!(error_type, "Runtime.InvalidResponseModeHeader")
            }
            other => panic!("{other:?}"),
        }
        pool.shutdown().await;
    }));
    let logs = logs.text();
    assert!(
        logs.contains("first answer 202 second answer 403"),
        "{logs}"
    );
    assert!(
        logs.contains("first answer 400 second answer 403"),
        "{logs}"
    );
}

/// An external extension in plain Python: registers for INVOKE and SHUTDOWN and records
/// every event in a file.
const EXTENSION: &str = r#"#!/usr/bin/env python3
import http.client, json, os, sys
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
record = open(os.environ["RECORD"], "a")

def call(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(API, timeout=60)
    conn.request(method, path, body, headers or {})
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

status, headers, body = call("POST", "/2020-01-01/extension/register", json.dumps({"events": ["INVOKE", "SHUTDOWN"]}),
                             {"Lambda-Extension-Name": os.path.basename(sys.argv[0]), "Lambda-Extension-Accept-Feature": "accountId"})
ext_id = headers["lambda-extension-identifier"]
registered = json.loads(body)
record.write(json.dumps({"registered": status, "body": registered, "handler_hidden": "_HANDLER" not in os.environ}) + "\n")
record.flush()
while True:
    status, headers, body = call("GET", "/2020-01-01/extension/event/next", headers={"Lambda-Extension-Identifier": ext_id})
    event = json.loads(body)
    record.write(json.dumps(event) + "\n")
    record.flush()
    if event["eventType"] == "SHUTDOWN":
        print("extension shutting down", flush=True)
        sys.exit(0)
"#;

#[test]
fn an_external_extension_registers_and_receives_invoke_and_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("events.jsonl");
    let layer = zip(
        dir.path(),
        "extension.zip",
        &[("extensions/recorder", EXTENSION.as_bytes(), EXECUTABLE)],
    );
    let mut config = config("extended", "app.handler");
    config
        .environment
        .insert("RECORD".into(), record.display().to_string());
    let (pool, logs) = pool(
        dir.path(),
        config,
        &[(
            "app.py",
            b"def handler(event, context):\n    return 'ok'\n",
            FILE,
        )],
        vec![layer],
        PoolOptions::default(),
    );
    let request_id = tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(outcome.result.payload().as_ref(), b"\"ok\"");
        pool.shutdown().await;
        outcome.request_id
    }));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["registered"], 200);
    assert_eq!(lines[0]["body"]["functionName"], "extended");
    assert_eq!(lines[0]["body"]["functionVersion"], "$LATEST");
    assert_eq!(lines[0]["body"]["handler"], "app.handler");
    assert_eq!(lines[0]["body"]["accountId"], "123456789012");
    assert_eq!(lines[0]["handler_hidden"], true);
    assert_eq!(lines[1]["eventType"], "INVOKE");
    assert_eq!(lines[1]["requestId"], request_id.as_str());
    assert_eq!(
        lines[1]["invokedFunctionArn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:extended"
    );
    assert_eq!(lines[1]["tracing"]["type"], "X-Amzn-Trace-Id");
    assert_eq!(lines[2]["eventType"], "SHUTDOWN");
    assert_eq!(lines[2]["shutdownReason"], "spindown");
    assert!(lines[2]["deadlineMs"].as_u64().unwrap() > 0);
    let logs = logs.text();
    assert!(
        logs.contains("EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE, SHUTDOWN]"),
        "{logs}"
    );
    assert!(logs.contains("extension shutting down"), "{logs}");
}

#[test]
fn a_provided_function_built_with_the_rust_runtime_runs() {
    let bootstrap = std::fs::read(rust_fixture::rust_bootstrap(env!("CARGO"), false)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pool, _) = pool(
        dir.path(),
        provided("rusty"),
        &[("bootstrap", &bootstrap, EXECUTABLE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event(r#"{"x": 1}"#)).await.unwrap();
        let body = json(outcome.result.payload());
        assert_eq!(body["echo"], serde_json::json!({"x": 1}));
        assert_eq!(body["request_id"], outcome.request_id.as_str());
        assert_eq!(
            body["function_arn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:rusty"
        );
        assert_eq!(body["function_name"], "rusty");
        assert_eq!(body["memory"], 256);
        let failed = pool.invoke(event(r#"{"fail": true}"#)).await.unwrap();
        let FunctionResult::Error { payload, .. } = &failed.result else {
            panic!("{:?}", failed.result)
        };
        assert_eq!(
            json(payload)["errorMessage"],
            "the event asked for a failure"
        );
        // The same warm environment served both.
        assert!(failed.report.init_duration.is_none());
        pool.shutdown().await;
    }));
}

/// A custom runtime that answers at once, then holds its invoke phase open until the file
/// the event names exists.
const GATED_RUNTIME: &str = r#"#!/usr/bin/env python3
import http.client, json, os, time
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"

def call(method, path, body=None):
    conn = http.client.HTTPConnection(API, timeout=30)
    conn.request(method, path, body)
    response = conn.getresponse()
    return response.getheaders(), response.read()

while True:
    headers, body = call("GET", BASE + "/invocation/next")
    rid = dict((k.lower(), v) for k, v in headers)["lambda-runtime-aws-request-id"]
    event = json.loads(body)
    call("POST", BASE + "/invocation/" + rid + "/response",
         json.dumps({"n": event["n"], "pid": os.getpid()}).encode())
    gate = event.get("gate")
    while gate and not os.path.exists(gate):
        time.sleep(0.01)
    print("finished", event["n"], flush=True)
"#;

#[test]
fn an_answer_returns_before_the_invoke_phase_ends_and_the_environment_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let (pool, logs) = pool(
        dir.path(),
        provided("gated"),
        &[("bootstrap", GATED_RUNTIME.as_bytes(), EXECUTABLE)],
        vec![],
        PoolOptions {
            concurrency: 1,
            // Longer than any stall of a loaded machine: the second invocation must wait.
            finishing_wait: std::time::Duration::from_secs(30),
            ..PoolOptions::default()
        },
    );
    let pool = std::sync::Arc::new(pool);
    let gated = |n: u32| InvokeRequest {
        payload: Bytes::from(serde_json::json!({"n": n, "gate": gate}).to_string()),
        ..InvokeRequest::default()
    };
    tokio().block_on(bounded(async {
        // The runtime cannot reach its next request before the gate opens: the answer
        // arrives while the invoke phase is still open.
        let first = pool.invoke_answered(gated(1)).await.unwrap();
        let answer = json(first.result.payload());
        assert_eq!(answer["n"], 1);
        assert!(!logs.text().contains("REPORT"), "{}", logs.text());
        assert_eq!(pool.environments(), (0, 1));
        // With a concurrency of 1, a second invocation waits for that environment instead
        // of being throttled, and runs in it once the phase ends.
        let second = tokio::spawn({
            let pool = pool.clone();
            let request = gated(2);
            async move { pool.invoke_answered(request).await }
        });
        // Give it time to reach the pool before the gate opens (were it later, it would find
        // the environment idle and the test would not see the wait, but would not fail).
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second invocation did not wait");
        std::fs::write(&gate, b"open").unwrap();
        let second = second.await.unwrap().unwrap();
        let answer2 = json(second.result.payload());
        assert_eq!(answer2["n"], 2);
        assert_eq!(
            answer2["pid"], answer["pid"],
            "a new environment was started"
        );
        pool.shutdown().await;
    }));
    let text = logs.text();
    let order: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| ["START", "END", "REPORT", "finished"].contains(w))
        .collect();
    assert_eq!(
        order,
        [
            "START", "finished", "END", "REPORT", "START", "finished", "END", "REPORT"
        ],
        "{text}"
    );
}
