//! One connection: requests read one after the other, each handed to the handler and
//! answered, until either side closes or a limit is hit.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::head::{Framing, Head, HeadError};
use super::read::{ReadError, Reader};
use super::write::{self, Exchange};
use super::{Body, Limits, Request, Response};

/// How long a closing connection keeps reading what the client still sends.
const LINGER: Duration = Duration::from_secs(2);

/// What follows an exchange.
enum Next {
    /// Read the next request.
    KeepAlive,
    /// An answer was sent; close once the client has had the chance to read it.
    Close,
    /// Nothing more can be said: drop the connection.
    Drop,
}

/// Serves requests on `stream` until the connection ends.
pub(super) async fn serve_connection<H, F>(
    mut stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    too_large: fn() -> Response,
    handler: H,
) where
    H: Fn(Request) -> F,
    F: Future<Output = Response> + Send + 'static,
{
    let mut reader = Reader::new(limits);
    let context = Context {
        peer,
        limits,
        too_large,
    };
    // The first request must be complete within head_timeout of the accept; later ones
    // may come after an idle keep-alive wait and then have head_timeout of their own.
    let first_head_by = Instant::now() + limits.head_timeout;
    let (mut first_byte_by, mut head_by) = (first_head_by, Some(first_head_by));
    loop {
        let next = exchange(
            &mut stream,
            &mut reader,
            context,
            first_byte_by,
            head_by,
            &handler,
        );
        match next.await {
            Next::KeepAlive => {
                first_byte_by = Instant::now() + limits.keep_alive_idle;
                head_by = None;
            }
            Next::Close => {
                let _ = stream.shutdown().await;
                let budget = limits.max_body.max(1024 * 1024);
                reader
                    .drain(&mut stream, Instant::now() + LINGER, budget)
                    .await;
                return;
            }
            Next::Drop => return,
        }
    }
}

/// What every exchange on a connection shares.
#[derive(Clone, Copy)]
struct Context {
    peer: SocketAddr,
    limits: Limits,
    too_large: fn() -> Response,
}

/// Reads one request, has it answered and writes the answer.
async fn exchange<H, F>(
    stream: &mut TcpStream,
    reader: &mut Reader,
    context: Context,
    first_byte_by: Instant,
    head_by: Option<Instant>,
    handler: &H,
) -> Next
where
    H: Fn(Request) -> F,
    F: Future<Output = Response> + Send + 'static,
{
    let head = match reader.head(stream, first_byte_by, head_by).await {
        Ok(Some(head)) => head,
        Ok(None) => return Next::Drop,
        Err(error) => return refuse(stream, error, None, context).await,
    };
    let body = match read_body(stream, reader, &head, context.limits).await {
        Ok(body) => body,
        Err(error) => return refuse(stream, error, Some(&head), context).await,
    };
    let exchange = Exchange {
        http10: head.http10,
        head_request: head.method == "HEAD",
        keep_alive: head.keep_alive,
    };
    let request = Request {
        method: head.method,
        path: head.path,
        query: head.query,
        version: if head.http10 { "HTTP/1.0" } else { "HTTP/1.1" }.to_owned(),
        headers: head.headers,
        body,
        peer: context.peer,
    };
    let response = call(handler, request).await;
    match write::send(stream, response, exchange).await {
        Ok(true) => Next::KeepAlive,
        Ok(false) => Next::Close,
        Err(_) => Next::Drop,
    }
}

/// Runs the handler in its own task, so that a panic is answered with a 500 instead of
/// ending the connection's task; the call is aborted if the connection's task is.
async fn call<H, F>(handler: &H, request: Request) -> Response
where
    H: Fn(Request) -> F,
    F: Future<Output = Response> + Send + 'static,
{
    let failed = || plain(500, "the handler failed");
    // The handler may also panic before it returns its future.
    let Ok(future) = std::panic::catch_unwind(AssertUnwindSafe(|| handler(request))) else {
        return failed();
    };
    let mut task = AbortOnDrop(tokio::spawn(future));
    (&mut task.0).await.unwrap_or_else(|_| failed())
}

/// Reads the body `head` announces, after a `100 Continue` if the client waits for one.
async fn read_body(
    stream: &mut TcpStream,
    reader: &mut Reader,
    head: &Head,
    limits: Limits,
) -> Result<Bytes, ReadError> {
    let length = match head.framing {
        Framing::Empty => return Ok(Bytes::new()),
        Framing::Length(length) => Some(
            usize::try_from(length)
                .ok()
                .filter(|&length| length <= limits.max_body)
                .ok_or(ReadError::TooLarge)?,
        ),
        Framing::Chunked => None,
    };
    // HTTP/1.0 clients do not know 100 Continue (RFC 9110 §10.1.1).
    if head.expect_continue && !head.http10 {
        stream
            .write_all(write::CONTINUE)
            .await
            .map_err(|_| ReadError::Closed)?;
    }
    match length {
        Some(length) => reader.body(stream, length).await,
        None => reader.chunked_body(stream).await,
    }
}

/// Answers a request that cannot be served, and closes.
async fn refuse(
    stream: &mut TcpStream,
    error: ReadError,
    head: Option<&Head>,
    context: Context,
) -> Next {
    let response = match &error {
        ReadError::Closed => return Next::Drop,
        ReadError::Timeout => plain(408, "timed out waiting for the request"),
        ReadError::Head(HeadError::TooManyHeaders) | ReadError::HeadTooLarge => {
            plain(431, &error.to_string())
        }
        ReadError::Head(HeadError::Version) => plain(505, &error.to_string()),
        ReadError::Head(HeadError::Coding) => plain(501, &error.to_string()),
        ReadError::Head(HeadError::Malformed(_)) | ReadError::BadBody(_) => {
            plain(400, &error.to_string())
        }
        ReadError::TooLarge => (context.too_large)(),
    };
    let exchange = Exchange {
        http10: head.is_some_and(|head| head.http10),
        head_request: head.is_some_and(|head| head.method == "HEAD"),
        keep_alive: false,
    };
    match write::send(stream, response, exchange).await {
        Ok(_) => Next::Close,
        Err(_) => Next::Drop,
    }
}

/// A short text answer.
fn plain(status: u16, text: &str) -> Response {
    Response {
        status,
        reason: None,
        headers: vec![(
            "Content-Type".to_owned(),
            "text/plain; charset=utf-8".to_owned(),
        )],
        body: Body::Full(Bytes::from(format!("{text}\n"))),
    }
}

/// A handler task that does not outlive the exchange waiting for it.
struct AbortOnDrop(JoinHandle<Response>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
