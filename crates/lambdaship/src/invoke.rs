//! `lambdaship invoke`: one event through a fresh local execution environment.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use lambdaship_build::{BuildOptions, build};
use lambdaship_project::{Overrides, Project, Runtime};
use lambdaship_runtime::{
    FunctionCode, FunctionConfig, InvokeRequest, LocalRuntime, PoolOptions, StderrLogs,
    default_region, find_interpreter,
};

use crate::progress;

/// Exit status when the function failed (its error payload is still printed).
const FUNCTION_ERROR: u8 = 1;
/// Exit status for everything else: usage, build, runtime preparation.
const OTHER_ERROR: u8 = 2;

#[derive(Args)]
pub struct InvokeArgs {
    /// The project directory (pyproject.toml + uv.lock, or requirements.txt).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
    /// The function to invoke, when the project has several.
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// The event: a JSON file, or `-` for stdin [default: `{}`].
    #[arg(long, value_name = "FILE|-")]
    event: Option<PathBuf>,
    /// The Python runtime, overriding [tool.lambdaship] runtime.
    #[arg(long, value_name = "python3.X")]
    runtime: Option<Runtime>,
    /// Run in a private mount namespace with the code at /var/task, layers at /opt and a
    /// private /tmp, read-only as on Lambda (Linux).
    #[arg(long)]
    isolate: bool,
    /// Invoke the function deployed at this Lambda API endpoint (e.g. `lambdaship server`)
    /// through the Invoke API instead of building and running it here; needs --function.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Invoke the function deployed on AWS Lambda (default credentials and region).
    #[arg(long, conflicts_with = "endpoint_url")]
    remote: bool,
    /// With --endpoint-url or --remote: the AWS region.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// With --endpoint-url or --remote: the version or alias to invoke.
    #[arg(long, value_name = "VERSION|ALIAS")]
    qualifier: Option<String>,
}

/// Runs the command; the exit status is 0 on success, 1 on a function error, 2 otherwise.
pub fn run(args: InvokeArgs) -> ExitCode {
    match invoke(args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(OTHER_ERROR)
        }
    }
}

fn read_event(source: Option<&PathBuf>) -> Result<bytes::Bytes, String> {
    let (bytes, name) = match source {
        None => return Ok(bytes::Bytes::from_static(b"{}")),
        Some(path) if path.as_os_str() == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read the event from stdin: {e}"))?;
            (bytes, "the event on stdin".to_string())
        }
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read the event file {}: {e}", path.display()))?;
            (bytes, format!("the event file {}", path.display()))
        }
    };
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(format!(
            "{name} is not JSON: {error}\n  fix: Lambda events are JSON documents, e.g. {{\"key\": \"value\"}}"
        ));
    }
    Ok(bytes::Bytes::from(bytes))
}

fn invoke(args: InvokeArgs) -> Result<u8, String> {
    let payload = read_event(args.event.as_ref())?;
    if args.endpoint_url.is_some() || args.remote {
        return invoke_deployed(&args, payload.to_vec());
    }
    let overrides = Overrides {
        runtime: args.runtime,
        ..Overrides::default()
    };
    let project = Project::load(&args.project_dir, &overrides).map_err(|e| e.to_string())?;
    let functions = project
        .select(args.function.as_deref())
        .map_err(|e| e.to_string())?;
    let spec = match functions.as_slice() {
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|f| f.name.as_str()).collect();
            return Err(format!(
                "the project has {} functions ({}): choose one with --function NAME",
                names.len(),
                names.join(", ")
            ));
        }
    };
    let cache = lambdaship_build::Cache::open(&lambdaship_build::Cache::default_root())
        .map_err(|e| e.to_string())?;
    // Before building: a missing interpreter is the clearer error, and the quicker one.
    find_interpreter(&cache, spec.runtime).map_err(|e| e.to_string())?;
    let progress = progress::TerminalProgress::new(true);
    let options = BuildOptions {
        function: Some(spec.name.clone()),
        ..BuildOptions::default()
    };
    let report = build(&project, &options, &progress);
    progress.finish();
    let report = report.map_err(|e| e.to_string())?;
    let code = FunctionCode::from_artifacts(&report.artifacts, &spec.name).ok_or_else(|| {
        format!(
            "the build wrote no archive or image for function `{}`",
            spec.name
        )
    })?;
    let config = FunctionConfig::from_spec(spec, &default_region());
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    tokio.block_on(async move {
        let runtime = LocalRuntime::new(&cache).map_err(|e| e.to_string())?;
        let pool = runtime
            .prepare(
                config,
                &code,
                Arc::new(StderrLogs),
                PoolOptions {
                    concurrency: 1,
                    isolate: args.isolate,
                    ..PoolOptions::default()
                },
            )
            .map_err(|e| e.to_string())?;
        if let Some(reason) = &pool.isolation_unavailable {
            eprintln!("warning: --isolate is not possible here, running unisolated: {reason}");
        }
        for warning in &pool.warnings {
            eprintln!("warning: {warning}");
        }
        let (chunks, mut stream) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
        let printer = tokio::spawn(async move {
            let mut printed = false;
            while let Some(chunk) = stream.recv().await {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&chunk);
                let _ = stdout.flush();
                printed = true;
            }
            printed
        });
        let request = InvokeRequest {
            payload,
            stream_to: Some(chunks),
            ..InvokeRequest::default()
        };
        let outcome = pool.invoke_once(request).await.map_err(|e| e.to_string())?;
        let streamed_output = printer.await.unwrap_or(false);
        let mut stdout = std::io::stdout().lock();
        if !streamed_output || outcome.result.is_error() {
            let _ = stdout.write_all(outcome.result.payload());
        }
        if std::io::stdout().is_terminal() {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.flush();
        Ok(if outcome.result.is_error() {
            FUNCTION_ERROR
        } else {
            0
        })
    })
}

/// `--endpoint-url`/`--remote`: the deployed function through the Invoke API; the log tail
/// goes to stderr, the result to stdout.
fn invoke_deployed(args: &InvokeArgs, payload: Vec<u8>) -> Result<u8, String> {
    let function = args.function.clone().ok_or(
        "--endpoint-url and --remote invoke a deployed function: name it with --function NAME",
    )?;
    let target = lambdaship_deploy::Target {
        endpoint_url: args.endpoint_url.clone(),
        region: args.region.clone(),
        profile: None,
    };
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let answer = tokio
        .block_on(async {
            let clients = lambdaship_deploy::Clients::connect(&target).await?;
            lambdaship_deploy::remote::invoke(
                &clients,
                &function,
                args.qualifier.as_deref(),
                payload,
            )
            .await
        })
        .map_err(|e| e.to_string())?;
    if !answer.log_tail.is_empty() {
        eprint!("{}", answer.log_tail);
        if !answer.log_tail.ends_with('\n') {
            eprintln!();
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&answer.payload);
    if std::io::stdout().is_terminal() {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
    Ok(match answer.function_error {
        Some(_) => FUNCTION_ERROR,
        None => 0,
    })
}
