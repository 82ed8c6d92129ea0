//! Payload 2.0 results: HTTP API 2.0 and Function URLs.

use bytes::Bytes;
use serde_json::Value;

use super::fields;
use crate::body::decode_base64;
use crate::headers::{check_response_headers, strip_response_headers};
use crate::types::HttpResponse;

/// The response for a payload 2.0 result.
///
/// A JSON object with `statusCode` is read as the full shape: `headers` (one value each),
/// `cookies` (one `Set-Cookie` each), `body`, and `isBase64Encoded`, always honoured. Other
/// keys (such as `multiValueHeaders`, not part of 2.0) are ignored. Any other valid JSON is
/// an inferred response: 200, `content-type: application/json` and, as the body, the
/// result exactly as the function returned it; the Lambda guide's Function URL example
/// shows `"Hello, world!"` reaching the client with its quotes (`content-length: 15`).
/// `default_content_type` adds `Content-Type: application/json` to a full-shape response
/// without one, as API Gateway does for every integration response (known issues); a
/// Function URL adds none.
pub(crate) fn v2(payload: &[u8], default_content_type: bool) -> Result<HttpResponse, String> {
    let value = fields::parse(payload)?;
    let object = match &value {
        Value::Object(object) if object.contains_key("statusCode") => object,
        _ => {
            return Ok(HttpResponse {
                status: 200,
                reason: None,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: Bytes::copy_from_slice(payload),
            });
        }
    };
    let status = fields::status_code(object, true)?;
    let mut headers = fields::headers(object, "headers")?;
    let cookies = fields::cookies(object)?;
    let body = fields::body(object)?.unwrap_or("");
    let body = if fields::base64_flag(object)? {
        Bytes::from(decode_base64(body)?)
    } else {
        Bytes::copy_from_slice(body.as_bytes())
    };
    strip_response_headers(&mut headers);
    if default_content_type
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    headers.extend(cookies.into_iter().map(|c| ("set-cookie".to_owned(), c)));
    check_response_headers(&headers)?;
    Ok(HttpResponse {
        status,
        reason: None,
        headers,
        body,
    })
}
