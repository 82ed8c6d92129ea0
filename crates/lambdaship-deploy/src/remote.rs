//! Invoking a deployed function through the Lambda Invoke API, with the log tail Lambda
//! returns (the last 4 KB of the invocation's log).

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine;

use crate::Clients;
use crate::error::{DeployError, step_failed};

/// The answer of one invocation.
pub struct RemoteAnswer {
    /// The function's result (or its error document).
    pub payload: Vec<u8>,
    /// Set when the function failed: `Unhandled`, or the error type.
    pub function_error: Option<String>,
    /// The decoded log tail.
    pub log_tail: String,
    /// The version that ran.
    pub executed_version: Option<String>,
}

/// Invokes `function` (optionally a version or alias) with `payload`, asking for the log
/// tail.
pub async fn invoke(
    clients: &Clients,
    function: &str,
    qualifier: Option<&str>,
    payload: Vec<u8>,
) -> Result<RemoteAnswer, DeployError> {
    let answer = clients
        .lambda
        .invoke()
        .function_name(function)
        .set_qualifier(qualifier.map(str::to_string))
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            step_failed(
                format!("invoking `{function}`"),
                "lambda:InvokeFunction",
                &e,
            )
        })?;
    let log_tail = answer
        .log_result()
        .and_then(|tail| base64::engine::general_purpose::STANDARD.decode(tail).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Ok(RemoteAnswer {
        payload: answer
            .payload()
            .map(|blob| blob.as_ref().to_vec())
            .unwrap_or_default(),
        function_error: answer.function_error().map(str::to_string),
        log_tail,
        executed_version: answer.executed_version().map(str::to_string),
    })
}
