//! `/2018-06-01/runtime/...`: the runtime's side of an invocation.

use std::sync::Arc;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::oneshot;

use super::{ApiEvent, NextInvocation, Shared, reply};
use crate::invocation::FunctionResult;
use crate::limits::{MAX_RESPONSE_BYTES, MAX_STREAMED_RESPONSE_BYTES};

pub(super) async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    rest: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match (method, rest) {
        (&Method::GET, "invocation/next") => next(shared).await,
        (&Method::POST, "init/error") => init_error(shared, request).await,
        (&Method::POST, path) => match path
            .strip_prefix("invocation/")
            .and_then(|path| path.rsplit_once('/'))
        {
            Some((id, "response")) => response(shared, id, request).await,
            Some((id, "error")) => invoke_error(shared, id, request).await,
            _ => not_found(method, rest),
        },
        _ => not_found(method, rest),
    }
}

fn not_found(method: &Method, rest: &str) -> Response<Full<Bytes>> {
    reply::error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("no such Runtime API endpoint: {method} /2018-06-01/runtime/{rest}"),
    )
}

async fn next(shared: &Arc<Shared>) -> Response<Full<Bytes>> {
    let waiting = {
        let mut state = shared.lock();
        if let Some(current) = &state.current
            && !current.answered
        {
            return invalid_transition("Invoke", "Next");
        }
        shared.send(ApiEvent::RuntimeNext);
        match state.pending.take() {
            Some(invocation) => return invocation_response(&invocation),
            None => {
                let (sender, receiver) = oneshot::channel();
                state.runtime_waiter = Some(sender);
                receiver
            }
        }
    };
    match waiting.await {
        Ok(invocation) => invocation_response(&invocation),
        Err(_) => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.ContainerError",
            "Container error: the execution environment is shutting down. Runtime should exit promptly",
        ),
    }
}

fn invocation_response(invocation: &NextInvocation) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(invocation.payload.clone()));
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", &invocation.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_ms.to_string(),
    );
    put(
        "lambda-runtime-invoked-function-arn",
        &invocation.invoked_arn,
    );
    put("lambda-runtime-trace-id", &invocation.trace_id);
    if let Some(context) = &invocation.client_context {
        put("lambda-runtime-client-context", context);
    }
    if let Some(identity) = &invocation.cognito_identity {
        put("lambda-runtime-cognito-identity", identity);
    }
    put("content-type", "application/json");
    response
}

fn invalid_transition(from: &str, to: &str) -> Response<Full<Bytes>> {
    reply::error(
        StatusCode::FORBIDDEN,
        "InvalidStateTransition",
        &format!(
            "State transition from {from} to {to} failed for runtime. Error: the runtime must answer the current invocation first"
        ),
    )
}

/// Checks that `id` is the invocation in flight and still unanswered, then marks it
/// answered. Returns the stream destination, if any.
fn claim(
    shared: &Shared,
    id: &str,
) -> Result<Option<tokio::sync::mpsc::Sender<Bytes>>, Box<Response<Full<Bytes>>>> {
    let mut state = shared.lock();
    match state.current.as_mut() {
        Some(current) if current.request_id == id => {
            if current.answered {
                return Err(Box::new(invalid_transition(
                    "InvocationResponse",
                    "InvocationResponse",
                )));
            }
            current.answered = true;
            // Handed over, not kept: the stream ends (its receiver sees the close) as soon
            // as the response that writes it is done.
            Ok(current.stream_to.take())
        }
        _ => Err(Box::new(reply::error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("Invalid request ID: `{id}` is not the invocation in flight"),
        ))),
    }
}

fn too_large_result() -> FunctionResult {
    FunctionResult::platform(
        "Function.ResponseSizeTooLarge",
        &format!(
            "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        ),
    )
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(hyper::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn response(
    shared: &Arc<Shared>,
    id: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let stream_to = match claim(shared, id) {
        Ok(stream_to) => stream_to,
        Err(refusal) => return *refusal,
    };
    let headers = request.headers().clone();
    let content_type = header(&headers, "content-type").map(str::to_string);
    match header(&headers, "lambda-runtime-function-response-mode") {
        None => {}
        Some("streaming") => return streamed(shared, request, content_type, stream_to).await,
        Some(other) => {
            shared.send(ApiEvent::Refused {
                result: FunctionResult::platform(
                    "Runtime.InvalidResponseModeHeader",
                    &format!("Invalid response mode `{other}`: the only mode is `streaming`"),
                ),
                streamed: false,
            });
            return reply::error(
                StatusCode::BAD_REQUEST,
                "InvalidFunctionResponseMode",
                &format!(
                    "Invalid Lambda-Runtime-Function-Response-Mode `{other}`: the only mode is `streaming`"
                ),
            );
        }
    }
    let too_large = || {
        shared.send(ApiEvent::Refused {
            result: too_large_result(),
            streamed: false,
        });
        reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
        )
    };
    if content_length(&headers).is_some_and(|length| length > MAX_RESPONSE_BYTES) {
        return too_large();
    }
    let payload = match Limited::new(request.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => return truncated(shared),
    };
    shared.send(ApiEvent::Answer {
        result: FunctionResult::Success {
            payload,
            content_type,
        },
        streamed: false,
    });
    reply::accepted()
}

fn truncated(shared: &Shared) -> Response<Full<Bytes>> {
    shared.send(ApiEvent::Refused {
        result: FunctionResult::platform(
            "Runtime.TruncatedResponse",
            "The runtime's response body was cut short",
        ),
        streamed: false,
    });
    reply::error(
        StatusCode::BAD_REQUEST,
        "TruncatedHTTPRequest",
        "The request body was cut short",
    )
}

/// A streamed response: chunks go to the caller as they arrive; an error in the middle is
/// reported in the trailers.
async fn streamed(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    content_type: Option<String>,
    stream_to: Option<tokio::sync::mpsc::Sender<Bytes>>,
) -> Response<Full<Bytes>> {
    let mut body = request.into_body();
    let mut collected = BytesMut::new();
    let mut size = 0usize;
    let mut trailers = None;
    let limit = if stream_to.is_some() {
        MAX_STREAMED_RESPONSE_BYTES
    } else {
        MAX_RESPONSE_BYTES
    };
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return truncated(shared);
        };
        match frame.into_data() {
            Ok(data) => {
                size += data.len();
                if size > limit {
                    shared.send(ApiEvent::Refused {
                        result: too_large_result(),
                        streamed: true,
                    });
                    return reply::error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLarge",
                        &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
                    );
                }
                match &stream_to {
                    // A caller that went away stops receiving; the function still finishes.
                    Some(sender) => {
                        let _ = sender.send(data).await;
                    }
                    None => collected.extend_from_slice(&data),
                }
            }
            Err(frame) => {
                if let Ok(map) = frame.into_trailers() {
                    trailers = Some(map);
                }
            }
        }
    }
    let error_type = trailers
        .as_ref()
        .and_then(|map| header(map, "lambda-runtime-function-error-type"))
        .map(str::to_string);
    let result = match error_type {
        Some(error_type) => {
            let body = trailers
                .as_ref()
                .and_then(|map| header(map, "lambda-runtime-function-error-body"))
                .and_then(|encoded| {
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .ok()
                })
                .unwrap_or_default();
            FunctionResult::Error {
                payload: Bytes::from(body),
                error_type,
            }
        }
        None => FunctionResult::Success {
            payload: collected.freeze(),
            content_type,
        },
    };
    shared.send(ApiEvent::Answer {
        result,
        streamed: true,
    });
    reply::accepted()
}

async fn invoke_error(
    shared: &Arc<Shared>,
    id: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if let Err(refusal) = claim(shared, id) {
        return *refusal;
    }
    let (payload, error_type) = match read_error(request).await {
        Ok(read) => read,
        Err(refusal) => {
            shared.send(ApiEvent::Refused {
                result: too_large_result(),
                streamed: false,
            });
            return *refusal;
        }
    };
    shared.send(ApiEvent::Answer {
        result: FunctionResult::Error {
            payload,
            error_type,
        },
        streamed: false,
    });
    reply::accepted()
}

async fn init_error(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if shared.lock().init_done {
        return invalid_transition("Ready", "InitError");
    }
    let (payload, error_type) = match read_error(request).await {
        Ok(read) => read,
        Err(refusal) => return *refusal,
    };
    shared.send(ApiEvent::InitError {
        payload,
        error_type,
    });
    reply::accepted()
}

/// The body of an error post and its type: the `Lambda-Runtime-Function-Error-Type` header
/// when it is well formed, else the body's `errorType` (awslambdaric sends no header on
/// invoke errors).
async fn read_error(
    request: Request<Incoming>,
) -> Result<(Bytes, String), Box<Response<Full<Bytes>>>> {
    let declared =
        header(request.headers(), "lambda-runtime-function-error-type").map(str::to_string);
    let payload = match Limited::new(request.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Err(Box::new(reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            )));
        }
    };
    let error_type = error_type(declared.as_deref(), &payload);
    Ok((payload, error_type))
}

fn error_type(declared: Option<&str>, payload: &[u8]) -> String {
    if let Some(declared) = declared
        && well_formed_error_type(declared)
    {
        return declared.to_string();
    }
    let from_body = serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|body| body.get("errorType")?.as_str().map(str::to_string))
        .filter(|error_type| !error_type.is_empty());
    match (from_body, declared) {
        (Some(error_type), _) => error_type,
        (None, Some(declared)) if declared.starts_with("Runtime.") => "Runtime.Unknown".to_string(),
        (None, _) => "Function.Unknown".to_string(),
    }
}

/// `Runtime.Xxx` or `Function.Xxx`, as Lambda accepts them.
fn well_formed_error_type(value: &str) -> bool {
    let Some((category, reason)) = value.split_once('.') else {
        return false;
    };
    matches!(category, "Runtime" | "Function")
        && reason.starts_with(|c: char| c.is_ascii_uppercase())
        && reason.chars().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_falls_back_to_the_body() {
        assert_eq!(
            error_type(Some("Runtime.ImportModuleError"), b"{}"),
            "Runtime.ImportModuleError"
        );
        assert_eq!(
            error_type(None, br#"{"errorType":"ValueError"}"#),
            "ValueError"
        );
        assert_eq!(
            error_type(Some("unhandled"), br#"{"errorType":"MyError"}"#),
            "MyError"
        );
        assert_eq!(
            error_type(Some("unhandled"), b"not json"),
            "Function.Unknown"
        );
        assert_eq!(error_type(Some("Runtime.bad-one"), b""), "Runtime.Unknown");
        assert_eq!(error_type(None, b""), "Function.Unknown");
    }
}
