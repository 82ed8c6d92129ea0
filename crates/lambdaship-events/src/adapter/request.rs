//! Event → the HTTP request for the app.

use bytes::Bytes;
use serde_json::Value;

use super::event_fields::{self as field, Object};
use super::{AppRequest, BadEvent, Source, app_headers};
use crate::front::Kind;
use crate::path::{Part, encode_target, or_root};
use crate::query::form_encoded;
use crate::result::fields;

/// The request to send the app for `event` (the invocation payload as Lambda delivered
/// it).
///
/// An event from an HTTP front becomes that request: payload 1.0 (REST, HTTP API 1.0) from
/// `httpMethod`, `path`, the query rebuilt from its decoded parameters and every header
/// value; payload 2.0 (HTTP API, Function URL) from `requestContext.http.method`,
/// `rawPath`, `rawQueryString` and `headers`, with `cookies` as the `cookie` header; an
/// ALB event from `httpMethod`, `path` and its query parameters, which the ALB leaves
/// encoded. The body is decoded from base64 when `isBase64Encoded` says so.
///
/// The path is the one the event carries, stage prefix and all: a REST `path` has no stage,
/// an HTTP API's `rawPath` keeps a named stage. Anything else (not JSON, not an object, no
/// front's shape) is passed through: `POST pass_through_path` with
/// `content-type: application/json` and the event's bytes as the body.
pub fn request(event: &[u8], pass_through_path: &str) -> Result<AppRequest, BadEvent> {
    let value: Value = match serde_json::from_slice(event) {
        Ok(value) => value,
        Err(_) => return Ok(pass_through(event, pass_through_path)),
    };
    let source = Source::of(&value);
    let Some(object) = value.as_object().filter(|_| source != Source::PassThrough) else {
        return Ok(pass_through(event, pass_through_path));
    };
    from_front(source, object).map_err(|reason| BadEvent {
        front: source,
        reason,
    })
}

/// The pieces of a request as an event shape carries them, before they are made fit to
/// send.
struct Parts {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    cookies: Vec<String>,
}

fn from_front(source: Source, object: &Object) -> Result<AppRequest, String> {
    let parts = match source {
        Source::Front(Kind::Rest) | Source::Front(Kind::HttpV1) => payload_v1(object)?,
        Source::Front(Kind::HttpV2) | Source::Front(Kind::FunctionUrl) => payload_v2(object)?,
        Source::Front(Kind::Alb { .. }) => alb(object)?,
        Source::PassThrough => return Err("the event is not from an HTTP front".to_owned()),
    };
    Ok(AppRequest {
        source,
        method: parts.method,
        path: target_path(&parts.path),
        query: parts.query.filter(|query| !query.is_empty()),
        headers: app_headers::for_app(parts.headers, parts.cookies),
        body: field::body(object)?,
        request_context: field::request_context(object),
    })
}

/// REST and HTTP API 1.0: `path` is as the front passes it (REST keeps it encoded, HTTP
/// API decodes it; `encode_target` fits both). The query parameters are decoded, so they
/// are encoded again; `multiValueQueryStringParameters` keeps every repeated value.
fn payload_v1(object: &Object) -> Result<Parts, String> {
    let query = field::pairs(
        object,
        "multiValueQueryStringParameters",
        "queryStringParameters",
    )?;
    Ok(Parts {
        method: field::method(object, &["httpMethod"])?,
        path: field::string(object, &["path"])?.to_owned(),
        query: Some(form_encoded(&query)),
        headers: field::pairs(object, "multiValueHeaders", "headers")?,
        cookies: Vec::new(),
    })
}

/// HTTP API 2.0 and Function URLs: `rawQueryString` is the query as the client sent it;
/// repeated headers arrive comma-joined and stay one header (splitting at commas would
/// break values such as dates).
fn payload_v2(object: &Object) -> Result<Parts, String> {
    let query = field::optional_string(object, "rawQueryString")?
        .map(|query| encode_target(query, Part::Query));
    Ok(Parts {
        method: field::method(object, &["requestContext", "http", "method"])?,
        path: field::string(object, &["rawPath"])?.to_owned(),
        query,
        headers: fields::headers(object, "headers")?,
        cookies: fields::cookies(object)?,
    })
}

/// ALB: the query keys and values are as the client encoded them ("the load balancer does
/// not decode them"), so they are only made fit to send, never encoded again (Mangum #178,
/// apig-wsgi #253 double-encoded them).
fn alb(object: &Object) -> Result<Parts, String> {
    let query = field::pairs(
        object,
        "multiValueQueryStringParameters",
        "queryStringParameters",
    )?
    .iter()
    .map(|(key, value)| {
        format!(
            "{}={}",
            encode_target(key, Part::QueryKey),
            encode_target(value, Part::QueryValue)
        )
    })
    .collect::<Vec<_>>()
    .join("&");
    Ok(Parts {
        method: field::method(object, &["httpMethod"])?,
        path: field::string(object, &["path"])?.to_owned(),
        query: Some(query),
        headers: field::pairs(object, "multiValueHeaders", "headers")?,
        cookies: Vec::new(),
    })
}

/// The request for an event from no HTTP front: the event itself, posted as JSON.
fn pass_through(event: &[u8], path: &str) -> AppRequest {
    AppRequest {
        source: Source::PassThrough,
        method: "POST".to_owned(),
        path: target_path(path),
        query: None,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: Bytes::copy_from_slice(event),
        request_context: None,
    }
}

/// `path` fit to send as a request-target's path, which starts with `/` (RFC 9112 §3.2.1;
/// a hand-written event or a configured path may lack it).
fn target_path(path: &str) -> String {
    let path = encode_target(or_root(path), Part::Path);
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}
