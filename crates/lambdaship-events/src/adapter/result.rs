//! The app's response → the function's result, in the shape of the event's front.

use serde_json::{Map, Value, json};

use super::Source;
use crate::body::{EventBody, media_type, response_text};
use crate::front::Kind;
use crate::headers::{grouped, is_hop_by_hop};
use crate::status::reason_phrase;
use crate::types::HttpResponse;

/// The function's result for the app's buffered `response` to an event from `source`.
///
/// - REST and HTTP API 1.0: `statusCode`, `multiValueHeaders` with every header (no
///   `headers`: API Gateway merges the two and would repeat values, lambda_http #567),
///   `body`, `isBase64Encoded`.
/// - HTTP API 2.0 and Function URLs: `statusCode`, `headers` with a repeated name's values
///   joined by `, ` (RFC 9110 §5.3), `cookies` with each `Set-Cookie` (which cannot be
///   joined), `body`, `isBase64Encoded`.
/// - ALB: `statusCode`, `statusDescription` (`"200 OK"`), `multiValueHeaders` in
///   multi-value mode and otherwise `headers`, joined as for 2.0 except that each
///   `Set-Cookie` gets its own spelling of the name (`set-cookie`, `Set-cookie`, ...) so
///   that none is lost, the trick Mangum and serverless-wsgi use; then `body`,
///   `isBase64Encoded`.
/// - Pass-through: the body itself when it is JSON, otherwise the body as a JSON string
///   (base64 when it is not UTF-8); the Lambda Web Adapter returns `null` there.
///
/// The body is text when the response has no `Content-Encoding`, its type is textual (see
/// `response_text`) and it is valid UTF-8, and base64 otherwise: never decoded lossily.
/// Hop-by-hop headers (`Connection`, `Transfer-Encoding`, ...) describe the connection to
/// the app and are left out. The status goes as it is: whether an error status should fail
/// the invocation is the caller's choice.
pub fn result(source: &Source, response: &HttpResponse) -> Value {
    if *source == Source::PassThrough {
        return pass_through(&response.body);
    }
    let headers = grouped(&end_to_end(response));
    let mut result = Map::new();
    result.insert("statusCode".to_owned(), json!(response.status));
    match *source {
        // Answered above; listed so that a new source must say its shape here.
        Source::PassThrough => {}
        Source::Front(Kind::Rest) | Source::Front(Kind::HttpV1) => {
            result.insert("multiValueHeaders".to_owned(), multi_values(&headers));
        }
        Source::Front(Kind::HttpV2) | Source::Front(Kind::FunctionUrl) => {
            let (single, cookies) = v2_headers(&headers);
            result.insert("headers".to_owned(), Value::Object(single));
            result.insert("cookies".to_owned(), json!(cookies));
        }
        Source::Front(Kind::Alb { multi_value }) => {
            result.insert(
                "statusDescription".to_owned(),
                json!(status_description(response)),
            );
            if multi_value {
                result.insert("multiValueHeaders".to_owned(), multi_values(&headers));
            } else {
                result.insert("headers".to_owned(), Value::Object(alb_single(&headers)));
            }
        }
    }
    let body = body(response);
    result.insert("body".to_owned(), body.value(json!("")));
    result.insert("isBase64Encoded".to_owned(), json!(body.is_base64()));
    Value::Object(result)
}

/// The response's headers without the hop-by-hop ones.
pub(super) fn end_to_end(response: &HttpResponse) -> Vec<(String, String)> {
    response
        .headers
        .iter()
        .filter(|(name, _)| !is_hop_by_hop(name))
        .cloned()
        .collect()
}

/// Payload 2.0 headers: one string per name, `set-cookie` values apart as `cookies`.
pub(super) fn v2_headers(groups: &[(String, Vec<String>)]) -> (Map<String, Value>, Vec<String>) {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, values) in groups {
        if name.eq_ignore_ascii_case("set-cookie") {
            cookies.extend(values.iter().cloned());
        } else {
            headers.insert(name.clone(), Value::String(values.join(", ")));
        }
    }
    (headers, cookies)
}

fn multi_values(groups: &[(String, Vec<String>)]) -> Value {
    Value::Object(
        groups
            .iter()
            .map(|(name, values)| (name.clone(), json!(values)))
            .collect(),
    )
}

/// ALB single-value `headers`: one string per name, each `Set-Cookie` under its own
/// spelling of the name.
fn alb_single(groups: &[(String, Vec<String>)]) -> Map<String, Value> {
    let mut headers = Map::new();
    for (name, values) in groups {
        if !name.eq_ignore_ascii_case("set-cookie") {
            headers.insert(name.clone(), Value::String(values.join(", ")));
            continue;
        }
        // "set-cookie" has 9 letters, so 512 spellings; past the 511th cookie the rest
        // share the last spelling, joined, rather than being dropped.
        let spellings = 1usize << name.bytes().filter(u8::is_ascii_alphabetic).count().min(16);
        let kept = values.len().min(spellings - 1);
        for (n, value) in values.iter().take(kept).enumerate() {
            headers.insert(spelling(name, n), Value::String(value.clone()));
        }
        if let Some(rest) = values.get(kept..).filter(|rest| !rest.is_empty()) {
            headers.insert(spelling(name, kept), Value::String(rest.join(", ")));
        }
    }
    headers
}

/// `name` with its `k`th letter upper-cased when bit `k` of `n` is set, lower-cased
/// otherwise: a distinct spelling for every `n` below 2^letters.
fn spelling(name: &str, n: usize) -> String {
    let mut letter = 0;
    name.chars()
        .map(|c| {
            if !c.is_ascii_alphabetic() {
                return c;
            }
            let upper = (n >> letter) & 1 == 1;
            letter += 1;
            if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// `"<code> <reason phrase>"`: the app's own phrase when it sent a usable one, else the
/// standard one; only the code for an unregistered status without a phrase.
fn status_description(response: &HttpResponse) -> String {
    let own = response.reason.as_deref().filter(|phrase| {
        !phrase.is_empty() && !phrase.chars().any(|c| c != '\t' && c.is_control())
    });
    match own.or_else(|| reason_phrase(response.status)) {
        Some(phrase) => format!("{} {phrase}", response.status),
        None => response.status.to_string(),
    }
}

/// The body as the result carries it: text or base64.
fn body(response: &HttpResponse) -> EventBody {
    let media = response.header("content-type").map(media_type);
    let as_text = response.header("content-encoding").is_none() && response_text(media.as_deref());
    EventBody::of(&response.body, as_text)
}

/// A pass-through result: the body as JSON, or as a string when it is not JSON.
fn pass_through(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| EventBody::of(body, true).value(json!("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_distinct() {
        let all: std::collections::BTreeSet<String> =
            (0..512).map(|n| spelling("set-cookie", n)).collect();
        assert_eq!(all.len(), 512);
        assert_eq!(spelling("Set-Cookie", 0), "set-cookie");
        assert_eq!(spelling("set-cookie", 1), "Set-cookie");
        assert_eq!(spelling("set-cookie", 4), "seT-cookie");
        assert_eq!(spelling("set-cookie", 8), "set-Cookie");
    }

    #[test]
    fn more_cookies_than_spellings_are_kept() {
        let values: Vec<String> = (0..514).map(|n| format!("c{n}=1")).collect();
        let headers = alb_single(&[("set-cookie".to_owned(), values)]);
        assert_eq!(headers.len(), 512);
        assert_eq!(headers["set-cookie"], "c0=1");
        assert_eq!(headers["SET-COOKIE"], "c511=1, c512=1, c513=1");
    }

    #[test]
    fn descriptions() {
        let response = |status, reason: Option<&str>| HttpResponse {
            status,
            reason: reason.map(str::to_owned),
            ..HttpResponse::default()
        };
        assert_eq!(status_description(&response(200, None)), "200 OK");
        assert_eq!(status_description(&response(200, Some("Fine"))), "200 Fine");
        assert_eq!(
            status_description(&response(404, Some("x\r\n"))),
            "404 Not Found"
        );
        assert_eq!(status_description(&response(599, None)), "599");
    }
}
