//! Invoke: synchronous (`RequestResponse`), asynchronous (`Event`, queued with retries) and
//! `DryRun`, with the headers the SDKs read back.

use base64::Engine;
use bytes::Bytes;
use lambdaship_runtime::{Answered, FunctionResult, InvokeOutcome, InvokeRequest};

use super::functions::merge_qualifier;
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::queue::AsyncEvent;

/// Largest synchronous payload, bytes.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous payload, bytes.
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;
/// How much of the log `X-Amz-Log-Type: Tail` returns.
const LOG_TAIL_BYTES: usize = 4096;
/// Largest decoded client context.
const MAX_CLIENT_CONTEXT: usize = 3583;

impl Service {
    /// `POST /2015-03-31/functions/{name}/invocations`.
    pub(crate) async fn invoke(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.rie_alias(name);
        let reference = self.partition.parse_function(&name)?;
        let qualifier = merge_qualifier(reference.qualifier, call.query("Qualifier"))?;
        let doc = self
            .store
            .function(&reference.name)
            .ok_or_else(|| self.function_not_found(&reference.name, qualifier.as_deref()))?;
        let invocation_type = call
            .header("x-amz-invocation-type")
            .unwrap_or("RequestResponse");
        let limit = match invocation_type {
            "RequestResponse" | "DryRun" => MAX_SYNC_PAYLOAD,
            "Event" => MAX_ASYNC_PAYLOAD,
            other => {
                return Err(ApiError::validation(
                    other,
                    "invocationType",
                    "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
                ));
            }
        };
        if call.body.len() > limit {
            return Err(ApiError::too_large(
                "RequestTooLargeException",
                limit,
                "InvokeFunction",
            ));
        }
        let payload = if call.body.is_empty() {
            // Lambda hands a function `{}` when the caller sends no payload.
            Bytes::from_static(b"{}")
        } else {
            serde_json::from_slice::<serde::de::IgnoredAny>(&call.body).map_err(|e| {
                ApiError::bad_content(format!(
                    "Could not parse request body into json: Could not parse payload into json: {e}"
                ))
            })?;
            call.body.clone()
        };
        let client_context = call
            .header("x-amz-client-context")
            .map(decode_client_context)
            .transpose()?;
        let resolved = self.resolve(&doc, qualifier.as_deref())?;
        let version = resolved.clone();
        let request_id = uuid::Uuid::new_v4().to_string();
        match invocation_type {
            "DryRun" => {
                let mut reply = Reply::empty(204);
                reply.request_id = Some(request_id);
                Ok(reply)
            }
            "Event" => {
                self.queue.push(AsyncEvent {
                    function: reference.name.clone(),
                    qualifier: qualifier.clone(),
                    payload,
                    request_id: request_id.clone(),
                    client_context,
                    attempt: 0,
                    enqueued: std::time::Instant::now(),
                });
                let mut reply = Reply::empty(202);
                reply.request_id = Some(request_id);
                Ok(reply)
            }
            _ => {
                let request = InvokeRequest {
                    payload,
                    qualifier: qualifier.clone(),
                    client_context,
                    trace_id: call.header("x-amzn-trace-id").map(str::to_string),
                    request_id: Some(request_id),
                    ..InvokeRequest::default()
                };
                let tail = call
                    .header("x-amz-log-type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("Tail"));
                // The log tail ends with the REPORT line: only then does the caller wait for
                // the end of the invoke phase.
                let (answered, logs) = if tail {
                    let outcome = self.run(&version, request).await?;
                    let answered = Answered {
                        request_id: outcome.request_id,
                        result: outcome.result,
                        streamed: outcome.streamed,
                    };
                    (answered, Some(outcome.logs))
                } else {
                    (self.run_answered(&version, request).await?, None)
                };
                let mut headers = vec![("x-amz-executed-version", version.version.clone())];
                let content_type = match &answered.result {
                    FunctionResult::Success { content_type, .. } => content_type.clone(),
                    FunctionResult::Error { .. } => {
                        headers.push(("x-amz-function-error", "Unhandled".to_string()));
                        None
                    }
                };
                headers.push((
                    "content-type",
                    content_type.unwrap_or_else(|| "application/json".to_string()),
                ));
                if let Some(logs) = logs {
                    let tail = &logs[logs.len().saturating_sub(LOG_TAIL_BYTES)..];
                    headers.push((
                        "x-amz-log-result",
                        base64::engine::general_purpose::STANDARD.encode(tail),
                    ));
                }
                Ok(Reply {
                    status: 200,
                    headers,
                    body: answered.result.payload().clone(),
                    request_id: Some(answered.request_id),
                })
            }
        }
    }

    /// Invokes `name` (at `qualifier`) synchronously, as a front (Function URL, the
    /// gateway of `lambdaship dev`) does: `request.payload` must be the event, at most 6 MB.
    /// Returns as soon as the function has answered.
    pub async fn invoke_function(
        &self,
        name: &str,
        qualifier: Option<&str>,
        request: InvokeRequest,
    ) -> Result<Answered, ApiError> {
        let doc = self
            .store
            .function(name)
            .ok_or_else(|| self.function_not_found(name, qualifier))?;
        let version = self.resolve(&doc, qualifier)?.clone();
        self.run_answered(&version, request).await
    }

    async fn run(
        &self,
        version: &crate::model::FunctionVersion,
        request: InvokeRequest,
    ) -> Result<InvokeOutcome, ApiError> {
        let outcome = self.engine.invoke(version, request).await;
        self.retire_if_stale(version);
        outcome
    }

    async fn run_answered(
        &self,
        version: &crate::model::FunctionVersion,
        request: InvokeRequest,
    ) -> Result<Answered, ApiError> {
        let answered = self.engine.invoke_answered(version, request).await;
        self.retire_if_stale(version);
        answered
    }

    /// An invocation that resolved its version just before an update may have started a pool
    /// of code the update already retired: retire it again now that it has run.
    pub(crate) fn retire_if_stale(&self, version: &crate::model::FunctionVersion) {
        let current = self.store.function(&version.name).and_then(|doc| {
            if version.version == "$LATEST" {
                Some(doc.latest.revision_id.clone())
            } else {
                let number = version.version.parse::<u64>().ok()?;
                doc.versions.get(&number).map(|v| v.revision_id.clone())
            }
        });
        if current.as_deref() != Some(version.revision_id.as_str()) {
            let stale_version = version.version.clone();
            let stale_revision = version.revision_id.clone();
            self.engine.retire(&version.name, move |v, r| {
                v != stale_version || r != stale_revision
            });
        }
    }

    /// The Runtime Interface Emulator's path names the function `function`: when no function
    /// has that name and the service holds exactly one, that one is meant.
    fn rie_alias(&self, name: &str) -> String {
        if name == "function" && self.store.function("function").is_none() {
            let functions = self.store.functions();
            if let [only] = functions.as_slice() {
                return only.latest.name.clone();
            }
        }
        name.to_string()
    }
}

/// `X-Amz-Client-Context`: base64 of a JSON object of at most 3583 bytes.
fn decode_client_context(encoded: &str) -> Result<String, ApiError> {
    let invalid =
        || ApiError::invalid("Client context must be a valid Base64-encoded JSON object.");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    if bytes.len() > MAX_CLIENT_CONTEXT {
        return Err(ApiError::invalid(format!(
            "Client context must be smaller than {MAX_CLIENT_CONTEXT} bytes."
        )));
    }
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
        .map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}
