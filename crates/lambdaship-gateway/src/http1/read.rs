//! The reading side of a connection: one buffer, request heads and bodies out of it, and
//! the limits and timeouts that apply while reading.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::{Instant, timeout, timeout_at};

use super::Limits;
use super::head::{self, Head, HeadError};

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;
/// A buffer grown past this by a large request is given back once it is empty.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Why a request could not be read.
#[derive(Debug, Error)]
pub(super) enum ReadError {
    /// The client closed the connection or it failed mid-request: nobody to answer.
    #[error("connection closed")]
    Closed,
    /// The head or the body did not arrive in time (408).
    #[error("request timed out")]
    Timeout,
    /// The head was refused.
    #[error(transparent)]
    Head(#[from] HeadError),
    /// The head is larger than `max_head_bytes` (431).
    #[error("request header fields too large")]
    HeadTooLarge,
    /// The chunked body is malformed (400).
    #[error("{0}")]
    BadBody(&'static str),
    /// The body grew above `max_body`.
    #[error("request body too large")]
    TooLarge,
}

/// The bytes received on one connection and not yet consumed.
pub(super) struct Reader {
    buf: BytesMut,
    limits: Limits,
}

impl Reader {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            buf: BytesMut::with_capacity(READ_SIZE),
            limits,
        }
    }

    /// Reads the next request head. `Ok(None)` means the connection ended quietly: closed
    /// by the client, or no byte of a new request by `first_byte_by`. Once a request has
    /// begun it must be complete by `head_by`, or `head_timeout` after its first byte.
    pub(super) async fn head<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
        first_byte_by: Instant,
        head_by: Option<Instant>,
    ) -> Result<Option<Head>, ReadError> {
        if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
            self.buf = BytesMut::with_capacity(READ_SIZE);
        }
        let mut head_by = head_by;
        loop {
            self.skip_blank_lines();
            if self.buf.is_empty() {
                match timeout_at(first_byte_by, self.fill(io)).await {
                    Ok(Ok(read)) if read > 0 => continue,
                    _ => return Ok(None),
                }
            }
            let deadline =
                *head_by.get_or_insert_with(|| Instant::now() + self.limits.head_timeout);
            if let Some((head, length)) = head::parse(&self.buf, self.limits.max_headers)? {
                if length > self.limits.max_head_bytes {
                    return Err(ReadError::HeadTooLarge);
                }
                self.buf.advance(length);
                return Ok(Some(head));
            }
            if self.buf.len() > self.limits.max_head_bytes {
                return Err(ReadError::HeadTooLarge);
            }
            match timeout_at(deadline, self.fill(io)).await {
                Err(_) => return Err(ReadError::Timeout),
                Ok(Ok(read)) if read > 0 => {}
                Ok(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Reads a body of exactly `length` bytes (at most `max_body`, checked by the caller).
    pub(super) async fn body<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
        length: usize,
    ) -> Result<Bytes, ReadError> {
        if self.buf.len() >= length {
            return Ok(self.buf.split_to(length).freeze());
        }
        // Memory follows the bytes that arrive, not the length a client announces.
        let mut body = BytesMut::with_capacity(length.min(4 * READ_SIZE));
        body.extend_from_slice(&self.buf);
        self.buf.clear();
        while body.len() < length {
            let missing = length - body.len();
            if body.capacity() == body.len() {
                body.reserve(missing.min(body.capacity()));
            }
            // Reading straight into the body spares a copy, and the limit leaves any
            // pipelined request in the socket for the next head.
            let mut room = (&mut body).limit(missing);
            let read = timeout(self.limits.body_idle_timeout, io.read_buf(&mut room)).await;
            match read {
                Err(_) => return Err(ReadError::Timeout),
                Ok(Ok(read)) if read > 0 => {}
                Ok(_) => return Err(ReadError::Closed),
            }
        }
        Ok(body.freeze())
    }

    /// Reads a chunked body, de-chunked; chunk extensions and trailers are read and
    /// ignored.
    pub(super) async fn chunked_body<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
    ) -> Result<Bytes, ReadError> {
        let mut body = BytesMut::new();
        loop {
            let size = self.chunk_size(io).await?;
            if size == 0 {
                self.trailers(io).await?;
                return Ok(body.freeze());
            }
            let mut left = usize::try_from(size)
                .ok()
                .filter(|&size| size <= self.limits.max_body - body.len())
                .ok_or(ReadError::TooLarge)?;
            loop {
                let take = left.min(self.buf.len());
                body.extend_from_slice(&self.buf[..take]);
                self.buf.advance(take);
                left -= take;
                if left == 0 {
                    break;
                }
                self.fill_body(io).await?;
            }
            while self.buf.len() < 2 {
                self.fill_body(io).await?;
            }
            if &self.buf[..2] != b"\r\n" {
                return Err(ReadError::BadBody("chunk data not followed by CRLF"));
            }
            self.buf.advance(2);
        }
    }

    async fn chunk_size<S: AsyncRead + Unpin>(&mut self, io: &mut S) -> Result<u64, ReadError> {
        const INVALID: ReadError = ReadError::BadBody("invalid chunk size");
        loop {
            // httparse reads an empty size line as 0; a size needs at least one digit.
            if self.buf.first().is_some_and(|b| !b.is_ascii_hexdigit()) {
                return Err(INVALID);
            }
            match httparse::parse_chunk_size(&self.buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.buf.advance(used);
                    return Ok(size);
                }
                Ok(httparse::Status::Partial) => {
                    // Extensions are ignored, so a size line has no reason to be long.
                    if self.buf.len() > self.limits.max_head_bytes {
                        return Err(ReadError::BadBody("chunk size line too long"));
                    }
                    self.fill_body(io).await?;
                }
                Err(_) => return Err(INVALID),
            }
        }
    }

    /// Skips the trailer section up to and including its final empty line.
    async fn trailers<S: AsyncRead + Unpin>(&mut self, io: &mut S) -> Result<(), ReadError> {
        let mut skipped = 0;
        loop {
            match self.buf.windows(2).position(|pair| pair == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(end) => {
                    skipped += end + 2;
                    self.buf.advance(end + 2);
                }
                None if self.buf.len() > self.limits.max_head_bytes => skipped = usize::MAX,
                None => self.fill_body(io).await?,
            }
            if skipped > self.limits.max_head_bytes {
                return Err(ReadError::BadBody("trailer section too large"));
            }
        }
    }

    /// Drops the empty lines a client may send between requests (RFC 9112 §2.2), so that
    /// they neither start the head timer nor count against the head.
    fn skip_blank_lines(&mut self) {
        loop {
            if self.buf.starts_with(b"\r\n") {
                self.buf.advance(2);
            } else if self.buf.starts_with(b"\n") {
                self.buf.advance(1);
            } else {
                return;
            }
        }
    }

    async fn fill<S: AsyncRead + Unpin>(&mut self, io: &mut S) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_SIZE / 4 {
            self.buf.reserve(READ_SIZE);
        }
        io.read_buf(&mut self.buf).await
    }

    async fn fill_body<S: AsyncRead + Unpin>(&mut self, io: &mut S) -> Result<(), ReadError> {
        match timeout(self.limits.body_idle_timeout, self.fill(io)).await {
            Err(_) => Err(ReadError::Timeout),
            Ok(Ok(read)) if read > 0 => Ok(()),
            Ok(_) => Err(ReadError::Closed),
        }
    }

    /// After the last answer on a connection: reads and discards what the client still
    /// sends (e.g. a refused body) until it closes, `until`, or `budget` bytes. Closing a
    /// socket with unread data makes the kernel send a reset, which can destroy the
    /// answer before the client reads it.
    pub(super) async fn drain<S: AsyncRead + Unpin>(
        &mut self,
        io: &mut S,
        until: Instant,
        budget: usize,
    ) {
        let mut drained = 0;
        while drained < budget {
            self.buf.clear();
            match timeout_at(until, self.fill(io)).await {
                Ok(Ok(read)) if read > 0 => drained += read,
                _ => return,
            }
        }
    }
}
