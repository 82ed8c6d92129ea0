//! Payload format 2.0: the HTTP API event and the Function URL event.

use serde_json::{Map, Value, json};

use super::{bad_request, domain_prefix, stage_variables};
use crate::answers;
use crate::body::{EventBody, http_api_text, media_type};
use crate::front::Front;
use crate::headers::{self, Drop, Naming};
use crate::path::{check_escapes, decode_path, or_root, strip_stage};
use crate::query::{self, Pick};
use crate::time::{access_log_time, epoch_millis};
use crate::types::{HttpRequest, Refusal, RequestMeta};

/// The HTTP API payload 2.0 event for the `$default` route.
///
/// `rawPath` and `http.path` are the decoded path, stage prefix included for a named stage
/// (the live HTTP API capture in hotsock/voker has `"rawPath": "/capture/space value"`
/// for `/capture/space%20value`). `Cookie` headers become `cookies` and leave `headers`.
/// The `$default` route has no path parameters, so `pathParameters` is omitted.
pub(crate) fn http_v2(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
) -> Result<Value, Refusal> {
    let path = http_api_path(front, request)?;
    let mut event = v2_common(
        front,
        request,
        meta,
        &path,
        Drop {
            hop_by_hop: true,
            content_length: false,
            cookie: true,
        },
    )?;
    event.insert("rawPath".to_owned(), Value::String(path));
    if let Some(variables) = stage_variables(front) {
        event.insert("stageVariables".to_owned(), json!(variables));
    }
    if let Some(Value::Object(context)) = event.get_mut("requestContext") {
        context.insert("stage".to_owned(), Value::String(front.stage.clone()));
    }
    Ok(Value::Object(event))
}

/// The Function URL event: the 2.0 shape with `$default` placeholders.
///
/// Unlike HTTP API, `rawPath` stays percent-encoded while `http.path` is decoded, and the
/// `cookie` header stays in `headers` next to `cookies` (live Function URL capture in
/// hotsock/voker). `accountId` is `anonymous` without IAM auth, as in that capture, and
/// the function owner's account with it (Lambda guide, urls-invocation). `authorizer` is
/// `{"iam": ...}` with IAM auth and `null` otherwise; `authentication` is `null`.
pub(crate) fn function_url(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
) -> Result<Value, Refusal> {
    let raw_path = or_root(&request.path);
    check_escapes(raw_path).map_err(|e| bad_request(format!("path {raw_path:?}: {e}")))?;
    let path = decode_path(raw_path).map_err(|e| bad_request(format!("path {raw_path:?}: {e}")))?;
    let mut event = v2_common(
        front,
        request,
        meta,
        &path,
        Drop {
            hop_by_hop: true,
            content_length: false,
            cookie: false,
        },
    )?;
    event.insert("rawPath".to_owned(), Value::String(raw_path.to_owned()));
    let authorizer = match &meta.iam {
        Some(iam) => json!({
            "iam": {
                "accessKey": iam.access_key,
                "accountId": iam.account_id,
                "callerId": iam.caller_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": iam.user_arn,
                "userId": iam.user_id,
            }
        }),
        None => Value::Null,
    };
    let account = if meta.iam.is_some() {
        front.account_id.as_str()
    } else {
        "anonymous"
    };
    if let Some(Value::Object(context)) = event.get_mut("requestContext") {
        context.insert("stage".to_owned(), Value::String("$default".to_owned()));
        context.insert("accountId".to_owned(), Value::String(account.to_owned()));
        context.insert("authentication".to_owned(), Value::Null);
        context.insert("authorizer".to_owned(), authorizer);
    }
    Ok(Value::Object(event))
}

/// The fields HTTP API 2.0 and Function URLs share; the caller adds `rawPath`, `stage` and
/// its own context fields.
fn v2_common(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
    decoded_path: &str,
    drop: Drop,
) -> Result<Map<String, Value>, Refusal> {
    let pairs = match request.query.as_deref() {
        Some(raw) => query::decoded_pairs(raw, &['&']).map_err(bad_request)?,
        None => Vec::new(),
    };
    let media = request.header("content-type").map(media_type);
    let body = EventBody::of(&request.body, http_api_text(media.as_deref()));
    let headers = headers::event_headers(request, Naming::Lower, drop, meta.time);
    let cookies = headers::cookies(request);
    let domain = front.domain_name();
    let context = json!({
        "accountId": front.account_id,
        "apiId": front.api_id,
        "domainName": domain,
        "domainPrefix": domain_prefix(&domain),
        "http": {
            "method": request.method,
            "path": decoded_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent").unwrap_or(""),
        },
        "requestId": meta.request_id,
        "routeKey": "$default",
        "time": access_log_time(meta.time),
        "timeEpoch": epoch_millis(meta.time),
    });
    let mut event = Map::new();
    event.insert("version".to_owned(), json!("2.0"));
    event.insert("routeKey".to_owned(), json!("$default"));
    event.insert(
        "rawQueryString".to_owned(),
        json!(request.query.as_deref().unwrap_or("")),
    );
    if !cookies.is_empty() {
        event.insert("cookies".to_owned(), json!(cookies));
    }
    event.insert(
        "headers".to_owned(),
        Value::Object(headers::joined_values(&headers)),
    );
    if !pairs.is_empty() {
        event.insert(
            "queryStringParameters".to_owned(),
            Value::Object(query::single_map(&pairs, Pick::Joined)),
        );
    }
    event.insert("requestContext".to_owned(), context);
    if let EventBody::Text(text) | EventBody::Base64(text) = &body {
        event.insert("body".to_owned(), Value::String(text.clone()));
    }
    event.insert("isBase64Encoded".to_owned(), json!(body.is_base64()));
    Ok(event)
}

/// The path an HTTP API event carries (either payload version): decoded, stage prefix kept;
/// a path outside a named stage is the API's 404.
pub(crate) fn http_api_path(front: &Front, request: &HttpRequest) -> Result<String, Refusal> {
    let raw_path = or_root(&request.path);
    if front.stage != "$default" && strip_stage(raw_path, &front.stage).is_none() {
        return Err(Refusal {
            response: answers::http_api_not_found(),
            reason: format!(
                "path {raw_path:?} is not under the stage: this HTTP API serves /{}/...",
                front.stage
            ),
        });
    }
    decode_path(raw_path).map_err(|e| bad_request(format!("path {raw_path:?}: {e}")))
}
