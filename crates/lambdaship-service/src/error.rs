//! Errors as the Lambda API reports them: a status, an `X-Amzn-ErrorType` code and a JSON
//! body `{"Type","message"}` that the SDKs turn into their exception classes.

use serde_json::{Value, json};

/// An error answer of the Lambda API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The exception name, sent in `X-Amzn-ErrorType`.
    pub code: &'static str,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
    /// `User` for the caller's mistakes, `Service` for ours.
    pub kind: &'static str,
    /// Extra body fields some errors carry (e.g. the throttling `Reason`).
    pub extra: Vec<(&'static str, Value)>,
}

impl ApiError {
    fn user(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            kind: "User",
            extra: Vec::new(),
        }
    }

    /// 400 InvalidParameterValueException: a value the service refuses.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::user(400, "InvalidParameterValueException", message)
    }

    /// 400 ValidationException: a value outside the API model's constraints, worded as AWS
    /// words it (`1 validation error detected: Value 'x' at 'field' failed to satisfy ...`).
    pub fn validation(value: &str, field: &str, constraint: &str) -> ApiError {
        ApiError::user(
            400,
            "ValidationException",
            format!(
                "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    /// 400 InvalidRequestContentException: a body that is not what the operation reads.
    pub fn bad_content(message: impl Into<String>) -> ApiError {
        ApiError::user(400, "InvalidRequestContentException", message)
    }

    /// 404 ResourceNotFoundException.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::user(404, "ResourceNotFoundException", message)
    }

    /// 409 ResourceConflictException.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::user(409, "ResourceConflictException", message)
    }

    /// 412 PreconditionFailedException: a RevisionId that is no longer current.
    pub fn stale_revision(what: &str) -> ApiError {
        ApiError::user(
            412,
            "PreconditionFailedException",
            format!(
                "The Revision Id provided does not match the latest Revision Id. Call the {what} API to retrieve the latest Revision Id"
            ),
        )
    }

    /// 413 for an operation's request size limit; `code` is the exception AWS names.
    pub fn too_large(code: &'static str, limit: usize, operation: &str) -> ApiError {
        ApiError::user(
            413,
            code,
            format!("Request must be smaller than {limit} bytes for the {operation} operation"),
        )
    }

    /// 429 TooManyRequestsException with the throttling reason.
    pub fn throttled(limit: usize) -> ApiError {
        let mut error = ApiError::user(
            429,
            "TooManyRequestsException",
            format!(
                "Rate Exceeded. The function already has {limit} invocations in flight (lambdaship server --concurrency)."
            ),
        );
        error.extra.push((
            "Reason",
            Value::String("ReservedFunctionConcurrentInvocationLimitExceeded".to_string()),
        ));
        error
    }

    /// 502 InvalidRuntimeException: the function's runtime cannot start on this machine.
    pub fn runtime_unavailable(message: impl Into<String>) -> ApiError {
        ApiError::user(502, "InvalidRuntimeException", message)
    }

    /// 500 ServiceException: the service itself failed (state store, disk).
    pub fn service(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            code: "ServiceException",
            message: message.into(),
            kind: "Service",
            extra: Vec::new(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({"Type": self.kind, "message": self.message});
        if let Value::Object(map) = &mut body {
            for (key, value) in &self.extra {
                map.insert((*key).to_string(), value.clone());
            }
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
