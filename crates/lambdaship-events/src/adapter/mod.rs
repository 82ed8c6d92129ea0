//! The reverse direction, for a web adapter running inside Lambda: an event becomes the
//! HTTP request to send a local web app (Flask under gunicorn, FastAPI under uvicorn), and
//! the app's response becomes the function's result in the shape the event's front
//! expects.
//!
//! - [`request`] detects which front sent the event ([`Source`]) and gives the
//!   [`AppRequest`] to send, or [`BadEvent`] saying which field is wrong. An event from
//!   no HTTP front (SQS, a scheduled rule, anything not JSON) is passed through as a
//!   `POST` of the event itself.
//! - [`result`] turns the app's buffered response into the result for that source;
//!   [`stream_prelude`] gives the head of a streamed response instead.
//!
//! The rules are the fronts' own, read backwards (the same modules give both directions),
//! without the known bugs of the AWS Lambda Web Adapter: bad base64 and control bytes do not
//! crash it, non-ASCII paths are encoded rather than refused, a pass-through answer is never
//! `null`, and a text body that is not UTF-8 goes as base64 instead of being decoded lossily.

mod app_headers;
mod event_fields;
mod request;
mod result;
mod source;
mod stream;

use bytes::Bytes;
use serde_json::Value;

pub use request::request;
pub use result::result;
pub use source::Source;
pub use stream::stream_prelude;

/// The HTTP request to send the app for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRequest {
    /// Which front sent the event; the result must take its shape.
    pub source: Source,
    /// The method, a valid HTTP token such as `GET`.
    pub method: String,
    /// The request-target path, percent-encoded and fit to send as it is: `/caf%C3%A9/a%20b`.
    pub path: String,
    /// The query after `?`, encoded and fit to send as it is; `None` for no query.
    pub query: Option<String>,
    /// Header pairs in the event's order; a repeated header repeats. Every value is fit to
    /// send: control bytes are removed, names that are not tokens are left out, and so are
    /// the framing headers (`Content-Length`, hop-by-hop headers), which the sender writes
    /// for `body`. All cookies are in one `cookie` header.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from base64 when the event carried it so.
    pub body: Bytes,
    /// The event's `requestContext` (identity, authorizer, request id), for the app to see
    /// in a header if the adapter chooses; `None` for a pass-through event.
    pub request_context: Option<Value>,
}

impl AppRequest {
    /// The request-target: the path, then `?` and the query when there is one.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }
}

/// An event from an HTTP front that cannot become a request: a field is missing, has the
/// wrong type or cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{front} event: {reason}")]
pub struct BadEvent {
    /// The front the event's shape names; the adapter answers in its result shape.
    pub front: Source,
    /// What is wrong, naming the field, e.g. `body is not valid base64 although
    /// isBase64Encoded is true: ...`.
    pub reason: String,
}
