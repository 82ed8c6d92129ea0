//! `lambdaship dev` with real apps and real clients: a FastAPI + Mangum app and a Flask +
//! apig-wsgi app behind every front (REST, HTTP API 2.0 and 1.0, Function URL, ALB in both
//! modes), checked by urllib3 (`fixtures/http_checks.py`); the seed's API Gateway request;
//! edits served on the next request; a broken build leaving the last good one serving.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::server::LocalServer;
use common::{lambdaship, repo_root, run};

fn fixtures() -> PathBuf {
    repo_root().join("crates/lambdaship/tests/fixtures")
}

/// A copy of fixture `name` in a temporary directory (dev watches it; tests edit it).
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = fixtures().join(name);
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(&source).unwrap();
        let target = dir.path().join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    dir
}

/// Starts `lambdaship dev DIR --port 0 ARGS...` and waits for its URL.
fn start_dev(dir: &Path, args: &[&str]) -> LocalServer {
    let mut command = lambdaship();
    command.arg("dev").arg(dir).args(["--port", "0"]).args(args);
    LocalServer::spawn(command, "lambdaship dev serving")
}

/// The tools' Python (urllib3, boto3).
fn tools_python() -> Command {
    Command::new(repo_root().join(".tools/venv/bin/python"))
}

/// The server's base address (`http://HOST:PORT`) from the URL it printed.
fn base(url: &str) -> String {
    let after_scheme = &url["http://".len()..];
    let host = after_scheme.split('/').next().unwrap();
    format!("http://{host}")
}

/// Sets `[tool.lambdaship.http]` keys of a copied fixture.
fn add_http_keys(dir: &Path, lines: &str) {
    let path = dir.join("pyproject.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "[tool.lambdaship.http]\n",
        &format!("[tool.lambdaship.http]\n{lines}\n"),
    );
    std::fs::write(&path, text).unwrap();
}

/// Runs every HTTP check for `app` behind `front`.
fn check_front(fixture: &str, app: &str, front: &str) {
    let dir = copy_fixture(fixture);
    let api = match front {
        "http1" => {
            add_http_keys(dir.path(), "payload_format = \"1.0\"");
            "http"
        }
        "alb-multi" => {
            add_http_keys(dir.path(), "multi_value_headers = true");
            "alb"
        }
        other => other,
    };
    // The fixture's stage is the REST one; the HTTP API checks run on `$default`.
    let stage = if api == "http" { "$default" } else { "prod" };
    let dev = start_dev(dir.path(), &["--api", api, "--stage", stage]);
    let mut command = tools_python();
    command
        .arg(fixtures().join("http_checks.py"))
        .args(["--base", &base(&dev.endpoint)])
        .args(["--front", front, "--app", app, "--stage", "prod"]);
    let output = run(command, Duration::from_secs(300), "http_checks.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{app} behind {front} failed:\n{stdout}\n{}\n--- dev output ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        dev.output()
    );
}

#[test]
fn fastapi_behind_every_front() {
    for front in ["rest", "http", "http1", "url", "alb", "alb-multi"] {
        check_front("web-fastapi", "fastapi", front);
    }
}

#[test]
fn flask_behind_every_front() {
    for front in ["rest", "http", "http1", "url", "alb", "alb-multi"] {
        check_front("web-flask", "flask", front);
    }
}

/// A GET with the headers of the seed's API Gateway event (seeds/002), sent by curl as a
/// real client, as many times as each header appears there.
fn seed_request(url: &str) -> std::process::Output {
    let headers = [
        "Accept: */*",
        "Accept-Encoding: gzip, deflate",
        "cache-control: no-cache",
        "CloudFront-Forwarded-Proto: https",
        "CloudFront-Is-Desktop-Viewer: true",
        "CloudFront-Is-Mobile-Viewer: false",
        "CloudFront-Is-SmartTV-Viewer: false",
        "CloudFront-Is-Tablet-Viewer: false",
        "CloudFront-Viewer-Country: US",
        "Content-Type: application/json",
        "headerName: headerValue",
        "Postman-Token: 9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f",
        "User-Agent: PostmanRuntime/2.4.5",
        "Via: 1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id: pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A==",
        "X-Forwarded-For: 54.240.196.186, 54.182.214.83",
        "X-Forwarded-Port: 443",
        "X-Forwarded-Proto: https",
    ];
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "60", "-X", "GET", "--data", "{}"]);
    for header in headers {
        command.args(["-H", header]);
    }
    command.arg(url);
    run(command, Duration::from_secs(90), "curl")
}

#[test]
fn the_seeds_api_gateway_request() {
    let dir = copy_fixture("web-fastapi");
    let dev = start_dev(dir.path(), &["--api", "rest", "--stage", "testStage"]);
    let root = base(&dev.endpoint);
    // The seed's app answers /hello/ with {"message":"Hello World"} through Mangum.
    let answer = seed_request(&format!("{root}/testStage/hello/"));
    assert_eq!(
        String::from_utf8_lossy(&answer.stdout),
        r#"{"message":"Hello World"}"#,
        "{}",
        dev.output()
    );
    // The event the same request makes, against the seed's.
    let echoed = seed_request(&format!("{root}/testStage/hello/_event"));
    let event: serde_json::Value = serde_json::from_slice(&echoed.stdout).unwrap();
    assert_eq!(event["path"], "/hello/_event");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["requestContext"]["stage"], "testStage");
    assert_eq!(event["requestContext"]["path"], "/testStage/hello/_event");
    assert_eq!(event["resource"], "/{proxy+}");
    assert_eq!(event["pathParameters"]["proxy"], "hello/_event");
    assert_eq!(event["body"], "{}");
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["headers"]["headerName"], "headerValue");
    assert_eq!(event["headers"]["CloudFront-Viewer-Country"], "US");
    assert_eq!(event["headers"]["User-Agent"], "PostmanRuntime/2.4.5");
    assert_eq!(
        event["multiValueHeaders"]["Accept-Encoding"],
        serde_json::json!(["gzip, deflate"])
    );
    assert_eq!(
        event["requestContext"]["identity"]["userAgent"],
        "PostmanRuntime/2.4.5"
    );
    assert_eq!(event["stageVariables"]["color"], "blue");
}

/// Requests `url` until its body contains `needle`; the time it took.
fn poll_until(url: &str, needle: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "30", url])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&output.stdout).contains(needle) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{url} never answered `{needle}` within {limit:?}; last: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn edits_are_served_and_broken_builds_keep_the_last_good_one() {
    let dir = copy_fixture("web-fastapi");
    // On the `$default` stage: with a named one, the stage is part of the path the app
    // sees on an HTTP API, as on AWS.
    let dev = start_dev(dir.path(), &["--api", "http", "--stage", "$default"]);
    let url = format!("{}unicode", dev.endpoint);
    poll_until(&url, "\"text\"", Duration::from_secs(120));

    // An app edit: the next requests see the new code.
    let web = dir.path().join("app/web.py");
    let source = std::fs::read_to_string(&web).unwrap();
    assert!(source.contains("héllo wörld ✓"));
    std::fs::write(&web, source.replace("héllo wörld ✓", "edited once")).unwrap();
    poll_until(&url, "edited once", Duration::from_secs(60));
    dev.wait_for_output("rebuilt the app", Duration::from_secs(30));

    // A broken pyproject.toml: the error is shown, the last good build keeps serving.
    let pyproject = dir.path().join("pyproject.toml");
    let good = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(&pyproject, format!("{good}\n[tool.lambdaship\n")).unwrap();
    dev.wait_for_output("still serving the last good build", Duration::from_secs(60));
    poll_until(&url, "edited once", Duration::from_secs(10));

    // Fixed again, with a second edit: served.
    std::fs::write(&pyproject, good).unwrap();
    let source = std::fs::read_to_string(&web).unwrap();
    std::fs::write(&web, source.replace("edited once", "edited twice")).unwrap();
    poll_until(&url, "edited twice", Duration::from_secs(60));
}

#[test]
fn function_urls_of_the_server() {
    let state = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut command = lambdaship();
    command
        .arg("server")
        .args(["--port", "0", "--state"])
        .arg(state.path());
    for (key, value) in common::server::dummy_credentials() {
        command.env(key, value);
    }
    let server = LocalServer::spawn(command, "listening on ");
    let mut client = tools_python();
    client
        .arg(fixtures().join("function_urls.py"))
        .arg(&server.endpoint)
        .arg(scratch.path());
    for (key, value) in common::server::dummy_credentials() {
        client.env(key, value);
    }
    let output = run(client, Duration::from_secs(300), "function_urls.py");
    assert!(
        output.status.success(),
        "{}\n{}\n--- server ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.output()
    );
}

#[test]
fn bad_dev_arguments_are_explained() {
    let dir = copy_fixture("web-fastapi");
    let mut command = lambdaship();
    command
        .arg("dev")
        .arg(dir.path())
        .args(["--port", "0", "--api", "rest", "--stage", "$default"]);
    let output = run(command, Duration::from_secs(300), "lambdaship dev");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("REST API has no `$default` stage"),
        "{stderr}"
    );

    let mut command = lambdaship();
    command.arg("dev").arg(dir.path()).args(["--api", "grpc"]);
    let output = run(command, Duration::from_secs(60), "lambdaship dev");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("unknown api `grpc`"),
        "{stderr}"
    );
}

/// Appends a `/where` route to the fixture's app: where the app's process came from.
fn add_where_route(dir: &Path, version: u32) {
    let web = dir.join("app/web.py");
    let mut source = std::fs::read_to_string(&web).unwrap();
    source.push_str(&format!(
        r#"

@app.get("/where")
async def where_it_runs() -> JSONResponse:
    import os

    parent = open(f"/proc/{{os.getppid()}}/cmdline", "rb").read().replace(b"\0", b" ")
    return JSONResponse({{"version": {version}, "pid": os.getpid(), "parent": parent.decode()}})
"#
    ));
    std::fs::write(&web, source).unwrap();
}

/// Edits the app, then asks `/where` until the edit is served; the answer.
fn where_after_edit(dev: &LocalServer, dir: &Path, version: u32) -> serde_json::Value {
    add_where_route(dir, version);
    let url = format!("{}where", dev.endpoint);
    poll_until(
        &url,
        &format!("\"version\":{version}"),
        Duration::from_secs(60),
    );
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "30", &url])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn an_app_edit_starts_from_the_zygote_unless_told_not_to() {
    let dir = copy_fixture("web-fastapi");
    let dev = start_dev(dir.path(), &["--api", "http", "--stage", "$default"]);
    poll_until(
        &format!("{}unicode", dev.endpoint),
        "\"text\"",
        Duration::from_secs(120),
    );
    // The first environment recorded its dependency modules; the zygote imports them.
    let ready = dev.wait_for_output("dependencies imported", Duration::from_secs(60));
    assert!(ready.contains("--no-zygote"), "{ready}");
    let forked = where_after_edit(&dev, dir.path(), 1);
    let parent = forked["parent"].as_str().unwrap();
    assert!(parent.contains("zygote.py"), "{forked}");
    drop(dev);

    let fresh_dir = copy_fixture("web-fastapi");
    let dev = start_dev(
        fresh_dir.path(),
        &["--api", "http", "--stage", "$default", "--no-zygote"],
    );
    let fresh = where_after_edit(&dev, fresh_dir.path(), 2);
    let parent = fresh["parent"].as_str().unwrap();
    assert!(
        parent.contains("lambdaship") && parent.contains(" dev "),
        "{fresh}"
    );
    assert!(!dev.output().contains("dependencies imported"));
}
