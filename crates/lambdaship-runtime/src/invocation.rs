//! What goes into an invocation and what comes out of it.

use bytes::Bytes;
use std::time::Duration;
use tokio::sync::mpsc;

/// One invocation request, as the Invoke API hands it to an execution environment.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// The event, passed to the runtime as is.
    pub payload: Bytes,
    /// The version or alias that was invoked, part of the invoked function ARN.
    pub qualifier: Option<String>,
    /// Decoded client context JSON (the Invoke API receives it base64-encoded).
    pub client_context: Option<String>,
    /// Cognito identity JSON.
    pub cognito_identity: Option<String>,
    /// X-Ray trace header; a fresh unsampled one is made when absent, as Lambda does.
    pub trace_id: Option<String>,
    /// A fixed request id (tests, replays); a fresh UUID otherwise.
    pub request_id: Option<String>,
    /// Where a streamed response's chunks go as they arrive. Without it a streamed
    /// response is collected, as the buffered Invoke API does.
    pub stream_to: Option<mpsc::Sender<Bytes>>,
}

/// The function's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionResult {
    /// The runtime posted a response.
    Success {
        /// Response body (empty when it was streamed to [`InvokeRequest::stream_to`]).
        payload: Bytes,
        /// The runtime's content type.
        content_type: Option<String>,
    },
    /// The function failed: an error it reported, or one Lambda made (timeout, crash,
    /// out of memory, init failure). The Invoke API marks these `X-Amz-Function-Error`.
    Error {
        /// The error document returned to the caller.
        payload: Bytes,
        /// `errorType`, e.g. `Runtime.ImportModuleError` or `Sandbox.Timedout`.
        error_type: String,
    },
}

/// `{"errorMessage","errorType"}`, as Lambda reports its own errors.
pub(crate) fn error_document(error_type: &str, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"errorMessage": message, "errorType": error_type}).to_string())
}

impl FunctionResult {
    /// An error the platform reports (timeout, crash, limits), with Lambda's document.
    pub(crate) fn platform(error_type: &str, message: &str) -> FunctionResult {
        FunctionResult::Error {
            payload: error_document(error_type, message),
            error_type: error_type.to_string(),
        }
    }

    /// The bytes the caller receives.
    pub fn payload(&self) -> &Bytes {
        match self {
            FunctionResult::Success { payload, .. } | FunctionResult::Error { payload, .. } => {
                payload
            }
        }
    }

    /// Whether the function failed.
    pub fn is_error(&self) -> bool {
        matches!(self, FunctionResult::Error { .. })
    }
}

/// The figures of a REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Time from the event's delivery to the end of the invoke phase, capped at the timeout.
    pub duration: Duration,
    /// Whole milliseconds billed.
    pub billed_ms: u64,
    /// Configured memory, MB.
    pub memory_size_mb: u32,
    /// Peak memory of the environment's processes, MB.
    pub max_memory_used_mb: u64,
    /// INIT duration, on a cold start only.
    pub init_duration: Option<Duration>,
    /// `timeout` or `error` when the platform ended the invoke.
    pub status: Option<String>,
    /// The platform error, with `status`.
    pub error_type: Option<String>,
}

/// The outcome of one invocation.
#[derive(Debug, Clone)]
pub struct InvokeOutcome {
    /// The request id the runtime saw.
    pub request_id: String,
    /// The response or the error.
    pub result: FunctionResult,
    /// Whether the runtime streamed its response.
    pub streamed: bool,
    /// The invocation's log lines, START to REPORT (what `X-Amz-Log-Type: Tail` returns).
    pub logs: Vec<u8>,
    /// The REPORT figures.
    pub report: Report,
}
