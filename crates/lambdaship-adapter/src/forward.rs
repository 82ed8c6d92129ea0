//! One event's HTTP request to the web app: the target with the base path removed, the
//! headers with Lambda's context added (client copies replaced), and a deadline that leaves
//! the adapter time to answer before the function itself times out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use lambdaship_events::adapter::AppRequest;

use crate::config::AdapterConfig;
use crate::lambda_api::{ApiBody, Invocation};

/// Headers the adapter owns: a client's copies are dropped so they cannot be spoofed.
const CONTEXT_HEADERS: [&str; 3] = [
    "x-amzn-request-context",
    "x-amzn-lambda-context",
    "x-amzn-trace-id",
];

/// How long before the function's deadline the adapter gives up on the app, so that it still
/// answers (a 504) instead of Lambda killing the environment with a timeout.
const ANSWER_MARGIN: Duration = Duration::from_millis(200);

/// Why the app gave no response.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// It did not answer before the deadline.
    #[error(
        "the app did not answer {target} within {waited:.1} s (the function's timeout is near)"
    )]
    Timeout {
        /// `METHOD path`.
        target: String,
        /// How long the adapter waited, seconds.
        waited: f64,
    },
    /// The connection failed or broke.
    #[error("the app at {address} gave no response to {target}: {cause}")]
    Failed {
        /// `host:port`.
        address: String,
        /// `METHOD path`.
        target: String,
        /// What happened, e.g. connection refused.
        cause: String,
    },
}

/// The function's identity for `x-amzn-lambda-context`.
#[derive(Debug, Clone, Default)]
pub struct FunctionEnv {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: String,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group: String,
}

impl FunctionEnv {
    /// Read from the environment Lambda gives extensions (the log names may be absent).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> FunctionEnv {
        FunctionEnv {
            name: lookup("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
            memory_mb: lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .and_then(|m| m.parse().ok())
                .unwrap_or(0),
            version: lookup("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_default(),
            log_stream: lookup("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
            log_group: lookup("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_default(),
        }
    }
}

/// Sends events' requests to the app over a pool of kept-alive connections.
pub struct Forwarder {
    config: AdapterConfig,
    env: FunctionEnv,
    client: Client<HttpConnector, ApiBody>,
}

impl Forwarder {
    /// A forwarder to the app `config` names.
    pub fn new(config: AdapterConfig, env: FunctionEnv) -> Forwarder {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .build(connector);
        Forwarder {
            config,
            env,
            client,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AdapterConfig {
        &self.config
    }

    /// The request for `app` during `invocation`.
    pub fn request(
        &self,
        app: &AppRequest,
        invocation: &Invocation,
    ) -> Result<Request<ApiBody>, String> {
        let path = strip_base_path(&app.path, self.config.remove_base_path.as_deref());
        let target = match &app.query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_string(),
        };
        let uri = format!("http://{}:{}{target}", self.config.host, self.config.port);
        let mut builder = Request::builder().method(app.method.as_str()).uri(uri);
        let renamed = self.config.authorization_source.as_deref();
        for (name, value) in &app.headers {
            let lower = name.to_ascii_lowercase();
            if CONTEXT_HEADERS.contains(&lower.as_str()) {
                continue;
            }
            if renamed.is_some_and(|source| source.eq_ignore_ascii_case(name)) {
                builder = builder.header("authorization", value);
            } else if !(renamed.is_some() && lower == "authorization") {
                builder = builder.header(name, value);
            }
        }
        if let Some(context) = &app.request_context {
            builder = builder.header("x-amzn-request-context", context.to_string());
        }
        builder = builder.header(
            "x-amzn-lambda-context",
            self.lambda_context(invocation).to_string(),
        );
        if let Some(trace) = &invocation.trace_id {
            builder = builder.header("x-amzn-trace-id", trace);
        }
        let body = Full::new(app.body.clone())
            .map_err(|never| match never {})
            .boxed();
        builder.body(body).map_err(|e| e.to_string())
    }

    /// Sends `request`, giving up in time to answer before `deadline_ms`.
    pub async fn send(
        &self,
        request: Request<ApiBody>,
        deadline_ms: u64,
    ) -> Result<hyper::Response<Incoming>, ForwardError> {
        let target = format!("{} {}", request.method(), request.uri().path());
        let budget = answer_budget(deadline_ms);
        match tokio::time::timeout(budget, self.client.request(request)).await {
            Err(_) => Err(ForwardError::Timeout {
                target,
                waited: budget.as_secs_f64(),
            }),
            Ok(Err(error)) => Err(ForwardError::Failed {
                address: format!("{}:{}", self.config.host, self.config.port),
                target,
                cause: describe(&error),
            }),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// `x-amzn-lambda-context`, shaped as the Lambda Web Adapter sends it (the Rust
    /// runtime's `Context`).
    fn lambda_context(&self, invocation: &Invocation) -> serde_json::Value {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        };
        serde_json::json!({
            "request_id": invocation.request_id,
            "deadline": invocation.deadline_ms,
            "invoked_function_arn": invocation.invoked_function_arn,
            "xray_trace_id": invocation.trace_id,
            "client_context": parse(&invocation.client_context),
            "identity": parse(&invocation.cognito_identity),
            "env_config": {
                "function_name": self.env.name,
                "memory": self.env.memory_mb,
                "version": self.env.version,
                "log_stream": self.env.log_stream,
                "log_group": self.env.log_group,
            },
        })
    }
}

/// `path` without `base`, removed once and only at a segment boundary (`/api` leaves
/// `/apix` alone; `/api` itself becomes `/`). The Lambda Web Adapter 1.0 stripped it
/// repeatedly and mid-segment.
pub fn strip_base_path<'a>(path: &'a str, base: Option<&str>) -> &'a str {
    let Some(base) = base
        .map(|b| b.trim_end_matches('/'))
        .filter(|b| !b.is_empty())
    else {
        return path;
    };
    match path.strip_prefix(base) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Time left before the function's deadline, less the margin the adapter keeps to answer.
pub fn answer_budget(deadline_ms: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = Duration::from_millis(deadline_ms.saturating_sub(now));
    // With little time left, keep half of it for the answer instead of the whole margin.
    left.saturating_sub(ANSWER_MARGIN.min(left / 2))
}

/// The cause of a client error, innermost first: "connection refused" rather than hyper's
/// "client error (Connect)".
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let text = innermost.to_string();
    if let Some(io) = innermost.downcast_ref::<std::io::Error>() {
        return match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is the app running and listening on this port?)".to_string()
            }
            std::io::ErrorKind::ConnectionReset => "the connection was reset".to_string(),
            _ => text,
        };
    }
    text
}

/// The whole body of the app's response, up to `limit` bytes; `Err(None)` when it is
/// longer, `Err(Some(reason))` when it broke off.
pub async fn collect_body(body: Incoming, limit: usize) -> Result<Bytes, Option<String>> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(None),
        Err(error) => Err(Some(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_goes_once_at_a_segment_boundary() {
        let api = Some("/api");
        assert_eq!(strip_base_path("/api/users", api), "/users");
        assert_eq!(strip_base_path("/api", api), "/");
        assert_eq!(strip_base_path("/apix/users", api), "/apix/users");
        assert_eq!(strip_base_path("/api/api/users", api), "/api/users");
        assert_eq!(strip_base_path("/other", api), "/other");
        assert_eq!(strip_base_path("/api/users", Some("/api/")), "/users");
        assert_eq!(strip_base_path("/users", None), "/users");
    }

    #[test]
    fn the_budget_keeps_a_margin_before_the_deadline() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        let budget = answer_budget(now + 3_000);
        assert!(budget <= Duration::from_millis(2_800), "{budget:?}");
        assert!(budget >= Duration::from_millis(2_500), "{budget:?}");
        assert_eq!(answer_budget(now.saturating_sub(10)), Duration::ZERO);
        assert!(answer_budget(now + 100) <= Duration::from_millis(50));
    }
}
