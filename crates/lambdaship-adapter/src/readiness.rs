//! Waiting until the web app is ready: LWA's readiness check (an HTTP GET every 10 ms, or
//! a TCP connect), bounded by a deadline and failing with what the last attempt saw.
//!
//! Each HTTP attempt opens a fresh connection and sends `Connection: close`:
//! - after a timeout or an error, an HTTP/1.1 connection's state is unknown and it cannot
//!   be reused, and an unanswered request would hold up the next one queued behind it;
//! - a fresh connection checks what invocations need, that the app accepts connections;
//! - a loopback connect costs microseconds, against the 10 ms between attempts;
//! - closing frees the app's worker at once (gunicorn's default is one sync worker).

use std::fmt;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};

use crate::config::{ReadinessProtocol, StatusSet};

/// Time between the end of a failed attempt and the next one when the app answered (or timed
/// out), as in LWA: an app that answers unhealthy is not hammered.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// Time between attempts while nothing listens yet: a refused connection costs the app
/// nothing and this machine microseconds, and the first 10 ms interval after the app starts
/// listening would otherwise be added to every cold start.
pub const REFUSED_INTERVAL: Duration = Duration::from_millis(1);
/// How often [`wait_until_ready`] reports progress, as LWA's "app is not ready" lines.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);
/// The default bound of one attempt. The app is on the same machine, so a ready app
/// answers in milliseconds; one that takes a second is still starting, and a fresh
/// attempt costs little. It also keeps progress reports at most a second late.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// Where and how to check that the app is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessCheck {
    /// Host to connect to: a name or an IP address (IPv6 without brackets).
    pub host: String,
    /// Port to connect to.
    pub port: u16,
    /// Path (and query) of the GET; unused for TCP.
    pub path: String,
    /// HTTP GET or TCP connect.
    pub protocol: ReadinessProtocol,
    /// Statuses that mean ready; unused for TCP.
    pub healthy: StatusSet,
    /// Bound of one attempt (connect and answer); [`ATTEMPT_TIMEOUT`] by default.
    pub attempt_timeout: Duration,
    /// How often [`wait_until_ready`] calls its progress callback; [`PROGRESS_INTERVAL`]
    /// by default.
    pub progress_every: Duration,
}

impl ReadinessCheck {
    /// A check with the default attempt timeout and progress interval.
    pub fn new(
        host: &str,
        port: u16,
        path: &str,
        protocol: ReadinessProtocol,
        healthy: StatusSet,
    ) -> Self {
        Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            protocol,
            healthy,
            attempt_timeout: ATTEMPT_TIMEOUT,
            progress_every: PROGRESS_INTERVAL,
        }
    }

    /// `host:port`, with brackets around an IPv6 address.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for ReadinessCheck {
    /// What an attempt does, e.g. `protocol http: GET http://127.0.0.1:8080/health`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            ReadinessProtocol::Http => write!(
                f,
                "protocol http: GET http://{}{}",
                self.authority(),
                self.path
            ),
            ReadinessProtocol::Tcp => write!(f, "protocol tcp: connect to {}", self.authority()),
        }
    }
}

/// What one attempt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ready: the status was healthy (`Some`), or the TCP connection was accepted (`None`).
    Ready {
        /// The HTTP status, for the HTTP protocol.
        status: Option<u16>,
    },
    /// The app answered with a status outside the healthy set.
    Unhealthy {
        /// The status it answered.
        status: u16,
        /// The healthy set, to say what was expected.
        healthy: StatusSet,
    },
    /// Nothing listens on the port.
    Refused,
    /// No connection or no answer within the attempt's bound.
    TimedOut(Duration),
    /// Anything else: a connection reset, an answer that is not HTTP, a failed lookup.
    Failed(String),
}

impl Outcome {
    /// Whether the app is ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Ready { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready {
                status: Some(status),
            } => write!(f, "answered {status}"),
            Self::Ready { status: None } => f.write_str("connected"),
            Self::Unhealthy { status, healthy } => {
                write!(f, "answered {status} (healthy is {healthy})")
            }
            Self::Refused => f.write_str("connection refused"),
            Self::TimedOut(after) => write!(f, "timed out after {} ms", after.as_millis()),
            Self::Failed(reason) => f.write_str(reason),
        }
    }
}

/// An attempt, for progress reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// How many attempts were made so far, this one included.
    pub number: u32,
    /// Time since the wait started, at the end of this attempt.
    pub elapsed: Duration,
    /// What this attempt saw.
    pub outcome: Outcome,
}

impl fmt::Display for Attempt {
    /// E.g. `app is not ready after 2003 ms (180 attempts; last: connection refused)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "app is not ready after {} ms ({}; last: {})",
            self.elapsed.as_millis(),
            count(self.number, "attempt"),
            self.outcome
        )
    }
}

/// `1 attempt`, `2 attempts`.
fn count(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The app was not ready by the deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NotReady {
    /// The check that failed (host, port, path, protocol).
    pub check: ReadinessCheck,
    /// How long the wait lasted.
    pub waited: Duration,
    /// How many attempts were made.
    pub attempts: u32,
    /// What the last attempt saw, or the one before when the deadline cut the last one
    /// short: a timeout because the wait is over says nothing about the app, while the
    /// previous attempt's "answered 500" does.
    pub last: Outcome,
}

impl fmt::Display for NotReady {
    /// E.g. `the app is not ready after 30001 ms: 2704 readiness checks failed (protocol
    /// http: GET http://127.0.0.1:8080/); last: answered 500 (healthy is 100-499)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the app is not ready after {} ms: {} failed ({}); last: {}",
            self.waited.as_millis(),
            count(self.attempts, "readiness check"),
            self.check,
            self.last
        )
    }
}

/// Checks every [`REFUSED_INTERVAL`] while nothing listens, every [`CHECK_INTERVAL`] once
/// something answers, until the app is ready, and returns how long that took,
/// or [`NotReady`] once `deadline` has passed.
///
/// At least one attempt is made; after the first, none starts at the deadline. No attempt
/// runs past it: each is bounded by the check's attempt timeout or the time left,
/// whichever is shorter. `progress` is called about every
/// [`ReadinessCheck::progress_every`] with the latest failed attempt.
pub async fn wait_until_ready(
    check: &ReadinessCheck,
    deadline: Instant,
    mut progress: impl FnMut(&Attempt),
) -> Result<Duration, NotReady> {
    let started = Instant::now();
    let mut next_report = started.checked_add(check.progress_every);
    let mut number: u32 = 0;
    let mut previous: Option<Outcome> = None;
    loop {
        number = number.saturating_add(1);
        let (outcome, cut_short) = attempt(check, deadline).await;
        let now = Instant::now();
        let elapsed = now.duration_since(started);
        if outcome.is_ready() {
            return Ok(elapsed);
        }
        let outcome = match previous.take() {
            Some(previous) if cut_short => previous,
            _ => outcome,
        };
        if now >= deadline {
            return Err(not_ready(check, started, number, outcome));
        }
        if next_report.is_some_and(|at| now >= at) {
            progress(&Attempt {
                number,
                elapsed,
                outcome: outcome.clone(),
            });
            next_report = now.checked_add(check.progress_every);
        }
        let interval = if matches!(outcome, Outcome::Refused) {
            REFUSED_INTERVAL
        } else {
            CHECK_INTERVAL
        };
        sleep_until((now + interval).min(deadline)).await;
        // An attempt started at the deadline would have no time at all.
        if Instant::now() >= deadline {
            return Err(not_ready(check, started, number, outcome));
        }
        previous = Some(outcome);
    }
}

fn not_ready(check: &ReadinessCheck, started: Instant, attempts: u32, last: Outcome) -> NotReady {
    NotReady {
        check: check.clone(),
        waited: started.elapsed(),
        attempts,
        last,
    }
}

/// One attempt, bounded by the check's attempt timeout: for the re-check of readiness at
/// an invocation after an async init.
pub async fn check_once(check: &ReadinessCheck) -> Attempt {
    let started = Instant::now();
    let outcome = bounded(check, check.attempt_timeout).await;
    Attempt {
        number: 1,
        elapsed: started.elapsed(),
        outcome,
    }
}

/// An attempt that ends by the deadline, and whether the deadline cut it short (it timed
/// out with less than the attempt timeout).
async fn attempt(check: &ReadinessCheck, deadline: Instant) -> (Outcome, bool) {
    let left = deadline.saturating_duration_since(Instant::now());
    let budget = check.attempt_timeout.min(left);
    let outcome = bounded(check, budget).await;
    let cut_short = budget < check.attempt_timeout && matches!(outcome, Outcome::TimedOut(_));
    (outcome, cut_short)
}

async fn bounded(check: &ReadinessCheck, budget: Duration) -> Outcome {
    timeout(budget, probe(check))
        .await
        .unwrap_or(Outcome::TimedOut(budget))
}

/// Connects, then for HTTP sends the GET.
async fn probe(check: &ReadinessCheck) -> Outcome {
    let stream = match TcpStream::connect((check.host.as_str(), check.port)).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(e) => return Outcome::Failed(format!("could not connect: {e}")),
    };
    match check.protocol {
        ReadinessProtocol::Tcp => Outcome::Ready { status: None },
        ReadinessProtocol::Http => get(check, stream).await,
    }
}

/// An HTTP/1.1 GET on `stream`, judged by its status alone (the body is not read).
async fn get(check: &ReadinessCheck, stream: TcpStream) -> Outcome {
    let request = match request(check) {
        Ok(request) => request,
        Err(e) => return Outcome::Failed(format!("cannot send GET {:?}: {e}", check.path)),
    };
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(parts) => parts,
            Err(e) => return Outcome::Failed(describe(&e)),
        };
    // The connection is driven here rather than spawned, so that dropping this future
    // (at the attempt's timeout) closes the socket. It may finish before the response is
    // taken (`Connection: close`), so it is polled only until then.
    let mut connection = pin!(connection);
    let mut response = pin!(sender.send_request(request));
    let mut driving = true;
    let response = loop {
        tokio::select! {
            biased;
            response = &mut response => break response,
            _ = &mut connection, if driving => driving = false,
        }
    };
    match response {
        Ok(response) => judge(response.status().as_u16(), &check.healthy),
        Err(e) => Outcome::Failed(describe(&e)),
    }
}

fn request(check: &ReadinessCheck) -> Result<Request<Empty<Bytes>>, hyper::http::Error> {
    Request::builder()
        .method(Method::GET)
        .uri(check.path.as_str())
        .header(HOST, check.authority())
        .header(CONNECTION, "close")
        .header(
            USER_AGENT,
            concat!("lambdaship-adapter/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
}

fn judge(status: u16, healthy: &StatusSet) -> Outcome {
    if healthy.contains(status) {
        Outcome::Ready {
            status: Some(status),
        }
    } else {
        Outcome::Unhealthy {
            status,
            healthy: healthy.clone(),
        }
    }
}

/// An error with its causes, e.g. `HTTP failed: connection closed before message completed`.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = format!("HTTP failed: {error}");
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
