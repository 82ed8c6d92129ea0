//! Benchmark of `lambdaship dev` (run by `bench/dev`) on examples/hello-fastapi behind the
//! REST front, the seed's setup:
//!
//! - warm latency: 3,000 sequential GETs on one keep-alive connection, p50 and p99, against
//!   the same handler called directly in one Python process with the same event (the event
//!   lambdaship-events makes for that request): the difference is what lambdaship adds
//!   (HTTP front, event and response mapping, the local Lambda service, the Runtime API,
//!   awslambdaric's loop). And lambdaship's own cost: a request whose handler does nothing
//!   (`GET /dev/noop` answers at once, without Mangum), through the same dev; and the floor:
//!   the same handler run by awslambdaric against a bare Runtime API written here;
//! - requests per second with 1, 2 and 4 environments (`--concurrency N`, N clients, 3 s);
//! - edit-to-served: an app file edited, then requests in a loop until the answer shows the
//!   edit, five times; with the Init Duration of the new environment from dev's log.
//!
//! Prints Markdown tables. The binary is `LAMBDASHIP_BIN`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambdaship_build::{BuildOptions, Cache, Silent};
use lambdaship_events::{Front, HttpRequest, Kind, RequestMeta};
use lambdaship_project::{Layout, Overrides, Project};

const WARMUP: usize = 200;
const SAMPLES: usize = 3_000;
/// Latency samples are taken in this many alternating rounds.
const ROUNDS: usize = 10;
const EDITS: usize = 5;

struct Dev {
    child: Child,
    address: String,
    output: Arc<Mutex<String>>,
}

impl Dev {
    fn start(project: &Path, concurrency: usize) -> Dev {
        Dev::start_with(project, concurrency, &[])
    }

    fn start_with(project: &Path, concurrency: usize, extra: &[&str]) -> Dev {
        let binary =
            std::env::var("LAMBDASHIP_BIN").expect("LAMBDASHIP_BIN: the lambdaship binary");
        let mut child = Command::new(binary)
            .arg("dev")
            .arg(project)
            .args(["--port", "0", "--api", "rest", "--concurrency"])
            .arg(concurrency.to_string())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let collected = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(start) = line.find("http://")
                    && line.contains("lambdaship dev serving")
                {
                    let url = &line[start + "http://".len()..];
                    let _ = sender.send(url.split('/').next().unwrap().to_string());
                }
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        // The function's logs (REPORT lines with Init Duration) go to stderr.
        let logs = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut all = logs.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let address = receiver.recv_timeout(Duration::from_secs(600)).unwrap();
        Dev {
            child,
            address,
            output,
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection that reads Content-Length framed answers.
struct Client {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl Client {
    fn connect(address: &str, path: &str) -> Client {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: */*\r\n\r\n");
        Client {
            reader: BufReader::new(stream),
            request: request.into_bytes(),
        }
    }

    /// One request; the status and the body.
    fn get(&mut self) -> (u16, Vec<u8>) {
        let (status, body, _) = self.get_timed();
        (status, body)
    }

    /// One request; the status, the body and the handler's own time inside the
    /// environment (the `x-handler-ns` header of [`TIMED_HANDLER`]).
    fn get_timed(&mut self) -> (u16, Vec<u8>, Option<Duration>) {
        self.reader.get_mut().write_all(&self.request).unwrap();
        let message = read_message(&mut self.reader);
        let status: u16 = message.start.split(' ').nth(1).unwrap().parse().unwrap();
        let handler = message
            .header("x-handler-ns")
            .map(|value| Duration::from_nanos(value.parse().unwrap()));
        (status, message.body, handler)
    }
}

/// One HTTP/1.1 message framed by Content-Length, as both ends of the benchmark read them.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn read_message(reader: &mut BufReader<TcpStream>) -> Message {
    let mut start = String::new();
    reader.read_line(&mut start).unwrap();
    let mut headers = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_string(), value.trim().to_string()));
        }
    }
    let mut message = Message {
        start,
        headers,
        body: Vec::new(),
    };
    let length = message
        .header("content-length")
        .map_or(0, |value| value.parse().unwrap());
    message.body = vec![0; length];
    reader.read_exact(&mut message.body).unwrap();
    message
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Appended to the copy's app/main.py: the handler's own time, measured inside the
/// environment around Mangum, in a response header. What a request takes beyond it is
/// what lambdaship (and awslambdaric's loop) adds, measured on the same request. `/noop`
/// answers without Mangum: its requests cost lambdaship and awslambdaric's loop alone.
const TIMED_HANDLER: &str = r#"

import time as _bench_time

_bench_inner = handler


def handler(event, context):
    if event.get("path") == "/noop":
        return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}
    start = _bench_time.perf_counter_ns()
    result = _bench_inner(event, context)
    elapsed = _bench_time.perf_counter_ns() - start
    result.setdefault("headers", {})["x-handler-ns"] = str(elapsed)
    return result
"#;

fn copy_example(to: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello-fastapi");
    let target = to.join("hello-fastapi");
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(&source).unwrap();
        if relative.starts_with("dist") {
            continue;
        }
        let path = target.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            std::fs::copy(entry.path(), &path).unwrap();
        }
    }
    let main_py = target.join("app/main.py");
    let mut source = std::fs::read_to_string(&main_py).unwrap();
    source.push_str(TIMED_HANDLER);
    std::fs::write(&main_py, source).unwrap();
    target
}

/// The function as dev would run it, prepared once for the peers: its code unpacked, the
/// runtime provisioned and the event dev's REST front makes for the benchmark's request.
struct Prepared {
    task_root: PathBuf,
    opt: PathBuf,
    site: PathBuf,
    interpreter: PathBuf,
    runtime_dir: PathBuf,
    handler: lambdaship_project::Handler,
    event: String,
}

impl Prepared {
    fn new(project: &Path, path: &str) -> Prepared {
        let overrides = Overrides {
            layout: Some(Layout::Layers),
            ..Overrides::default()
        };
        let loaded = Project::load(project, &overrides).unwrap();
        let spec = loaded.functions[0].clone();
        let out = tempfile::tempdir().unwrap();
        let report = lambdaship_build::build(
            &loaded,
            &BuildOptions {
                out_dir: Some(out.path().to_path_buf()),
                ..BuildOptions::default()
            },
            &Silent,
        )
        .unwrap();
        let code = lambdaship_runtime::FunctionCode::from_artifacts(&report.artifacts, &spec.name)
            .unwrap();
        let cache = Cache::open(&Cache::default_root()).unwrap();
        let unpacked = lambdaship_runtime::CodeStore::new(&cache)
            .unwrap()
            .unpack_code(&code)
            .unwrap();
        let runtime = lambdaship_runtime::provision(&cache, spec.runtime).unwrap();
        let mut front = Front::new(Kind::Rest);
        front.stage = "dev".to_string();
        let request = HttpRequest::new("GET", path)
            .with_header("Host", "127.0.0.1")
            .with_header("Accept", "*/*")
            .with_source_ip("127.0.0.1");
        let event = front
            .event(&request, &RequestMeta::new(front.new_request_id()))
            .unwrap();
        Prepared {
            site: unpacked
                .opt
                .join(format!("python/lib/{}/site-packages", spec.runtime)),
            task_root: unpacked.task_root,
            opt: unpacked.opt,
            interpreter: runtime.interpreter,
            runtime_dir: runtime.runtime_dir,
            handler: spec.handler,
            event: event.to_string(),
        }
    }
}

/// The handler called directly in one Python process with the event dev would send, run in
/// rounds on request so that it alternates with the requests through dev.
struct DirectHandler {
    child: Child,
    commands: std::process::ChildStdin,
    answers: BufReader<std::process::ChildStderr>,
}

impl DirectHandler {
    fn start(prepared: &Prepared) -> DirectHandler {
        // Each line on stdin is a number of calls; the answer, on stderr, their durations in ns.
        let script = format!(
            r#"import json, sys, time
sys.path[0:0] = [{task:?}, {site:?}, {opt:?}, {ric:?}]
import {module} as m
# The logging awslambdaric sets up (the app's records formatted and written as on Lambda),
# to /dev/null: capturing them is part of what lambdaship adds.
from awslambdaric import bootstrap
bootstrap._setup_logging(None, None, bootstrap.create_log_sink())
event = json.loads({event:?})
class C:
    aws_request_id = "x"; function_name = "f"; invoked_function_arn = "arn"; memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self): return 30000
handler, context = m.{function}, C()
for line in sys.stdin:
    times = []
    for i in range(int(line)):
        start = time.perf_counter_ns()
        result = handler(event, context)
        json.dumps(result)
        times.append(time.perf_counter_ns() - start)
    print(" ".join(map(str, times)), file=sys.stderr, flush=True)
"#,
            task = prepared.task_root.display().to_string(),
            site = prepared.site.display().to_string(),
            opt = prepared.opt.join("python").display().to_string(),
            ric = prepared.runtime_dir.display().to_string(),
            module = prepared.handler.module(),
            function = prepared.handler.function(),
            event = prepared.event,
        );
        let mut child = Command::new(&prepared.interpreter)
            .args(["-S", "-B", "-c", &script])
            .env("AWS_LAMBDA_FUNCTION_NAME", "f")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let commands = child.stdin.take().unwrap();
        let answers = BufReader::new(child.stderr.take().unwrap());
        DirectHandler {
            child,
            commands,
            answers,
        }
    }

    /// Durations of `calls` calls.
    fn run(&mut self, calls: usize) -> Vec<Duration> {
        writeln!(self.commands, "{calls}").unwrap();
        let mut line = String::new();
        self.answers.read_line(&mut line).unwrap();
        let times: Vec<Duration> = line
            .split_whitespace()
            .map(|n| Duration::from_nanos(n.parse().unwrap()))
            .collect();
        assert_eq!(times.len(), calls, "the direct handler failed: {line}");
        times
    }
}

impl Drop for DirectHandler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The function run by awslambdaric, as in dev, but served by the thinnest Runtime API
/// there can be: the bench's own, blocking, on the one keep-alive connection awslambdaric
/// opens, with no HTTP front, no service, no pool and no log capture. Its time per event,
/// from the event written to the response read, against the direct call, is what Lambda's
/// runtime client adds on its own: the floor of what any local Lambda adds.
struct BareRuntimeApi {
    child: Child,
    connection: BufReader<TcpStream>,
    served: u64,
}

impl BareRuntimeApi {
    fn start(prepared: &Prepared) -> BareRuntimeApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let mut child = Command::new(&prepared.interpreter)
            .arg("-S")
            .arg("-B")
            .arg(prepared.runtime_dir.join("bootstrap.py"))
            .arg(&prepared.opt)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("TZ", ":UTC")
            .env("_HANDLER", prepared.handler.to_string())
            .env("LAMBDA_TASK_ROOT", &prepared.task_root)
            .env("LAMBDA_RUNTIME_DIR", &prepared.runtime_dir)
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "hello-fastapi")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_REGION", "us-east-1")
            // The function's lines go where the direct peer's go.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        listener.set_nonblocking(true).unwrap();
        let start = Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        child.try_wait().unwrap().is_none(),
                        "awslambdaric exited before it asked for an event"
                    );
                    assert!(start.elapsed() < Duration::from_secs(120));
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(error) => panic!("accept: {error}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut bare = BareRuntimeApi {
            child,
            connection: BufReader::new(stream),
            served: 0,
        };
        let head = read_message(&mut bare.connection).start;
        assert!(
            head.starts_with("GET ") && head.contains("/invocation/next"),
            "{head}"
        );
        bare
    }

    /// Times of `calls` events, each from the event written to the response read, and the
    /// handler's own time in each (its `x-handler-ns` header); the runtime's next
    /// `GET .../next` is read after the clock stops.
    fn run(&mut self, event: &str, calls: usize) -> (Vec<Duration>, Vec<Duration>) {
        let mut times = Vec::with_capacity(calls);
        let mut handler_times = Vec::with_capacity(calls);
        for _ in 0..calls {
            self.served += 1;
            let request_id = format!("00000000-0000-4000-8000-{:012}", self.served);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {request_id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:hello-fastapi\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\
                 Content-Length: {}\r\n\r\n{event}",
                event.len()
            );
            let start = Instant::now();
            self.connection
                .get_mut()
                .write_all(answer.as_bytes())
                .unwrap();
            let Message {
                start: head, body, ..
            } = read_message(&mut self.connection);
            times.push(start.elapsed());
            assert!(
                head.starts_with("POST ") && head.contains(&format!("/{request_id}/response")),
                "{head}"
            );
            let result: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(result["body"], "\"Hello, world!\"", "{result}");
            let handler_ns = result["headers"]["x-handler-ns"].as_str().unwrap();
            handler_times.push(Duration::from_nanos(handler_ns.parse().unwrap()));
            self.connection
                .get_mut()
                .write_all(
                    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}",
                )
                .unwrap();
            let head = read_message(&mut self.connection).start;
            assert!(head.contains("/invocation/next"), "{head}");
        }
        (times, handler_times)
    }
}

impl Drop for BareRuntimeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    // `--only latency|edit|throughput` runs one part (for profiling); all three by default.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = match args.as_slice() {
        [] => None,
        [flag, part] if flag == "--only" => Some(part.clone()),
        _ => panic!("usage: dev_bench [--only latency|edit|throughput]"),
    };
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let scratch = tempfile::tempdir().unwrap();
    let project = copy_example(scratch.path());
    let path = "/dev/";
    if runs("latency") {
        latency(&project, path);
    }
    if runs("edit") {
        edit_to_served(&project, path);
    }
    if runs("throughput") {
        throughput(&project, path);
    }
}

/// Warm latency through dev against the handler called directly and against awslambdaric
/// under a bare Runtime API, in alternating rounds so that the machine's noise falls on all
/// three alike.
fn latency(project: &Path, path: &str) {
    let dev = Dev::start(project, 4);
    let mut client = Client::connect(&dev.address, path);
    let noop_path = format!("{path}noop");
    let mut noop_client = Client::connect(&dev.address, &noop_path);
    let prepared = Prepared::new(project, path);
    let mut direct = DirectHandler::start(&prepared);
    let mut bare = BareRuntimeApi::start(&prepared);
    for _ in 0..WARMUP {
        assert_eq!(client.get().0, 200);
        assert_eq!(noop_client.get().0, 200);
    }
    direct.run(WARMUP);
    bare.run(&prepared.event, WARMUP);
    let mut times = Vec::with_capacity(SAMPLES);
    let mut beyond_handler = Vec::with_capacity(SAMPLES);
    let mut in_environment = Vec::with_capacity(SAMPLES);
    let mut direct_times = Vec::with_capacity(SAMPLES);
    let mut bare_times = Vec::with_capacity(SAMPLES);
    let mut bare_handler = Vec::with_capacity(SAMPLES);
    let mut noop_times = Vec::with_capacity(SAMPLES);
    for _ in 0..ROUNDS {
        for _ in 0..SAMPLES / ROUNDS {
            let start = Instant::now();
            let (status, body, handler) = client.get_timed();
            let elapsed = start.elapsed();
            times.push(elapsed);
            assert_eq!((status, body.as_slice()), (200, &b"\"Hello, world!\""[..]));
            let handler = handler.expect("the x-handler-ns header");
            in_environment.push(handler);
            beyond_handler.push(elapsed.saturating_sub(handler));
        }
        direct_times.extend(direct.run(SAMPLES / ROUNDS));
        let (round, handler) = bare.run(&prepared.event, SAMPLES / ROUNDS);
        bare_times.extend(round);
        bare_handler.extend(handler);
        for _ in 0..SAMPLES / ROUNDS {
            let start = Instant::now();
            let (status, body, _) = noop_client.get_timed();
            noop_times.push(start.elapsed());
            assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
        }
    }
    noop_times.sort();
    times.sort();
    direct_times.sort();
    bare_times.sort();
    bare_handler.sort();
    beyond_handler.sort();
    in_environment.sort();
    let (dev_p50, dev_p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let (direct_p50, direct_p99) = (
        percentile(&direct_times, 0.5),
        percentile(&direct_times, 0.99),
    );
    let bare_p50 = percentile(&bare_times, 0.5);
    drop(direct);
    drop(bare);
    drop(dev);
    println!("| measure | result |");
    println!("|---|---|");
    println!(
        "| warm GET through `lambdaship dev` (REST front), p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(dev_p50),
        micros(dev_p99)
    );
    println!(
        "| the handler called directly in Python with the same event, p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(direct_p50),
        micros(direct_p99)
    );
    println!(
        "| added by lambdaship (p50 difference) | {:.0} µs |",
        micros(dev_p50.saturating_sub(direct_p50))
    );
    println!(
        "| the same handler run by awslambdaric against a bare Runtime API (event written to response read, no front, no service), p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(bare_p50),
        micros(percentile(&bare_times, 0.99))
    );
    println!(
        "| awslambdaric's loop alone over the direct call (p50 difference): the least any local Lambda running Lambda's Python runtime client adds | {:.0} µs |",
        micros(bare_p50.saturating_sub(direct_p50))
    );
    println!(
        "| lambdaship's own share: through dev less the bare Runtime API (p50 difference) | {:.0} µs |",
        micros(dev_p50.saturating_sub(bare_p50))
    );
    println!(
        "| the handler's own time under the bare Runtime API, p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(percentile(&bare_handler, 0.5)),
        micros(percentile(&bare_handler, 0.99))
    );
    println!(
        "| the handler's own time inside dev's environment, p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(percentile(&in_environment, 0.5)),
        micros(percentile(&in_environment, 0.99))
    );
    println!(
        "| each request less its handler's own time (lambdaship + awslambdaric's loop), p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(percentile(&beyond_handler, 0.5)),
        micros(percentile(&beyond_handler, 0.99))
    );
    println!(
        "| a handler that does nothing (`GET /dev/noop`) through dev: lambdaship's own cost with awslambdaric's loop, p50 / p99 | {:.0} µs / {:.0} µs |",
        micros(percentile(&noop_times, 0.5)),
        micros(percentile(&noop_times, 0.99))
    );
}

/// What one series of edits measured, medians in ms.
struct EditFigures {
    served: f64,
    rebuilt: f64,
    init: f64,
}

/// Edit-to-served with new environments forked from the zygote (dev's default) and from a
/// fresh interpreter (`--no-zygote`, as every Lambda cold start), in the same run.
fn edit_to_served(project: &Path, path: &str) {
    let zygote = edits(project, path, &[]);
    let fresh = edits(project, path, &["--no-zygote"]);
    println!(
        "| edit-to-served, one app file (median of {EDITS}): from the zygote / from a fresh interpreter (`--no-zygote`) | {:.0} ms / {:.0} ms ({:.1}x) |",
        zygote.served,
        fresh.served,
        fresh.served / zygote.served
    );
    println!(
        "| of which: edit seen, rebuilt and swapped in (dev's own report, median) | {:.0} ms / {:.0} ms |",
        zygote.rebuilt, fresh.rebuilt
    );
    println!(
        "| of which: the new environment's Init Duration (median) | {:.0} ms / {:.0} ms |",
        zygote.init, fresh.init
    );
}

/// An app file edited, then requests until the answer shows the edit, `EDITS` times.
fn edits(project: &Path, path: &str, extra: &[&str]) -> EditFigures {
    let dev = Dev::start_with(project, 4, extra);
    let main_py = project.join("app/main.py");
    let original = std::fs::read_to_string(&main_py).unwrap();
    // The first environment, which records the dependency modules; then the zygote, if on.
    let mut client = Client::connect(&dev.address, path);
    assert_eq!(client.get().0, 200);
    if extra.is_empty() {
        let start = Instant::now();
        while !dev.output().contains("dependencies imported") {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the zygote never got ready:\n{}",
                dev.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let before = dev.output().len();
    let mut served = Vec::new();
    for round in 1..=EDITS {
        let marker = format!("Hello, edit {round}!");
        let edited = original.replace("Hello, world!", &marker);
        let start = Instant::now();
        std::fs::write(&main_py, edited).unwrap();
        let mut client = Client::connect(&dev.address, path);
        loop {
            let (_, body) = client.get();
            if String::from_utf8_lossy(&body).contains(&marker) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "edit {round} never served"
            );
        }
        served.push(start.elapsed().as_secs_f64() * 1000.0);
        // Let the old environments drain before the next round.
        std::thread::sleep(Duration::from_millis(500));
    }
    std::fs::write(&main_py, &original).unwrap();
    let log = dev.output()[before..].to_string();
    let mut init: Vec<f64> = log
        .lines()
        .filter_map(|l| l.split("Init Duration: ").nth(1))
        .filter_map(|v| v.split(' ').next()?.parse().ok())
        .collect();
    let mut rebuilt: Vec<f64> = log
        .lines()
        .filter(|l| l.contains("rebuilt the app in"))
        .filter_map(|l| l.split("rebuilt the app in ").nth(1))
        .filter_map(|v| v.split(' ').next()?.parse().ok())
        .collect();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    drop(dev);
    EditFigures {
        served: median(&mut served),
        rebuilt: median(&mut rebuilt),
        init: median(&mut init),
    }
}

/// Requests per second with 1, 2 and 4 environments.
fn throughput(project: &Path, path: &'static str) {
    println!();
    println!("| environments | requests/s |");
    println!("|---|---|");
    for environments in [1usize, 2, 4] {
        let dev = Dev::start(project, environments);
        let address = dev.address.clone();
        // Warm every environment first.
        let warm: Vec<_> = (0..environments)
            .map(|_| {
                let address = address.clone();
                std::thread::spawn(move || {
                    let mut client = Client::connect(&address, path);
                    for _ in 0..50 {
                        client.get();
                    }
                })
            })
            .collect();
        warm.into_iter().for_each(|t| t.join().unwrap());
        let deadline = Instant::now() + Duration::from_secs(3);
        let workers: Vec<_> = (0..environments)
            .map(|_| {
                let address = address.clone();
                std::thread::spawn(move || {
                    let mut client = Client::connect(&address, path);
                    let mut count = 0u64;
                    while Instant::now() < deadline {
                        let (status, _) = client.get();
                        assert_eq!(status, 200);
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        let total: u64 = workers.into_iter().map(|t| t.join().unwrap()).sum();
        println!("| {environments} | {:.0} |", total as f64 / 3.0);
    }
}
