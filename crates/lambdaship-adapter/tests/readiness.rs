//! `wait_until_ready` and `check_once` against real servers on 127.0.0.1: Python's
//! `http.server` in a subprocess, and tokio listeners answering raw HTTP (or not at all).
//! Deadlines are short, and nothing sleeps for "long enough": a late app is started from
//! the progress callback once an attempt has been refused.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lambdaship_adapter::{
    Attempt, Outcome, ReadinessCheck, ReadinessProtocol, StatusSet, check_once, wait_until_ready,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// A Python `http.server` answering every GET with one status; killed on drop.
struct PythonApp {
    child: Child,
    port: u16,
}

const PYTHON_APP: &str = r#"
import http.server, sys
status = int(sys.argv[1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl PythonApp {
    /// Starts the app; it prints its port once it listens, so it is ready on return.
    fn start(status: u16) -> Self {
        let child = Command::new("python3")
            .args(["-c", PYTHON_APP, &status.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        // The guard exists before anything can fail, so python never outlives the test.
        let mut app = Self { child, port: 0 };
        let stdout = app.child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the port");
        app.port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("python printed {line:?}, not a port"));
        app
    }
}

impl Drop for PythonApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn check(port: u16, path: &str) -> ReadinessCheck {
    ReadinessCheck::new(
        "127.0.0.1",
        port,
        path,
        ReadinessProtocol::Http,
        StatusSet::default_healthy(),
    )
}

fn in_ms(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// A port nothing listens on (it was free a moment ago).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Answers every connection with `status_line` once the request head has arrived.
fn serve_raw(listener: TcpListener, status_line: &'static str) {
    serve_raw_after(listener, status_line, Duration::ZERO);
}

/// Answers like [`serve_raw`], `delay` after the request head, as a slow app would.
fn serve_raw_after(listener: TcpListener, status_line: &'static str, delay: Duration) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                tokio::time::sleep(delay).await;
                let answer = format!("HTTP/1.1 {status_line}\r\nContent-Length: 0\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
}

async fn raw_app(status_line: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    serve_raw(listener, status_line);
    port
}

/// Accepts connections and keeps them open without a word.
async fn silent_app() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    port
}

#[tokio::test]
async fn a_ready_python_app_is_ready_at_once() {
    let app = PythonApp::start(200);
    let waited = wait_until_ready(&check(app.port, "/"), in_ms(5_000), |_| {})
        .await
        .expect("ready");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    let attempt = check_once(&check(app.port, "/health")).await;
    assert_eq!(attempt.outcome, Outcome::Ready { status: Some(200) });
}

#[tokio::test]
async fn a_python_app_answering_500_is_not_ready_and_the_error_says_so() {
    let app = PythonApp::start(500);
    let check = check(app.port, "/health");
    let error = wait_until_ready(&check, in_ms(300), |_| {})
        .await
        .expect_err("500 is not healthy");
    assert!(error.attempts > 1, "{error:?}");
    assert!(error.waited >= Duration::from_millis(300), "{error:?}");
    let message = error.to_string();
    for part in [
        format!("(protocol http: GET http://127.0.0.1:{}/health)", app.port),
        "last: answered 500 (healthy is 100-499)".to_owned(),
        format!("{} readiness checks", error.attempts),
    ] {
        assert!(message.contains(&part), "{message:?} lacks {part:?}");
    }
}

#[tokio::test]
async fn a_slow_500_stays_the_last_outcome_when_the_deadline_cuts_an_attempt_short() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    serve_raw_after(
        listener,
        "500 Internal Server Error",
        Duration::from_millis(60),
    );
    // Attempts start about every 70 ms: the first two see the 500, the third starts about
    // 10 ms before the deadline and times out there, which must not hide the 500.
    let error = wait_until_ready(&check(port, "/"), in_ms(150), |_| {})
        .await
        .expect_err("500 is not healthy");
    assert!(error.attempts >= 2, "{error:?}");
    assert_eq!(
        error.last,
        Outcome::Unhealthy {
            status: 500,
            healthy: StatusSet::default_healthy()
        },
        "{error}"
    );
}

#[tokio::test]
async fn an_app_that_listens_late_is_waited_for() {
    let port = free_port();
    let mut check = check(port, "/");
    check.progress_every = Duration::ZERO;
    let mut reports: Vec<Attempt> = Vec::new();
    let waited = wait_until_ready(&check, in_ms(5_000), |attempt| {
        // Start the app only after attempts have been refused, as a slow app would.
        if reports.len() == 2 {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebind");
            listener.set_nonblocking(true).expect("nonblocking");
            serve_raw(TcpListener::from_std(listener).expect("tokio"), "200 OK");
        }
        reports.push(attempt.clone());
    })
    .await
    .expect("ready once it listens");
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(
        reports.iter().all(|a| a.outcome == Outcome::Refused),
        "{reports:?}"
    );
    let numbers: Vec<u32> = reports.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(waited >= reports[2].elapsed, "{waited:?} {reports:?}");
}

#[tokio::test]
async fn nothing_listening_is_not_ready_with_connection_refused() {
    let port = free_port();
    let error = wait_until_ready(&check(port, "/"), in_ms(200), |_| {})
        .await
        .expect_err("nothing listens");
    assert_eq!(error.last, Outcome::Refused);
    let message = error.to_string();
    assert!(message.contains("last: connection refused"), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}/")), "{message}");
}

#[tokio::test]
async fn an_app_that_never_answers_times_out_by_the_deadline() {
    let port = silent_app().await;
    let mut check = check(port, "/");
    check.attempt_timeout = Duration::from_millis(100);
    let started = Instant::now();
    let error = wait_until_ready(&check, in_ms(350), |_| {})
        .await
        .expect_err("never answers");
    let took = started.elapsed();
    assert!(error.attempts >= 3, "{error:?}");
    assert!(
        took < Duration::from_millis(350 + 200),
        "ran {took:?} past the deadline"
    );
    assert!(matches!(error.last, Outcome::TimedOut(_)), "{error:?}");
    assert!(
        error.to_string().contains("last: timed out after"),
        "{error}"
    );
}

#[tokio::test]
async fn the_healthy_set_decides() {
    let port = raw_app("404 Not Found").await;
    let mut strict = check(port, "/");
    strict.healthy = "200-399".parse().expect("valid");
    let error = wait_until_ready(&strict, in_ms(100), |_| {})
        .await
        .expect_err("404 is outside 200-399");
    assert!(
        error
            .to_string()
            .contains("last: answered 404 (healthy is 200-399)"),
        "{error}"
    );
    strict.healthy = "200-399,404".parse().expect("valid");
    wait_until_ready(&strict, in_ms(2_000), |_| {})
        .await
        .expect("404 is healthy now");
    // LWA's default takes 404 as ready: the app is up, the path is just missing.
    wait_until_ready(&check(port, "/"), in_ms(2_000), |_| {})
        .await
        .expect("404 is in 100-499");
}

#[tokio::test]
async fn tcp_needs_only_an_accepted_connection() {
    let port = silent_app().await;
    let mut tcp = check(port, "/unused");
    tcp.protocol = ReadinessProtocol::Tcp;
    wait_until_ready(&tcp, in_ms(2_000), |_| {})
        .await
        .expect("accepting is enough");
    assert_eq!(
        check_once(&tcp).await.outcome,
        Outcome::Ready { status: None }
    );

    tcp.port = free_port();
    let error = wait_until_ready(&tcp, in_ms(100), |_| {})
        .await
        .expect_err("nothing listens");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "(protocol tcp: connect to 127.0.0.1:{})",
            tcp.port
        )) && message.ends_with("last: connection refused"),
        "{message}"
    );
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_is_a_failure_that_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let attempt = check_once(&check(port, "/")).await;
    match &attempt.outcome {
        Outcome::Failed(reason) => assert!(reason.starts_with("HTTP failed: "), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn progress_is_reported_about_every_interval_not_every_attempt() {
    let port = free_port();
    let mut check = check(port, "/");
    check.progress_every = Duration::from_millis(100);
    let mut reports: Vec<Attempt> = Vec::new();
    let error = wait_until_ready(&check, in_ms(450), |attempt| reports.push(attempt.clone()))
        .await
        .expect_err("nothing listens");
    assert!((2..=4).contains(&reports.len()), "{reports:?}");
    assert!(reports.len() < error.attempts as usize / 2, "{reports:?}");
    for pair in reports.windows(2) {
        let gap = pair[1].elapsed - pair[0].elapsed;
        assert!(gap >= Duration::from_millis(100), "{reports:?}");
    }
    assert!(
        reports[0]
            .to_string()
            .starts_with("app is not ready after "),
        "{}",
        reports[0]
    );
}

#[tokio::test]
async fn a_passed_deadline_still_makes_one_attempt() {
    let error = wait_until_ready(&check(free_port(), "/"), Instant::now(), |_| {})
        .await
        .expect_err("nothing listens");
    assert_eq!(error.attempts, 1);
}
