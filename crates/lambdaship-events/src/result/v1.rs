//! Payload 1.0 results: REST proxy integrations and HTTP API payload 1.0.

use bytes::Bytes;

use super::fields;
use crate::body::{decode_base64, matches_binary_types, media_type};
use crate::headers::{check_response_headers, strip_response_headers};
use crate::types::{HttpRequest, HttpResponse};

/// The keys a 1.0 result may have: any other makes API Gateway answer 502 (the SAM
/// maintainers found this against AWS, aws/aws-sam-cli PR #1154). `cookies` belongs to
/// payload 2.0 and is refused here too.
const ALLOWED: [&str; 5] = [
    "statusCode",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
];

/// The response for a payload 1.0 result. `rest` carries the request and the API's binary
/// media types for a REST API, which decodes a base64 body only when the request's first
/// `Accept` media type matches them (otherwise the client gets the base64 text); an HTTP
/// API (`None`) always decodes it.
pub(crate) fn v1(
    payload: &[u8],
    rest: Option<(&HttpRequest, &Vec<String>)>,
) -> Result<HttpResponse, String> {
    let value = fields::parse(payload)?;
    let object = fields::object(&value)?;
    fields::only_keys(object, &ALLOWED)?;
    let status = fields::status_code(object, true)?;
    let single = fields::headers(object, "headers")?;
    let multi = fields::multi_headers(object, "multiValueHeaders")?;
    let body = fields::body(object)?.unwrap_or("");
    let encoded = fields::base64_flag(object)?;
    let mut headers = merge(single, multi);
    let decode = encoded
        && match rest {
            Some((request, binary_media_types)) => {
                let accept = first_accept(request);
                matches_binary_types(accept.as_deref(), binary_media_types)
            }
            None => true,
        };
    let body = if decode {
        Bytes::from(decode_base64(body)?)
    } else {
        Bytes::copy_from_slice(body.as_bytes())
    };
    strip_response_headers(&mut headers);
    check_response_headers(&headers)?;
    // "API Gateway includes a Content-Type header for all integration responses. By
    // default, the content type is application/json." (known issues)
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    Ok(HttpResponse {
        status,
        reason: None,
        headers,
        body,
    })
}

/// `headers` and `multiValueHeaders` merged as the REST guide says: "If both carry the same
/// key, API Gateway merges them into a single list. If the same key-value pair is specified
/// in both, only the values from multiValueHeaders will appear." Names compare without
/// case, as HTTP header names do.
fn merge(
    single: Vec<(String, String)>,
    multi: Vec<(String, Vec<String>)>,
) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = multi
        .iter()
        .flat_map(|(name, values)| values.iter().map(move |v| (name.clone(), v.clone())))
        .collect();
    for (name, value) in single {
        let duplicate = multi
            .iter()
            .any(|(n, values)| n.eq_ignore_ascii_case(&name) && values.contains(&value));
        if !duplicate {
            merged.push((name, value));
        }
    }
    merged
}

/// The request's first `Accept` media type (API Gateway "honors only the first Accept media
/// type", payload encodings guide).
fn first_accept(request: &HttpRequest) -> Option<String> {
    let accept = request.header("accept")?;
    let first = accept.split(',').next()?;
    let media = media_type(first);
    if media.is_empty() { None } else { Some(media) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn merges_without_repeating_shared_pairs() {
        let single = pairs(&[("Set-Cookie", "b=2"), ("X-One", "1"), ("x-multi", "v1")]);
        let multi = vec![
            (
                "Set-Cookie".to_owned(),
                vec!["a=1".to_owned(), "b=2".to_owned()],
            ),
            ("X-Multi".to_owned(), vec!["v1".to_owned(), "v2".to_owned()]),
        ];
        assert_eq!(
            merge(single, multi),
            pairs(&[
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
                ("X-Multi", "v1"),
                ("X-Multi", "v2"),
                ("X-One", "1"),
            ])
        );
    }

    #[test]
    fn first_accept_type() {
        let request =
            HttpRequest::new("GET", "/").with_header("Accept", "Image/WebP;q=1, */*;q=0.8");
        assert_eq!(first_accept(&request), Some("image/webp".to_owned()));
        assert_eq!(first_accept(&HttpRequest::new("GET", "/")), None);
    }
}
