//! Web functions (`web = "..."`): unmodified apps under real servers (the seed's Flask app
//! under gunicorn, a FastAPI app under uvicorn) behind lambdaship's adapter, run by the
//! runtime core as a real extension through `lambdaship dev` and `lambdaship invoke`; the
//! bad inputs of the adapter; and the adapter binary the build packages (architecture and
//! glibc symbol versions checked with binutils' objdump).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::server::LocalServer;
use common::*;
use serde_json::{Value, json};

fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root()
        .join("crates/lambdaship/tests/fixtures")
        .join(name);
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.unwrap();
        let target = dir.path().join(entry.path().strip_prefix(&source).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    dir
}

/// Adds lines to the fixture's `[tool.lambdaship.environment]` table (its last table).
fn add_environment(dir: &Path, lines: &str) {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[tool.lambdaship.environment]"));
    std::fs::write(&path, format!("{text}{lines}\n")).unwrap();
}

/// A port nothing listens on now: tests run in parallel and their apps must not meet.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The web-uvicorn fixture with its app on a port of its own.
fn uvicorn_fixture() -> (tempfile::TempDir, u16) {
    let project = fixture("web-uvicorn");
    let port = free_port();
    set_config(
        project.path(),
        "--port 8080\"",
        &format!("--port {port}\"\nweb_port = {port}"),
    );
    (project, port)
}

fn set_config(dir: &Path, from: &str, to: &str) {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in pyproject.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// `curl` with the status line and headers (`-i`), bounded.
fn curl(args: &[&str]) -> String {
    let mut command = Command::new("curl");
    command.args(["-s", "-i", "--max-time", "60"]).args(args);
    let output = run(command, Duration::from_secs(90), "curl");
    assert!(output.status.success(), "curl {args:?} failed");
    String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n")
}

/// The body of a `curl -i` answer.
fn body(answer: &str) -> &str {
    answer.split_once("\n\n").map_or("", |(_, body)| body)
}

fn invoke(dir: &Path, event: &Value) -> Output {
    let file = dir.join("event.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let mut command = lambdaship();
    command.arg("invoke").arg(dir).arg("--event").arg(&file);
    run(command, Duration::from_secs(300), "lambdaship invoke")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A Function URL event (payload 2.0) for `GET path?query`.
fn url_event(path: &str, query: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "x-amzn-lambda-context": "spoofed"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:21:00:00 +0000",
            "timeEpoch": 1795300000000u64
        },
        "isBase64Encoded": false
    })
}

#[test]
fn the_seeds_flask_app_answers_through_every_front() {
    let project = copy_example("flask-web");
    // The seed's gunicorn.conf.py binds 8080; gunicorn's own -b overrides it, so that tests
    // running at once do not share a port.
    let port = free_port();
    set_config(
        project.path(),
        "web = \"gunicorn -c gunicorn.conf.py app:app\"",
        &format!(
            "web = \"gunicorn -c gunicorn.conf.py -b 127.0.0.1:{port} app:app\"\nweb_port = {port}"
        ),
    );
    for (api, prefix) in [("rest", "/dev"), ("http", ""), ("url", ""), ("alb", "")] {
        let mut dev = {
            let mut command = lambdaship();
            command
                .arg("dev")
                .arg(project.path())
                .args(["--port", "0", "--api", api]);
            LocalServer::spawn(command, "lambdaship dev serving")
        };
        let base = format!(
            "http://{}{prefix}",
            dev.endpoint["http://".len()..].split('/').next().unwrap()
        );
        let health = curl(&[&format!("{base}/")]);
        assert!(health.starts_with("HTTP/1.1 200"), "{api}: {health}");
        let health: Value = serde_json::from_str(body(&health)).unwrap();
        assert_eq!(health, json!({"status": "healthy"}), "{api}");
        let hello = curl(&[&format!("{base}/api/hello?name=Lambda")]);
        let hello: Value = serde_json::from_str(body(&hello)).unwrap();
        assert_eq!(hello, json!({"message": "Hello, Lambda!"}), "{api}");
        let echo = curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"msg":"hello"}"#,
            &format!("{base}/api/echo"),
        ]);
        let echo: Value = serde_json::from_str(body(&echo)).unwrap();
        assert_eq!(echo, json!({"received": {"msg": "hello"}}), "{api}");
        let output = dev.stop();
        let _ = output;
    }
}

#[test]
fn a_fastapi_app_under_uvicorn_streams_server_sent_events_gzipped_or_not() {
    let (project, _port) = uvicorn_fixture();
    add_environment(
        project.path(),
        "AWS_LWA_INVOKE_MODE = \"response_stream\"\nAWS_LWA_ENABLE_COMPRESSION = \"true\"",
    );
    let mut dev = {
        let mut command = lambdaship();
        command
            .arg("dev")
            .arg(project.path())
            .args(["--port", "0", "--api", "url"]);
        LocalServer::spawn(command, "lambdaship dev serving")
    };
    // The client reads the first event, then opens the gate the app waits on before the
    // rest: the first event cannot have come with the others.
    let gate = project.path().join("gate");
    let script = project.path().join("stream_check.py");
    std::fs::write(
        &script,
        r#"import gzip, pathlib, sys, urllib3
url, gate, compressed = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3] == "gzip"
headers = {"Accept-Encoding": "gzip"} if compressed else {"Accept-Encoding": "identity"}
response = urllib3.request("GET", url + "/sse?gate=" + str(gate), headers=headers,
                           preload_content=False, decode_content=False, timeout=30)
assert response.status == 200, response.status
assert response.headers["content-type"].startswith("text/event-stream"), response.headers
assert (response.headers.get("content-encoding") == "gzip") == compressed, response.headers
decoder = __import__("zlib").decompressobj(31) if compressed else None
seen = b""
# One generator throughout: leaving urllib3's stream generator early closes the connection.
chunks = response.stream(1)
for chunk in chunks:
    seen += decoder.decompress(chunk) if decoder else chunk
    if b"data: first\n\n" in seen:
        break
assert seen == b"data: first\n\n", seen
gate.write_text("open")
for chunk in chunks:
    seen += decoder.decompress(chunk) if decoder else chunk
assert seen == b"data: first\n\ndata: second\n\ndata: done\n\n", seen
gate.unlink()
print("streamed", "gzip" if compressed else "plain")
"#,
    )
    .unwrap();
    let base = format!(
        "http://{}",
        dev.endpoint["http://".len()..].split('/').next().unwrap()
    );
    for mode in ["plain", "gzip"] {
        let mut command = Command::new(repo_root().join(".tools/venv/bin/python"));
        command.arg(&script).arg(&base).arg(&gate).arg(mode);
        let output = run(command, Duration::from_secs(90), "stream check");
        assert!(
            output.status.success(),
            "{mode}: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            dev.output()
        );
    }
    dev.stop();
}

#[test]
fn the_app_sees_the_request_and_lambda_context_and_never_the_clients_copies() {
    let (project, _port) = uvicorn_fixture();
    add_environment(project.path(), "AWS_LWA_REMOVE_BASE_PATH = \"/api\"");
    let output = invoke(project.path(), &url_event("/api/context", ""));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["statusCode"], 200);
    let seen: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert_eq!(seen["path"], "/context", "the base path goes once");
    let lambda: Value = serde_json::from_str(seen["lambda"].as_str().unwrap()).unwrap();
    assert!(
        lambda["request_id"].as_str().unwrap().len() >= 32,
        "{lambda}"
    );
    assert!(lambda["deadline"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(lambda["env_config"]["function_name"], "web-uvicorn");
    let request: Value = serde_json::from_str(seen["request"].as_str().unwrap()).unwrap();
    assert_eq!(request["domainPrefix"], "abc");
}

#[test]
fn async_init_lets_a_slow_app_answer_the_first_event() {
    let (project, port) = uvicorn_fixture();
    set_config(
        project.path(),
        &format!("web = \"uvicorn app:app --host 127.0.0.1 --port {port}\""),
        "web = \"python slow_start.py\"",
    );
    set_config(
        project.path(),
        "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS = \"5\"",
        "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS = \"0.5\"\nAWS_LWA_ASYNC_INIT = \"true\"",
    );
    let output = invoke(project.path(), &url_event("/", ""));
    let logs = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{logs}");
    assert_eq!(stdout_json(&output)["statusCode"], 200, "{logs}");
    assert!(
        logs.contains("with AWS_LWA_ASYNC_INIT the first event waits for it"),
        "{logs}"
    );
}

/// Each bad input: the event's outcome (a result or an error) and the log say what happened.
#[test]
fn bad_apps_and_bad_settings_are_explained() {
    struct Case {
        name: &'static str,
        web: Option<&'static str>,
        environment: &'static str,
        path: &'static str,
        /// The exit status; -1: 0 or 1, the outcome being a race.
        exit: i32,
        /// Phrases of the outcome; `a|b` means either.
        stdout: &'static [&'static str],
        logs: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "never listens",
            web: Some("python idle.py"),
            environment: "",
            path: "/",
            exit: 1,
            stdout: &[
                "Adapter.AppNotReady",
                "127.0.0.1:PORT",
                "connection refused",
            ],
            logs: &["the app is not ready after"],
        },
        Case {
            name: "listens on another port",
            web: Some("uvicorn app:app --host 127.0.0.1 --port OTHER"),
            environment: "",
            path: "/",
            exit: 1,
            stdout: &[
                "Adapter.AppNotReady",
                "127.0.0.1:PORT",
                "connection refused",
            ],
            logs: &["Uvicorn running on http://127.0.0.1:OTHER"],
        },
        Case {
            name: "crashes at start",
            web: Some("python crash_at_start.py"),
            environment: "",
            path: "/",
            exit: 1,
            stdout: &["Runtime.ExitError"],
            logs: &["the app refuses to start"],
        },
        Case {
            name: "readiness path answers 500",
            web: None,
            environment: "AWS_LWA_READINESS_CHECK_PATH = \"/status/500\"",
            path: "/",
            exit: 1,
            stdout: &[
                "Adapter.AppNotReady",
                "/status/500",
                "answered 500 (healthy is 100-499)",
            ],
            logs: &[],
        },
        Case {
            name: "malformed setting",
            web: None,
            environment: "AWS_LWA_INVOKE_MODE = \"stream\"",
            path: "/",
            exit: 1,
            stdout: &[
                "AWS_LWA_INVOKE_MODE",
                "stream",
                "buffered or response_stream",
            ],
            logs: &[],
        },
        Case {
            name: "crashes mid-request",
            web: None,
            environment: "",
            path: "/crash",
            // The app is the runtime process: its exit ends the invocation as on Lambda
            // (Runtime.ExitError), unless the adapter's 502 got there first. Either way the
            // adapter says what happened.
            exit: -1,
            stdout: &["\"statusCode\":502|Runtime.ExitError"],
            logs: &["gave no response to GET /crash"],
        },
        Case {
            name: "answer over 6 MB",
            web: None,
            environment: "",
            path: "/big",
            exit: 1,
            stdout: &["Adapter.ResponseTooLarge", "GET /big", "response_stream"],
            logs: &[],
        },
        Case {
            name: "error status codes",
            web: None,
            environment: "AWS_LWA_ERROR_STATUS_CODES = \"500-599\"",
            path: "/status/503",
            exit: 1,
            stdout: &["Adapter.ErrorStatus", "\"statusCode\":503", "status 503"],
            logs: &[],
        },
    ];
    for case in cases {
        let (project, port) = uvicorn_fixture();
        let other = free_port().to_string();
        let fill = |text: &str| {
            text.replace("PORT", &port.to_string())
                .replace("OTHER", &other)
        };
        if let Some(web) = case.web {
            set_config(
                project.path(),
                &format!("web = \"uvicorn app:app --host 127.0.0.1 --port {port}\""),
                &format!("web = \"{}\"", fill(web)),
            );
        }
        if !case.environment.is_empty() {
            add_environment(project.path(), case.environment);
        }
        // An app that never answers on the port fails within 1 s; one that does answer gets
        // the fixture's 5 s to start, however loaded the machine.
        if case.name == "never listens" || case.name == "listens on another port" {
            set_config(
                project.path(),
                "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS = \"5\"",
                "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS = \"1\"",
            );
        }
        let output = invoke(project.path(), &url_event(case.path, ""));
        let out = String::from_utf8_lossy(&output.stdout).into_owned();
        let logs = stderr(&output);
        let code = output.status.code();
        assert!(
            code == Some(case.exit) || (case.exit == -1 && matches!(code, Some(0 | 1))),
            "{}: exit {code:?}: {out}\n{logs}",
            case.name
        );
        for phrase in case.stdout.iter().map(|p| fill(p)) {
            assert!(
                phrase.split('|').any(|one| out.contains(one)),
                "{}: {phrase:?} not in {out}\n{logs}",
                case.name
            );
        }
        for phrase in case.logs.iter().map(|p| fill(p)) {
            assert!(
                logs.contains(&phrase),
                "{}: {phrase:?} not in the log:\n{logs}",
                case.name
            );
        }
    }
}

#[test]
fn an_event_from_no_http_front_is_passed_through_and_answered_as_json() {
    let (project, _port) = uvicorn_fixture();
    let event = json!({"Records": [{"eventSource": "aws:sqs", "body": "hello"}]});
    let output = invoke(project.path(), &event);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout_json(&output),
        json!({"event": event, "content_type": "application/json"})
    );
}

/// The adapter the build put in a package: its path inside the layer's archive.
fn packaged_adapter(run: &BuildRun, kind: &str) -> (tempfile::TempDir, PathBuf, Vec<ZipRecord>) {
    let layer = run
        .artifacts()
        .into_iter()
        .find(|a| a["kind"] == kind && a["path"].as_str().unwrap().contains("layer"))
        .unwrap_or_else(|| panic!("no {kind} artifact: {:?}", run.artifacts()));
    let archive = Path::new(layer["path"].as_str().unwrap());
    let unpacked = unzip(archive);
    let adapter = unpacked.path().join("extensions/lambdaship-adapter");
    (unpacked, adapter, zip_records(archive))
}

#[test]
fn the_packaged_adapter_runs_on_amazon_linux_2_and_2023() {
    for layout in ["zip", "layers"] {
        let project = copy_example("flask-web");
        let run = build(project.path(), &["--layout", layout]);
        assert!(run.success(), "{layout}: {}", run.stderr());
        let (_unpacked, adapter, records) = packaged_adapter(&run, "layer");
        assert!(
            adapter.is_file(),
            "{layout}: no extensions/lambdaship-adapter"
        );
        for name in ["extensions/lambdaship-adapter", "lambdaship-exec-wrapper"] {
            let record = records.iter().find(|r| r.name == name).unwrap();
            assert_eq!(
                record.mode & 0o777,
                0o755,
                "{layout}: {name} is not executable"
            );
        }
        // binutils' own reading of the dynamic symbols' versions.
        let mut objdump = Command::new("objdump");
        objdump.arg("-T").arg(&adapter);
        let symbols = run_output(objdump);
        let newest = symbols
            .split_whitespace()
            .filter_map(|word| {
                word.trim_matches(|c| c == '(' || c == ')')
                    .strip_prefix("GLIBC_")
            })
            .filter_map(|version| {
                let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
                Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
            })
            .max()
            .expect("the adapter links glibc");
        assert!(
            newest <= (2, 26),
            "{layout}: the adapter needs GLIBC_{}.{}",
            newest.0,
            newest.1
        );
        let mut file = Command::new("objdump");
        file.arg("-f").arg(&adapter);
        assert!(
            run_output(file).contains("x86-64"),
            "{layout}: not an x86_64 binary"
        );
        let app = run
            .artifacts()
            .into_iter()
            .find(|a| a["kind"] == if layout == "zip" { "zip" } else { "app" })
            .unwrap();
        let names = zip_names(Path::new(app["path"].as_str().unwrap()));
        for expected in ["lambdaship-web", "app.py", "gunicorn.conf.py"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{layout}: {expected} missing from {names:?}"
            );
        }
    }
}

fn run_output(command: Command) -> String {
    let output = run(command, Duration::from_secs(60), "objdump");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_missing_or_unsuitable_adapter_fails_the_build_with_the_way_to_get_one() {
    let project = copy_example("flask-web");
    build(project.path(), &["--arch", "arm64"]).assert_failed_with(
        project.path(),
        &[
            "needs lambdaship's adapter built for arm64",
            "scripts/build-adapter arm64",
            "LAMBDASHIP_ADAPTER_ARM64",
        ],
    );
    // A binary linked against this machine's newer glibc would not load on Amazon Linux 2.
    let mut command = lambdaship();
    command.env("LAMBDASHIP_ADAPTER_X86_64", "/bin/true");
    build_with(command, project.path(), &[]).assert_failed_with(
        project.path(),
        &[
            "the adapter at /bin/true",
            "newer than the 2.26 of Amazon Linux 2",
        ],
    );
    let mut command = lambdaship();
    command.env("LAMBDASHIP_ADAPTER_X86_64", project.path().join("nowhere"));
    build_with(command, project.path(), &[])
        .assert_failed_with(project.path(), &["none was found"]);
}

#[test]
fn a_web_command_that_cannot_run_on_lambda_is_explained() {
    for (web, phrases) in [
        (
            "hypercorn app:app",
            &[
                "`hypercorn` is not a console script",
                "gunicorn",
                "uv add hypercorn",
            ][..],
        ),
        (
            "python -u app.py",
            &["must be followed by `-m MODULE` or a script file"][..],
        ),
    ] {
        let project = copy_example("flask-web");
        set_config(
            project.path(),
            "web = \"gunicorn -c gunicorn.conf.py app:app\"",
            &format!("web = \"{web}\""),
        );
        let mut expected = vec!["the web command", "fix: `web` in [tool.lambdaship]"];
        expected.extend_from_slice(phrases);
        build(project.path(), &[]).assert_failed_with(project.path(), &expected);
    }
}
