//! One invocation: the event sent to the app as an HTTP request, the app's response posted
//! back to Lambda whole (`buffered`) or as it comes (`response_stream`), and every way that
//! can fail answered with a result or an error that says what happened.

use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use lambdaship_events::HttpResponse;
use lambdaship_events::adapter::{self, AppRequest, Source};
use serde_json::json;

use crate::compress::{self, GzipStream};
use crate::config::InvokeMode;
use crate::forward::{ForwardError, Forwarder, collect_body};
use crate::lambda_api::{ApiError, Invocation, LambdaApi};

/// Lambda's limit on a buffered response, bytes.
const PAYLOAD_LIMIT: usize = lambdaship_events::LAMBDA_PAYLOAD_LIMIT;

/// Handles invocations with one app.
pub struct Invoker {
    /// The Runtime API.
    pub api: LambdaApi,
    /// The app.
    pub forwarder: Forwarder,
}

impl Invoker {
    /// Sends `invocation`'s event to the app and posts its answer.
    pub async fn handle(&self, invocation: Invocation) -> Result<(), ApiError> {
        let id = invocation.request_id.as_str();
        let config = self.forwarder.config();
        let app = match adapter::request(&invocation.event, &config.pass_through_path) {
            Ok(app) => app,
            Err(bad) => {
                log(&format!(
                    "{id}: cannot turn the event into a request: {bad}"
                ));
                return self
                    .fail(id, "Adapter.BadEvent", bad.to_string(), None)
                    .await;
            }
        };
        let request = match self.forwarder.request(&app, &invocation) {
            Ok(request) => request,
            Err(reason) => {
                let message = format!("cannot build the request to the app: {reason}");
                log(&format!("{id}: {message}"));
                return self.fail(id, "Adapter.BadEvent", message, None).await;
            }
        };
        let response = match self.forwarder.send(request, invocation.deadline_ms).await {
            Ok(response) => response,
            Err(error) => {
                log(&format!("{id}: {error}"));
                return self.app_failed(id, &app, &error).await;
            }
        };
        let status = response.status().as_u16();
        if let Some(codes) = &config.error_status_codes
            && codes.contains(status)
        {
            let body = collect_body(response.into_body(), PAYLOAD_LIMIT)
                .await
                .unwrap_or_default();
            let message = format!(
                "the app answered {status} to {} {} (AWS_LWA_ERROR_STATUS_CODES={codes})",
                app.method, app.path
            );
            log(&format!("{id}: {message}"));
            let extra = json!({
                "statusCode": status,
                "body": String::from_utf8_lossy(&body),
            });
            return self
                .fail(id, "Adapter.ErrorStatus", message, Some(extra))
                .await;
        }
        let headers = header_pairs(response.headers());
        let streamed =
            config.invoke_mode == InvokeMode::ResponseStream && app.source != Source::PassThrough;
        let gzip = config.compression && compress::should_gzip(&app.headers, &headers, None);
        if streamed {
            self.stream(
                id,
                status,
                headers,
                gzip,
                response.into_body(),
                invocation.deadline_ms,
            )
            .await
        } else {
            self.buffer(id, &app, status, headers, gzip, response.into_body())
                .await
        }
    }

    async fn buffer(
        &self,
        id: &str,
        app: &AppRequest,
        status: u16,
        mut headers: Vec<(String, String)>,
        gzip: bool,
        body: Incoming,
    ) -> Result<(), ApiError> {
        let mut body = match collect_body(body, PAYLOAD_LIMIT).await {
            Ok(body) => body,
            Err(None) => return self.too_large(id, app, None).await,
            Err(Some(reason)) => {
                let error = ForwardError::Failed {
                    address: self.address(),
                    target: format!("{} {}", app.method, app.path),
                    cause: format!("its response body broke off: {reason}"),
                };
                log(&format!("{id}: {error}"));
                return self.app_failed(id, app, &error).await;
            }
        };
        if gzip && body.len() >= 32 {
            if let Ok(compressed) = compress::gzip(&body) {
                body = Bytes::from(compressed);
                headers = compress::gzipped_headers(&headers);
            }
        }
        let response = HttpResponse {
            status,
            reason: None,
            headers,
            body,
        };
        let result = adapter::result(&app.source, &response);
        let payload = serde_json::to_vec(&result).unwrap_or_default();
        if payload.len() > PAYLOAD_LIMIT {
            return self.too_large(id, app, Some(payload.len())).await;
        }
        self.api.respond(id, Bytes::from(payload)).await
    }

    async fn stream(
        &self,
        id: &str,
        status: u16,
        headers: Vec<(String, String)>,
        gzip: bool,
        mut body: Incoming,
        deadline_ms: u64,
    ) -> Result<(), ApiError> {
        let headers = if gzip {
            compress::gzipped_headers(&headers)
        } else {
            headers
        };
        let head = HttpResponse {
            status,
            reason: None,
            headers,
            body: Bytes::new(),
        };
        let (mut sender, channel) =
            http_body_util::channel::Channel::<Bytes, std::io::Error>::new(4);
        let api = self.api.clone();
        let request_id = id.to_string();
        let post =
            tokio::spawn(async move { api.respond_streaming(&request_id, channel.boxed()).await });
        let mut gzip = gzip.then(GzipStream::default);
        let mut failure: Option<String> = None;
        if sender
            .send_data(Bytes::from(adapter::stream_prelude(&head)))
            .await
            .is_ok()
        {
            let until = tokio::time::Instant::now() + crate::forward::answer_budget(deadline_ms);
            loop {
                let frame = match tokio::time::timeout_at(until, body.frame()).await {
                    Err(_) => {
                        failure = Some(
                            "the app was still streaming when the function's timeout came near"
                                .to_string(),
                        );
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(Err(error))) => {
                        failure = Some(format!("the app's response broke off: {error}"));
                        break;
                    }
                    Ok(Some(Ok(frame))) => frame,
                };
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let data = match gzip.as_mut() {
                    Some(stream) => match stream.chunk(&data) {
                        Ok(compressed) => Bytes::from(compressed),
                        Err(error) => {
                            failure = Some(format!("gzip failed: {error}"));
                            break;
                        }
                    },
                    None => data,
                };
                if !data.is_empty() && sender.send_data(data).await.is_err() {
                    break;
                }
            }
            if failure.is_none()
                && let Some(stream) = gzip
                && let Ok(end) = stream.finish()
            {
                let _ = sender.send_data(Bytes::from(end)).await;
            }
        }
        if let Some(reason) = &failure {
            log(&format!("{id}: {reason}"));
            let document = json!({"errorType": "Adapter.StreamError", "errorMessage": reason});
            let mut trailers = hyper::HeaderMap::new();
            if let (Ok(kind), Ok(body)) = (
                hyper::header::HeaderValue::from_str("Adapter.StreamError"),
                hyper::header::HeaderValue::from_str(
                    &base64::engine::general_purpose::STANDARD.encode(document.to_string()),
                ),
            ) {
                trailers.insert("lambda-runtime-function-error-type", kind);
                trailers.insert("lambda-runtime-function-error-body", body);
            }
            let _ = sender.send_trailers(trailers).await;
        }
        drop(sender);
        match post.await {
            Ok(result) => result,
            Err(error) => Err(ApiError::Transport {
                call: format!("POST /2018-06-01/runtime/invocation/{id}/response (streaming)"),
                source: error.into(),
            }),
        }
    }

    /// The app gave no response: a 504 or 502 in the front's shape, so the caller sees
    /// what a gateway would answer; a pass-through event fails instead.
    async fn app_failed(
        &self,
        id: &str,
        app: &AppRequest,
        error: &ForwardError,
    ) -> Result<(), ApiError> {
        let (status, error_type) = match error {
            ForwardError::Timeout { .. } => (504, "Adapter.AppTimeout"),
            ForwardError::Failed { .. } => (502, "Adapter.AppUnreachable"),
        };
        if app.source == Source::PassThrough {
            return self.fail(id, error_type, error.to_string(), None).await;
        }
        let response = HttpResponse {
            status,
            reason: None,
            headers: vec![(
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            )],
            body: Bytes::from(format!("{error}\n")),
        };
        let result = adapter::result(&app.source, &response);
        self.api.respond(id, Bytes::from(result.to_string())).await
    }

    async fn too_large(
        &self,
        id: &str,
        app: &AppRequest,
        size: Option<usize>,
    ) -> Result<(), ApiError> {
        let size = size.map_or_else(
            || format!("more than {PAYLOAD_LIMIT} bytes"),
            |s| format!("{s} bytes as a Lambda result"),
        );
        let message = format!(
            "the app's response to {} {} is {size}, over Lambda's 6 MB limit for a buffered response: stream it (AWS_LWA_INVOKE_MODE=response_stream behind a RESPONSE_STREAM function URL) or make it smaller",
            app.method, app.path
        );
        log(&format!("{id}: {message}"));
        self.fail(id, "Adapter.ResponseTooLarge", message, None)
            .await
    }

    async fn fail(
        &self,
        id: &str,
        error_type: &str,
        message: String,
        extra: Option<serde_json::Value>,
    ) -> Result<(), ApiError> {
        let mut document = json!({"errorType": error_type, "errorMessage": message});
        if let (Some(serde_json::Value::Object(extra)), Some(object)) =
            (extra, document.as_object_mut())
        {
            object.extend(extra);
        }
        self.api.fail(id, error_type, document).await
    }

    fn address(&self) -> String {
        let config = self.forwarder.config();
        format!("{}:{}", config.host, config.port)
    }
}

/// Header pairs in order; a value that is not UTF-8 is read as Latin-1, as HTTP/1.1 allows.
fn header_pairs(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let text = match value.to_str() {
                Ok(text) => text.to_string(),
                Err(_) => value.as_bytes().iter().map(|&b| char::from(b)).collect(),
            };
            (name.as_str().to_string(), text)
        })
        .collect()
}

/// A line in the function's log.
pub fn log(message: &str) {
    eprintln!("lambdaship-adapter: {message}");
}
