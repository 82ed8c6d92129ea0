//! The AWS front `dev` serves, from `[tool.lambdaship.http]` and the command line, and the
//! HTTP server that carries it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use lambdaship_events::cors::Cors;
use lambdaship_events::{Front, Kind};
use lambdaship_gateway::front::{FrontLog, Gateway, from_wire};
use lambdaship_gateway::http1;
use lambdaship_project::{Api, FunctionSpec, PayloadFormat, UrlInvokeMode};
use lambdaship_service::Service;
use lambdaship_service::urls::FunctionBackend;

use crate::{DevError, DevOptions};

/// The REST stage when none is configured.
const DEFAULT_REST_STAGE: &str = "dev";
/// The id every dev API (and Function URL) carries in its events.
const DEV_API_ID: &str = "lambdashipdev";

/// Whether `spec`'s Function URL streams: as configured, else as its adapter answers.
fn url_streams(spec: &FunctionSpec) -> bool {
    match spec.http.invoke_mode {
        Some(mode) => mode == UrlInvokeMode::ResponseStream,
        None => {
            spec.web.is_some()
                && spec
                    .environment
                    .get("AWS_LWA_INVOKE_MODE")
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("response_stream"))
        }
    }
}

/// The front chosen for this session.
pub struct FrontChoice {
    kind: Kind,
    api: Api,
    stage: String,
    stage_variables: BTreeMap<String, String>,
    binary_media_types: Vec<String>,
    cors: Option<Cors>,
    region: String,
    /// A Function URL in `RESPONSE_STREAM` mode.
    streaming: bool,
}

impl FrontChoice {
    /// The front `spec` asks for, with the command line's overrides.
    pub fn new(spec: &FunctionSpec, options: &DevOptions) -> Result<FrontChoice, DevError> {
        let http = &spec.http;
        let api = options.api.or(http.api).unwrap_or(Api::Rest);
        let kind = match api {
            Api::Rest => Kind::Rest,
            Api::Http => match http.payload_format {
                Some(PayloadFormat::V1) => Kind::HttpV1,
                _ => Kind::HttpV2,
            },
            Api::Url => Kind::FunctionUrl,
            Api::Alb => Kind::Alb {
                multi_value: http.multi_value_headers,
            },
        };
        let configured = options
            .stage
            .clone()
            .or_else(|| http.stage.as_ref().map(|s| s.0.clone()));
        let stage = match api {
            Api::Rest => {
                let stage = configured.unwrap_or_else(|| DEFAULT_REST_STAGE.to_string());
                if stage == "$default" {
                    return Err(DevError::Front(
                        "a REST API has no `$default` stage: name one (--stage dev)".to_string(),
                    ));
                }
                stage
            }
            Api::Http => configured.unwrap_or_else(|| "$default".to_string()),
            Api::Url | Api::Alb => "$default".to_string(),
        };
        if let Some(stage) = &options.stage {
            lambdaship_project::Stage::try_from(stage.clone())
                .map_err(|e| DevError::Front(format!("--stage: {e}")))?;
        }
        let cors = http.cors.as_ref().map(|c| Cors {
            allow_origins: c.allow_origins.clone(),
            allow_methods: c.allow_methods.clone(),
            allow_headers: c.allow_headers.clone(),
            expose_headers: c.expose_headers.clone(),
            max_age: c.max_age,
            allow_credentials: c.allow_credentials,
        });
        Ok(FrontChoice {
            kind,
            api,
            stage,
            stage_variables: http.stage_variables.clone(),
            binary_media_types: http
                .binary_media_types
                .iter()
                .map(|m| m.0.clone())
                .collect(),
            cors,
            region: options.region.clone(),
            streaming: kind == Kind::FunctionUrl && url_streams(spec),
        })
    }

    /// The path prefix of the served URL: `/STAGE` for REST and named HTTP API stages.
    pub fn prefix(&self) -> String {
        match self.api {
            Api::Rest | Api::Http if self.stage != "$default" => format!("/{}/", self.stage),
            _ => "/".to_string(),
        }
    }

    /// The front in words, for the banner.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Rest => format!("API Gateway REST API (payload 1.0, stage {})", self.stage),
            Kind::HttpV2 => format!("API Gateway HTTP API (payload 2.0, stage {})", self.stage),
            Kind::HttpV1 => format!("API Gateway HTTP API (payload 1.0, stage {})", self.stage),
            Kind::FunctionUrl => format!(
                "Lambda Function URL (auth NONE, {})",
                if self.streaming {
                    "RESPONSE_STREAM"
                } else {
                    "BUFFERED"
                }
            ),
            Kind::Alb { multi_value } => format!(
                "Application Load Balancer ({} headers)",
                if multi_value {
                    "multi-value"
                } else {
                    "single-value"
                }
            ),
        }
    }

    /// The front in front of `function` of `service`.
    pub fn gateway(&self, service: &Arc<Service>, function: &str) -> Gateway {
        let front = Front {
            kind: self.kind,
            stage: self.stage.clone(),
            stage_variables: self.stage_variables.clone(),
            binary_media_types: self.binary_media_types.clone(),
            api_id: DEV_API_ID.to_string(),
            account_id: service.partition().account.clone(),
            region: self.region.clone(),
            domain_name: None,
            target_group_arn: format!(
                "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{function}/lambdaship",
                self.region,
                service.partition().account
            ),
        };
        Gateway {
            front,
            cors: self.cors.clone(),
            streaming: self.streaming,
            backend: Arc::new(FunctionBackend {
                service: service.clone(),
                function: function.to_string(),
                qualifier: None,
            }),
            log: Arc::new(StderrFrontLog),
        }
    }

    /// Whether the front is an ALB (its own 413 page and 1 MB limit).
    pub fn is_alb(&self) -> bool {
        matches!(self.kind, Kind::Alb { .. })
    }
}

/// Front failures on standard error, where the function's logs also go.
struct StderrFrontLog;

impl FrontLog for StderrFrontLog {
    fn line(&self, text: &str) {
        eprintln!("[gateway] {text}");
    }
}

/// Serves `listener`: each request goes to the gateway current when it arrives.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Arc<RwLock<Arc<Gateway>>>,
    alb: bool,
) {
    // Bodies above the front's limit are refused before they are read.
    let limits = http1::Limits {
        max_body: if alb {
            lambdaship_events::ALB_LAMBDA_LIMIT
        } else {
            lambdaship_events::API_GATEWAY_BODY_LIMIT
        },
        // Each connection may hold a body in memory: bounded in all to about 1 GB.
        max_connections: 100,
        ..http1::Limits::default()
    };
    let too_large = if alb { alb_too_large } else { api_too_large };
    http1::serve(listener, limits, too_large, move |request| {
        let current = gateway
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        async move { current.handle(from_wire(request), None).await }
    })
    .await;
}

/// A body over API Gateway's 10 MB.
fn api_too_large() -> http1::Response {
    lambdaship_gateway::front::full(Front::new(Kind::Rest).too_large())
}

/// A body over an ALB's 1 MB.
fn alb_too_large() -> http1::Response {
    lambdaship_gateway::front::full(Front::new(Kind::Alb { multi_value: false }).too_large())
}
