//! Benchmark of lambdaship's web adapter (run by `bench/adapter`): web functions built as
//! `lambdaship build` builds them (the seed's Flask app under gunicorn, a FastAPI app under
//! uvicorn), run by the runtime core with the adapter as a real extension.
//!
//! - warm latency, in alternating rounds: the event through the runtime core and the adapter
//!   to the app; the same request sent to the app directly over a kept-alive connection; the
//!   runtime core's own round trip with the Rust lambda_runtime client (a no-op); and the app
//!   directly again, each request right after a runtime core round trip. The adapter's share
//!   is the first less the second and third (p50s). The same with a native HTTP server in the
//!   program in place of the Python app isolates the adapter's own cost: the Python apps run
//!   slower when other code runs between their requests, as it does in the chain;
//! - FastAPI under uvicorn behind the adapter against FastAPI behind Mangum in-process
//!   (examples/hello-fastapi through awslambdaric), the two ways to put FastAPI on Lambda;
//! - the adapter's resident memory after the warm runs (VmRSS and peak VmHWM);
//! - its share of the cold start: the Init Duration (REPORT) against the same app's start
//!   without it (the exec wrapper run directly, timed to its first answer on the port); and
//!   the Init Duration when the native server already listens, which is the adapter's own
//!   part (start, registration, readiness check).
//!
//! Prints Markdown tables. Needs `scripts/build-adapter` first.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/archive.rs"]
mod archive;
#[path = "../tests/common/rust_fixture.rs"]
mod rust_fixture;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lambdaship_build::{BuildOptions, Cache, Silent};
use lambdaship_project::{Overrides, Project};
use lambdaship_runtime::{
    CodeStore, DiscardLogs, FunctionCode, FunctionConfig, FunctionPool, InvokeRequest,
    LocalRuntime, PoolOptions, RuntimeKind, host_architecture,
};

const WARMUP: usize = 200;
const SAMPLES: usize = 2_000;
const ROUNDS: usize = 10;
const COLD_RUNS: usize = 9;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A function built from `dir` as `lambdaship build` builds it (zip layout).
struct Built {
    config: FunctionConfig,
    code: FunctionCode,
    /// Where the build wrote the code, kept while the function runs; `None` for a function
    /// that shares another's code.
    _out: Option<tempfile::TempDir>,
}

fn build(dir: &Path) -> Built {
    let project = Project::load(dir, &Overrides::default()).unwrap();
    let spec = project.select(None).unwrap()[0].clone();
    let out = tempfile::tempdir().unwrap();
    let report = lambdaship_build::build(
        &project,
        &BuildOptions {
            out_dir: Some(out.path().to_path_buf()),
            ..BuildOptions::default()
        },
        &Silent,
    )
    .unwrap();
    let code = FunctionCode::from_artifacts(&report.artifacts, &spec.name).unwrap();
    let mut config = FunctionConfig::from_spec(&spec, "us-east-1");
    config.timeout = Duration::from_secs(30);
    Built {
        config,
        code,
        _out: Some(out),
    }
}

fn prepare(local: &LocalRuntime, built: &Built) -> FunctionPool {
    local
        .prepare(
            built.config.clone(),
            &built.code,
            Arc::new(DiscardLogs),
            PoolOptions::default(),
        )
        .unwrap()
}

/// A Function URL event for `GET path?query`.
fn url_event(path: &str, query: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "bench.lambda-url.us-east-1.on.aws", "accept": "*/*"},
            "requestContext": {
                "accountId": "000000000000", "apiId": "bench",
                "domainName": "bench.lambda-url.us-east-1.on.aws", "domainPrefix": "bench",
                "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
                "requestId": "bench", "routeKey": "$default", "stage": "$default",
                "time": "21/Nov/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        })
        .to_string(),
    )
}

fn request(payload: &Bytes) -> InvokeRequest {
    InvokeRequest {
        payload: payload.clone(),
        ..InvokeRequest::default()
    }
}

/// A minimal keep-alive HTTP/1.1 client: its own cost is a few microseconds.
struct Client {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl Client {
    fn connect(port: u16, target: &str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream: BufReader::new(stream),
            request: format!(
                "GET {target} HTTP/1.1\r\nHost: bench.lambda-url.us-east-1.on.aws\r\nAccept: */*\r\n\r\n"
            )
            .into_bytes(),
        }
    }

    fn get(&mut self) -> Duration {
        let started = Instant::now();
        self.stream.get_mut().write_all(&self.request).unwrap();
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).unwrap();
        started.elapsed()
    }
}

/// A minimal keep-alive HTTP/1.1 server answering every GET with `{"status":"healthy"}`, on
/// its own threads: behind the adapter in place of a Python app, it leaves only the adapter's
/// own cost in the difference (the Python apps' slowdown when other code runs between their
/// requests is not in it). Returns its port.
fn native_app() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                stream.set_nodelay(true).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                loop {
                    line.clear();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" => {
                            let body = r#"{"status":"healthy"}"#;
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if writer.write_all(answer.as_bytes()).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    port
}

/// Warm times through the adapter, directly to the app, of the runtime core alone, and
/// directly to the app right after a runtime core round trip.
async fn warm(
    pool: &FunctionPool,
    event: &Bytes,
    port: u16,
    target: &str,
    rust: &FunctionPool,
) -> [Vec<Duration>; 4] {
    let noop = Bytes::from_static(b"{}");
    for _ in 0..WARMUP {
        assert!(
            !pool
                .invoke_answered(request(event))
                .await
                .unwrap()
                .result
                .is_error()
        );
        rust.invoke_answered(request(&noop)).await.unwrap();
    }
    let mut client = Client::connect(port, target);
    for _ in 0..WARMUP {
        client.get();
    }
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..ROUNDS {
        for _ in 0..SAMPLES / ROUNDS {
            let started = Instant::now();
            let answered = pool.invoke_answered(request(event)).await.unwrap();
            times[0].push(started.elapsed());
            assert!(!answered.result.is_error(), "{:?}", answered.result);
        }
        for _ in 0..SAMPLES / ROUNDS {
            times[1].push(client.get());
        }
        for _ in 0..SAMPLES / ROUNDS {
            let started = Instant::now();
            rust.invoke_answered(request(&noop)).await.unwrap();
            times[2].push(started.elapsed());
        }
        // The app called directly, each time right after a runtime core round trip has run
        // (whole: answered, logged, released): other code ran on the CPUs between its
        // requests, as in the chain through the adapter.
        for _ in 0..SAMPLES / ROUNDS {
            rust.invoke(request(&noop)).await.unwrap();
            times[3].push(client.get());
        }
    }
    for series in &mut times {
        series.sort();
    }
    times
}

/// VmRSS and VmHWM of the running adapter, kB.
fn adapter_memory() -> (u64, u64) {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("lambdaship-adap") {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        return (field("VmRSS:"), field("VmHWM:"));
    }
    panic!("no lambdaship-adapter process found");
}

/// The app started as the exec wrapper starts it, without the adapter: time to its first
/// answer on `port`.
fn direct_start(
    code: &FunctionCode,
    cache: &Cache,
    port: u16,
    environment: &BTreeMap<String, String>,
) -> Duration {
    let unpacked = CodeStore::new(cache).unwrap().unpack_code(code).unwrap();
    let python =
        lambdaship_runtime::find_interpreter(cache, lambdaship_project::Runtime::Python311)
            .unwrap();
    let started = Instant::now();
    let mut child = Command::new(unpacked.opt.join("lambdaship-exec-wrapper"))
        .env_clear()
        .envs(environment)
        .env("LAMBDA_TASK_ROOT", &unpacked.task_root)
        .env("_HANDLER", "lambdaship-web")
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", python.parent().unwrap().display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let elapsed = loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            if answer.starts_with(b"HTTP/1.1 2") {
                break started.elapsed();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the app never answered"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    // SAFETY: kill on the process group the child leads; nothing else is in it.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
    elapsed
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = Cache::open(&Cache::default_root()).unwrap();
    let local = LocalRuntime::new(&cache).unwrap();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir().unwrap();

    let rust_zip = work.path().join("rust.zip");
    archive::write_zip(
        &rust_zip,
        &[(
            "bootstrap",
            &std::fs::read(rust_fixture::rust_bootstrap("cargo", true)).unwrap(),
            0o100755,
        )],
    );
    let rust = local
        .prepare(
            FunctionConfig {
                name: "rust".into(),
                version: "$LATEST".into(),
                handler: "bootstrap".into(),
                runtime: RuntimeKind::Provided { al2023: true },
                architecture: host_architecture(),
                memory_mb: 512,
                timeout: Duration::from_secs(30),
                environment: BTreeMap::new(),
                region: "us-east-1".into(),
                account_id: "000000000000".into(),
            },
            &FunctionCode::Archives {
                archive: rust_zip,
                layers: vec![],
            },
            Arc::new(DiscardLogs),
            PoolOptions::default(),
        )
        .unwrap();

    let flask = build(&repo.join("examples/flask-web"));
    let uvicorn = build(&repo.join("crates/lambdaship/tests/fixtures/web-uvicorn"));
    let mangum = build(&repo.join("examples/hello-fastapi"));
    let mangum_event =
        Bytes::from(std::fs::read(repo.join("examples/hello-fastapi/event.json")).unwrap());

    println!(
        "| app | through the adapter p50 / p99 | the app directly over HTTP p50 / p99 | runtime core alone (Rust client) p50 | adapter's share (p50) | the app directly, each request after a runtime core round trip, p50 | adapter's share against that (p50) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut memory = Vec::new();
    let mut fastapi_adapter = Duration::ZERO;
    let native_port = native_app();
    // The Flask function with the adapter pointed at the native server (gunicorn starts and
    // idles).
    let native = Built {
        config: FunctionConfig {
            environment: flask
                .config
                .environment
                .clone()
                .into_iter()
                .chain([("AWS_LWA_PORT".to_string(), native_port.to_string())])
                .collect(),
            ..flask.config.clone()
        },
        code: flask.code.clone(),
        _out: None,
    };
    for (name, built, path, query, port) in [
        (
            "Flask 3.0 under gunicorn (seed), GET /api/hello?name=Lambda",
            &flask,
            "/api/hello",
            "name=Lambda",
            8080u16,
        ),
        ("FastAPI under uvicorn, GET /", &uvicorn, "/", "", 8080u16),
        (
            "a native HTTP server (the adapter's own cost), GET /",
            &native,
            "/",
            "",
            native_port,
        ),
    ] {
        let pool = prepare(&local, built);
        let event = url_event(path, query);
        let target = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        let [adapter, direct, core, disturbed] =
            tokio.block_on(warm(&pool, &event, port, &target, &rust));
        memory.push((name, adapter_memory()));
        let share = percentile(&adapter, 0.5)
            .saturating_sub(percentile(&direct, 0.5))
            .saturating_sub(percentile(&core, 0.5));
        let share_disturbed = percentile(&adapter, 0.5)
            .saturating_sub(percentile(&disturbed, 0.5))
            .saturating_sub(percentile(&core, 0.5));
        if name.starts_with("FastAPI") {
            fastapi_adapter = percentile(&adapter, 0.5);
        }
        println!(
            "| {name} | {:.0} µs / {:.0} µs | {:.0} µs / {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs |",
            micros(percentile(&adapter, 0.5)),
            micros(percentile(&adapter, 0.99)),
            micros(percentile(&direct, 0.5)),
            micros(percentile(&direct, 0.99)),
            micros(percentile(&core, 0.5)),
            micros(share),
            micros(percentile(&disturbed, 0.5)),
            micros(share_disturbed),
        );
        tokio.block_on(pool.shutdown());
    }

    // FastAPI the two ways: behind Mangum in-process, behind the adapter under uvicorn.
    let pool = prepare(&local, &mangum);
    let mut times = tokio.block_on(async {
        for _ in 0..WARMUP {
            pool.invoke_answered(request(&mangum_event)).await.unwrap();
        }
        let mut times = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let started = Instant::now();
            pool.invoke_answered(request(&mangum_event)).await.unwrap();
            times.push(started.elapsed());
        }
        times
    });
    times.sort();
    tokio.block_on(pool.shutdown());
    println!();
    println!("| FastAPI on Lambda | warm invocation p50 |");
    println!("|---|---|");
    println!(
        "| behind Mangum in-process (examples/hello-fastapi, awslambdaric) | {:.0} µs |",
        micros(percentile(&times, 0.5))
    );
    println!(
        "| under uvicorn behind the adapter (unmodified app) | {:.0} µs |",
        micros(fastapi_adapter)
    );

    println!();
    println!("| adapter memory after the warm runs | VmRSS | VmHWM (peak) |");
    println!("|---|---|---|");
    for (name, (rss, hwm)) in &memory {
        println!(
            "| {name} | {:.1} MB | {:.1} MB |",
            *rss as f64 / 1024.0,
            *hwm as f64 / 1024.0
        );
    }

    println!();
    println!(
        "| cold start (median of {COLD_RUNS}) | Init Duration with the adapter | the app's own start | adapter's share |"
    );
    println!("|---|---|---|---|");
    for (name, built, path, query) in [
        ("Flask under gunicorn", &flask, "/api/hello", "name=Lambda"),
        ("FastAPI under uvicorn", &uvicorn, "/", ""),
        (
            "a native HTTP server already listening (the adapter's own part)",
            &native,
            "/",
            "",
        ),
    ] {
        let mut inits = Vec::new();
        let mut starts = Vec::new();
        for _ in 0..COLD_RUNS {
            let pool = prepare(&local, built);
            let outcome = tokio
                .block_on(pool.invoke_once(request(&url_event(path, query))))
                .unwrap();
            inits.push(outcome.report.init_duration.unwrap());
            // The native server listens before the environment starts: its own start is
            // nothing, and the whole Init Duration is the adapter's (and the runtime core's).
            starts.push(if std::ptr::eq(built, &native) {
                Duration::ZERO
            } else {
                direct_start(&built.code, &cache, 8080, &built.config.environment)
            });
        }
        inits.sort();
        starts.sort();
        let (init, start) = (inits[COLD_RUNS / 2], starts[COLD_RUNS / 2]);
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms |",
            init.as_secs_f64() * 1e3,
            start.as_secs_f64() * 1e3,
            init.saturating_sub(start).as_secs_f64() * 1e3
        );
    }
}
