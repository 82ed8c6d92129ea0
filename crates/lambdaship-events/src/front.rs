//! The fronts: what calls the function and how it is configured, and the entry points that
//! turn a request into that front's event and a result into its response.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::answers;
use crate::event;
use crate::ids;
use crate::limits::{ALB_LAMBDA_LIMIT, API_GATEWAY_BODY_LIMIT, LAMBDA_PAYLOAD_LIMIT};
use crate::result;
use crate::types::{BadResult, HttpRequest, HttpResponse, Refusal, RequestMeta};

/// Which front calls the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// API Gateway REST API, Lambda proxy integration (payload 1.0) on a catch-all API
    /// (`/` and `/{proxy+}`).
    Rest,
    /// API Gateway HTTP API, payload 2.0, `$default` route.
    HttpV2,
    /// API Gateway HTTP API, payload 1.0, `$default` route.
    HttpV1,
    /// A Lambda Function URL (payload 2.0 shape).
    FunctionUrl,
    /// An Application Load Balancer target group; `multi_value` is the target group's
    /// `lambda.multi_value_headers.enabled`.
    Alb {
        /// Whether the target group passes headers and query parameters as arrays.
        multi_value: bool,
    },
}

/// Which front calls the function and how it is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Front {
    /// The kind of front.
    pub kind: Kind,
    /// REST: the stage name (requests are served under `/{stage}/...`).
    /// HttpV2/HttpV1: `$default` (no prefix) or a stage name (served under `/{stage}/...`).
    /// FunctionUrl and Alb: ignored.
    pub stage: String,
    /// Stage variables (REST and HTTP API only); empty → `null`/omitted.
    pub stage_variables: BTreeMap<String, String>,
    /// REST only: the API's `binaryMediaTypes`, e.g. `["image/png", "image/*", "*/*"]`.
    pub binary_media_types: Vec<String>,
    /// The REST/HTTP API id, or the Function URL's url-id.
    pub api_id: String,
    /// The account that owns the API or function, e.g. `000000000000`.
    pub account_id: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The domain name in `requestContext`; `None` → the AWS form
    /// (`{api_id}.execute-api.{region}.amazonaws.com`, `{url_id}.lambda-url.{region}.on.aws`).
    pub domain_name: Option<String>,
    /// ALB: `requestContext.elb.targetGroupArn`.
    pub target_group_arn: String,
}

impl Front {
    /// A front of `kind` with placeholder ids: stage `prod` for REST and `$default`
    /// otherwise, account `000000000000`, region `us-east-1`, an API id of 10 characters
    /// (32 for a Function URL, as AWS makes them) and a target group ARN in that account.
    pub fn new(kind: Kind) -> Front {
        let api_id = match kind {
            Kind::FunctionUrl => "lambdashiplocalfunctionurl000000",
            _ => "lambdaship",
        };
        Front {
            kind,
            stage: if kind == Kind::Rest { "prod" } else { "$default" }.to_owned(),
            stage_variables: BTreeMap::new(),
            binary_media_types: Vec::new(),
            api_id: api_id.to_owned(),
            account_id: "000000000000".to_owned(),
            region: "us-east-1".to_owned(),
            domain_name: None,
            target_group_arn:
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/lambdaship/0000000000000000"
                    .to_owned(),
        }
    }

    /// The domain name the front reports in `requestContext.domainName`.
    pub fn domain_name(&self) -> String {
        if let Some(domain) = &self.domain_name {
            return domain.clone();
        }
        match self.kind {
            Kind::FunctionUrl => format!("{}.lambda-url.{}.on.aws", self.api_id, self.region),
            _ => format!("{}.execute-api.{}.amazonaws.com", self.api_id, self.region),
        }
    }

    /// A request id in this front's style: a UUID for REST and Function URLs (the Lambda
    /// guide's Function URL example and a live capture both show one), the short
    /// base64-ish form like `LV7fzho-PHcEJPw=` for HTTP APIs of either payload version
    /// (the HTTP API guide's 1.0 example has `"requestId": "id="`). An ALB event has no
    /// request id; this returns a UUID for the logs.
    pub fn new_request_id(&self) -> String {
        match self.kind {
            Kind::HttpV2 | Kind::HttpV1 => ids::short_id(),
            Kind::Rest | Kind::FunctionUrl | Kind::Alb { .. } => ids::uuid(),
        }
    }

    /// The event JSON for `request`, or the answer the front itself gives without calling
    /// the function (bad path or escapes, body or event too large).
    pub fn event(&self, request: &HttpRequest, meta: &RequestMeta) -> Result<Value, Refusal> {
        let json = self.event_json(request, meta)?;
        serde_json::from_slice(&json).map_err(|error| Refusal {
            response: answers::json_message(500, "Internal server error", None),
            reason: format!("the event written is not JSON: {error}"),
        })
    }

    /// [`Front::event`] as the bytes sent to the function.
    pub fn event_json(
        &self,
        request: &HttpRequest,
        meta: &RequestMeta,
    ) -> Result<Vec<u8>, Refusal> {
        let limit = self.max_request_body();
        if request.body.len() > limit {
            return Err(Refusal {
                response: self.too_large(),
                reason: format!(
                    "request body is {} bytes, above this front's limit of {limit} bytes",
                    request.body.len()
                ),
            });
        }
        let event = match self.kind {
            Kind::Rest => event::rest(self, request, meta)?,
            Kind::HttpV1 => event::http_v1(self, request, meta)?,
            Kind::HttpV2 => event::to_json(&event::http_v2(self, request, meta)?)?,
            Kind::FunctionUrl => event::to_json(&event::function_url(self, request, meta)?)?,
            Kind::Alb { multi_value } => {
                event::to_json(&event::alb(self, request, meta, multi_value))?
            }
        };
        let size = event.len();
        if size > LAMBDA_PAYLOAD_LIMIT {
            return Err(Refusal {
                response: self.too_large(),
                reason: format!(
                    "the event is {size} bytes of JSON, above Lambda's limit of {LAMBDA_PAYLOAD_LIMIT} bytes for a synchronous invocation"
                ),
            });
        }
        Ok(event)
    }

    /// Maps the function's result to the HTTP response this front returns.
    ///
    /// `payload` is what the function returned; `function_error` says Lambda reported an
    /// error (`X-Amz-Function-Error`). `request` is the original request (REST needs its
    /// `Accept` header). `Err` carries why the result was refused; the caller then sends
    /// `err.response`.
    pub fn response(
        &self,
        request: &HttpRequest,
        payload: &[u8],
        function_error: bool,
    ) -> Result<HttpResponse, BadResult> {
        self.map_result(request, payload, function_error)
            .map_err(|reason| BadResult {
                response: self.bad_result_answer(),
                reason,
            })
    }

    fn map_result(
        &self,
        request: &HttpRequest,
        payload: &[u8],
        function_error: bool,
    ) -> Result<HttpResponse, String> {
        if function_error {
            return Err(format!(
                "the function returned an error: {}",
                result::excerpt(payload)
            ));
        }
        if payload.len() > LAMBDA_PAYLOAD_LIMIT {
            return Err(format!(
                "the result is {} bytes, above Lambda's limit of {LAMBDA_PAYLOAD_LIMIT} bytes",
                payload.len()
            ));
        }
        match self.kind {
            Kind::Rest => result::v1(payload, Some((request, &self.binary_media_types))),
            Kind::HttpV1 => result::v1(payload, None),
            Kind::HttpV2 => result::v2(payload, true),
            Kind::FunctionUrl => result::v2(payload, false),
            Kind::Alb { multi_value } => {
                if payload.len() > ALB_LAMBDA_LIMIT {
                    return Err(format!(
                        "the result is {} bytes, above the ALB's limit of {ALB_LAMBDA_LIMIT} bytes for a Lambda response",
                        payload.len()
                    ));
                }
                result::alb(payload, multi_value)
            }
        }
    }

    /// What this front sends when the function failed or its result was refused.
    fn bad_result_answer(&self) -> HttpResponse {
        match self.kind {
            Kind::Rest => answers::rest_internal_error(502),
            Kind::HttpV2 | Kind::HttpV1 => answers::http_api_internal_error(),
            Kind::FunctionUrl => answers::function_url_error(),
            Kind::Alb { .. } => answers::alb_page(502, "Bad Gateway"),
        }
    }

    /// The answer when the invocation itself failed (Lambda refused it or the function
    /// could not start): 500 for API Gateway (REST: "If the Lambda API rejects the
    /// invocation request, API Gateway returns a 500"), 502 for Function URLs and ALBs
    /// (ELB guide: a Lambda target that "returned an error or ... was throttled" → 502).
    pub fn invocation_failed(&self) -> HttpResponse {
        match self.kind {
            Kind::Rest => answers::rest_internal_error(500),
            Kind::HttpV2 | Kind::HttpV1 => answers::http_api_internal_error(),
            Kind::FunctionUrl => answers::function_url_error(),
            Kind::Alb { .. } => answers::alb_page(502, "Bad Gateway"),
        }
    }

    /// The answer when Lambda throttled the invocation: a Function URL says 429 (Lambda
    /// guide, "Throttling function URLs"); the other fronts answer as for any refused
    /// invocation.
    pub fn throttled(&self) -> HttpResponse {
        match self.kind {
            Kind::FunctionUrl => answers::function_url_throttled(),
            _ => self.invocation_failed(),
        }
    }

    /// Largest request body this front accepts: 10 MB for API Gateway, 6 MB for Function
    /// URLs (the event must fit Lambda's 6 MB in any case, which `event` checks), 1 MB for
    /// an ALB.
    pub fn max_request_body(&self) -> usize {
        match self.kind {
            Kind::Rest | Kind::HttpV2 | Kind::HttpV1 => API_GATEWAY_BODY_LIMIT,
            Kind::FunctionUrl => LAMBDA_PAYLOAD_LIMIT,
            Kind::Alb { .. } => ALB_LAMBDA_LIMIT,
        }
    }

    /// The answer to a request above `max_request_body` or whose event would exceed
    /// Lambda's 6 MB: 413 `{"message":"Request Too Long"}` for API Gateway and Function
    /// URLs, 413 with the ALB's HTML page for an ALB.
    pub fn too_large(&self) -> HttpResponse {
        match self.kind {
            Kind::Alb { .. } => answers::alb_page(413, "Request Entity Too Large"),
            _ => answers::request_too_long(),
        }
    }
}
