//! A small HTTP/1.1 server that hands each request to a handler with its header names
//! exactly as the client sent them, in wire order, repeated headers included.
//!
//! API Gateway REST passes request header names to the function with the client's case
//! and keeps every repeated header (`multiValueHeaders`). hyper lowercases header names
//! and exposes no original case, so `lambdaship dev` cannot be built on it faithfully;
//! this module is the server for that front.
//!
//! It speaks HTTP/1.0 and HTTP/1.1 with keep-alive, sequential (pipelined) requests,
//! `Content-Length` and chunked request bodies, `Expect: 100-continue`, and full or
//! streamed (chunked) responses. [`Limits`] bound what a client may cost: head size,
//! header count, body size, slow heads and bodies, idle connections and the number of
//! connections served at once.

mod conn;
mod head;
mod read;
mod write;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

/// Bounds that protect the server from floods and slow clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line and header lines) in bytes; a larger head is
    /// answered with 431 and the connection closed.
    pub max_head_bytes: usize,
    /// Most header lines in one request; more are answered with 431 and the connection
    /// closed.
    pub max_headers: usize,
    /// Largest request body in bytes; a larger one is answered with the `too_large`
    /// response given to [`serve`] and the connection closed.
    pub max_body: usize,
    /// Time allowed to receive a complete request head once it has begun (for the first
    /// request, from the connection's accept); then 408 and close.
    pub head_timeout: Duration,
    /// Longest wait between two reads of a request body; then 408 and close.
    pub body_idle_timeout: Duration,
    /// An idle keep-alive connection is closed (without an answer) after this long.
    pub keep_alive_idle: Duration,
    /// Connections served at once; further accepts wait for one to end.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 200,
            // API Gateway's payload limit is 10 MB.
            max_body: 10 * 1024 * 1024 + 1,
            head_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            keep_alive_idle: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// One request as the client sent it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request-target's path, raw (percent-encoded as sent). An absolute-form target
    /// (`http://host/p`) is reduced to its path; `*` (for `OPTIONS *`) stays `*`.
    pub path: String,
    /// The raw query: everything after the first `?`, if there is one.
    pub query: Option<String>,
    /// `"HTTP/1.1"` or `"HTTP/1.0"`.
    pub version: String,
    /// The header fields in wire order, names exactly as sent, repeated names kept.
    /// Values are text: bytes that are not UTF-8 are decoded as Latin-1, never dropped.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it was sent chunked.
    pub body: Bytes,
    /// The client's address.
    pub peer: SocketAddr,
}

/// A response body.
#[derive(Debug)]
pub enum Body {
    /// The whole body, sent with `Content-Length`.
    Full(Bytes),
    /// A body sent chunk by chunk as each arrives (chunked encoding, or until close for
    /// HTTP/1.0 clients); it ends when every sender is dropped. Empty chunks are skipped.
    Stream(mpsc::Receiver<Bytes>),
}

/// One response from a handler.
#[derive(Debug)]
pub struct Response {
    /// The status code; one outside 100..=999 is sent as 500.
    pub status: u16,
    /// The reason phrase; `None` (or one with control characters) gives the standard
    /// phrase for the status.
    pub reason: Option<String>,
    /// Header fields, written in this order with this case. The server frames the body
    /// itself, so `Content-Length`, `Transfer-Encoding` and `Connection` given here are
    /// dropped (a `Connection: close` is honoured), as is any field whose name is not a
    /// token or whose value holds CR, LF or NUL. A `Date` is added if none is given.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

/// Serves `listener` until the future is dropped, calling `handler` for each request.
/// `too_large` builds the answer for a body above `limits.max_body` (the body is not read).
///
/// Each connection runs in its own task and each handler call in its own task, so a slow
/// handler holds only its connection and a panicking one costs its client a 500. Dropping
/// the future ends every connection it serves.
pub async fn serve<H, F>(
    listener: TcpListener,
    limits: Limits,
    too_large: fn() -> Response,
    handler: H,
) where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Owning the connection tasks here means dropping `serve` aborts them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return; // never closed, but there is nothing left to serve if it were
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        // Small responses go out in one write; there is nothing to gain from Nagle.
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        connections.spawn(async move {
            conn::serve_connection(stream, peer, limits, too_large, handler).await;
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Pauses after an accept error that is not about one connection (e.g. out of file
/// descriptors), so that the loop does not spin while the condition lasts.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
