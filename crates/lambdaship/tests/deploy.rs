//! `lambdaship deploy` against real peers: moto's server (a real AWS API emulator for IAM,
//! Lambda, S3 and API Gateway v2) and `lambdaship server` (which also runs what it gets).
//! What the endpoint holds afterwards is read back with boto3 (fixtures/deploy_state.py).

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../lambdaship-image/tests/support/mod.rs"]
mod registry_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::server::{LocalServer, dummy_credentials, tools_python, tools_python_code};
use common::{image_project, lambdaship, make_base_image, repo_root, run, write};
use registry_support::{Auth, ECR_PASSWORD, ECR_USER, Registry};
use serde_json::{Value, json};

/// The secret key every deploy here runs with: it must never appear in what deploy prints.
const SECRET: &str = "lambdaship-test-secret-never-printed";

fn fixture(name: &str) -> PathBuf {
    repo_root()
        .join("crates/lambdaship/tests/fixtures")
        .join(name)
}

/// moto's server on a free port, with AWS's managed policies loaded (deploy attaches
/// AWSLambdaBasicExecutionRole to the role it creates).
fn moto() -> LocalServer {
    let mut command = tools_python(&fixture("moto_server.py"), &[]);
    command.env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
    LocalServer::spawn(command, "moto listening on ")
}

/// A small requirements.txt project, `demo`, in the layers layout.
fn demo_project(root: &Path) -> PathBuf {
    let dir = root.join("demo");
    write(&dir, "requirements.txt", "idna==3.9\n");
    write(
        &dir,
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    print('handling', event)\n    return {'host': idna.encode(event.get('host', 'bücher.example')).decode()}\n",
    );
    write(
        &dir,
        "pyproject.toml",
        "[tool.lambdaship]\nname = \"demo\"\nlayout = \"layers\"\nruntime = \"python3.11\"\n",
    );
    dir
}

fn deploy_command(endpoint: &str, project: &Path, args: &[&str]) -> Command {
    let mut command = lambdaship();
    for (key, value) in dummy_credentials() {
        command.env(key, value);
    }
    command
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .arg("deploy")
        .arg(project)
        .args(["--endpoint-url", endpoint])
        .args(args);
    command
}

fn run_deploy(command: Command) -> Output {
    let output = run(command, Duration::from_secs(600), "lambdaship deploy");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!all.contains(SECRET), "the secret key was printed:\n{all}");
    output
}

/// Deploys with `--json` and returns the report; fails the test when deploy fails.
fn deploy(endpoint: &str, project: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = run_deploy(deploy_command(endpoint, project, &args));
    assert!(
        output.status.success(),
        "deploy {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Deploys expecting a failure; returns stderr.
fn deploy_fails(command: Command) -> String {
    let output = run_deploy(command);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    stderr
}

/// Deploys expecting a failure whose message holds `phrase`; returns stderr.
fn refused(command: Command, phrase: &str) -> String {
    let stderr = deploy_fails(command);
    assert!(stderr.contains(phrase), "expected `{phrase}` in:\n{stderr}");
    stderr
}

/// Runs fixtures/deploy_state.py against `endpoint`; returns its stdout.
fn state_tool(endpoint: &str, args: &[&str]) -> String {
    let output = run(
        tools_python(&fixture("deploy_state.py"), &[&[endpoint], args].concat()),
        Duration::from_secs(60),
        "deploy_state.py",
    );
    assert!(
        output.status.success(),
        "deploy_state.py {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The fault-injecting proxy in front of `upstream`, with its rules.
fn flaky_proxy(upstream: &str, rules: &[&str]) -> LocalServer {
    let args: Vec<&str> = [&[upstream], rules].concat();
    LocalServer::spawn(
        tools_python(&fixture("flaky_proxy.py"), &args),
        "proxy listening on ",
    )
}

/// How many calls matched each of the proxy's rules.
fn proxy_hits(proxy: &LocalServer) -> Vec<u64> {
    let output = run(
        tools_python_code(
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + '/__proxy/hits').read().decode())",
            &[&proxy.endpoint],
        ),
        Duration::from_secs(30),
        "reading the proxy's hits",
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What the endpoint holds: the function, layer version counts, policy, URL, roles, and
/// with `all` the HTTP APIs and S3 objects.
fn snapshot(endpoint: &str, function: &str, all: bool) -> Value {
    let mut args = vec![endpoint, "snapshot", function];
    if all {
        args.push("--all");
    }
    let output = run(
        tools_python(&fixture("deploy_state.py"), &args),
        Duration::from_secs(60),
        "deploy_state.py snapshot",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn only_function(report: &Value) -> &Value {
    let functions = report["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 1, "{report:#}");
    &functions[0]
}

/// Every change in a function's report.
fn changes(function: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for key in ["role", "code", "configuration", "alias", "url", "http_api"] {
        if let Some(change) = function[key]["change"].as_str() {
            found.push(format!("{key}={change}"));
        }
    }
    for layer in function["layers"].as_array().unwrap() {
        found.push(format!("layer={}", layer["change"].as_str().unwrap()));
    }
    found
}

#[test]
fn deploys_to_moto_then_changes_only_what_differs() {
    let moto = moto();
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());

    // First deploy: role, layer, function and public URL are created.
    let first = deploy(&moto.endpoint, &project, &["--url"]);
    let function = only_function(&first);
    assert_eq!(
        changes(function),
        [
            "role=created",
            "code=created",
            "configuration=created",
            "url=created",
            "layer=created"
        ],
        "{first:#}"
    );
    assert!(first["bytes_uploaded"].as_u64().unwrap() > 100_000);
    let state = snapshot(&moto.endpoint, "demo", false);
    assert!(
        state["roles"]
            .as_array()
            .unwrap()
            .contains(&"lambdaship-demo".into()),
        "{state:#}"
    );
    assert_eq!(state["layers"]["demo-layer"], 1, "{state:#}");
    assert_eq!(state["function"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        state["function"]["CodeSha256"],
        function["code"]["code_sha256"]
    );
    assert_eq!(state["url"]["AuthType"], "NONE");
    assert_eq!(
        state["policy_sids"],
        serde_json::json!(["lambdaship-url-invoke", "lambdaship-url-public"])
    );

    // An immediate second deploy uploads nothing and changes nothing.
    let second = deploy(&moto.endpoint, &project, &["--url"]);
    let function = only_function(&second);
    assert!(
        changes(function).iter().all(|c| c.ends_with("=unchanged")),
        "{second:#}"
    );
    assert_eq!(second["bytes_uploaded"], 0);
    assert_eq!(snapshot(&moto.endpoint, "demo", false), state);

    // An app edit updates the code only.
    write(
        &project,
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    return {'edited': True}\n",
    );
    let edited = deploy(&moto.endpoint, &project, &["--url"]);
    let function = only_function(&edited);
    assert_eq!(
        changes(function),
        [
            "code=updated",
            "configuration=unchanged",
            "url=unchanged",
            "layer=unchanged"
        ],
        "{edited:#}"
    );
    let after_edit = snapshot(&moto.endpoint, "demo", false);
    assert_ne!(
        after_edit["function"]["CodeSha256"],
        state["function"]["CodeSha256"]
    );
    assert_eq!(after_edit["layers"]["demo-layer"], 1);

    // A dependency change publishes a new layer version and attaches it.
    write(&project, "requirements.txt", "idna==3.10\n");
    let upgraded = deploy(&moto.endpoint, &project, &[]);
    let function = only_function(&upgraded);
    assert_eq!(
        changes(function),
        ["code=unchanged", "configuration=updated", "layer=created"],
        "{upgraded:#}"
    );
    assert_eq!(
        function["configuration"]["fields"],
        serde_json::json!(["Layers"])
    );
    let after_upgrade = snapshot(&moto.endpoint, "demo", false);
    assert_eq!(after_upgrade["layers"]["demo-layer"], 2);
    assert_eq!(
        after_upgrade["function"]["CodeSha256"],
        after_edit["function"]["CodeSha256"]
    );

    // A configuration change updates the configuration only.
    let pyproject = project.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(&pyproject, format!("{text}memory = 256\n")).unwrap();
    let configured = deploy(&moto.endpoint, &project, &[]);
    let function = only_function(&configured);
    assert_eq!(
        changes(function),
        ["code=unchanged", "configuration=updated", "layer=unchanged"],
        "{configured:#}"
    );
    assert_eq!(
        function["configuration"]["fields"],
        serde_json::json!(["MemorySize"])
    );
    let after_config = snapshot(&moto.endpoint, "demo", false);
    assert_eq!(after_config["function"]["MemorySize"], 256);
    assert_eq!(after_config["layers"]["demo-layer"], 2);

    // --http-api: API, AWS_PROXY integration, $default route and stage, permission.
    let with_api = deploy(&moto.endpoint, &project, &["--http-api"]);
    let function = only_function(&with_api);
    assert_eq!(function["http_api"]["change"], "created", "{with_api:#}");
    let api_id = function["http_api"]["api_id"].as_str().unwrap().to_string();
    let state = snapshot(&moto.endpoint, "demo", true);
    let apis = state["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 1, "{state:#}");
    let api = &apis[0];
    assert_eq!(api["Name"], "lambdaship-demo");
    assert_eq!(api["Integrations"][0]["IntegrationType"], "AWS_PROXY");
    assert_eq!(api["Integrations"][0]["PayloadFormatVersion"], "2.0");
    assert_eq!(api["Integrations"][0]["IntegrationUri"], function["arn"]);
    assert_eq!(api["Routes"][0]["RouteKey"], "$default");
    assert!(
        api["Routes"][0]["Target"]
            .as_str()
            .unwrap()
            .starts_with("integrations/")
    );
    assert_eq!(api["Stages"][0]["StageName"], "$default");
    assert_eq!(api["Stages"][0]["AutoDeploy"], true);
    assert!(
        state["policy_sids"]
            .as_array()
            .unwrap()
            .contains(&format!("lambdaship-http-api-{api_id}").into()),
        "{state:#}"
    );
    let again = deploy(&moto.endpoint, &project, &["--http-api"]);
    assert_eq!(only_function(&again)["http_api"]["change"], "unchanged");

    // --alias publishes a version and points the alias at it, once.
    let released = deploy(&moto.endpoint, &project, &["--alias", "live"]);
    let function = only_function(&released);
    assert_eq!(function["version"], "1", "{released:#}");
    assert_eq!(function["alias"]["change"], "created");
    let rereleased = deploy(&moto.endpoint, &project, &["--alias", "live"]);
    let function = only_function(&rereleased);
    assert_eq!(function["version"], "1", "{rereleased:#}");
    assert_eq!(function["alias"]["change"], "unchanged");

    // CORS from the configuration goes to the function URL, once.
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        format!("{text}\n[tool.lambdaship.http.cors]\nallow_origins = [\"https://app.example\"]\nallow_methods = [\"GET\", \"POST\"]\nmax_age = 600\n"),
    )
    .unwrap();
    let with_cors = deploy(&moto.endpoint, &project, &["--url"]);
    assert_eq!(only_function(&with_cors)["url"]["change"], "updated");
    let cors = &snapshot(&moto.endpoint, "demo", false)["url"]["Cors"];
    assert_eq!(
        cors["AllowOrigins"],
        json!(["https://app.example"]),
        "{cors}"
    );
    assert_eq!(cors["AllowMethods"], json!(["GET", "POST"]), "{cors}");
    assert_eq!(cors["MaxAge"], 600, "{cors}");
    let again = deploy(&moto.endpoint, &project, &["--url"]);
    assert_eq!(only_function(&again)["url"]["change"], "unchanged");
}

#[test]
fn a_dry_run_reads_and_plans_but_writes_nothing() {
    let moto = moto();
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());
    let empty = snapshot(&moto.endpoint, "demo", true);

    let plan = deploy(
        &moto.endpoint,
        &project,
        &["--dry-run", "--url", "--http-api", "--alias", "live"],
    );
    assert_eq!(plan["dry_run"], true);
    let function = only_function(&plan);
    assert!(
        changes(function).iter().all(|c| c.ends_with("=created")),
        "{plan:#}"
    );
    assert_eq!(snapshot(&moto.endpoint, "demo", true), empty);

    // Once deployed, a dry run after an edit plans a code update and sends nothing.
    deploy(&moto.endpoint, &project, &["--url"]);
    let deployed = snapshot(&moto.endpoint, "demo", true);
    write(
        &project,
        "lambda_function.py",
        "def lambda_handler(event, context):\n    return 2\n",
    );
    let output = run_deploy(deploy_command(
        &moto.endpoint,
        &project,
        &["--dry-run", "--url"],
    ));
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("would be updated"), "{stdout}");
    assert_eq!(snapshot(&moto.endpoint, "demo", true), deployed);
}

#[test]
fn a_zip_over_50_mb_goes_through_s3_once() {
    let moto = moto();
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());
    // Random bytes do not compress: the zip stays over Lambda's direct-upload limit.
    let mut blob = vec![0u8; 51 * 1024 * 1024];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for chunk in blob.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(project.join("data.bin"), blob).unwrap();
    write(
        &project,
        "pyproject.toml",
        "[tool.lambdaship]\nname = \"demo\"\nruntime = \"python3.11\"\ninclude = [\"lambda_function.py\", \"data.bin\"]\ns3_bucket = \"demo-artifacts\"\n",
    );
    let first = deploy(&moto.endpoint, &project, &[]);
    let function = only_function(&first);
    let location = function["code"]["s3_location"].as_str().unwrap();
    assert!(
        location.starts_with("s3://demo-artifacts/lambdaship/demo/"),
        "{first:#}"
    );
    assert!(function["code"]["bytes_uploaded"].as_u64().unwrap() > 50 * 1024 * 1024);
    let state = snapshot(&moto.endpoint, "demo", true);
    assert_eq!(
        state["objects"],
        serde_json::json!([location.trim_start_matches("s3://")]),
        "{state:#}"
    );
    assert_eq!(
        state["function"]["CodeSha256"],
        function["code"]["code_sha256"]
    );

    let second = deploy(&moto.endpoint, &project, &[]);
    assert_eq!(second["bytes_uploaded"], 0, "{second:#}");
    assert_eq!(only_function(&second)["code"]["change"], "unchanged");
}

#[test]
fn failures_say_what_went_wrong_and_where() {
    let moto = moto();
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());

    // No credentials anywhere: say where they were looked for.
    let mut command = deploy_command(&moto.endpoint, &project, &[]);
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let stderr = refused(command, "no AWS credentials");
    assert!(stderr.contains("AWS_ACCESS_KEY_ID"), "{stderr}");
    assert!(stderr.contains("--profile"), "{stderr}");

    // No region.
    let mut command = deploy_command(&moto.endpoint, &project, &[]);
    command
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION");
    refused(command, "no AWS region");

    // A region Lambda does not run in (checked before any call to AWS).
    let mut command = lambdaship();
    for (key, value) in dummy_credentials() {
        command.env(key, value);
    }
    command
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .args(["deploy", "--region", "mars-west-1"])
        .arg(&project);
    refused(command, "unknown AWS region `mars-west-1`");

    // A configured role that does not exist.
    refused(
        deploy_command(
            &moto.endpoint,
            &project,
            &["--role", "arn:aws:iam::123456789012:role/missing"],
        ),
        "the role `arn:aws:iam::123456789012:role/missing` does not exist",
    );
    refused(
        deploy_command(&moto.endpoint, &project, &["--role", "not a role"]),
        "--role: `not a role` is not a valid IAM role name",
    );

    // A role that exists but that Lambda may not assume: refused before anything is written.
    state_tool(&moto.endpoint, &["role", "ec2-only", "ec2.amazonaws.com"]);
    let stderr = refused(
        deploy_command(
            &moto.endpoint,
            &project,
            &["--role", "arn:aws:iam::123456789012:role/ec2-only"],
        ),
        "the role `arn:aws:iam::123456789012:role/ec2-only` cannot be assumed by Lambda",
    );
    assert!(
        stderr.contains("aws iam update-assume-role-policy --role-name ec2-only"),
        "{stderr}"
    );
    assert_eq!(snapshot(&moto.endpoint, "demo", false)["layers"], json!({}));

    // A function of another package type.
    state_tool(&moto.endpoint, &["image-function", "demo"]);
    refused(
        deploy_command(&moto.endpoint, &project, &[]),
        "exists with package type Image",
    );

    // An endpoint that does not answer: the step and the reason.
    let stderr = refused(
        deploy_command("http://127.0.0.1:9", &project, &[]),
        "looking up the function `demo` failed",
    );
    assert!(stderr.contains("cannot be reached"), "{stderr}");

    // Bad flags and settings are refused before anything is built or sent.
    refused(
        deploy_command("127.0.0.1:9001", &project, &[]),
        "--endpoint-url: `127.0.0.1:9001` is not an http:// or https:// URL",
    );
    let pyproject = project.join("pyproject.toml");
    let good = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        format!("{good}role = \"arn:aws:iam::12:role/x\"\n"),
    )
    .unwrap();
    let stderr = refused(
        deploy_command(&moto.endpoint, &project, &[]),
        "is not an IAM role ARN",
    );
    assert!(
        stderr.contains("pyproject.toml") && stderr.contains("role"),
        "{stderr}"
    );
    std::fs::write(&pyproject, good).unwrap();
    refused(
        deploy_command(&moto.endpoint, &project, &["--alias", "123"]),
        "--alias: `123` is not a valid alias name",
    );
    refused(
        deploy_command(&moto.endpoint, &project, &["--s3-bucket", "No_Such"]),
        "--s3-bucket: `No_Such` is not a valid S3 bucket name",
    );
}

#[test]
fn deploys_to_lambdaship_server_then_invokes_there() {
    let state_dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(state_dir.path(), &[]);
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());

    let first = deploy(&server.endpoint, &project, &["--url"]);
    assert_eq!(
        changes(only_function(&first)),
        [
            "role=created",
            "code=created",
            "configuration=created",
            "url=created",
            "layer=created"
        ],
        "{first:#}"
    );
    let state = snapshot(&server.endpoint, "demo", false);

    // The deployed function runs there, with its log tail.
    let mut invoke = lambdaship();
    for (key, value) in dummy_credentials() {
        invoke.env(key, value);
    }
    let event = root.path().join("event.json");
    std::fs::write(&event, r#"{"host": "bücher.example"}"#).unwrap();
    invoke
        .args([
            "invoke",
            "--endpoint-url",
            &server.endpoint,
            "--function",
            "demo",
        ])
        .arg("--event")
        .arg(&event);
    let output = run(
        invoke,
        Duration::from_secs(120),
        "lambdaship invoke --endpoint-url",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), r#"{"host": "xn--bcher-kva.example"}"#);
    assert!(
        stderr.contains("handling {'host': 'bücher.example'}"),
        "{stderr}"
    );
    assert!(stderr.contains("REPORT RequestId"), "{stderr}");

    // A no-op redeploy: nothing sent, LastModified and CodeSha256 as they were.
    let second = deploy(&server.endpoint, &project, &["--url"]);
    assert!(
        changes(only_function(&second))
            .iter()
            .all(|c| c.ends_with("=unchanged")),
        "{second:#}"
    );
    assert_eq!(second["bytes_uploaded"], 0);
    assert_eq!(snapshot(&server.endpoint, "demo", false), state);
}

#[test]
fn throttled_calls_are_retried_and_a_failed_step_says_what_it_left() {
    let moto = moto();
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());
    deploy(&moto.endpoint, &project, &[]);
    let app = project.join("lambda_function.py");
    let original = std::fs::read_to_string(&app).unwrap();

    // UpdateFunctionCode throttled twice: the SDK backs off and the third try goes through.
    std::fs::write(&app, format!("{original}# edit 1\n")).unwrap();
    let throttling = flaky_proxy(&moto.endpoint, &["throttle:PUT:/functions/demo/code$:2"]);
    let report = deploy(&throttling.endpoint, &project, &[]);
    assert_eq!(only_function(&report)["code"]["change"], "updated");
    assert_eq!(proxy_hits(&throttling), [3]);
    let before = snapshot(&moto.endpoint, "demo", false);

    // UpdateFunctionCode failing every time: after the tries, the step, the service's answer
    // and the state the function is left in (still the previous code).
    std::fs::write(&app, format!("{original}# edit 2\n")).unwrap();
    let failing = flaky_proxy(&moto.endpoint, &["fail:PUT:/functions/demo/code$"]);
    let mut command = deploy_command(&failing.endpoint, &project, &[]);
    command.env("AWS_MAX_ATTEMPTS", "2");
    let stderr = refused(command, "updating the code of `demo` failed");
    assert!(stderr.contains("ServiceException"), "{stderr}");
    let code_sha = before["function"]["CodeSha256"].as_str().unwrap();
    assert!(
        stderr.contains(&format!(
            "the function `demo` is now Active (last update Successful), with the code CodeSha256 {code_sha}"
        )),
        "{stderr}"
    );
    assert_eq!(proxy_hits(&failing), [2], "AWS_MAX_ATTEMPTS is honoured");
    assert_eq!(snapshot(&moto.endpoint, "demo", false), before);
}

#[test]
fn access_denied_names_the_action_to_allow() {
    let moto = moto();
    let root = tempfile::tempdir().unwrap();
    let project = demo_project(root.path());
    // The denial is injected by the proxy: see flaky_proxy.py for why moto cannot give it.
    let proxy = flaky_proxy(
        &moto.endpoint,
        &["deny:POST:/2015-03-31/functions$:lambda:CreateFunction"],
    );
    let stderr = refused(
        deploy_command(&proxy.endpoint, &project, &[]),
        "creating the function `demo` failed: lambda:CreateFunction was denied (AccessDeniedException: User: arn:aws:iam::123456789012:user/deployer is not authorized to perform: lambda:CreateFunction",
    );
    assert!(
        stderr.contains("allow `lambda:CreateFunction` in the IAM policy"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the function `demo` does not exist (nothing of it was created)"),
        "{stderr}"
    );
    assert_eq!(proxy_hits(&proxy), [1], "a denial is not retried");
}

/// The registry host moto's ECR names for its default account and region.
const MOTO_ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// The image project `imagefn` on a base image the test made (the public one cannot be
/// reached here), with `tool` lines added to [tool.lambdaship].
fn image_deploy_project(tool: &str) -> tempfile::TempDir {
    let project = image_project(&format!("base_image = \"base\"\n{tool}"));
    make_base_image(project.path(), "base", "amd64");
    project
}

/// `lambdaship deploy ... --json` of an image project, with no Docker credentials from the
/// machine.
fn deploy_image(endpoint: &str, project: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let mut command = deploy_command(endpoint, project, &args);
    command.env("DOCKER_CONFIG", project.join(".no-docker-config"));
    let output = run_deploy(command);
    assert!(
        output.status.success(),
        "deploy {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The image function as the endpoint holds it (fixtures/deploy_state.py image).
fn image_state(endpoint: &str, function: &str, ecr: bool) -> Value {
    let mut args = vec!["image", function];
    if ecr {
        args.push("--ecr");
    }
    serde_json::from_str(&state_tool(endpoint, &args)).unwrap()
}

/// The manifest digest skopeo reads at `uri` on a loopback registry.
fn registry_digest(uri: &str, creds: Option<&str>) -> String {
    let target = format!("docker://{uri}");
    let mut args = vec!["inspect", "--tls-verify=false"];
    if let Some(creds) = creds {
        args.extend(["--creds", creds]);
    }
    args.push(&target);
    let inspected: Value = serde_json::from_slice(&registry_support::skopeo(&args).stdout).unwrap();
    inspected["Digest"].as_str().unwrap().to_string()
}

#[test]
fn deploys_an_image_through_ecr_then_pushes_and_updates_only_what_changed() {
    // moto serves ECR's API (repositories, GetAuthorizationToken) and Lambda's; the images go
    // to docker-registry, which takes the login moto's ECR hands out. The proxy renames the
    // registry host moto's ECR answers with (AWS's, unreachable here) to the loopback one.
    let registry = Registry::start(Auth::EcrLogin);
    let moto = moto();
    let rewrite = format!("rewrite:{MOTO_ECR_HOST}={}", registry.host());
    let proxy = flaky_proxy(&moto.endpoint, &[&rewrite]);
    let creds = format!("{ECR_USER}:{ECR_PASSWORD}");
    let project = image_deploy_project("");
    let dir = project.path();

    // A dry run plans it all and writes nothing.
    let plan = deploy_image(&proxy.endpoint, dir, &["--dry-run"]);
    assert_eq!(
        changes(only_function(&plan)),
        ["role=created", "code=created", "configuration=created"],
        "{plan:#}"
    );
    assert_eq!(
        snapshot(&moto.endpoint, "imagefn", false)["function"],
        Value::Null
    );

    // First deploy: the repository is created, the image pushed, the function created.
    let first = deploy_image(&proxy.endpoint, dir, &[]);
    let function = only_function(&first);
    assert_eq!(
        changes(function),
        ["role=created", "code=created", "configuration=created"],
        "{first:#}"
    );
    let uri = function["code"]["image_uri"].as_str().unwrap().to_string();
    let prefix = format!("{}/imagefn@sha256:", registry.host());
    assert!(uri.starts_with(&prefix), "{uri}");
    let digest = uri.split('@').nth(1).unwrap().to_string();
    assert_eq!(registry_digest(&uri, Some(&creds)), digest);
    let first_bytes = function["code"]["bytes_uploaded"].as_u64().unwrap();
    assert!(first_bytes > 0, "{first:#}");
    let state = image_state(&moto.endpoint, "imagefn", true);
    assert_eq!(state["PackageType"], "Image", "{state:#}");
    assert_eq!(state["ImageUri"], uri.as_str(), "{state:#}");
    assert_eq!(
        state["Handler"],
        Value::Null,
        "an image's handler is its Cmd"
    );
    assert_eq!(state["Runtime"], Value::Null, "{state:#}");
    assert_eq!(state["repositories"], json!(["imagefn"]), "{state:#}");

    // Unchanged: nothing pushed, nothing updated.
    let second = deploy_image(&proxy.endpoint, dir, &[]);
    let function = only_function(&second);
    assert!(
        changes(function).iter().all(|c| c.ends_with("=unchanged")),
        "{second:#}"
    );
    assert_eq!(second["bytes_uploaded"], 0, "{second:#}");
    assert_eq!(function["code"]["image_uri"], uri.as_str());

    // An app edit: only the app layer and the config are pushed, the code updated.
    write(
        dir,
        "lambda_function.py",
        "import idna\n\ndef lambda_handler(event, context):\n    return 'v2 ' + idna.encode(event['host']).decode()\n",
    );
    let third = deploy_image(&proxy.endpoint, dir, &[]);
    let function = only_function(&third);
    assert_eq!(function["code"]["change"], "updated", "{third:#}");
    assert_eq!(
        function["configuration"]["change"], "unchanged",
        "{third:#}"
    );
    let new_uri = function["code"]["image_uri"].as_str().unwrap().to_string();
    assert_ne!(new_uri, uri);
    let third_bytes = function["code"]["bytes_uploaded"].as_u64().unwrap();
    assert!(
        third_bytes > 0 && third_bytes * 4 < first_bytes,
        "an app edit sent {third_bytes} bytes, the first push {first_bytes}"
    );
    assert_eq!(
        image_state(&moto.endpoint, "imagefn", false)["ImageUri"],
        new_uri.as_str()
    );

    // A setting: the configuration is updated, without the zip-only fields.
    write(
        dir,
        "pyproject.toml",
        "[tool.lambdaship]\nname = \"imagefn\"\nruntime = \"python3.11\"\nlayout = \"image\"\nbase_image = \"base\"\nmemory = 512\n",
    );
    let fourth = deploy_image(&proxy.endpoint, dir, &[]);
    let function = only_function(&fourth);
    assert_eq!(function["code"]["change"], "unchanged", "{fourth:#}");
    assert_eq!(
        function["configuration"]["fields"],
        json!(["MemorySize"]),
        "{fourth:#}"
    );
    assert_eq!(
        image_state(&moto.endpoint, "imagefn", false)["MemorySize"],
        512
    );

    // The same function as a zip: Lambda cannot change the package type.
    write(
        dir,
        "pyproject.toml",
        "[tool.lambdaship]\nname = \"imagefn\"\nruntime = \"python3.11\"\n",
    );
    refused(
        deploy_command(&proxy.endpoint, dir, &[]),
        "exists with package type Image and this build is a zip",
    );
}

#[test]
fn an_image_goes_to_any_registry_named_by_its_host_and_bad_settings_are_refused() {
    let registry = Registry::start(Auth::None);
    let moto = moto();
    let project = image_deploy_project("");
    let dir = project.path();
    let repository = format!("{}/apps/hello", registry.host());

    // A registry named by its host: no ECR call, Docker's (here: no) credentials.
    let report = deploy_image(&moto.endpoint, dir, &["--image-repository", &repository]);
    let uri = only_function(&report)["code"]["image_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(uri.starts_with(&format!("{repository}@sha256:")), "{uri}");
    assert_eq!(registry_digest(&uri, None), uri.split('@').nth(1).unwrap());
    let state = image_state(&moto.endpoint, "imagefn", true);
    assert_eq!(state["ImageUri"], uri.as_str());
    assert_eq!(state["repositories"], json!([]), "{state:#}");

    // A zip function of the same name is not turned into an image.
    let zip = tempfile::tempdir().unwrap();
    write(zip.path(), "requirements.txt", "");
    write(
        zip.path(),
        "lambda_function.py",
        "def lambda_handler(event, context):\n    return 1\n",
    );
    write(
        zip.path(),
        "pyproject.toml",
        "[tool.lambdaship]\nname = \"zipfn\"\nruntime = \"python3.11\"\n",
    );
    deploy(&moto.endpoint, zip.path(), &[]);
    write(
        zip.path(),
        "pyproject.toml",
        &format!(
            "[tool.lambdaship]\nname = \"zipfn\"\nruntime = \"python3.11\"\nlayout = \"image\"\nbase_image = \"{}\"\nimage_repository = \"{repository}\"\n",
            dir.join("base").display()
        ),
    );
    refused(
        deploy_command(&moto.endpoint, zip.path(), &[]),
        "exists with package type Zip and this build is a container image",
    );

    // Layers cannot go on an image (the build says so); a repository with a tag is not a
    // repository.
    let with_layers = image_deploy_project(
        "layers = [\"arn:aws:lambda:us-east-1:123456789012:layer:extra:1\"]\n",
    );
    refused(
        deploy_command(&moto.endpoint, with_layers.path(), &[]),
        "Lambda runs no layers with a container image",
    );
    refused(
        deploy_command(&moto.endpoint, dir, &["--image-repository", "hello:latest"]),
        "it has a tag or digest",
    );
    // A registry that cannot be reached, and one that refuses the (absent) credentials: the
    // step names the push and the registry, and the function is not updated.
    let stderr = refused(
        deploy_command(
            &moto.endpoint,
            dir,
            &["--image-repository", "127.0.0.1:9/nowhere"],
        ),
        "pushing the image of `imagefn` to 127.0.0.1:9/nowhere",
    );
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    let guarded = Registry::start(Auth::Htpasswd);
    let mut command = deploy_command(
        &moto.endpoint,
        dir,
        &["--image-repository", &format!("{}/guarded", guarded.host())],
    );
    command.env("DOCKER_CONFIG", dir.join(".no-docker-config"));
    let stderr = refused(command, "pushing the image of `imagefn`");
    assert!(
        stderr.contains("refused anonymous access") && stderr.contains("docker login"),
        "{stderr}"
    );
    let bad_setting = image_deploy_project("image_repository = \"Hello\"\n");
    refused(
        deploy_command(&moto.endpoint, bad_setting.path(), &[]),
        "image_repository",
    );
}

#[test]
fn deploys_an_image_to_lambdaship_server_through_a_loopback_registry_then_invokes_it() {
    let registry = Registry::start(Auth::None);
    let state_dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(state_dir.path(), &[]);
    let project = image_deploy_project("");
    let dir = project.path();

    // lambdaship server has no ECR: the default repository fails with what to do instead.
    let stderr = refused(
        deploy_command(&server.endpoint, dir, &[]),
        "looking up the ECR repository `imagefn` failed",
    );
    assert!(
        stderr.contains("--image-repository HOST:PORT/NAME"),
        "{stderr}"
    );

    // A loopback registry: pushed there, pulled by the server, run by it.
    let repository = format!("{}/imagefn", registry.host());
    let first = deploy_image(&server.endpoint, dir, &["--image-repository", &repository]);
    assert_eq!(
        changes(only_function(&first)),
        ["role=created", "code=created", "configuration=created"],
        "{first:#}"
    );
    let uri = only_function(&first)["code"]["image_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        image_state(&server.endpoint, "imagefn", false)["ImageUri"],
        uri.as_str()
    );

    let mut invoke = lambdaship();
    for (key, value) in dummy_credentials() {
        invoke.env(key, value);
    }
    let event = dir.join("event.json");
    std::fs::write(&event, r#"{"host": "bücher.example"}"#).unwrap();
    invoke
        .args(["invoke", "--endpoint-url", &server.endpoint])
        .args(["--function", "imagefn", "--event"])
        .arg(&event);
    let output = run(invoke, Duration::from_secs(120), "lambdaship invoke");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#""xn--bcher-kva.example""#
    );

    // Unchanged: nothing pushed or updated.
    let second = deploy_image(&server.endpoint, dir, &["--image-repository", &repository]);
    assert!(
        changes(only_function(&second))
            .iter()
            .all(|c| c.ends_with("=unchanged")),
        "{second:#}"
    );
    assert_eq!(second["bytes_uploaded"], 0);
}
