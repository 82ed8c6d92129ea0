//! The head of a streamed response, for the Runtime API's streaming mode.

use serde_json::json;

use super::result::{end_to_end, v2_headers};
use crate::headers::grouped;
use crate::stream::DELIMITER;
use crate::types::HttpResponse;

/// The bytes that start a streamed response (`RESPONSE_STREAM`, content type
/// `application/vnd.awslambda.http-integration-response`): the JSON prelude
/// `{"statusCode": ..., "headers": {...}, "cookies": [...]}` then 8 NUL bytes; the app's
/// body follows as it arrives. Headers are written as in a payload 2.0 result (repeated
/// names joined with `, `, each `Set-Cookie` in `cookies`, no hop-by-hop headers), which is
/// what [`split_stream_prelude`](crate::split_stream_prelude) reads back.
pub fn stream_prelude(response: &HttpResponse) -> Vec<u8> {
    let (headers, cookies) = v2_headers(&grouped(&end_to_end(response)));
    let prelude = json!({
        "statusCode": response.status,
        "headers": headers,
        "cookies": cookies,
    });
    let mut bytes = prelude.to_string().into_bytes();
    bytes.extend_from_slice(&DELIMITER);
    bytes
}
