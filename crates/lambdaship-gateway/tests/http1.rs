//! The HTTP/1.1 server over real sockets on 127.0.0.1: a raw client for exact wire checks
//! and curl as a real client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use lambdaship_gateway::http1::{Body, Limits, Request, Response, serve};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Every test ends within this, pass or fail.
const BOUND: Duration = Duration::from_secs(20);
const CURL: &str = "/usr/bin/curl";

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, test)
        .await
        .expect("the test did not finish in time")
}

/// A server on an ephemeral port, stopped when dropped.
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn too_large() -> Response {
    Response {
        status: 413,
        reason: None,
        headers: vec![("X-Too-Large".into(), "yes".into())],
        body: Body::Full(Bytes::from_static(b"too large\n")),
    }
}

async fn start<H, F>(limits: Limits, handler: H) -> Server
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(serve(listener, limits, too_large, handler));
    Server { addr, task }
}

/// The requests a server has handled, in order.
type Seen = Arc<Mutex<Vec<Request>>>;

/// A server whose handler records each request and answers with `respond`.
async fn start_recording(limits: Limits, respond: fn(&Request) -> Response) -> (Server, Seen) {
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    let server = start(limits, move |request: Request| {
        let record = Arc::clone(&record);
        async move {
            let response = respond(&request);
            record.lock().unwrap().push(request);
            response
        }
    })
    .await;
    (server, seen)
}

fn text(status: u16, body: &str) -> Response {
    Response {
        status,
        reason: None,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: Body::Full(Bytes::from(body.to_owned())),
    }
}

fn ok(_: &Request) -> Response {
    text(200, "ok")
}

fn echo_path(request: &Request) -> Response {
    text(200, &request.path)
}

fn echo_body_length(request: &Request) -> Response {
    text(200, &request.body.len().to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// A response as read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// A raw client that checks the bytes on the wire.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).await.unwrap();
    }

    /// Reads more bytes; false at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await.unwrap();
        self.buf.extend_from_slice(&chunk[..read]);
        read > 0
    }

    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill().await, "the server closed early: {:?}", self.buf);
        }
        self.buf.drain(..n).collect()
    }

    async fn take_until(&mut self, end: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self.buf.windows(end.len()).position(|w| w == end) {
                return self.buf.drain(..at + end.len()).collect();
            }
            assert!(self.fill().await, "the server closed early: {:?}", self.buf);
        }
    }

    async fn line(&mut self) -> String {
        let line = self.take_until(b"\r\n").await;
        String::from_utf8(line[..line.len() - 2].to_vec()).unwrap()
    }

    /// The next response head; its body is left unread.
    async fn head(&mut self) -> Reply {
        let raw = self.take_until(b"\r\n\r\n").await;
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        assert!(response.parse(&raw).unwrap().is_complete());
        Reply {
            status: response.code.unwrap(),
            reason: response.reason.unwrap().to_owned(),
            headers: response
                .headers
                .iter()
                .map(|f| {
                    let value = String::from_utf8(f.value.to_vec()).unwrap();
                    (f.name.to_owned(), value)
                })
                .collect(),
            body: Vec::new(),
        }
    }

    /// The next response, its body read as its framing says.
    async fn response(&mut self) -> Reply {
        let mut reply = self.head().await;
        if let Some(length) = reply.header("content-length") {
            reply.body = self.take(length.parse().unwrap()).await;
        } else if reply.header("transfer-encoding") == Some("chunked") {
            loop {
                let size = usize::from_str_radix(&self.line().await, 16).unwrap();
                let data = self.take(size + 2).await;
                if size == 0 {
                    break;
                }
                reply.body.extend_from_slice(&data[..size]);
            }
        } else {
            reply.body = self.rest().await;
        }
        reply
    }

    /// Everything up to the end of the stream.
    async fn rest(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buf)
    }

    /// Asserts that the server closes the connection without sending anything more.
    async fn expect_close(&mut self) {
        assert_eq!(self.rest().await, b"", "bytes after the last response");
    }
}

async fn curl(args: &[&str]) -> std::process::Output {
    let output = Command::new(CURL)
        .args(["--silent", "--show-error", "--noproxy", "*"])
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("curl runs (these tests need /usr/bin/curl)");
    assert!(output.status.success(), "curl {args:?}: {output:?}");
    output
}

#[tokio::test]
async fn header_case_order_and_repeats_reach_the_handler() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), ok).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send(
                b"GET / HTTP/1.1\r\nHost: x\r\nX-B: 1\r\nx-a: 2\r\nX-B: 3\r\n\
                  X-LATIN: caf\xe9\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n",
            )
            .await;
        assert_eq!(client.response().await.status, 200);
        let request = seen.lock().unwrap().remove(0);
        let expected = [
            ("Host", "x"),
            ("X-B", "1"),
            ("x-a", "2"),
            ("X-B", "3"),
            ("X-LATIN", "caf\u{e9}"),
            ("Cookie", "a=1"),
            ("cookie", "b=2"),
        ];
        assert_eq!(request.headers, pairs(&expected));
        assert_eq!(request.peer, client.stream.local_addr().unwrap());
        assert_eq!(request.version, "HTTP/1.1");
    })
    .await;
}

#[tokio::test]
async fn curl_repeated_mixed_case_headers_arrive_in_order() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), ok).await;
        let url = format!("http://{}/p", server.addr);
        let output = curl(&["-H", "X-Mixed-Case: a", "-H", "x-mixed-case: b", &url]).await;
        assert_eq!(output.stdout, b"ok");
        let request = seen.lock().unwrap().remove(0);
        assert_eq!(request.headers[0].0, "Host");
        let mixed: Vec<(String, String)> = request
            .headers
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-mixed-case"))
            .collect();
        assert_eq!(
            mixed,
            pairs(&[("X-Mixed-Case", "a"), ("x-mixed-case", "b")])
        );
    })
    .await;
}

#[tokio::test]
async fn path_and_query_stay_raw() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), echo_path).await;
        let mut client = Client::connect(server.addr).await;
        let targets = [
            "/a%20b/%2F/./c?x=%41&y=1?z&e=%zz",
            "http://example.test/p%2Fq?z=1",
            "/no-query",
            "/empty-query?",
        ];
        for target in targets {
            client
                .send(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"))
                .await;
            assert_eq!(client.response().await.status, 200);
        }
        let seen: Vec<(String, Option<String>)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.path.clone(), r.query.clone()))
            .collect();
        let expected = [
            ("/a%20b/%2F/./c", Some("x=%41&y=1?z&e=%zz")),
            ("/p%2Fq", Some("z=1")),
            ("/no-query", None),
            ("/empty-query", Some("")),
        ];
        let expected: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(p, q)| (p.to_string(), q.map(str::to_owned)))
            .collect();
        assert_eq!(seen, expected);

        let url = format!("http://{}/c%2Fd/%7E?q=%26&r", server.addr);
        let output = curl(&["--path-as-is", &url]).await;
        assert_eq!(output.stdout, b"/c%2Fd/%7E");
    })
    .await;
}

#[tokio::test]
async fn keep_alive_serves_requests_in_turn_and_pipelined() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), echo_path).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let first = client.response().await;
        assert_eq!((first.status, first.body_text()), (200, "/one"));
        assert_eq!(first.header("connection"), None);
        client.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(client.response().await.body_text(), "/two");

        // Two requests in one write, the first with a body; then a close.
        client
            .send(
                "POST /three HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\r\n\
                 GET /four HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await;
        assert_eq!(client.response().await.body_text(), "/three");
        let last = client.response().await;
        assert_eq!(last.body_text(), "/four");
        assert_eq!(last.header("connection"), Some("close"));
        client.expect_close().await;

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[2].body, "hello");
        assert!(seen.iter().all(|r| r.peer == seen[0].peer));
    })
    .await;
}

#[tokio::test]
async fn chunked_request_bodies_are_decoded() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), echo_body_length).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
            .await;
        client
            .send("lo\r\n6;name=value\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n")
            .await;
        let reply = client.response().await;
        assert_eq!((reply.status, reply.body_text()), (200, "21"));
        // The connection is still in step after the trailers.
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(client.response().await.body_text(), "0");
        assert_eq!(seen.lock().unwrap()[0].body, "hello world0123456789");

        let url = format!("http://{}/", server.addr);
        let output = curl(&[
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "abc",
            &url,
        ])
        .await;
        assert_eq!(output.stdout, b"3");
        assert_eq!(seen.lock().unwrap()[2].body, "abc");
    })
    .await;
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), echo_body_length).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            .await;
        // The body is only sent once the interim answer is read.
        assert_eq!(
            client.take_until(b"\r\n\r\n").await,
            b"HTTP/1.1 100 Continue\r\n\r\n"
        );
        client.send("data").await;
        let reply = client.response().await;
        assert_eq!((reply.status, reply.body_text()), (200, "4"));

        // curl sends Expect: 100-continue for bodies over 1 MB.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        let data: Vec<u8> = (0..2_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        let url = format!("http://{}/upload", server.addr);
        let upload = format!("@{}", file.display());
        let output = curl(&["-v", "--data-binary", &upload, &url]).await;
        assert_eq!(output.stdout, b"2000000");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(log.contains("< HTTP/1.1 100 Continue"), "{log}");
        let request = seen.lock().unwrap().remove(1);
        assert!(
            request
                .headers
                .contains(&("Expect".into(), "100-continue".into()))
        );
        assert_eq!(request.body, data);
    })
    .await;
}

#[tokio::test]
async fn too_large_by_content_length_is_refused_unread() {
    bounded(async {
        let limits = Limits {
            max_body: 1000,
            ..Limits::default()
        };
        let (server, seen) = start_recording(limits, ok).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
            .await;
        let reply = client.response().await;
        assert_eq!((reply.status, reply.body_text()), (413, "too large\n"));
        assert_eq!(reply.header("x-too-large"), Some("yes"));
        assert_eq!(reply.header("connection"), Some("close"));
        client.expect_close().await;

        // A client that sends its body anyway still reads the answer and a clean close.
        // (On loopback an early reset would not show; this runs the draining path.)
        let mut client = Client::connect(server.addr).await;
        let mut eager = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n".to_vec();
        eager.resize(eager.len() + 200_000, b'z');
        client.send(eager).await;
        let reply = client.response().await;
        assert_eq!(reply.status, 413);
        client.expect_close().await;

        // Exactly max_body is accepted.
        let mut client = Client::connect(server.addr).await;
        client
            .send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            .await;
        client.send([b'x'; 1000]).await;
        assert_eq!(client.response().await.status, 200);
        assert_eq!(seen.lock().unwrap().len(), 1);

        // curl waits for 100 Continue, gets the refusal and never sends its body.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        std::fs::write(&file, vec![b'y'; 2_000_000]).unwrap();
        let url = format!("http://{}/", server.addr);
        let upload = format!("@{}", file.display());
        let output = curl(&["-w", " %{http_code}", "--data-binary", &upload, &url]).await;
        assert_eq!(output.stdout, b"too large\n 413");
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "the handler saw a refused body"
        );
    })
    .await;
}

#[tokio::test]
async fn too_large_by_chunks_is_refused() {
    bounded(async {
        let limits = Limits {
            max_body: 10,
            ..Limits::default()
        };
        let (server, seen) = start_recording(limits, ok).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        client.send("6\r\n123456\r\n5\r\n12345\r\n").await;
        let reply = client.response().await;
        assert_eq!(reply.status, 413);
        assert_eq!(reply.header("connection"), Some("close"));
        client.expect_close().await;
        assert!(seen.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn header_floods_get_431() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), ok).await;
        let flood: String = (0..201).map(|i| format!("X-{i}: v\r\n")).collect();
        let mut client = Client::connect(server.addr).await;
        client.send(format!("GET / HTTP/1.1\r\n{flood}\r\n")).await;
        let reply = client.response().await;
        assert_eq!(reply.status, 431);
        assert_eq!(reply.header("connection"), Some("close"));
        assert!(!reply.body.is_empty());
        client.expect_close().await;

        // A head that never ends is cut at max_head_bytes.
        let mut client = Client::connect(server.addr).await;
        let huge = "a".repeat(70 * 1024);
        client
            .send(format!("GET / HTTP/1.1\r\nX-Big: {huge}"))
            .await;
        assert_eq!(client.response().await.status, 431);
        client.expect_close().await;

        // 200 lines are allowed.
        let allowed: String = (0..200).map(|i| format!("X-{i}: v\r\n")).collect();
        let mut client = Client::connect(server.addr).await;
        client
            .send(format!("GET / HTTP/1.1\r\n{allowed}\r\n"))
            .await;
        assert_eq!(client.response().await.status, 200);
        assert_eq!(seen.lock().unwrap()[0].headers.len(), 200);
    })
    .await;
}

#[tokio::test]
async fn slow_clients_get_408() {
    bounded(async {
        let limits = Limits {
            head_timeout: Duration::from_millis(200),
            body_idle_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let (server, seen) = start_recording(limits, ok).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET / HTTP/1.1\r\nHost: x\r\n").await;
        let reply = client.response().await;
        assert_eq!(reply.status, 408);
        assert_eq!(reply.header("connection"), Some("close"));
        client.expect_close().await;

        let mut client = Client::connect(server.addr).await;
        client
            .send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            .await;
        assert_eq!(client.response().await.status, 408);
        client.expect_close().await;

        // A connection that never sends a byte is closed without an answer.
        let mut client = Client::connect(server.addr).await;
        client.expect_close().await;
        assert!(seen.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_quietly() {
    bounded(async {
        let limits = Limits {
            keep_alive_idle: Duration::from_millis(200),
            ..Limits::default()
        };
        let (server, _) = start_recording(limits, ok).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(client.response().await.status, 200);
        client.expect_close().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_get_400() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), ok).await;
        let malformed = [
            "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "NOT A REQUEST\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
            "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
        ];
        for raw in malformed {
            let mut client = Client::connect(server.addr).await;
            client.send(raw).await;
            let reply = client.response().await;
            assert_eq!(reply.status, 400, "{raw:?}");
            assert_eq!(reply.header("connection"), Some("close"), "{raw:?}");
            assert!(reply.body_text().len() > 1, "{raw:?}");
            client.expect_close().await;
        }
        let mut client = Client::connect(server.addr).await;
        client.send("GET / HTTP/2.0\r\n\r\n").await;
        assert_eq!(client.response().await.status, 505);
        let mut client = Client::connect(server.addr).await;
        client
            .send("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
            .await;
        assert_eq!(client.response().await.status, 501);
        assert!(seen.lock().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn head_responses_carry_the_length_but_no_body() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), echo_path).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send("HEAD /0123456789 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let reply = client.head().await;
        assert_eq!(reply.header("content-length"), Some("11"));
        // Had a body been sent, it would be read here as the next response.
        client.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let next = client.response().await;
        assert_eq!((next.status, next.body_text()), (200, "/next"));
        assert_eq!(seen.lock().unwrap()[0].method, "HEAD");

        let url = format!("http://{}/curl", server.addr);
        let output = curl(&["--head", &url]).await;
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 5\r\n"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn responses_keep_header_case_and_order() {
    bounded(async {
        fn respond(_: &Request) -> Response {
            Response {
                status: 201,
                reason: Some("Made".into()),
                headers: pairs(&[
                    ("X-Custom-Case", "1"),
                    ("set-cookie", "a=1"),
                    ("Content-Length", "99"),
                    ("Set-Cookie", "b=2"),
                ]),
                body: Body::Full(Bytes::from_static(b"abc")),
            }
        }
        let (server, _) = start_recording(Limits::default(), respond).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let reply = client.response().await;
        assert_eq!((reply.status, reply.reason.as_str()), (201, "Made"));
        let names: Vec<&str> = reply.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "X-Custom-Case",
                "set-cookie",
                "Set-Cookie",
                "Date",
                "Content-Length"
            ]
        );
        assert_eq!(reply.header("content-length"), Some("3"));
        let date = reply.header("date").unwrap();
        assert!(date.len() == 29 && date.ends_with(" GMT"), "{date}");
        assert_eq!(reply.body, b"abc");
    })
    .await;
}

/// A handler that hands each stream's sender to the test, so the test decides when each
/// chunk is sent.
fn streaming(
    senders: mpsc::UnboundedSender<mpsc::Sender<Bytes>>,
) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |_| {
        let (tx, rx) = mpsc::channel(1);
        senders.send(tx).unwrap();
        std::future::ready(Response {
            status: 200,
            reason: None,
            headers: pairs(&[("Content-Type", "text/plain")]),
            body: Body::Stream(rx),
        })
    }
}

#[tokio::test]
async fn streamed_chunks_arrive_as_they_are_sent() {
    bounded(async {
        let (senders, mut streams) = mpsc::unbounded_channel();
        let server = start(Limits::default(), streaming(senders)).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let reply = client.head().await;
        assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
        assert_eq!(reply.header("content-length"), None);
        let chunks = streams.recv().await.unwrap();
        chunks.send(Bytes::from_static(b"one")).await.unwrap();
        // Chunk 1 is on the wire while the handler has not sent chunk 2.
        assert_eq!(client.take(8).await, b"3\r\none\r\n");
        chunks.send(Bytes::from_static(b"second")).await.unwrap();
        assert_eq!(client.take(11).await, b"6\r\nsecond\r\n");
        drop(chunks);
        assert_eq!(client.take(5).await, b"0\r\n\r\n");

        // The connection carries on after the stream.
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let chunks = streams.recv().await.unwrap();
        drop(chunks);
        let reply = client.response().await;
        assert_eq!((reply.status, reply.body.len()), (200, 0));

        // curl -N prints chunk 1 before chunk 2 is sent.
        let url = format!("http://{}/", server.addr);
        let mut child = Command::new(CURL)
            .args(["--silent", "--show-error", "--noproxy", "*", "-N", &url])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let chunks = streams.recv().await.unwrap();
        chunks.send(Bytes::from_static(b"first\n")).await.unwrap();
        let mut line = String::new();
        output.read_line(&mut line).await.unwrap();
        assert_eq!(line, "first\n");
        chunks.send(Bytes::from_static(b"second\n")).await.unwrap();
        drop(chunks);
        let mut rest = String::new();
        output.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "second\n");
        assert!(child.wait().await.unwrap().success());
    })
    .await;
}

#[tokio::test]
async fn http10_clients() {
    bounded(async {
        let (server, seen) = start_recording(Limits::default(), echo_path).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET /plain HTTP/1.0\r\n\r\n").await;
        let reply = client.response().await;
        assert_eq!((reply.status, reply.body_text()), (200, "/plain"));
        assert_eq!(reply.header("connection"), Some("close"));
        client.expect_close().await;
        assert_eq!(seen.lock().unwrap()[0].version, "HTTP/1.0");

        let mut client = Client::connect(server.addr).await;
        client
            .send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        let reply = client.response().await;
        assert_eq!(reply.header("connection"), Some("keep-alive"));
        client.send("GET /b HTTP/1.0\r\n\r\n").await;
        assert_eq!(client.response().await.body_text(), "/b");
        client.expect_close().await;

        let url = format!("http://{}/curl10", server.addr);
        assert_eq!(curl(&["--http1.0", &url]).await.stdout, b"/curl10");

        // A stream is sent raw and ended by the close.
        let (senders, mut streams) = mpsc::unbounded_channel();
        let streaming = start(Limits::default(), streaming(senders)).await;
        let mut client = Client::connect(streaming.addr).await;
        client
            .send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        let reply = client.head().await;
        assert_eq!(reply.header("transfer-encoding"), None);
        assert_eq!(reply.header("connection"), Some("close"));
        let chunks = streams.recv().await.unwrap();
        chunks.send(Bytes::from_static(b"raw ")).await.unwrap();
        assert_eq!(client.take(4).await, b"raw ");
        chunks.send(Bytes::from_static(b"bytes")).await.unwrap();
        drop(chunks);
        assert_eq!(client.rest().await, b"bytes");
    })
    .await;
}

#[tokio::test]
async fn a_panicking_handler_costs_only_a_500() {
    bounded(async {
        let server = start(Limits::default(), |request: Request| {
            if request.path == "/panic-early" {
                panic!("handler panic before its future (expected by the test)");
            }
            async move {
                if request.path == "/panic" {
                    panic!("handler panic (expected by the test)");
                }
                text(200, "fine")
            }
        })
        .await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET /panic HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(client.response().await.status, 500);
        client.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(client.response().await.body_text(), "fine");
        client
            .send("GET /panic-early HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        assert_eq!(client.response().await.status, 500);
        let mut other = Client::connect(server.addr).await;
        other.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(other.response().await.body_text(), "fine");
    })
    .await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait() {
    bounded(async {
        let limits = Limits {
            max_connections: 1,
            ..Limits::default()
        };
        let (server, _) = start_recording(limits, echo_path).await;
        let mut first = Client::connect(server.addr).await;
        first.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(first.response().await.body_text(), "/first");
        // The kernel completes the second connection, but the server does not take it
        // while the first is open.
        let mut second = Client::connect(server.addr).await;
        second.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let early = tokio::time::timeout(Duration::from_millis(300), second.fill()).await;
        assert!(early.is_err(), "the second connection was served early");
        drop(first);
        assert_eq!(second.response().await.body_text(), "/second");
    })
    .await;
}

#[tokio::test]
async fn dropping_serve_ends_its_connections() {
    bounded(async {
        let (server, _) = start_recording(Limits::default(), ok).await;
        let mut client = Client::connect(server.addr).await;
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(client.response().await.status, 200);
        drop(server);
        client.expect_close().await;
    })
    .await;
}
