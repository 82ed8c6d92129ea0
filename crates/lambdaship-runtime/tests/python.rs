//! The runtime core against real CPython 3.11 and awslambdaric: handlers, errors, limits,
//! lifecycle, layers, extensions and concurrency.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use lambdaship_runtime::{FunctionResult, InvokeError, InvokeRequest, PoolOptions};

fn event(json: &str) -> InvokeRequest {
    InvokeRequest {
        payload: Bytes::from(json.to_string()),
        ..InvokeRequest::default()
    }
}

fn error_type(result: &FunctionResult) -> String {
    match result {
        FunctionResult::Error { error_type, .. } => error_type.clone(),
        FunctionResult::Success { payload, .. } => {
            panic!(
                "expected an error, got {}",
                String::from_utf8_lossy(payload)
            )
        }
    }
}

const ECHO: &str = r#"
import os, sys
def handler(event, context):
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "memory": context.memory_limit_in_mb,
        "env": {k: v for k, v in os.environ.items()},
        "path": sys.path,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
    }
"#;

#[test]
fn a_handler_sees_lambdas_environment() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config("echo", "app.handler");
    config.environment.insert("GREETING".into(), "hi".into());
    config
        .environment
        .insert("AWS_LAMBDA_FUNCTION_NAME".into(), "not-allowed".into());
    let (pool, logs) = pool(
        dir.path(),
        config,
        &[("app.py", ECHO.as_bytes(), FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool
            .invoke(InvokeRequest {
                payload: Bytes::from_static(br#"{"a": [1, "b"]}"#),
                qualifier: Some("live".into()),
                request_id: Some("11111111-2222-3333-4444-555555555555".into()),
                ..InvokeRequest::default()
            })
            .await
            .unwrap();
        let body = json(outcome.result.payload());
        assert_eq!(body["event"], serde_json::json!({"a": [1, "b"]}));
        assert_eq!(body["request_id"], "11111111-2222-3333-4444-555555555555");
        assert_eq!(
            body["arn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:echo:live"
        );
        assert!(body["remaining"].as_i64().unwrap() > 8_000);
        assert_eq!(body["memory"], "256");
        let env = &body["env"];
        for (key, value) in [
            ("_HANDLER", "app.handler"),
            ("AWS_LAMBDA_FUNCTION_NAME", "echo"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/echo"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("TZ", ":UTC"),
            ("LANG", "en_US.UTF-8"),
            ("GREETING", "hi"),
        ] {
            assert_eq!(env[key], value, "{key}");
        }
        assert!(
            env["AWS_LAMBDA_LOG_STREAM_NAME"]
                .as_str()
                .unwrap()
                .contains("/[$LATEST]")
        );
        assert!(
            env["AWS_LAMBDA_RUNTIME_API"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:")
        );
        assert!(env["PATH"].as_str().unwrap().ends_with("/bin"));
        assert!(env["LD_LIBRARY_PATH"].as_str().unwrap().contains("/lib64"));
        let task_root = env["LAMBDA_TASK_ROOT"].as_str().unwrap().to_string();
        assert_eq!(body["cwd"], task_root.as_str());
        assert!(
            env["_X_AMZN_TRACE_ID"]
                .as_str()
                .unwrap()
                .starts_with("Root=1-")
        );
        // Lambda's import order: task root, the layers' site-packages, the layers' python.
        let path: Vec<String> = body["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert_eq!(path[0], task_root);
        assert!(
            path[1].ends_with("/python/lib/python3.11/site-packages"),
            "{path:?}"
        );
        assert!(path[2].ends_with("/python"), "{path:?}");
        assert!(
            !path
                .iter()
                .any(|p| p.contains("site-packages") && !p.contains("/code/")),
            "the machine's own site-packages leaked in: {path:?}"
        );
        // Nothing is written into the task root, which is read-only on Lambda.
        assert!(
            !std::path::Path::new(&task_root)
                .join("__pycache__")
                .exists()
        );
        pool.shutdown().await;
    }));
    let logs = logs.text();
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(
        lines[0],
        "START RequestId: 11111111-2222-3333-4444-555555555555 Version: $LATEST"
    );
    assert_eq!(
        lines[lines.len() - 2],
        "END RequestId: 11111111-2222-3333-4444-555555555555"
    );
    let report = lines[lines.len() - 1];
    assert!(
        report.starts_with("REPORT RequestId: 11111111-2222-3333-4444-555555555555\tDuration: "),
        "{report}"
    );
    assert!(
        report.contains("\tMemory Size: 256 MB\tMax Memory Used: "),
        "{report}"
    );
    assert!(report.contains("\tInit Duration: "), "{report}");
}

#[test]
fn a_warm_environment_is_reused_and_reports_no_init() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, logs) = pool(
        dir.path(),
        config("warm", "app.handler"),
        &[("app.py", ECHO.as_bytes(), FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let first = pool.invoke(event("{}")).await.unwrap();
        let second = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(
            json(first.result.payload())["pid"],
            json(second.result.payload())["pid"]
        );
        assert!(first.report.init_duration.is_some());
        assert!(second.report.init_duration.is_none());
        assert!(!String::from_utf8_lossy(&second.logs).contains("Init Duration"));
        assert_eq!(pool.environments(), (1, 0));
        pool.shutdown().await;
    }));
    assert_eq!(logs.text().matches("REPORT RequestId").count(), 2);
}

#[test]
fn a_handler_that_raises_returns_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"def handler(event, context):\n    raise ValueError('bad input: ' + event['x'])\n";
    let (pool, logs) = pool(
        dir.path(),
        config("raises", "app.handler"),
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event(r#"{"x": "42"}"#)).await.unwrap();
        assert_eq!(error_type(&outcome.result), "ValueError");
        let body = json(outcome.result.payload());
        assert_eq!(body["errorMessage"], "bad input: 42");
        assert_eq!(body["requestId"], outcome.request_id.as_str());
        assert!(
            body["stackTrace"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l.as_str().unwrap().contains("app.py"))
        );
        // The environment survives a handled error.
        assert_eq!(pool.environments(), (1, 0));
        assert!(outcome.report.status.is_none());
        pool.shutdown().await;
    }));
    assert!(logs.text().contains("[ERROR] ValueError: bad input: 42"));
}

#[test]
fn a_timeout_kills_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let code =
        b"import time\ndef handler(event, context):\n    print('sleeping')\n    time.sleep(30)\n";
    let mut config = config("slow", "app.handler");
    config.timeout = Duration::from_secs(1);
    let (pool, logs) = pool(
        dir.path(),
        config,
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(error_type(&outcome.result), "Sandbox.Timedout");
        let body = json(outcome.result.payload());
        assert_eq!(
            body["errorMessage"],
            format!(
                "RequestId: {} Error: Task timed out after 1.00 seconds",
                outcome.request_id
            )
        );
        assert_eq!(outcome.report.duration, Duration::from_secs(1));
        assert_eq!(outcome.report.status.as_deref(), Some("timeout"));
        // A broken environment is never reused: the next invocation is a cold start.
        let next = pool.invoke(event("{}")).await.unwrap();
        assert!(next.report.init_duration.is_some());
        pool.shutdown().await;
    }));
    let logs = logs.text();
    assert!(logs.contains("sleeping\n"));
    assert!(
        logs.contains(" Task timed out after 1.00 seconds\n"),
        "{logs}"
    );
    assert!(logs.contains("\tDuration: 1000.00 ms\t"), "{logs}");
    assert!(logs.contains("\tStatus: timeout\t"), "{logs}");
}

#[test]
fn a_crash_is_a_runtime_exit_error() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"import os\ndef handler(event, context):\n    os._exit(3)\n";
    let (pool, logs) = pool(
        dir.path(),
        config("crash", "app.handler"),
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(error_type(&outcome.result), "Runtime.ExitError");
        assert_eq!(
            json(outcome.result.payload())["errorMessage"],
            format!(
                "RequestId: {} Error: Runtime exited with error: exit status 3",
                outcome.request_id
            )
        );
        assert_eq!(pool.environments(), (0, 0));
        pool.shutdown().await;
    }));
    assert!(
        logs.text()
            .contains("\tStatus: error\tError Type: Runtime.ExitError\t")
    );
}

#[test]
fn a_memory_hog_is_killed_at_the_memory_size() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"import time\ndef handler(event, context):\n    hoard = []\n    while True:\n        hoard.append(bytearray(8 * 1024 * 1024))\n        time.sleep(0.005)\n";
    let mut config = config("hog", "app.handler");
    config.memory_mb = 128;
    let (pool, logs) = pool(
        dir.path(),
        config,
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(error_type(&outcome.result), "Runtime.OutOfMemory");
        assert_eq!(outcome.report.max_memory_used_mb, 128);
        pool.shutdown().await;
    }));
    let logs = logs.text();
    assert!(
        logs.contains("Error: Runtime exited with error: signal: killed\nRuntime.OutOfMemory\n"),
        "{logs}"
    );
    assert!(logs.contains("Max Memory Used: 128 MB\t"), "{logs}");
}

fn init_error(files: &[(&str, &[u8], u32)], handler: &str) -> (FunctionResult, String) {
    let dir = tempfile::tempdir().unwrap();
    let (pool, logs) = pool(
        dir.path(),
        config("broken", handler),
        files,
        vec![],
        PoolOptions::default(),
    );
    let result = tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        pool.shutdown().await;
        outcome.result
    }));
    (result, logs.text())
}

#[test]
fn init_errors_are_reported_as_awslambdaric_reports_them() {
    let (result, logs) = init_error(
        &[("app.py", b"import no_such_module\n", FILE)],
        "app.handler",
    );
    assert_eq!(error_type(&result), "Runtime.ImportModuleError");
    assert_eq!(
        json(result.payload())["errorMessage"],
        "Unable to import module 'app': No module named 'no_such_module'"
    );
    // INIT failed, then was retried inside the invoke, as Lambda does.
    assert!(logs.contains("INIT_REPORT Init Duration: "), "{logs}");
    assert!(
        logs.contains("\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError"),
        "{logs}"
    );
    assert!(
        logs.contains("\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError"),
        "{logs}"
    );
    assert!(
        logs.contains("\tStatus: error\tError Type: Runtime.ImportModuleError\t"),
        "{logs}"
    );

    let (result, _) = init_error(&[("app.py", b"x = 1\n", FILE)], "app.handler");
    assert_eq!(error_type(&result), "Runtime.HandlerNotFound");
    assert_eq!(
        json(result.payload())["errorMessage"],
        "Handler 'handler' missing on module 'app'"
    );

    let (result, _) = init_error(&[("app.py", b"def handler(:\n", FILE)], "app.handler");
    assert_eq!(error_type(&result), "Runtime.UserCodeSyntaxError");

    let (result, _) = init_error(&[("app.py", b"x = 1\n", FILE)], "nomodule.handler");
    assert_eq!(error_type(&result), "Runtime.ImportModuleError");
}

#[test]
fn a_result_that_is_not_json_is_a_marshal_error() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"def handler(event, context):\n    return {'s': {1, 2}}\n";
    let (pool, _) = pool(
        dir.path(),
        config("marshal", "app.handler"),
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(error_type(&outcome.result), "Runtime.MarshalError");
        pool.shutdown().await;
    }));
}

#[test]
fn events_and_responses_over_six_megabytes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"def handler(event, context):\n    return 'x' * event['size']\n";
    let (pool, _) = pool(
        dir.path(),
        config("big", "app.handler"),
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(6 * 1024 * 1024));
        match pool.invoke(event(&huge)).await {
            Err(InvokeError::RequestTooLarge { limit, .. }) => assert_eq!(limit, 6 * 1024 * 1024),
            other => panic!("expected RequestTooLarge, got {other:?}"),
        }
        let fits = pool.invoke(event(r#"{"size": 6000000}"#)).await.unwrap();
        assert!(!fits.result.is_error());
        let outcome = pool.invoke(event(r#"{"size": 6300000}"#)).await.unwrap();
        assert_eq!(error_type(&outcome.result), "Function.ResponseSizeTooLarge");
        assert_eq!(
            json(outcome.result.payload())["errorMessage"],
            "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
        );
        pool.shutdown().await;
    }));
}

#[test]
fn a_layer_provides_the_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let layer = zip(
        dir.path(),
        "layer.zip",
        &[
            (
                "python/lib/python3.11/site-packages/greeting/__init__.py",
                b"WORD = 'from the layer'\n",
                FILE,
            ),
            ("python/shadowed.py", b"WHERE = 'first layer'\n", FILE),
        ],
    );
    let second = zip(
        dir.path(),
        "layer2.zip",
        &[("python/shadowed.py", b"WHERE = 'second layer'\n", FILE)],
    );
    let code = b"import greeting, shadowed\ndef handler(event, context):\n    return [greeting.WORD, shadowed.WHERE]\n";
    let (pool, _) = pool(
        dir.path(),
        config("layered", "app.handler"),
        &[("app.py", code, FILE)],
        vec![layer, second],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(
            json(outcome.result.payload()),
            serde_json::json!(["from the layer", "second layer"])
        );
        pool.shutdown().await;
    }));
}

#[test]
fn concurrent_invocations_get_separate_environments_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"import os, time\ndef handler(event, context):\n    time.sleep(event['sleep'])\n    return os.getpid()\n";
    let (pool, _) = pool(
        dir.path(),
        config("parallel", "app.handler"),
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions {
            concurrency: 2,
            ..PoolOptions::default()
        },
    );
    tokio().block_on(bounded(async {
        // Warm two environments first, so the overlap below does not depend on init time.
        let (a, b) = tokio::join!(
            pool.invoke(event(r#"{"sleep": 0.3}"#)),
            pool.invoke(event(r#"{"sleep": 0.3}"#))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_ne!(
            a.result.payload(),
            b.result.payload(),
            "two invocations shared one environment"
        );
        let slow = pool.invoke(event(r#"{"sleep": 1.0}"#));
        let also_slow = pool.invoke(event(r#"{"sleep": 1.0}"#));
        let third = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            pool.invoke(event(r#"{"sleep": 0}"#)).await
        };
        let (slow, also_slow, third) = tokio::join!(slow, also_slow, third);
        assert!(!slow.unwrap().result.is_error());
        assert!(!also_slow.unwrap().result.is_error());
        assert!(
            matches!(third, Err(InvokeError::Throttled { limit: 2 })),
            "{third:?}"
        );
        assert_eq!(pool.environments(), (2, 0));
        pool.shutdown().await;
        assert_eq!(pool.environments(), (0, 0));
    }));
}

#[test]
fn idle_environments_are_shut_down_after_the_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, _) = pool(
        dir.path(),
        config("idle", "app.handler"),
        &[("app.py", ECHO.as_bytes(), FILE)],
        vec![],
        PoolOptions {
            keep_alive: Duration::from_millis(200),
            ..PoolOptions::default()
        },
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        let pid = json(outcome.result.payload())["pid"].as_u64().unwrap();
        assert_eq!(pool.environments(), (1, 0));
        while pool.environments() != (0, 0) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }));
}

#[test]
fn the_exec_wrapper_starts_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = b"#!/bin/sh\nexport WRAPPED=\"$1 $2 $3\"\nexec \"$@\"\n";
    let layer = zip(
        dir.path(),
        "wrapper.zip",
        &[("wrapper", wrapper, EXECUTABLE)],
    );
    let mut config = config("wrapped", "app.handler");
    config
        .environment
        .insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/wrapper".into());
    let code = b"import os\ndef handler(event, context):\n    return os.environ.get('WRAPPED')\n";
    let (pool, _) = pool(
        dir.path(),
        config,
        &[("app.py", code, FILE)],
        vec![layer],
        PoolOptions::default(),
    );
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        let wrapped = json(outcome.result.payload());
        let wrapped = wrapped.as_str().unwrap();
        // The wrapper receives the interpreter and its arguments.
        assert!(wrapped.contains("python3.11 -S -B"), "{wrapped}");
        pool.shutdown().await;
    }));
}

#[test]
fn an_isolated_environment_has_lambdas_paths() {
    let dir = tempfile::tempdir().unwrap();
    let layer = zip(
        dir.path(),
        "layer.zip",
        &[(
            "python/lib/python3.11/site-packages/fromlayer.py",
            b"WHERE = __file__\n",
            FILE,
        )],
    );
    let marker = format!("lambdaship-isolation-{}", std::process::id());
    let code = format!(
        r#"import os, sys, fromlayer
def handler(event, context):
    try:
        open("/var/task/written", "w")
        written = "yes"
    except OSError as error:
        written = error.errno
    with open("/tmp/{marker}", "w") as f:
        f.write("private")
    return {{"cwd": os.getcwd(), "root": os.environ["LAMBDA_TASK_ROOT"], "path": sys.path[:3],
            "layer": fromlayer.WHERE, "written": written, "runtime": os.environ["LAMBDA_RUNTIME_DIR"]}}
"#
    );
    let (pool, _) = pool(
        dir.path(),
        config("isolated", "app.handler"),
        &[("app.py", code.as_bytes(), FILE)],
        vec![layer],
        PoolOptions {
            isolate: true,
            ..PoolOptions::default()
        },
    );
    if let Some(reason) = &pool.isolation_unavailable {
        eprintln!("isolation is not possible on this machine: {reason}");
        return;
    }
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        let body = json(outcome.result.payload());
        assert_eq!(body["cwd"], "/var/task");
        assert_eq!(body["root"], "/var/task");
        assert_eq!(body["runtime"], "/var/runtime");
        assert_eq!(
            body["path"],
            serde_json::json!([
                "/var/task",
                "/opt/python/lib/python3.11/site-packages",
                "/opt/python"
            ])
        );
        assert_eq!(
            body["layer"],
            "/opt/python/lib/python3.11/site-packages/fromlayer.py"
        );
        assert_eq!(
            body["written"], 30,
            "the task root must be read-only (EROFS)"
        );
        pool.shutdown().await;
    }));
    assert!(
        !std::path::Path::new("/tmp").join(&marker).exists(),
        "/tmp of the environment is not private"
    );
}

#[test]
fn a_slow_init_is_cut_at_ten_seconds_and_retried_inside_the_invoke() {
    let dir = tempfile::tempdir().unwrap();
    let code = b"import time\ntime.sleep(60)\ndef handler(event, context):\n    return 1\n";
    let mut config = config("slow-init", "app.handler");
    config.timeout = Duration::from_secs(2);
    let (pool, logs) = pool(
        dir.path(),
        config,
        &[("app.py", code, FILE)],
        vec![],
        PoolOptions::default(),
    );
    let started = std::time::Instant::now();
    tokio().block_on(bounded(async {
        let outcome = pool.invoke(event("{}")).await.unwrap();
        assert_eq!(error_type(&outcome.result), "Sandbox.Timedout");
        assert_eq!(outcome.report.status.as_deref(), Some("timeout"));
        pool.shutdown().await;
    }));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(12) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
    let logs = logs.text();
    assert!(logs.contains("\tPhase: init\tStatus: timeout\n"), "{logs}");
    assert!(logs.contains("\tPhase: invoke\tStatus: timeout"), "{logs}");
}
