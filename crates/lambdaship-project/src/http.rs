//! `[tool.lambdaship.http]`: how `lambdaship dev` serves a function over HTTP (which AWS
//! front, its stage, binary media types, stage variables, CORS).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// The AWS front that calls the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Api {
    /// API Gateway REST API, Lambda proxy integration (payload 1.0).
    Rest,
    /// API Gateway HTTP API (payload 2.0, or 1.0 with `payload_format = "1.0"`).
    Http,
    /// A Lambda Function URL.
    Url,
    /// An Application Load Balancer target group.
    Alb,
}

impl FromStr for Api {
    type Err = String;
    fn from_str(value: &str) -> Result<Api, String> {
        match value {
            "rest" => Ok(Api::Rest),
            "http" => Ok(Api::Http),
            "url" => Ok(Api::Url),
            "alb" => Ok(Api::Alb),
            other => Err(format!(
                "unknown api `{other}`: use rest (API Gateway REST), http (API Gateway HTTP API), url (Function URL) or alb"
            )),
        }
    }
}

impl TryFrom<String> for Api {
    type Error = String;
    fn try_from(value: String) -> Result<Api, String> {
        value.parse()
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::Rest => "rest",
            Api::Http => "http",
            Api::Url => "url",
            Api::Alb => "alb",
        })
    }
}

/// A Function URL's invoke mode (`InvokeMode` in the Function URL API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum UrlInvokeMode {
    /// The response is sent once the function has returned.
    #[serde(rename = "BUFFERED")]
    Buffered,
    /// The response streams as the function writes it.
    #[serde(rename = "RESPONSE_STREAM")]
    ResponseStream,
}

/// An HTTP API's payload format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum PayloadFormat {
    /// `"1.0"`: the REST shape plus `version`.
    V1,
    /// `"2.0"`: rawPath, cookies, comma-joined headers.
    V2,
}

impl TryFrom<String> for PayloadFormat {
    type Error = String;
    fn try_from(value: String) -> Result<PayloadFormat, String> {
        match value.as_str() {
            "1.0" => Ok(PayloadFormat::V1),
            "2.0" => Ok(PayloadFormat::V2),
            other => Err(format!(
                "unknown payload_format `{other}`: use \"2.0\" or \"1.0\""
            )),
        }
    }
}

/// A stage name as API Gateway allows it: 1-128 of `[A-Za-z0-9_-]`, or `$default` (HTTP API).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Stage(pub String);

impl TryFrom<String> for Stage {
    type Error = String;
    fn try_from(value: String) -> Result<Stage, String> {
        let valid = value == "$default"
            || (!value.is_empty()
                && value.len() <= 128
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        if valid {
            Ok(Stage(value))
        } else {
            Err(format!(
                "invalid stage `{value}`: 1 to 128 letters, digits, `-` or `_` (or `$default` for an HTTP API)"
            ))
        }
    }
}

/// A media type pattern such as `image/png`, `image/*` or `*/*`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MediaType(pub String);

impl TryFrom<String> for MediaType {
    type Error = String;
    fn try_from(value: String) -> Result<MediaType, String> {
        let valid = value
            .split_once('/')
            .is_some_and(|(kind, sub)| !kind.is_empty() && !sub.is_empty() && !sub.contains('/'));
        if valid && !value.contains(char::is_whitespace) {
            Ok(MediaType(value))
        } else {
            Err(format!(
                "invalid media type `{value}`: write TYPE/SUBTYPE, e.g. `image/png`, `image/*` or `*/*`"
            ))
        }
    }
}

/// CORS as API Gateway HTTP APIs and Function URLs configure it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed (`*` for any).
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Methods allowed (`*` for any).
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Request headers allowed (`*` for any).
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Response headers the browser may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a preflight answer may be cached, seconds.
    pub max_age: Option<u32>,
    /// Whether credentials (cookies) are allowed.
    #[serde(default)]
    pub allow_credentials: bool,
}

/// `[tool.lambdaship.http]` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The front `lambdaship dev` serves by default.
    pub api: Option<Api>,
    /// The stage: REST default `dev`, HTTP API default `$default`.
    pub stage: Option<Stage>,
    /// HTTP API payload format.
    pub payload_format: Option<PayloadFormat>,
    /// REST binary media types.
    #[serde(default)]
    pub binary_media_types: Vec<MediaType>,
    /// Stage variables (REST and HTTP API).
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    /// ALB: the target group's `lambda.multi_value_headers.enabled`.
    #[serde(default)]
    pub multi_value_headers: bool,
    /// CORS, answered by the front (HTTP API and Function URL style).
    pub cors: Option<CorsConfig>,
    /// The Function URL front's invoke mode. Unset: `RESPONSE_STREAM` for a web function
    /// whose adapter streams (`AWS_LWA_INVOKE_MODE=response_stream`), `BUFFERED` otherwise.
    pub invoke_mode: Option<UrlInvokeMode>,
}

impl HttpConfig {
    /// Checks what serde cannot: stage variable names and values, CORS values.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (name, value) in &self.stage_variables {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err((
                    format!("stage_variables.{name}"),
                    "a stage variable name is letters, digits and `_`".to_string(),
                ));
            }
            let allowed =
                |c: char| c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(c) || c == ' ';
            if value.len() > 2048 || !value.chars().all(allowed) {
                return Err((
                    format!("stage_variables.{name}"),
                    "a stage variable value is at most 2048 of letters, digits, spaces and -._~:/?#&=,".to_string(),
                ));
            }
        }
        if let Some(cors) = &self.cors {
            for method in &cors.allow_methods {
                let known = [
                    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*",
                ];
                if !known.contains(&method.to_ascii_uppercase().as_str()) {
                    return Err((
                        "cors.allow_methods".to_string(),
                        format!(
                            "`{method}` is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *"
                        ),
                    ));
                }
            }
            if cors.max_age.is_some_and(|age| age > 86_400) {
                return Err((
                    "cors.max_age".to_string(),
                    "at most 86400 seconds".to_string(),
                ));
            }
        }
        Ok(())
    }
}
