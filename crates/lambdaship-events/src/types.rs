//! The plain values that cross the crate's boundary: a request as the client sent it, a
//! response to send, the per-request values the caller supplies, and the two refusals.
//!
//! They hold no server types so the dev server, the Function URL endpoint and (later) the
//! in-Lambda adapter can all use them.

use std::time::SystemTime;

use bytes::Bytes;

/// A request as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The raw request-target path, still percent-encoded: `/prod/caf%C3%A9/a%2Fb`.
    pub path: String,
    /// The raw query after `?`; `None` when the target had no `?`.
    pub query: Option<String>,
    /// Header pairs in wire order with the client's case; repeated names repeat.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Bytes,
    /// The peer address, e.g. `127.0.0.1`.
    pub source_ip: String,
    /// The protocol, e.g. `HTTP/1.1`.
    pub protocol: String,
}

impl HttpRequest {
    /// A request for `target` (`/path?query`) from 127.0.0.1 over HTTP/1.1, with no headers
    /// and no body; the `with_*` methods fill in the rest.
    pub fn new(method: impl Into<String>, target: &str) -> HttpRequest {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (target, None),
        };
        HttpRequest {
            method: method.into(),
            path: path.to_owned(),
            query,
            headers: Vec::new(),
            body: Bytes::new(),
            source_ip: "127.0.0.1".to_owned(),
            protocol: "HTTP/1.1".to_owned(),
        }
    }

    /// This request with one more header pair after the existing ones.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// This request with `body` as its body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// This request as coming from `ip`.
    pub fn with_source_ip(mut self, ip: impl Into<String>) -> Self {
        self.source_ip = ip.into();
        self
    }

    /// The first value of header `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (compared without case), in wire order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response to send to the client. The server adds `Content-Length` (and `Date`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// A reason phrase to send instead of the standard one (ALB's `statusDescription`).
    pub reason: Option<String>,
    /// Header pairs in the order to send them; repeated names repeat (`Set-Cookie`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The first value of header `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (compared without case), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Per-request values the caller supplies (fresh for every request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// The request id in the front's style (see `Front::new_request_id`).
    pub request_id: String,
    /// When the front received the request.
    pub time: SystemTime,
    /// The caller's identity for a Function URL with `AWS_IAM` auth:
    /// `requestContext.authorizer.iam`.
    pub iam: Option<IamIdentity>,
}

impl RequestMeta {
    /// Values for a request received now with `request_id`, without IAM identity.
    pub fn new(request_id: impl Into<String>) -> RequestMeta {
        RequestMeta {
            request_id: request_id.into(),
            time: SystemTime::now(),
            iam: None,
        }
    }
}

/// The IAM caller of a Function URL with `AWS_IAM` auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamIdentity {
    /// The caller's access key id.
    pub access_key: String,
    /// The caller's account id.
    pub account_id: String,
    /// The caller id (IAM user id).
    pub caller_id: String,
    /// The caller's ARN.
    pub user_arn: String,
    /// The caller's user id.
    pub user_id: String,
}

/// The front answered the request itself and did not call the function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// What the front sends back.
    pub response: HttpResponse,
    /// Why, for the log.
    pub reason: String,
}

/// The front refused the function's result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct BadResult {
    /// What the front sends back instead.
    pub response: HttpResponse,
    /// What was wrong with the result, for the log.
    pub reason: String,
}
