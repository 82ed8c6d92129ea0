//! Reliability benchmark of `lambdaship server` (run by `bench/service`): 10,000 invocations
//! from 32 concurrent clients against two functions, each response checked against its
//! request, the server's memory sampled throughout, latency percentiles printed; then the
//! same while UpdateFunctionCode replaces one function's code every second, every answer
//! checked to come from the old or the new code. Prints a Markdown table.
//!
//! The server is the real binary (`LAMBDASHIP_BIN`), reached over HTTP as the SDKs reach it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../lambdaship-runtime/tests/common/archive.rs"]
mod archive;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use serde_json::{Value, json};
use tokio::net::TcpStream;

const CLIENTS: usize = 32;
const INVOCATIONS: usize = 10_000;
const FUNCTIONS: [&str; 2] = ["bench-a", "bench-b"];
/// Long enough for a dozen updates at one per second.
const UPDATE_RUN_INVOCATIONS: usize = 30_000;

const HANDLER: &str = "
TAG = %TAG%

def lambda_handler(event, context):
    return {'echo': event, 'tag': TAG, 'request_id': context.aws_request_id}
";

fn code(tag: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.zip");
    let source = HANDLER.replace("%TAG%", &format!("{tag:?}"));
    archive::write_zip(&path, &[("lambda_function.py", source.as_bytes(), 0o644)]);
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(&path).unwrap())
}

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(state: &std::path::Path) -> Server {
        let binary =
            std::env::var("LAMBDASHIP_BIN").expect("LAMBDASHIP_BIN: the lambdaship binary");
        let mut child = Command::new(binary)
            .args([
                "server",
                "--port",
                "0",
                "--quiet",
                "--concurrency",
                "32",
                "--state",
            ])
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap()
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Server { child, address }
    }

    /// Resident memory of the server process, KB.
    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the server shuts its environments down before exiting.
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

async fn connect(address: &str) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Option<String>, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "bench")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let function_error = response
        .headers()
        .get("x-amz-function-error")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        function_error,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failures: Vec<String>,
    answered_tags: BTreeSet<String>,
}

/// Runs the invocations; `valid_tags(function)` is the set of tags an answer may carry.
async fn run_clients(
    address: &str,
    invocations: usize,
    valid_tags: Arc<Mutex<Vec<BTreeSet<String>>>>,
    memory: &Arc<Mutex<Vec<u64>>>,
    server_pid_rss: impl Fn() -> u64 + Send + Sync + 'static,
) -> Tally {
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let memory = memory.clone();
        let done = done.clone();
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                memory.lock().unwrap().push(server_pid_rss());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let address = address.to_string();
        let next = next.clone();
        let valid_tags = valid_tags.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(&address).await;
            let mut tally = Tally::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                if n >= invocations {
                    return tally;
                }
                let index = n % FUNCTIONS.len();
                let function = FUNCTIONS[index];
                let event = json!({"client": client, "seq": n, "function": function});
                let allowed_before = valid_tags.lock().unwrap()[index].clone();
                let started = Instant::now();
                let (status, function_error, answer) = call(
                    &mut sender,
                    "POST",
                    &format!("/2015-03-31/functions/{function}/invocations"),
                    event.clone(),
                )
                .await;
                tally.latencies.push(started.elapsed());
                let allowed_after = valid_tags.lock().unwrap()[index].clone();
                let tag = answer["tag"].as_str().unwrap_or("").to_string();
                if status != 200 || function_error.is_some() {
                    tally
                        .failures
                        .push(format!("{function} #{n}: status {status} {answer}"));
                } else if answer["echo"] != event {
                    tally.failures.push(format!(
                        "{function} #{n}: crossed response {answer} for {event}"
                    ));
                } else if !allowed_before.contains(&tag) && !allowed_after.contains(&tag) {
                    tally
                        .failures
                        .push(format!("{function} #{n}: answered by unknown code {tag}"));
                } else {
                    tally.answered_tags.insert(format!("{function}:{tag}"));
                }
            }
        }));
    }
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap();
        total.latencies.extend(tally.latencies);
        total.failures.extend(tally.failures);
        total.answered_tags.extend(tally.answered_tags);
    }
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    total
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, tally: &mut Tally, wall: Duration, memory: &[u64], extra: &str) {
    tally.latencies.sort();
    let answered = tally.latencies.len();
    let (first, last, max) = (
        memory.iter().copied().find(|&m| m > 0).unwrap_or(0),
        memory.last().copied().unwrap_or(0),
        memory.iter().copied().max().unwrap_or(0),
    );
    println!(
        "| {name} | {answered} | {} | {:.0}/s | {:.2} ms | {:.2} ms | {:.1} / {:.1} / {:.1} MB | {extra} |",
        tally.failures.len(),
        answered as f64 / wall.as_secs_f64(),
        percentile(&tally.latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&tally.latencies, 0.99).as_secs_f64() * 1000.0,
        first as f64 / 1024.0,
        last as f64 / 1024.0,
        max as f64 / 1024.0,
    );
    for failure in tally.failures.iter().take(5) {
        eprintln!("  failure: {failure}");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let state = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(state.path()));
    let mut control = connect(&server.address).await;
    for function in FUNCTIONS {
        let (status, _, answer) = call(
            &mut control,
            "POST",
            "/2015-03-31/functions",
            json!({
                "FunctionName": function,
                "Runtime": "python3.11",
                "Role": "arn:aws:iam::111122223333:role/bench",
                "Handler": "lambda_function.lambda_handler",
                "Code": {"ZipFile": code(&format!("{function}-0"))},
            }),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
    }
    let tags = Arc::new(Mutex::new(
        FUNCTIONS
            .iter()
            .map(|f| BTreeSet::from([format!("{f}-0")]))
            .collect::<Vec<_>>(),
    ));
    println!(
        "{CLIENTS} clients, {INVOCATIONS} invocations over {} functions (python3.11, awslambdaric), server RSS sampled every 100 ms",
        FUNCTIONS.len()
    );
    println!();
    println!(
        "| run | answered | failed or crossed | throughput | p50 | p99 | server RSS first / last / max | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|");

    let rss = {
        let server = server.clone();
        move || server.rss_kb()
    };
    let memory = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut steady = run_clients(
        &server.address,
        INVOCATIONS,
        tags.clone(),
        &memory,
        rss.clone(),
    )
    .await;
    let wall = started.elapsed();
    report(
        "steady",
        &mut steady,
        wall,
        &memory.lock().unwrap(),
        "cold starts included",
    );

    // The same again with warm environments, to see memory after a second 10,000.
    let memory = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut warm = run_clients(
        &server.address,
        INVOCATIONS,
        tags.clone(),
        &memory,
        rss.clone(),
    )
    .await;
    report(
        "steady, warm",
        &mut warm,
        started.elapsed(),
        &memory.lock().unwrap(),
        "second 10,000",
    );

    // Updates every second to bench-a while the clients run (30,000 invocations, so that
    // about a dozen updates land mid-run).
    let stop = Arc::new(AtomicBool::new(false));
    let updater = {
        let address = server.address.clone();
        let tags = tags.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut sender = connect(&address).await;
            let mut generation = 0;
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                generation += 1;
                let tag = format!("bench-a-{generation}");
                // The new tag is valid from the moment the update is sent.
                tags.lock().unwrap()[0].insert(tag.clone());
                let (status, _, answer) = call(
                    &mut sender,
                    "PUT",
                    "/2015-03-31/functions/bench-a/code",
                    json!({"ZipFile": code(&tag)}),
                )
                .await;
                if status != 200 {
                    failures.push(format!("update {generation}: {status} {answer}"));
                }
            }
            (generation, failures)
        })
    };
    let memory = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut updating = run_clients(
        &server.address,
        UPDATE_RUN_INVOCATIONS,
        tags.clone(),
        &memory,
        rss,
    )
    .await;
    let wall = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (updates, update_failures) = updater.await.unwrap();
    let generations = updating
        .answered_tags
        .iter()
        .filter(|t| t.starts_with("bench-a:"))
        .count();
    report(
        "UpdateFunctionCode every 1 s",
        &mut updating,
        wall,
        &memory.lock().unwrap(),
        &format!(
            "{updates} updates ({} failed), answers from {generations} code generations of bench-a",
            update_failures.len()
        ),
    );
    for failure in update_failures {
        eprintln!("  update failure: {failure}");
    }
}
