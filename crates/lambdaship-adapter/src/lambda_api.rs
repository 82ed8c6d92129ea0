//! The adapter's side of Lambda's Extensions API (it registers as an external extension) and
//! Runtime API (it runs the invocation loop on the web app's behalf), over one pooled HTTP/1.1
//! client to `AWS_LAMBDA_RUNTIME_API`.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A request body to the Runtime API: whole, or streamed with trailers.
pub type ApiBody = BoxBody<Bytes, std::io::Error>;

/// Why a call to Lambda's APIs failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API could not be reached or the exchange broke.
    #[error("{call}: {source}")]
    Transport {
        /// The call, e.g. `GET /2018-06-01/runtime/invocation/next`.
        call: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API answered with an unexpected status.
    #[error("{call}: Lambda answered {status}: {body}")]
    Status {
        /// The call.
        call: String,
        /// The status.
        status: u16,
        /// The answer's body, for the log.
        body: String,
    },
}

/// One invocation handed out by `GET /runtime/invocation/next`.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`: when the function times out, ms since the epoch.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`, JSON.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`, JSON.
    pub cognito_identity: Option<String>,
    /// The event.
    pub event: Bytes,
}

/// A client of the Runtime and Extensions APIs.
#[derive(Clone)]
pub struct LambdaApi {
    base: String,
    client: Client<HttpConnector, ApiBody>,
}

impl LambdaApi {
    /// A client of the API at `address` (`host:port`, as `AWS_LAMBDA_RUNTIME_API` gives it).
    pub fn new(address: &str) -> LambdaApi {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        LambdaApi {
            base: format!("http://{address}"),
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// Registers as the external extension `name` for no events, as the Lambda Web Adapter
    /// does: being registered makes Lambda send the app SIGTERM at shutdown. Returns the
    /// extension's identifier.
    pub async fn register_extension(&self, name: &str) -> Result<String, ApiError> {
        let call = "POST /2020-01-01/extension/register";
        let request = self
            .request("POST", "/2020-01-01/extension/register")
            .header("Lambda-Extension-Name", name)
            .header("Content-Type", "application/json");
        let (status, headers, body) = self.send(call, request, full(r#"{"events":[]}"#)).await?;
        expect(call, status, &body, 200)?;
        header(&headers, "lambda-extension-identifier").ok_or_else(|| ApiError::Status {
            call: call.to_string(),
            status,
            body: "no Lambda-Extension-Identifier header".to_string(),
        })
    }

    /// Waits for the extension's next event; with no events subscribed it returns only when
    /// the environment goes away.
    pub async fn extension_next(&self, id: &str) -> Result<(), ApiError> {
        let call = "GET /2020-01-01/extension/event/next";
        let request = self
            .request("GET", "/2020-01-01/extension/event/next")
            .header("Lambda-Extension-Identifier", id);
        let (status, _, body) = self.send(call, request, empty()).await?;
        expect(call, status, &body, 200)
    }

    /// Reports that the extension cannot start: the INIT phase fails with `error_type`.
    pub async fn extension_init_error(
        &self,
        id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), ApiError> {
        let call = "POST /2020-01-01/extension/init/error";
        let request = self
            .request("POST", "/2020-01-01/extension/init/error")
            .header("Lambda-Extension-Identifier", id)
            .header("Lambda-Extension-Function-Error-Type", error_type)
            .header("Content-Type", "application/json");
        let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
        let (status, _, answer) = self.send(call, request, full(body.to_string())).await?;
        expect(call, status, &answer, 202)
    }

    /// The next invocation.
    pub async fn next_invocation(&self) -> Result<Invocation, ApiError> {
        let call = "GET /2018-06-01/runtime/invocation/next";
        let request = self.request("GET", "/2018-06-01/runtime/invocation/next");
        let (status, headers, event) = self.send(call, request, empty()).await?;
        expect(call, status, &event, 200)?;
        let request_id =
            header(&headers, "lambda-runtime-aws-request-id").ok_or_else(|| ApiError::Status {
                call: call.to_string(),
                status,
                body: "no Lambda-Runtime-Aws-Request-Id header".to_string(),
            })?;
        Ok(Invocation {
            request_id,
            deadline_ms: header(&headers, "lambda-runtime-deadline-ms")
                .and_then(|d| d.parse().ok())
                .unwrap_or(0),
            invoked_function_arn: header(&headers, "lambda-runtime-invoked-function-arn")
                .unwrap_or_default(),
            trace_id: header(&headers, "lambda-runtime-trace-id"),
            client_context: header(&headers, "lambda-runtime-client-context"),
            cognito_identity: header(&headers, "lambda-runtime-cognito-identity"),
            event,
        })
    }

    /// Posts the invocation's whole response.
    pub async fn respond(&self, request_id: &str, payload: Bytes) -> Result<(), ApiError> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        let call = format!("POST {path}");
        let request = self
            .request("POST", &path)
            .header("Content-Type", "application/json");
        let body = Full::new(payload).map_err(|never| match never {}).boxed();
        let (status, _, answer) = self.send(&call, request, body).await?;
        expect(&call, status, &answer, 202)
    }

    /// Streams the invocation's response: `body` carries the HTTP integration prelude and
    /// then the app's body, and may end with Lambda's error trailers.
    pub async fn respond_streaming(&self, request_id: &str, body: ApiBody) -> Result<(), ApiError> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        let call = format!("POST {path} (streaming)");
        let request = self
            .request("POST", &path)
            .header("Lambda-Runtime-Function-Response-Mode", "streaming")
            .header(
                "Content-Type",
                "application/vnd.awslambda.http-integration-response",
            )
            .header("Transfer-Encoding", "chunked")
            .header(
                "Trailer",
                "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
            );
        let (status, _, answer) = self.send(&call, request, body).await?;
        expect(&call, status, &answer, 202)
    }

    /// Reports that the invocation failed, with `payload` as the error document.
    pub async fn fail(
        &self,
        request_id: &str,
        error_type: &str,
        payload: serde_json::Value,
    ) -> Result<(), ApiError> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/error");
        let call = format!("POST {path}");
        let request = self
            .request("POST", &path)
            .header("Lambda-Runtime-Function-Error-Type", error_type)
            .header("Content-Type", "application/json");
        let (status, _, answer) = self.send(&call, request, full(payload.to_string())).await?;
        expect(&call, status, &answer, 202)
    }

    fn request(&self, method: &str, path: &str) -> hyper::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
    }

    async fn send(
        &self,
        call: &str,
        request: hyper::http::request::Builder,
        body: ApiBody,
    ) -> Result<(u16, HeaderMap, Bytes), ApiError> {
        let transport = |source: Box<dyn std::error::Error + Send + Sync>| ApiError::Transport {
            call: call.to_string(),
            source,
        };
        let request = request.body(body).map_err(|e| transport(e.into()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport(e.into()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| transport(e.into()))?
            .to_bytes();
        Ok((status, headers, body))
    }
}

fn expect(call: &str, status: u16, body: &Bytes, wanted: u16) -> Result<(), ApiError> {
    if status == wanted {
        return Ok(());
    }
    Err(ApiError::Status {
        call: call.to_string(),
        status,
        body: String::from_utf8_lossy(body).chars().take(500).collect(),
    })
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn full(text: impl Into<String>) -> ApiBody {
    Full::new(Bytes::from(text.into()))
        .map_err(|never| match never {})
        .boxed()
}

fn empty() -> ApiBody {
    full("")
}
