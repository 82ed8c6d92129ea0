//! Payload format 1.0: the REST API proxy event, and the same shape with `"version":"1.0"`
//! from an HTTP API.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fields::{Grouped, Pick};
use super::v2::http_api_path;
use super::{bad_request, domain_prefix, stage_variables, to_json};
use crate::answers;
use crate::body::{EventBody, http_api_text, matches_binary_types, media_type};
use crate::front::{Front, Kind};
use crate::headers::{self, Drop, Naming};
use crate::ids;
use crate::path::{check_escapes, or_root, strip_stage};
use crate::query;
use crate::time::{access_log_time, epoch_millis};
use crate::types::{HttpRequest, Refusal, RequestMeta};

/// The REST API proxy event for a catch-all API (resources `/` and `/{proxy+}`).
///
/// `path` is the path after `/{stage}` and `requestContext.path` the path as requested;
/// both stay percent-encoded, and so does `pathParameters.proxy`, as in a live capture
/// (hotsock/voker `vokerhttp/testdata/apigwv1-request.json`: `"path":
/// "/capture/space%20value"`, `"proxy": "capture/space%20value"`). The query is decoded.
pub(crate) fn rest(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
) -> Result<Vec<u8>, Refusal> {
    let raw_path = or_root(&request.path);
    check_escapes(raw_path).map_err(|e| bad_request(format!("path {raw_path:?}: {e}")))?;
    let Some(path) = strip_stage(raw_path, &front.stage) else {
        return Err(Refusal {
            response: answers::missing_authentication_token(),
            reason: format!(
                "path {raw_path:?} is not under the stage: this REST API serves /{}/...",
                front.stage
            ),
        });
    };
    let pairs = rest_query(request.query.as_deref())?;
    let (resource, proxy) = if path == "/" {
        ("/", None)
    } else {
        ("/{proxy+}", Some(&path[1..]))
    };
    let media = request.header("content-type").map(media_type);
    let body = EventBody::of(
        &request.body,
        !matches_binary_types(media.as_deref(), &front.binary_media_types),
    );
    let headers = headers::event_headers(
        request,
        Naming::Rest,
        Drop {
            hop_by_hop: true,
            content_length: true,
            cookie: false,
        },
        meta.time,
    );
    write(
        front,
        request,
        meta,
        Parsed {
            resource,
            path: &path,
            context_path: raw_path,
            proxy,
            query: &pairs,
            headers: &headers,
            body: &body,
        },
    )
}

/// The query pairs as REST reads them: split at `&` and `;`, decoded. A raw `|`, `{` or
/// `}` is refused: REST's known-issues page says they "must be URL-encoded".
fn rest_query(raw: Option<&str>) -> Result<Vec<(String, String)>, Refusal> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if let Some(c) = raw.chars().find(|c| matches!(c, '|' | '{' | '}')) {
        return Err(bad_request(format!(
            "query contains a raw {c:?}, which REST APIs do not accept: percent-encode it"
        )));
    }
    query::decoded_pairs(raw, &['&', ';']).map_err(bad_request)
}

/// The HTTP API payload 1.0 event for the `$default` route.
///
/// The path keeps the stage prefix of a named stage (as `rawPath` does in 2.0) and is
/// decoded, as HTTP APIs decode paths (middleapi/standard-server PR #93, from live
/// captures). `queryStringParameters` keeps the first of repeated values, as in the HTTP API
/// guide's 1.0 example (`"parameter1": "value1"` next to `["value1", "value2"]`), while
/// `headers` keeps the last (`"header2": "value2"` in the same example).
pub(crate) fn http_v1(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
) -> Result<Vec<u8>, Refusal> {
    let path = http_api_path(front, request)?;
    let pairs = match request.query.as_deref() {
        Some(raw) => query::decoded_pairs(raw, &['&']).map_err(bad_request)?,
        None => Vec::new(),
    };
    let media = request.header("content-type").map(media_type);
    let body = EventBody::of(&request.body, http_api_text(media.as_deref()));
    let headers = headers::event_headers(
        request,
        Naming::HttpV1,
        Drop {
            hop_by_hop: true,
            content_length: false,
            cookie: false,
        },
        meta.time,
    );
    write(
        front,
        request,
        meta,
        Parsed {
            resource: "$default",
            path: &path,
            context_path: &path,
            proxy: None,
            query: &pairs,
            headers: &headers,
            body: &body,
        },
    )
}

/// What a front read from a request, for [`write`].
struct Parsed<'a> {
    resource: &'a str,
    /// `path`.
    path: &'a str,
    /// `requestContext.path`.
    context_path: &'a str,
    /// `pathParameters.proxy`.
    proxy: Option<&'a str>,
    query: &'a [(String, String)],
    headers: &'a [(String, String)],
    body: &'a EventBody,
}

/// The payload 1.0 event of `parsed`. REST and HTTP APIs differ in the rest as the front's
/// kind says: REST keeps a repeated query key's last value, HTTP API 1.0 its first (and says
/// `"version": "1.0"`); REST has a resource id, API key fields and a short extended request
/// id, HTTP API repeats the request id.
fn write(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
    parsed: Parsed<'_>,
) -> Result<Vec<u8>, Refusal> {
    let rest = front.kind == Kind::Rest;
    let domain = front.domain_name();
    let extended_request_id = if rest {
        ids::short_id()
    } else {
        meta.request_id.clone()
    };
    let query = Grouped::of(parsed.query);
    let headers = Grouped::of(parsed.headers);
    let sorted_headers = headers.sorted();
    let event = PayloadV1 {
        version: (!rest).then_some("1.0"),
        resource: parsed.resource,
        path: parsed.path,
        http_method: &request.method,
        headers: headers.last(),
        multi_value_headers: sorted_headers.all(),
        query_string_parameters: if rest {
            query.last_or_null()
        } else {
            query.first_or_null()
        },
        multi_value_query_string_parameters: query.all_or_null(),
        path_parameters: parsed.proxy.map(|proxy| Proxy { proxy }),
        stage_variables: stage_variables(front),
        request_context: ContextV1 {
            account_id: &front.account_id,
            api_id: &front.api_id,
            domain_name: &domain,
            domain_prefix: domain_prefix(&domain),
            extended_request_id: &extended_request_id,
            http_method: &request.method,
            identity: Identity::of(request, rest),
            path: parsed.context_path,
            protocol: &request.protocol,
            request_id: &meta.request_id,
            request_time: access_log_time(meta.time),
            request_time_epoch: epoch_millis(meta.time),
            resource_id: rest.then(|| ids::resource_id(&front.api_id, parsed.resource)),
            resource_path: parsed.resource,
            stage: &front.stage,
        },
        body: parsed.body.text(),
        is_base64_encoded: parsed.body.is_base64(),
    };
    to_json(&event)
}

/// A payload 1.0 event, its fields in the order AWS's examples list them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PayloadV1<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: Pick<'a, 'a>,
    multi_value_headers: Pick<'a, 'a>,
    query_string_parameters: Option<Pick<'a, 'a>>,
    multi_value_query_string_parameters: Option<Pick<'a, 'a>>,
    path_parameters: Option<Proxy<'a>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: ContextV1<'a>,
    body: Option<&'a str>,
    is_base64_encoded: bool,
}

/// `pathParameters` of the `{proxy+}` resource.
#[derive(Serialize)]
struct Proxy<'a> {
    proxy: &'a str,
}

/// `requestContext` of payload 1.0.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextV1<'a> {
    account_id: &'a str,
    api_id: &'a str,
    domain_name: &'a str,
    domain_prefix: String,
    extended_request_id: &'a str,
    http_method: &'a str,
    identity: Identity<'a>,
    path: &'a str,
    protocol: &'a str,
    request_id: &'a str,
    request_time: String,
    request_time_epoch: u64,
    resource_id: Option<String>,
    resource_path: &'a str,
    stage: &'a str,
}

/// `requestContext.identity` of an unauthenticated request: only the source address and
/// user agent are known; REST also lists the API key fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    access_key: Option<&'a str>,
    account_id: Option<&'a str>,
    caller: Option<&'a str>,
    cognito_authentication_provider: Option<&'a str>,
    cognito_authentication_type: Option<&'a str>,
    cognito_identity_id: Option<&'a str>,
    cognito_identity_pool_id: Option<&'a str>,
    principal_org_id: Option<&'a str>,
    source_ip: &'a str,
    user: Option<&'a str>,
    user_agent: Option<&'a str>,
    user_arn: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    api_key: Option<ApiKey>,
}

/// REST's API key fields, unknown without a usage plan.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiKey {
    api_key: Option<String>,
    api_key_id: Option<String>,
}

impl<'a> Identity<'a> {
    fn of(request: &'a HttpRequest, with_api_key: bool) -> Identity<'a> {
        Identity {
            access_key: None,
            account_id: None,
            caller: None,
            cognito_authentication_provider: None,
            cognito_authentication_type: None,
            cognito_identity_id: None,
            cognito_identity_pool_id: None,
            principal_org_id: None,
            source_ip: &request.source_ip,
            user: None,
            user_agent: request.header("user-agent"),
            user_arn: None,
            api_key: with_api_key.then_some(ApiKey {
                api_key: None,
                api_key_id: None,
            }),
        }
    }
}
