//! ALB target results.

use bytes::Bytes;

use super::fields;
use crate::body::decode_base64;
use crate::headers::{check_response_headers, strip_response_headers};
use crate::types::HttpResponse;

/// The response for an ALB result: `statusCode` must be an integer (not a string);
/// `statusDescription` ("200 OK") gives the reason phrase; headers come from
/// `multiValueHeaders` in multi-value mode and from `headers` otherwise, the other field
/// being ignored (ELB guide: "You must use multiValueHeaders if you have enabled
/// multi-value headers and headers otherwise"); `isBase64Encoded` is honoured.
pub(crate) fn alb(payload: &[u8], multi_value: bool) -> Result<HttpResponse, String> {
    let value = fields::parse(payload)?;
    let object = fields::object(&value)?;
    let status = fields::status_code(object, false)?;
    let reason = match object.get("statusDescription") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(description)) => reason_phrase(description, status),
        Some(other) => {
            return Err(format!(
                "statusDescription must be a string like \"200 OK\", got {}",
                fields::describe(other)
            ));
        }
    };
    let mut headers = if multi_value {
        fields::multi_headers(object, "multiValueHeaders")?
            .into_iter()
            .flat_map(|(name, values)| values.into_iter().map(move |v| (name.clone(), v)))
            .collect()
    } else {
        fields::headers(object, "headers")?
    };
    let body = fields::body(object)?.unwrap_or("");
    let body = if fields::base64_flag(object)? {
        Bytes::from(decode_base64(body)?)
    } else {
        Bytes::copy_from_slice(body.as_bytes())
    };
    strip_response_headers(&mut headers);
    check_response_headers(&headers)?;
    Ok(HttpResponse {
        status,
        reason,
        headers,
        body,
    })
}

/// The reason phrase of a `statusDescription`, which is "status code and reason phrase,
/// separated by a single space": `"404 Not Found"` → `Not Found`. A description that does
/// not start with the code is used whole.
fn reason_phrase(description: &str, status: u16) -> Option<String> {
    let code = status.to_string();
    let phrase = match description.strip_prefix(&code) {
        Some(rest) => rest.trim_start(),
        None => description.trim(),
    };
    // A reason phrase may not hold line breaks or other control characters (RFC 9112 §4).
    let clean = !phrase.is_empty() && phrase.chars().all(|c| c == '\t' || !c.is_control());
    clean.then(|| phrase.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase("200 OK", 200), Some("OK".to_owned()));
        assert_eq!(
            reason_phrase("404 Not Found", 404),
            Some("Not Found".to_owned())
        );
        assert_eq!(reason_phrase("Teapot", 418), Some("Teapot".to_owned()));
        assert_eq!(reason_phrase("200", 200), None);
        assert_eq!(reason_phrase("200 bad\r\nx", 200), None);
    }
}
