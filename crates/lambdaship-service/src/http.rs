//! HTTP plumbing: requests read into a [`Call`] (decoded path segments, query pairs,
//! headers, body), [`Reply`] written back with the request id every AWS answer carries.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::Service;
use crate::error::ApiError;
use crate::validate::MAX_CODE_REQUEST_BYTES;

/// One API request, read whole.
#[derive(Debug)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// Path segments, percent-decoded, empty ones dropped.
    pub segments: Vec<String>,
    /// Query pairs in order (a key may repeat, e.g. `tagKeys`).
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Call {
    /// The first value of query parameter `key`.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of query parameter `key`.
    pub fn query_all(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as the operation's JSON input (an empty body reads as `{}`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body: &[u8] = if self.body.is_empty() {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_content(format!("Could not parse request body into json: {e}"))
        })
    }

    /// `http://HOST` as the client addressed this server.
    pub fn origin(&self) -> String {
        format!("http://{}", self.header("host").unwrap_or("127.0.0.1"))
    }
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers besides the request id.
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: Bytes,
    /// The request id to send; a fresh one when absent.
    pub request_id: Option<String>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".to_string())],
            body: Bytes::from(value.to_string()),
            request_id: None,
        }
    }

    /// An answer without a body.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            request_id: None,
        }
    }

    /// The error answer.
    pub fn error(error: &ApiError) -> Reply {
        let mut reply = Reply::json(error.status, &error.body());
        reply
            .headers
            .push(("x-amzn-errortype", error.code.to_string()));
        reply
    }
}

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, service: Arc<Service>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let handler = hyper::service::service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(handle(service, request, peer).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), handler)
                .await;
        });
    }
}

/// The body of every answer: whole, or streamed (Function URLs in RESPONSE_STREAM mode).
pub type AnswerBody = BoxBody<Bytes, Infallible>;

async fn handle(
    service: Arc<Service>,
    request: Request<Incoming>,
    peer: std::net::SocketAddr,
) -> Response<AnswerBody> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok());
    if let Some(target) = crate::urls::target(host, request.uri().path()) {
        return match read_url_request(request, peer).await {
            Ok(request) => wire(service.serve_url(target, request).await),
            Err(too_large) => wire(too_large),
        };
    }
    let reply = match read(request).await {
        Ok(call) => service.dispatch(call).await,
        Err(error) => Reply::error(&error),
    };
    write(reply).map(BodyExt::boxed)
}

/// Largest request body a Function URL reads: no larger one fits Lambda's 6 MB event.
const MAX_URL_BODY: usize = lambdaship_events::LAMBDA_PAYLOAD_LIMIT + 1;

/// A Function URL request as the front sees it: header pairs as received (hyper gives the
/// names lowercased, which is what Function URL events carry anyway).
async fn read_url_request(
    request: Request<Incoming>,
    peer: std::net::SocketAddr,
) -> Result<lambdaship_events::HttpRequest, lambdaship_gateway::http1::Response> {
    let (parts, body) = request.into_parts();
    let too_large = || {
        lambdaship_gateway::front::full(
            lambdaship_events::Front::new(lambdaship_events::Kind::FunctionUrl).too_large(),
        )
    };
    let body = Limited::new(body, MAX_URL_BODY)
        .collect()
        .await
        .map_err(|_| too_large())?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().map_or_else(
                    |_| value.as_bytes().iter().map(|&b| char::from(b)).collect(),
                    str::to_string,
                ),
            )
        })
        .collect();
    Ok(lambdaship_events::HttpRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
        body,
        source_ip: peer.ip().to_string(),
        protocol: format!("{:?}", parts.version),
    })
}

/// A front's answer as a hyper response.
fn wire(answer: lambdaship_gateway::http1::Response) -> Response<AnswerBody> {
    use lambdaship_gateway::http1::Body;
    let body = match answer.body {
        Body::Full(bytes) => Full::new(bytes).boxed(),
        Body::Stream(chunks) => ChannelBody { chunks }.boxed(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        // From bytes: a value the function wrote in UTF-8 (a file name, say) goes out as
        // those bytes, as the dev front sends it.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    response
}

/// A body sent as its chunks arrive on a channel.
struct ChannelBody {
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(hyper::body::Frame::data(bytes))))
    }
}

/// Reads the request; bodies beyond the largest any operation accepts are refused as AWS
/// refuses an oversized CreateFunction.
async fn read(request: Request<Incoming>) -> Result<Call, ApiError> {
    let (parts, body) = request.into_parts();
    let operation = if parts.uri.path().ends_with("/invocations") {
        "InvokeFunction"
    } else {
        "CreateFunction"
    };
    let too_large = || {
        if operation == "InvokeFunction" {
            ApiError::too_large(
                "RequestTooLargeException",
                crate::ops::invoke::MAX_SYNC_PAYLOAD,
                operation,
            )
        } else {
            ApiError::too_large(
                "RequestEntityTooLargeException",
                MAX_CODE_REQUEST_BYTES,
                operation,
            )
        }
    };
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_CODE_REQUEST_BYTES) {
        return Err(too_large());
    }
    let body = Limited::new(body, MAX_CODE_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|_| too_large())?
        .to_bytes();
    let segments = parts
        .uri
        .path()
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let query = parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    Ok(Call {
        method: parts.method,
        segments,
        query,
        headers: parts.headers,
        body,
    })
}

fn write(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    let request_id = reply
        .request_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-amzn-requestid"), value);
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}
