//! Response bodies of the Runtime and Extensions APIs.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

/// `{"errorMessage": ..., "errorType": ...}` with `status`.
pub(super) fn error(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    json(status, body.to_string())
}

/// 202 `{"status":"OK"}`.
pub(super) fn accepted() -> Response<Full<Bytes>> {
    json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.to_string())
}

pub(super) fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

pub(super) fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
