//! The writing side of a connection: a response's head and body on the wire, framed by
//! the server whatever the handler's headers say.

use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{Body, Response};

/// A body up to this size goes out in the same write as the head.
const COALESCE: usize = 16 * 1024;

/// The interim answer to `Expect: 100-continue`.
pub(super) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What the request says about how to answer it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exchange {
    /// The client speaks HTTP/1.0: no chunked encoding, keep-alive only when asked.
    pub http10: bool,
    /// The request is a HEAD: the body's headers, never its bytes.
    pub head_request: bool,
    /// The connection may stay open after this response.
    pub keep_alive: bool,
}

/// How the body goes out.
enum Plan {
    Nothing,
    Full(Bytes),
    Chunked(mpsc::Receiver<Bytes>),
    UntilClose(mpsc::Receiver<Bytes>),
}

/// Writes `response`; returns whether the connection may serve another request.
pub(super) async fn send<W: AsyncWrite + Unpin>(
    io: &mut W,
    response: Response,
    exchange: Exchange,
) -> std::io::Result<bool> {
    let (head, plan, keep_alive) = prepare(response, exchange);
    match plan {
        Plan::Nothing => io.write_all(&head).await?,
        Plan::Full(body) if body.len() <= COALESCE => {
            let mut all = head;
            all.extend_from_slice(&body);
            io.write_all(&all).await?;
        }
        Plan::Full(body) => {
            io.write_all(&head).await?;
            io.write_all(&body).await?;
        }
        Plan::Chunked(mut chunks) => {
            io.write_all(&head).await?;
            io.flush().await?;
            while let Some(chunk) = chunks.recv().await {
                // An empty chunk would read as the end of the body.
                if !chunk.is_empty() {
                    write_chunk(io, &chunk).await?;
                }
            }
            io.write_all(b"0\r\n\r\n").await?;
        }
        Plan::UntilClose(mut chunks) => {
            io.write_all(&head).await?;
            io.flush().await?;
            while let Some(chunk) = chunks.recv().await {
                io.write_all(&chunk).await?;
                io.flush().await?;
            }
        }
    }
    io.flush().await?;
    Ok(keep_alive)
}

async fn write_chunk<W: AsyncWrite + Unpin>(io: &mut W, chunk: &Bytes) -> std::io::Result<()> {
    let size_line = format!("{:x}\r\n", chunk.len());
    if chunk.len() <= COALESCE {
        let mut frame = BytesMut::with_capacity(size_line.len() + chunk.len() + 2);
        frame.put_slice(size_line.as_bytes());
        frame.put_slice(chunk);
        frame.put_slice(b"\r\n");
        io.write_all(&frame).await?;
    } else {
        io.write_all(size_line.as_bytes()).await?;
        io.write_all(chunk).await?;
        io.write_all(b"\r\n").await?;
    }
    io.flush().await
}

/// The response head, how its body goes out, and whether the connection stays open.
fn prepare(response: Response, exchange: Exchange) -> (BytesMut, Plan, bool) {
    let valid_status = (100..=999).contains(&response.status);
    let code = if valid_status { response.status } else { 500 };
    let reason = match response.reason {
        Some(reason) if valid_status && valid_reason(&reason) => reason,
        // An unregistered status gets an empty reason: the line ends in a bare space, as
        // allowed.
        _ => lambdaship_events::reason_phrase(code)
            .unwrap_or_default()
            .to_owned(),
    };
    let mut head = BytesMut::with_capacity(256);
    head.put_slice(format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());

    let mut keep_alive = exchange.keep_alive;
    let mut has_date = false;
    for (name, value) in &response.headers {
        if !valid_name(name) || !valid_value(value) {
            continue;
        }
        let is = |other: &str| name.eq_ignore_ascii_case(other);
        if is("content-length") || is("transfer-encoding") {
            continue;
        }
        if is("connection") {
            keep_alive &= !value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("close"));
            continue;
        }
        has_date |= is("date");
        put_field(&mut head, name, value);
    }
    if !has_date {
        put_field(
            &mut head,
            "Date",
            &httpdate::fmt_http_date(SystemTime::now()),
        );
    }

    // RFC 9110 §6.4.1: 1xx, 204 and 304 never have content, nor a length for it.
    let bodiless = code < 200 || code == 204 || code == 304;
    let plan = match response.body {
        _ if bodiless => Plan::Nothing,
        Body::Full(body) => {
            put_field(&mut head, "Content-Length", &body.len().to_string());
            if exchange.head_request {
                Plan::Nothing
            } else {
                Plan::Full(body)
            }
        }
        Body::Stream(_) if exchange.head_request => {
            if !exchange.http10 {
                put_field(&mut head, "Transfer-Encoding", "chunked");
            }
            Plan::Nothing
        }
        Body::Stream(chunks) if exchange.http10 => {
            // HTTP/1.0 has no chunked encoding: the end of the body is the close.
            keep_alive = false;
            Plan::UntilClose(chunks)
        }
        Body::Stream(chunks) => {
            put_field(&mut head, "Transfer-Encoding", "chunked");
            Plan::Chunked(chunks)
        }
    };
    if !keep_alive {
        put_field(&mut head, "Connection", "close");
    } else if exchange.http10 {
        put_field(&mut head, "Connection", "keep-alive");
    }
    head.put_slice(b"\r\n");
    (head, plan, keep_alive)
}

fn put_field(head: &mut BytesMut, name: &str, value: &str) {
    head.put_slice(name.as_bytes());
    head.put_slice(b": ");
    head.put_slice(value.as_bytes());
    head.put_slice(b"\r\n");
}

/// A field name must be a token (RFC 9110 §5.1).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A field value must not end the line or the head early (response splitting).
fn valid_value(value: &str) -> bool {
    !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

fn valid_reason(reason: &str) -> bool {
    !reason.chars().any(|c| c.is_control() && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: Body) -> Response {
        Response {
            status,
            reason: None,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    const HTTP11: Exchange = Exchange {
        http10: false,
        head_request: false,
        keep_alive: true,
    };

    async fn wire(response: Response, exchange: Exchange) -> (String, bool) {
        let mut out = Vec::new();
        let keep = send(&mut out, response, exchange).await.unwrap();
        (String::from_utf8(out).unwrap(), keep)
    }

    fn full(text: &'static str) -> Body {
        Body::Full(Bytes::from_static(text.as_bytes()))
    }

    #[tokio::test]
    async fn full_body_framing_and_order() {
        let headers = [
            ("X-B", "1"),
            ("content-length", "999"),
            ("Transfer-Encoding", "chunked"),
            ("x-a", "2"),
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("X-B", "3"),
        ];
        let (text, keep) = wire(response(201, &headers, full("hello")), HTTP11).await;
        assert!(keep);
        assert_eq!(
            text,
            "HTTP/1.1 201 Created\r\nX-B: 1\r\nx-a: 2\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             X-B: 3\r\nContent-Length: 5\r\n\r\nhello"
        );
    }

    #[tokio::test]
    async fn invalid_fields_are_dropped_and_a_date_added() {
        let headers = [
            ("X-Split", "a\r\nInjected: yes"),
            ("Bad Name", "v"),
            ("", "v"),
            ("X-Ok", "caf\u{e9}"),
        ];
        let (text, _) = wire(response(200, &headers, full("")), HTTP11).await;
        assert!(
            !text.contains("Injected") && !text.contains("Bad Name"),
            "{text}"
        );
        assert!(text.contains("X-Ok: caf\u{e9}\r\n"), "{text}");
        assert!(text.contains("\r\nDate: ") && text.ends_with(" GMT\r\nContent-Length: 0\r\n\r\n"));
    }

    #[tokio::test]
    async fn statuses_and_reasons() {
        let mut custom = response(299, &[], full(""));
        custom.reason = Some("Fine Indeed".into());
        assert!(
            wire(custom, HTTP11)
                .await
                .0
                .starts_with("HTTP/1.1 299 Fine Indeed\r\n")
        );
        let mut split = response(200, &[], full(""));
        split.reason = Some("OK\r\nX: y".into());
        assert!(
            wire(split, HTTP11)
                .await
                .0
                .starts_with("HTTP/1.1 200 OK\r\n")
        );
        let unknown = wire(response(599, &[], full("")), HTTP11).await.0;
        assert!(unknown.starts_with("HTTP/1.1 599 \r\n"));
        let out_of_range = wire(response(42, &[], full("")), HTTP11).await.0;
        assert!(out_of_range.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    }

    #[tokio::test]
    async fn bodiless_statuses_and_head() {
        for status in [101, 204, 304] {
            let (text, _) = wire(response(status, &[], full("body")), HTTP11).await;
            assert!(text.ends_with(" GMT\r\n\r\n"), "{status}: {text}");
        }
        let head = Exchange {
            head_request: true,
            ..HTTP11
        };
        let (text, keep) = wire(response(200, &[], full("hello")), head).await;
        assert!(
            keep && text.ends_with("Content-Length: 5\r\n\r\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn connection_close_and_http10() {
        let (text, keep) = wire(response(200, &[("Connection", "Close")], full("")), HTTP11).await;
        assert!(
            !keep && text.ends_with("Connection: close\r\n\r\n"),
            "{text}"
        );
        let http10 = Exchange {
            http10: true,
            ..HTTP11
        };
        let (text, keep) = wire(response(200, &[], full("")), http10).await;
        assert!(
            keep && text.ends_with("Connection: keep-alive\r\n\r\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn streams_are_chunked_or_closed() {
        let (tx, rx) = mpsc::channel(4);
        for chunk in ["ab", "", "cde"] {
            tx.send(Bytes::from_static(chunk.as_bytes())).await.unwrap();
        }
        drop(tx);
        let (text, keep) = wire(response(200, &[], Body::Stream(rx)), HTTP11).await;
        assert!(keep);
        assert!(
            text.ends_with("Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
            "{text}"
        );

        let (tx, rx) = mpsc::channel(4);
        tx.send(Bytes::from_static(b"raw")).await.unwrap();
        drop(tx);
        let http10 = Exchange {
            http10: true,
            ..HTTP11
        };
        let (text, keep) = wire(response(200, &[], Body::Stream(rx)), http10).await;
        assert!(
            !keep && text.ends_with("Connection: close\r\n\r\nraw"),
            "{text}"
        );
    }
}
