//! Response streaming for Function URLs: the HTTP head a streaming function sends before
//! its body.
//!
//! With `RESPONSE_STREAM`, a function answering a Function URL writes (content type
//! `application/vnd.awslambda.http-integration-response`) a JSON prelude
//! `{"statusCode": ..., "headers": {...}, "cookies": [...]}`, then 8 NUL bytes, then the
//! raw body (reference: lambda-protocols.md §1.3).

use bytes::Bytes;

use crate::headers::{check_response_headers, strip_response_headers};
use crate::result::fields;
use crate::types::HttpResponse;

/// The delimiter between prelude and body.
pub(crate) const DELIMITER: [u8; 8] = [0; 8];

/// A prelude longer than this without a delimiter is refused rather than buffered forever.
pub const MAX_STREAM_PRELUDE: usize = 1024 * 1024;

/// Splits the head off a streamed Function URL response.
///
/// `None` while `buffer` does not yet hold the 8 NUL bytes (read more and call again).
/// Otherwise the response head (status, headers, one `set-cookie` per cookie; empty body)
/// and how many bytes of `buffer` the prelude and delimiter took: the body starts there.
/// `Err` says why the prelude is unusable (not a JSON object, a bad `statusCode`,
/// `headers` or `cookies`, or no delimiter within `MAX_STREAM_PRELUDE` bytes). A missing
/// `statusCode` means 200. JSON cannot hold a raw NUL, so the first 8 NULs end the prelude.
pub fn split_stream_prelude(buffer: &[u8]) -> Option<Result<(HttpResponse, usize), String>> {
    let Some(end) = buffer.windows(DELIMITER.len()).position(|w| w == DELIMITER) else {
        if buffer.len() > MAX_STREAM_PRELUDE {
            return Some(Err(format!(
                "no 8-NUL delimiter in the first {MAX_STREAM_PRELUDE} bytes of the streamed response"
            )));
        }
        return None;
    };
    let head = buffer
        .get(..end)
        .map(parse_prelude)
        .unwrap_or_else(|| Err("the delimiter position is outside the buffer".to_owned()));
    Some(head.map(|head| (head, end + DELIMITER.len())))
}

fn parse_prelude(prelude: &[u8]) -> Result<HttpResponse, String> {
    let value = serde_json::from_slice::<serde_json::Value>(prelude)
        .map_err(|e| format!("the stream prelude is not valid JSON ({e})"))?;
    let Some(object) = value.as_object() else {
        return Err(format!(
            "the stream prelude must be a JSON object, got {}",
            fields::describe(&value)
        ));
    };
    let status = if object.contains_key("statusCode") {
        fields::status_code(object, true)?
    } else {
        200
    };
    let mut headers = fields::headers(object, "headers")?;
    strip_response_headers(&mut headers);
    headers.extend(
        fields::cookies(object)?
            .into_iter()
            .map(|cookie| ("set-cookie".to_owned(), cookie)),
    );
    check_response_headers(&headers)?;
    Ok(HttpResponse {
        status,
        reason: None,
        headers,
        body: Bytes::new(),
    })
}
