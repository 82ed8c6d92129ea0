//! Parsing a request head (request line and header fields) into the request's parts and
//! what its header fields say about the body and the connection.

use thiserror::Error;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes (never 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub http10: bool,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    /// Whether the client is willing to keep the connection open after this exchange.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

/// Why a head was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub(super) enum HeadError {
    /// Not a valid HTTP/1.x request head (400).
    #[error("{0}")]
    Malformed(&'static str),
    /// More header lines than allowed (431).
    #[error("too many header fields")]
    TooManyHeaders,
    /// A version other than HTTP/1.0 or HTTP/1.1 (505).
    #[error("only HTTP/1.0 and HTTP/1.1 are supported")]
    Version,
    /// A transfer coding other than chunked (501).
    #[error("only the chunked transfer coding is supported")]
    Coding,
}

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete, else the head
/// and its length in bytes.
pub(super) fn parse(buf: &[u8], max_headers: usize) -> Result<Option<(Head, usize)>, HeadError> {
    let mut fields = vec![httparse::EMPTY_HEADER; max_headers];
    let mut request = httparse::Request::new(&mut fields);
    let length = match request.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::Version) if !names_a_version(buf) => {
            return Err(HeadError::Malformed("invalid request line"));
        }
        Err(error) => return Err(refusal(error)),
    };
    let (Some(method), Some(target), Some(minor)) = (request.method, request.path, request.version)
    else {
        return Err(HeadError::Malformed("incomplete request line"));
    };
    let http10 = minor == 0;
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|field| (field.name.to_owned(), text(field.value)))
        .collect();
    let framing = framing(&headers, http10)?;
    let (path, query) = split_target(target);
    let close = has_token(&headers, "connection", "close");
    let keep_alive = if http10 {
        !close && has_token(&headers, "connection", "keep-alive")
    } else {
        !close
    };
    let expect_continue =
        values(&headers, "expect").any(|v| v.eq_ignore_ascii_case("100-continue"));
    let head = Head {
        method: method.to_owned(),
        path,
        query,
        http10,
        headers,
        framing,
        keep_alive,
        expect_continue,
    };
    Ok(Some((head, length)))
}

fn refusal(error: httparse::Error) -> HeadError {
    match error {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        httparse::Error::Version => HeadError::Version,
        httparse::Error::HeaderName => HeadError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => HeadError::Malformed("invalid header value"),
        httparse::Error::NewLine => HeadError::Malformed("invalid line ending"),
        _ => HeadError::Malformed("invalid request line"),
    }
}

/// Whether the request line ends in a well-formed `HTTP/x.y`: httparse reports any
/// unexpected third word (e.g. after a space in the target) as a version error, which
/// would wrongly answer 505 to a malformed request.
fn names_a_version(buf: &[u8]) -> bool {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    matches!(words.as_slice(),
        [_, _, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]]
            if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// A header value as text: UTF-8 when it is, else Latin-1 so that no byte is lost.
fn text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(utf8) => utf8.to_owned(),
        Err(_) => value.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The comma-separated list elements of every field named `name`, trimmed, empty ones
/// left out.
fn values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    values(headers, name).any(|v| v.eq_ignore_ascii_case(token))
}

/// The body framing, refusing every ambiguous combination that could let a request be
/// read differently here than by another hop (request smuggling).
fn framing(headers: &[(String, String)], http10: bool) -> Result<Framing, HeadError> {
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if has("transfer-encoding") {
        if has("content-length") {
            return Err(HeadError::Malformed(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        // RFC 9112 §6.1: HTTP/1.0 has no transfer codings, so the framing is faulty.
        if http10 {
            return Err(HeadError::Malformed(
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        let codings: Vec<&str> = values(headers, "transfer-encoding").collect();
        return match codings.as_slice() {
            [only] if only.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
            [.., last] if last.eq_ignore_ascii_case("chunked") => Err(HeadError::Coding),
            _ => Err(HeadError::Malformed(
                "the final transfer coding is not chunked",
            )),
        };
    }
    let mut length = None;
    for value in values(headers, "content-length") {
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HeadError::Malformed("invalid Content-Length"));
        }
        let parsed: u64 = value
            .parse()
            .map_err(|_| HeadError::Malformed("invalid Content-Length"))?;
        // Repeats are allowed only when they agree (RFC 9110 §8.6).
        if length.is_some_and(|l| l != parsed) {
            return Err(HeadError::Malformed("conflicting Content-Length values"));
        }
        length = Some(parsed);
    }
    if has("content-length") && length.is_none() {
        return Err(HeadError::Malformed("invalid Content-Length"));
    }
    Ok(match length {
        None | Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

/// Splits a request-target into its raw path and query. An absolute-form target
/// (`scheme://authority/path?query`) is reduced to its path.
pub(super) fn split_target(target: &str) -> (String, Option<String>) {
    let origin = match absolute_form_rest(target) {
        Some(rest) => {
            let start = rest.find(['/', '?']).unwrap_or(rest.len());
            &rest[start..]
        }
        None => target,
    };
    let (path, query) = match origin.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (origin, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    (path.to_owned(), query)
}

/// What follows `scheme://` when `target` is in absolute form.
fn absolute_form_rest(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> Result<Option<(Head, usize)>, HeadError> {
        parse(raw.as_bytes(), 16)
    }

    fn head(raw: &str) -> Head {
        match parsed(raw) {
            Ok(Some((head, length))) => {
                assert_eq!(length, raw.len());
                head
            }
            other => panic!("{raw:?} did not parse: {other:?}"),
        }
    }

    #[test]
    fn targets() {
        let cases = [
            ("/", "/", None),
            ("/a%20b/%2F", "/a%20b/%2F", None),
            ("/p?", "/p", Some("")),
            ("/p?x=%41&y=1?z", "/p", Some("x=%41&y=1?z")),
            ("http://example.test/p%2Fq?z=1", "/p%2Fq", Some("z=1")),
            ("HTTPS://example.test", "/", None),
            ("http://example.test?a", "/", Some("a")),
            ("*", "*", None),
            ("/r?u=http://x/y", "/r", Some("u=http://x/y")),
        ];
        for (target, path, query) in cases {
            let (p, q) = split_target(target);
            assert_eq!((p.as_str(), q.as_deref()), (path, query), "{target}");
        }
    }

    #[test]
    fn keeps_names_values_and_order() {
        let h = head("GET / HTTP/1.1\r\nHost: x\r\nX-B: 1\r\nx-b: two words \r\n\r\n");
        let pairs = [("Host", "x"), ("X-B", "1"), ("x-b", "two words")];
        let want: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(h.headers, want);
        assert!(h.keep_alive && !h.http10 && h.framing == Framing::Empty);
    }

    #[test]
    fn non_utf8_values_are_latin1() {
        let raw = b"GET / HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n";
        let (h, _) = parse(raw, 4).unwrap().unwrap();
        assert_eq!(h.headers[0].1, "caf\u{e9}");
    }

    #[test]
    fn incomplete_head_waits() {
        assert_eq!(parsed("GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
    }

    #[test]
    fn connection_semantics() {
        assert!(!head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        let h = head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h.keep_alive && h.http10);
        assert!(head("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expect_continue);
    }

    #[test]
    fn framings() {
        let cl = head("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n");
        assert_eq!(cl.framing, Framing::Length(12));
        let same = head("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(same.framing, Framing::Length(3));
        let zero = head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(zero.framing, Framing::Empty);
        let chunked = head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(chunked.framing, Framing::Chunked);
    }

    #[test]
    fn refusals() {
        let malformed = [
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            "GET / HTTP/1.1\r\nName : value\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "BLAH\r\n\r\n",
            "GET / HTTP/1.1 x\r\n\r\n",
            "GET / FTP/1.1\r\n\r\n",
        ];
        for raw in malformed {
            assert!(
                matches!(parsed(raw), Err(HeadError::Malformed(_))),
                "{raw:?}: {:?}",
                parsed(raw)
            );
        }
        let coding = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(parsed(coding), Err(HeadError::Coding));
        assert_eq!(parsed("GET / HTTP/2.0\r\n\r\n"), Err(HeadError::Version));
        assert_eq!(parsed("GET / HTTP/1.2\r\n\r\n"), Err(HeadError::Version));
        let flood: String = (0..17).map(|i| format!("X-{i}: v\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\n{flood}\r\n");
        assert_eq!(parsed(&raw), Err(HeadError::TooManyHeaders));
    }
}
