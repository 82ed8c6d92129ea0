//! Benchmark of the runtime core (run by `bench/runtime`): warm round trips, throughput
//! and the cold start of examples/hello-fastapi, each against a floor measured in the
//! same run. Prints a Markdown table.
//!
//! - Warm round trip: `FunctionPool::invoke` on a warm environment, with awslambdaric and
//!   a no-op Python handler, and with the Rust lambda_runtime client (whose own cost is a
//!   few microseconds, so its round trip bounds what the runtime core adds).
//! - Throughput: no-op invocations per second with 1, 2 and 4 warm environments.
//! - Cold start: the REPORT line's Init Duration, the whole cold invocation, and a bare
//!   python3.11 process that imports awslambdaric and the app and calls the handler once:
//!   lambdaship's own share is the difference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/archive.rs"]
mod archive;
#[path = "../tests/common/rust_fixture.rs"]
mod rust_fixture;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lambdaship_build::{BuildOptions, Cache, Silent};
use lambdaship_project::{Overrides, Project, Runtime};
use lambdaship_runtime::{
    DiscardLogs, FunctionCode, FunctionConfig, FunctionPool, InvokeRequest, LocalRuntime,
    PoolOptions, RuntimeKind, host_architecture,
};

fn config(name: &str, handler: &str, runtime: RuntimeKind) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        version: "$LATEST".into(),
        handler: handler.into(),
        runtime,
        architecture: host_architecture(),
        memory_mb: 512,
        timeout: Duration::from_secs(30),
        environment: BTreeMap::new(),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
    }
}

fn request() -> InvokeRequest {
    InvokeRequest {
        payload: Bytes::from_static(b"{}"),
        ..InvokeRequest::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn round_trips(pool: &FunctionPool, count: usize) -> Vec<Duration> {
    for _ in 0..200 {
        pool.invoke(request()).await.unwrap();
    }
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let outcome = pool.invoke(request()).await.unwrap();
        times.push(started.elapsed());
        assert!(!outcome.result.is_error());
    }
    times.sort();
    times
}

async fn throughput(pool: &Arc<FunctionPool>, environments: usize, window: Duration) -> f64 {
    // Warm the environments together so each task finds its own.
    let warm: Vec<_> = (0..environments)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.invoke(request()).await.unwrap() })
        })
        .collect();
    for task in warm {
        task.await.unwrap();
    }
    let deadline = Instant::now() + window;
    let started = Instant::now();
    let tasks: Vec<_> = (0..environments)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    pool.invoke(request()).await.unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args
        .iter()
        .position(|a| a == "--invocations")
        .map_or(3000, |i| args[i + 1].parse().unwrap());
    let colds: usize = args
        .iter()
        .position(|a| a == "--cold-runs")
        .map_or(7, |i| args[i + 1].parse().unwrap());
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = Cache::open(&Cache::default_root()).unwrap();
    let local = LocalRuntime::new(&cache).unwrap();
    let work = tempfile::tempdir().unwrap();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let noop = work.path().join("noop.zip");
    archive::write_zip(
        &noop,
        &[(
            "app.py",
            b"def handler(event, context):\n    return None\n",
            0o100644,
        )],
    );
    let python_noop = Arc::new(
        local
            .prepare(
                config(
                    "noop",
                    "app.handler",
                    RuntimeKind::Python(Runtime::Python311),
                ),
                &FunctionCode::Archives {
                    archive: noop,
                    layers: vec![],
                },
                Arc::new(DiscardLogs),
                PoolOptions {
                    concurrency: 4,
                    ..PoolOptions::default()
                },
            )
            .unwrap(),
    );
    let rust_zip = work.path().join("rust.zip");
    archive::write_zip(
        &rust_zip,
        &[(
            "bootstrap",
            &std::fs::read(rust_fixture::rust_bootstrap("cargo", true)).unwrap(),
            0o100755,
        )],
    );
    let rust_noop = local
        .prepare(
            config("rust", "bootstrap", RuntimeKind::Provided { al2023: true }),
            &FunctionCode::Archives {
                archive: rust_zip,
                layers: vec![],
            },
            Arc::new(DiscardLogs),
            PoolOptions::default(),
        )
        .unwrap();

    // The cold start's app: examples/hello-fastapi built as `lambdaship build` does.
    let project =
        Project::load(&repo.join("examples/hello-fastapi"), &Overrides::default()).unwrap();
    let out = work.path().join("dist");
    let report = lambdaship_build::build(
        &project,
        &BuildOptions {
            out_dir: Some(out),
            ..BuildOptions::default()
        },
        &Silent,
    )
    .unwrap();
    let spec = project.select(None).unwrap()[0].clone();
    let code = FunctionCode::from_artifacts(&report.artifacts, &spec.name).unwrap();
    let event = std::fs::read(repo.join("examples/hello-fastapi/event.json")).unwrap();

    tokio.block_on(async {
        let python = round_trips(&python_noop, count).await;
        let rust = round_trips(&rust_noop, count).await;
        println!("## Runtime core\n");
        println!("| measure | p50 | p99 |");
        println!("|---|---|---|");
        println!(
            "| warm round trip, no-op Python handler (awslambdaric) | {:.0} µs | {:.0} µs |",
            micros(percentile(&python, 0.5)),
            micros(percentile(&python, 0.99))
        );
        println!(
            "| warm round trip, Rust lambda_runtime client: the runtime core's share (upper bound) | {:.0} µs | {:.0} µs |",
            micros(percentile(&rust, 0.5)),
            micros(percentile(&rust, 0.99))
        );
        println!();
        println!("| warm environments | no-op invocations/s (awslambdaric) |");
        println!("|---|---|");
        for environments in [1, 2, 4] {
            let rate = throughput(&python_noop, environments, Duration::from_secs(3)).await;
            println!("| {environments} | {rate:.0} |");
        }
        python_noop.shutdown().await;
        rust_noop.shutdown().await;

        // Cold starts and bare processes taken in turn, so load on the machine hits both.
        let mut inits = Vec::new();
        let mut walls = Vec::new();
        let mut bares = Vec::new();
        for _ in 0..colds {
            let pool = local
                .prepare(FunctionConfig::from_spec(&spec, "us-east-1"), &code, Arc::new(DiscardLogs), PoolOptions::default())
                .unwrap();
            let started = Instant::now();
            let outcome = pool
                .invoke(InvokeRequest { payload: Bytes::from(event.clone()), ..InvokeRequest::default() })
                .await
                .unwrap();
            walls.push(started.elapsed());
            assert!(!outcome.result.is_error(), "{:?}", outcome.result);
            inits.push(outcome.report.init_duration.unwrap());
            pool.shutdown().await;
            bares.push(bare_python(&local, &spec, &code, &event));
        }
        inits.sort();
        walls.sort();
        bares.sort();
        let bare = percentile(&bares, 0.5);
        let init = percentile(&inits, 0.5);
        let wall = percentile(&walls, 0.5);
        println!();
        println!("| hello-fastapi cold start (median of {colds}) | time |");
        println!("|---|---|");
        println!("| Init Duration (REPORT line) | {:.1} ms |", millis(init));
        println!("| whole cold invocation, `invoke` call to outcome | {:.1} ms |", millis(wall));
        println!("| bare python3.11: import awslambdaric and the app, call the handler | {:.1} ms |", millis(bare));
        println!("| lambdaship's own share (whole - bare) | {:.1} ms |", millis(wall.saturating_sub(bare)));
    });
}

/// A process doing what the cold start needs of Python and nothing else: the floor.
fn bare_python(
    local: &LocalRuntime,
    spec: &lambdaship_project::FunctionSpec,
    code: &FunctionCode,
    event: &[u8],
) -> Duration {
    let unpacked = local_unpack(local, code);
    let python = lambdaship_runtime::find_interpreter(
        &Cache::open(&Cache::default_root()).unwrap(),
        spec.runtime,
    )
    .unwrap();
    let runtime_dir = Cache::default_root()
        .join("runtimes")
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{}-", spec.runtime))
        })
        .unwrap();
    let script = format!(
        "import sys, json\nsys.path[0:0] = [{task:?}, {runtime:?}]\nimport awslambdaric.bootstrap\nimport {module} as m\nclass C:\n    aws_request_id = 'x'\n    function_name = 'f'\n    invoked_function_arn = 'arn'\n    def get_remaining_time_in_millis(self): return 3000\nm.{function}(json.loads({event:?}), C())\nsys.stdout.write('done\\n')\nsys.stdout.flush()\n",
        task = unpacked.display().to_string(),
        runtime = runtime_dir.display().to_string(),
        module = spec.handler.module(),
        function = spec.handler.function(),
        event = String::from_utf8_lossy(event),
    );
    {
        // Timed to the handler's return, not to the process's exit: the cold invocation
        // is timed to its outcome too.
        let started = Instant::now();
        let mut child = Command::new(&python)
            .args(["-S", "-B", "-c", &script])
            .current_dir(&unpacked)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(line, "done\n");
        assert!(child.wait().unwrap().success());
        elapsed
    }
}

fn local_unpack(_local: &LocalRuntime, code: &FunctionCode) -> PathBuf {
    let store =
        lambdaship_runtime::CodeStore::new(&Cache::open(&Cache::default_root()).unwrap()).unwrap();
    store.unpack_code(code).unwrap().task_root
}
