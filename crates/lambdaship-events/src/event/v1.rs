//! Payload format 1.0: the REST API proxy event, and the same shape with `"version":"1.0"`
//! from an HTTP API.

use serde_json::{Value, json};

use super::v2::http_api_path;
use super::{bad_request, domain_prefix, stage_variables};
use crate::answers;
use crate::body::{EventBody, http_api_text, matches_binary_types, media_type};
use crate::front::Front;
use crate::headers::{self, Drop, Naming};
use crate::ids;
use crate::path::{check_escapes, or_root, strip_stage};
use crate::query::{self, Pick};
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
) -> Result<Value, Refusal> {
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
    let (resource, path_parameters) = if path == "/" {
        ("/", Value::Null)
    } else {
        ("/{proxy+}", json!({ "proxy": &path[1..] }))
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
    let domain = front.domain_name();
    let context = json!({
        "accountId": front.account_id,
        "apiId": front.api_id,
        "domainName": domain,
        "domainPrefix": domain_prefix(&domain),
        "extendedRequestId": ids::short_id(),
        "httpMethod": request.method,
        "identity": identity(request, true),
        "path": raw_path,
        "protocol": request.protocol,
        "requestId": meta.request_id,
        "requestTime": access_log_time(meta.time),
        "requestTimeEpoch": epoch_millis(meta.time),
        "resourceId": ids::resource_id(&front.api_id, resource),
        "resourcePath": resource,
        "stage": front.stage,
    });
    Ok(json!({
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": headers::last_values(&headers),
        "multiValueHeaders": headers::all_values(&headers),
        "queryStringParameters": query_or_null(&pairs, Pick::Last),
        "multiValueQueryStringParameters": multi_or_null(&pairs),
        "pathParameters": path_parameters,
        "stageVariables": stage_variables(front),
        "requestContext": context,
        "body": body.value(Value::Null),
        "isBase64Encoded": body.is_base64(),
    }))
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
) -> Result<Value, Refusal> {
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
    let domain = front.domain_name();
    let context = json!({
        "accountId": front.account_id,
        "apiId": front.api_id,
        "domainName": domain,
        "domainPrefix": domain_prefix(&domain),
        "extendedRequestId": meta.request_id,
        "httpMethod": request.method,
        "identity": identity(request, false),
        "path": path,
        "protocol": request.protocol,
        "requestId": meta.request_id,
        "requestTime": access_log_time(meta.time),
        "requestTimeEpoch": epoch_millis(meta.time),
        "resourceId": Value::Null,
        "resourcePath": "$default",
        "stage": front.stage,
    });
    Ok(json!({
        "version": "1.0",
        "resource": "$default",
        "path": path,
        "httpMethod": request.method,
        "headers": headers::last_values(&headers),
        "multiValueHeaders": headers::all_values(&headers),
        "queryStringParameters": query_or_null(&pairs, Pick::First),
        "multiValueQueryStringParameters": multi_or_null(&pairs),
        "pathParameters": Value::Null,
        "stageVariables": stage_variables(front),
        "requestContext": context,
        "body": body.value(Value::Null),
        "isBase64Encoded": body.is_base64(),
    }))
}

/// `requestContext.identity` of an unauthenticated request: only the source address and
/// user agent are known; REST also lists the API key fields.
fn identity(request: &HttpRequest, with_api_key: bool) -> Value {
    let mut identity = json!({
        "accessKey": null,
        "accountId": null,
        "caller": null,
        "cognitoAuthenticationProvider": null,
        "cognitoAuthenticationType": null,
        "cognitoIdentityId": null,
        "cognitoIdentityPoolId": null,
        "principalOrgId": null,
        "sourceIp": request.source_ip,
        "user": null,
        "userAgent": request.header("user-agent"),
        "userArn": null,
    });
    if with_api_key {
        if let Some(fields) = identity.as_object_mut() {
            fields.insert("apiKey".to_owned(), Value::Null);
            fields.insert("apiKeyId".to_owned(), Value::Null);
        }
    }
    identity
}

fn query_or_null(pairs: &[(String, String)], pick: Pick) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        Value::Object(query::single_map(pairs, pick))
    }
}

fn multi_or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        Value::Object(query::multi_map(pairs))
    }
}
