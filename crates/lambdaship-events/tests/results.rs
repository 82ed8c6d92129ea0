//! Function results → HTTP responses, per front, including every refusal.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use lambdaship_events::{BadResult, Front, HttpRequest, HttpResponse, Kind};
use serde_json::json;

fn get() -> HttpRequest {
    HttpRequest::new("GET", "/prod/x")
}

fn ok(front: &Front, request: &HttpRequest, payload: &str) -> HttpResponse {
    match front.response(request, payload.as_bytes(), false) {
        Ok(response) => response,
        Err(bad) => panic!("refused {payload}: {}", bad.reason),
    }
}

fn bad(front: &Front, request: &HttpRequest, payload: &[u8]) -> BadResult {
    match front.response(request, payload, false) {
        Ok(response) => panic!(
            "accepted {}: {response:?}",
            String::from_utf8_lossy(payload)
        ),
        Err(bad) => bad,
    }
}

fn assert_rest_502(bad: &BadResult) {
    assert_eq!(bad.response.status, 502);
    assert_eq!(
        text(&bad.response),
        r#"{"message":"Internal server error"}"#
    );
    assert_eq!(
        bad.response.header("content-type"),
        Some("application/json")
    );
    assert_eq!(
        bad.response.header("x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
}

#[test]
fn rest_full_result() {
    let front = rest();
    let response = ok(
        &front,
        &get(),
        r#"{"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Num": 3, "X-Flag": true},
            "multiValueHeaders": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]},
            "body": "hello", "isBase64Encoded": false}"#,
    );
    assert_eq!(response.status, 201);
    assert_eq!(response.reason, None);
    assert_eq!(text(&response), "hello");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("x-num"), Some("3"));
    assert_eq!(response.header("x-flag"), Some("true"));
    assert_eq!(
        response.header_values("set-cookie").collect::<Vec<_>>(),
        ["a=1; Path=/", "b=2; Path=/"]
    );
    assert_eq!(response.header_values("content-type").count(), 1);
}

#[test]
fn rest_merges_headers_and_multi_value_headers() {
    let response = ok(
        &rest(),
        &get(),
        r#"{"statusCode": 200,
            "headers": {"X-Both": "same", "X-Extra": "single"},
            "multiValueHeaders": {"X-Both": ["same", "other"], "X-Extra": ["multi"]}}"#,
    );
    assert_eq!(
        response.header_values("x-both").collect::<Vec<_>>(),
        ["same", "other"]
    );
    assert_eq!(
        response.header_values("x-extra").collect::<Vec<_>>(),
        ["multi", "single"]
    );
}

#[test]
fn rest_defaults_and_strips() {
    let response = ok(
        &rest(),
        &get(),
        r#"{"statusCode": "200", "headers": {"Connection": "close", "Transfer-Encoding": "chunked",
            "Content-Length": "999", "Keep-Alive": "timeout=5", "X-Kept": "1"}, "body": null}"#,
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), 0);
    assert_eq!(response.header("content-type"), Some("application/json"));
    for gone in [
        "connection",
        "transfer-encoding",
        "content-length",
        "keep-alive",
    ] {
        assert_eq!(response.header(gone), None, "{gone}");
    }
    assert_eq!(response.header("x-kept"), Some("1"));
    let response = ok(&rest(), &get(), r#"{"statusCode": 204.0}"#);
    assert_eq!(response.status, 204);
    assert_eq!(response.body.len(), 0);
}

#[test]
fn rest_malformed_results() {
    let front = rest();
    let cases: &[(&[u8], &str)] = &[
        (b"not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (
            b"\"Hello\"",
            "must be a JSON object with statusCode, got a string \"Hello\"",
        ),
        (b"42", "got a number 42"),
        (b"[1]", "got an array"),
        (b"null", "got null"),
        (br#"{"body": "x"}"#, "statusCode is missing"),
        (
            br#"{"statusCode": "abc"}"#,
            r#"statusCode must be an integer, got a string "abc""#,
        ),
        (
            br#"{"statusCode": null}"#,
            "statusCode must be an integer, got null",
        ),
        (br#"{"statusCode": 200.5}"#, "statusCode must be an integer"),
        (br#"{"statusCode": 99}"#, "from 100 to 599, got 99"),
        (br#"{"statusCode": 600}"#, "from 100 to 599, got 600"),
        (
            br#"{"statusCode": 200, "foo": 1}"#,
            "unexpected key 'foo' (allowed: statusCode, headers, multiValueHeaders, body, isBase64Encoded)",
        ),
        (
            br#"{"statusCode": 200, "cookies": ["a=1"]}"#,
            "unexpected key 'cookies'",
        ),
        (
            br#"{"statusCode": 200, "body": {"a": 1}}"#,
            "body must be a string or null, got an object",
        ),
        (
            br#"{"statusCode": 200, "body": 5}"#,
            "body must be a string or null, got a number",
        ),
        (
            br#"{"statusCode": 200, "headers": ["x"]}"#,
            "headers must be an object",
        ),
        (
            br#"{"statusCode": 200, "headers": {"X": null}}"#,
            "headers['X'] must be a string, got null",
        ),
        (
            br#"{"statusCode": 200, "headers": {"X": {"y": 1}}}"#,
            "headers['X'] must be a string, got an object",
        ),
        (
            br#"{"statusCode": 200, "multiValueHeaders": {"X": "y"}}"#,
            "multiValueHeaders['X'] must be an array",
        ),
        (
            br#"{"statusCode": 200, "isBase64Encoded": "true"}"#,
            "isBase64Encoded must be true or false",
        ),
    ];
    for (payload, reason) in cases {
        let bad = bad(&front, &get(), payload);
        assert_rest_502(&bad);
        assert!(
            bad.reason.contains(reason),
            "{}: reason {:?} lacks {reason:?}",
            String::from_utf8_lossy(payload),
            bad.reason
        );
    }
}

#[test]
fn rest_function_error_is_502() {
    let payload = br#"{"errorMessage": "boom", "errorType": "ValueError"}"#;
    let bad = rest().response(&get(), payload, true).unwrap_err();
    assert_rest_502(&bad);
    assert!(bad.reason.contains("the function returned an error"));
    assert!(bad.reason.contains("boom"));
    // Even a well-formed result is refused when Lambda reports an error.
    let bad = rest()
        .response(&get(), br#"{"statusCode": 200}"#, true)
        .unwrap_err();
    assert_rest_502(&bad);
}

#[test]
fn rest_binary_follows_the_first_accept_type() {
    let mut front = rest();
    front.binary_media_types = vec!["image/png".to_owned()];
    let payload = r#"{"statusCode": 200, "headers": {"Content-Type": "image/png"},
                      "body": "iVBORw0KGgo=", "isBase64Encoded": true}"#;
    let png = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
    let with_accept = |accept: &str| get().with_header("Accept", accept);

    let response = ok(&front, &with_accept("image/png"), payload);
    assert_eq!(response.body.as_ref(), png);
    // Only the first Accept type counts.
    let response = ok(&front, &with_accept("text/html, image/png"), payload);
    assert_eq!(text(&response), "iVBORw0KGgo=");
    let response = ok(&front, &with_accept("*/*"), payload);
    assert_eq!(text(&response), "iVBORw0KGgo=");
    let response = ok(&front, &get(), payload);
    assert_eq!(text(&response), "iVBORw0KGgo=");

    front.binary_media_types = vec!["*/*".to_owned()];
    let response = ok(
        &front,
        &with_accept("image/webp,image/*,*/*;q=0.8"),
        payload,
    );
    assert_eq!(response.body.as_ref(), png);
    front.binary_media_types = vec!["image/*".to_owned()];
    let response = ok(&front, &with_accept("image/webp"), payload);
    assert_eq!(response.body.as_ref(), png);

    // Invalid base64 is refused only when it would be decoded.
    let broken = r#"{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}"#;
    let bad = bad(&front, &with_accept("image/png"), broken.as_bytes());
    assert_rest_502(&bad);
    assert!(
        bad.reason.contains("body is not valid base64"),
        "{}",
        bad.reason
    );
    assert_eq!(text(&ok(&front, &with_accept("text/html"), broken)), "%%%");
}

#[test]
fn http_v1_results() {
    let front = front(Kind::HttpV1);
    let response = ok(
        &front,
        &get(),
        r#"{"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "aGk=", "isBase64Encoded": true}"#,
    );
    assert_eq!(text(&response), "hi");
    assert_eq!(response.header_values("set-cookie").count(), 2);
    let bad = bad(&front, &get(), br#"{"statusCode": 200, "extra": 1}"#);
    assert_eq!(bad.response.status, 500);
    assert_eq!(
        text(&bad.response),
        r#"{"message":"Internal Server Error"}"#
    );
    let bad = bad_inferred(&front);
    assert!(
        bad.reason.contains("must be a JSON object"),
        "{}",
        bad.reason
    );
}

fn bad_inferred(front: &Front) -> BadResult {
    bad(front, &get(), b"\"Hello\"")
}

#[test]
fn v2_inferred_responses_send_the_result_as_returned() {
    for kind in [Kind::HttpV2, Kind::FunctionUrl] {
        let front = front(kind);
        for payload in [
            "\"Hello, world!\"",
            "{\n  \"message\": \"Hello, world!\"\n}",
            "42",
            "[1, 2]",
            "null",
            "true",
            r#"{"statuscode": 201}"#,
        ] {
            let response = ok(&front, &get(), payload);
            assert_eq!(response.status, 200, "{kind:?} {payload}");
            assert_eq!(text(&response), payload, "{kind:?}");
            assert_eq!(
                response.headers,
                [("content-type".to_owned(), "application/json".to_owned())]
            );
        }
        assert_eq!(ok(&front, &get(), "\"Hello, world!\"").body.len(), 15);
    }
}

#[test]
fn v2_full_results() {
    for kind in [Kind::HttpV2, Kind::FunctionUrl] {
        let front = front(kind);
        let response = ok(
            &front,
            &get(),
            r#"{"statusCode": 201, "headers": {"Content-Type": "application/json", "x-multi": "v1,v2",
                "Connection": "close", "content-length": "1"},
                "cookies": ["s=abc; HttpOnly", "theme=dark; Max-Age=600"],
                "multiValueHeaders": {"ignored": ["x"]},
                "body": "{\"ok\":true}", "isBase64Encoded": false}"#,
        );
        assert_eq!(response.status, 201);
        assert_eq!(text(&response), r#"{"ok":true}"#);
        assert_eq!(response.header("x-multi"), Some("v1,v2"));
        assert_eq!(response.header("ignored"), None);
        assert_eq!(response.header("connection"), None);
        assert_eq!(response.header("content-length"), None);
        assert_eq!(
            response.header_values("set-cookie").collect::<Vec<_>>(),
            ["s=abc; HttpOnly", "theme=dark; Max-Age=600"]
        );
        let response = ok(
            &front,
            &get(),
            r#"{"statusCode": 200, "body": "AAEC/w==", "isBase64Encoded": true}"#,
        );
        assert_eq!(response.body.as_ref(), [0, 1, 2, 255]);
    }
    // API Gateway adds a content type; a Function URL does not.
    let bare = r#"{"statusCode": 200, "body": "x"}"#;
    assert_eq!(
        ok(&front(Kind::HttpV2), &get(), bare).header("content-type"),
        Some("application/json")
    );
    assert_eq!(
        ok(&front(Kind::FunctionUrl), &get(), bare).header("content-type"),
        None
    );
}

#[test]
fn v2_refusals_and_failure_answers() {
    let cases: &[(&[u8], &str)] = &[
        (b"{nope", "not valid JSON"),
        (
            br#"{"statusCode": "abc"}"#,
            r#"statusCode must be an integer, got a string "abc""#,
        ),
        (
            br#"{"statusCode": 200, "cookies": "a=1"}"#,
            "cookies must be an array",
        ),
        (
            br#"{"statusCode": 200, "cookies": [1]}"#,
            "cookies must hold strings",
        ),
        (
            br#"{"statusCode": 200, "headers": {"a": ["x"]}}"#,
            "headers['a'] must be a string",
        ),
        (
            br#"{"statusCode": 200, "body": "***", "isBase64Encoded": true}"#,
            "not valid base64",
        ),
        (
            br#"{"statusCode": 200, "body": ["x"]}"#,
            "body must be a string or null",
        ),
    ];
    for (payload, reason) in cases {
        let http = bad(&front(Kind::HttpV2), &get(), payload);
        assert_eq!(http.response.status, 500);
        assert_eq!(
            text(&http.response),
            r#"{"message":"Internal Server Error"}"#
        );
        assert!(
            http.reason.contains(reason),
            "{} lacks {reason}",
            http.reason
        );
        let url = bad(&front(Kind::FunctionUrl), &get(), payload);
        assert_eq!(url.response.status, 502);
        assert_eq!(text(&url.response), "Internal Server Error");
        assert!(url.reason.contains(reason), "{} lacks {reason}", url.reason);
    }
    let error = front(Kind::FunctionUrl)
        .response(&get(), br#"{"errorMessage":"x"}"#, true)
        .unwrap_err();
    assert_eq!(error.response.status, 502);
    let error = front(Kind::HttpV2)
        .response(&get(), br#"{"errorMessage":"x"}"#, true)
        .unwrap_err();
    assert_eq!(error.response.status, 500);
}

fn assert_alb_502(bad: &BadResult) {
    assert_eq!(bad.response.status, 502);
    assert_eq!(bad.response.reason.as_deref(), Some("Bad Gateway"));
    assert_eq!(
        text(&bad.response),
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    assert_eq!(bad.response.header("content-type"), Some("text/html"));
}

#[test]
fn alb_results_by_mode() {
    let single = front(Kind::Alb { multi_value: false });
    let multi = front(Kind::Alb { multi_value: true });
    let payload = r#"{"statusCode": 404, "statusDescription": "404 Gone Fishing",
        "headers": {"Set-cookie": "only=1", "Content-Type": "text/plain"},
        "multiValueHeaders": {"Set-cookie": ["a=1", "b=2"], "Content-Type": ["text/html"]},
        "body": "nope", "isBase64Encoded": false}"#;
    let response = ok(&single, &get(), payload);
    assert_eq!(response.status, 404);
    assert_eq!(response.reason.as_deref(), Some("Gone Fishing"));
    assert_eq!(
        response.header_values("set-cookie").collect::<Vec<_>>(),
        ["only=1"]
    );
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(text(&response), "nope");
    let response = ok(&multi, &get(), payload);
    assert_eq!(
        response.header_values("set-cookie").collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
    assert_eq!(response.header("content-type"), Some("text/html"));

    let response = ok(
        &single,
        &get(),
        r#"{"statusCode": 200, "body": "AP8=", "isBase64Encoded": true}"#,
    );
    assert_eq!(response.body.as_ref(), [0, 255]);
    assert_eq!(response.reason, None);
    assert_eq!(
        response.header("content-type"),
        None,
        "the ALB adds no type"
    );
}

#[test]
fn alb_refusals() {
    let front = front(Kind::Alb { multi_value: false });
    let cases: &[(&[u8], &str)] = &[
        (br#"{"statusCode": "200"}"#, "statusCode must be an integer"),
        (b"\"Hello\"", "must be a JSON object"),
        (b"garbage", "not valid JSON"),
        (
            br#"{"statusCode": 200, "statusDescription": 5}"#,
            "statusDescription must be a string",
        ),
        (
            br#"{"statusCode": 200, "body": "@@", "isBase64Encoded": true}"#,
            "not valid base64",
        ),
    ];
    for (payload, reason) in cases {
        let bad = bad(&front, &get(), payload);
        assert_alb_502(&bad);
        assert!(bad.reason.contains(reason), "{} lacks {reason}", bad.reason);
    }
    assert_alb_502(&front.response(&get(), b"{}", true).unwrap_err());
    let body = "x".repeat(1024 * 1024);
    let big = json!({"statusCode": 200, "body": body}).to_string();
    let bad = bad(&front, &get(), big.as_bytes());
    assert_alb_502(&bad);
    assert!(bad.reason.contains("ALB's limit"), "{}", bad.reason);
}

#[test]
fn oversized_results_are_refused() {
    let body = "x".repeat(6 * 1024 * 1024);
    let payload = json!({"statusCode": 200, "body": body}).to_string();
    let bad = bad(&rest(), &get(), payload.as_bytes());
    assert_rest_502(&bad);
    assert!(bad.reason.contains("Lambda's limit"), "{}", bad.reason);
}

#[test]
fn answers_to_failed_invocations() {
    let rest_failed = rest().invocation_failed();
    assert_eq!(rest_failed.status, 500);
    assert_eq!(text(&rest_failed), r#"{"message":"Internal server error"}"#);
    let http_failed = front(Kind::HttpV2).invocation_failed();
    assert_eq!(http_failed.status, 500);
    assert_eq!(text(&http_failed), r#"{"message":"Internal Server Error"}"#);
    assert_eq!(front(Kind::HttpV1).invocation_failed().status, 500);
    assert_eq!(front(Kind::FunctionUrl).invocation_failed().status, 502);
    let alb_failed = front(Kind::Alb { multi_value: true }).invocation_failed();
    assert_eq!(alb_failed.status, 502);
    assert!(text(&alb_failed).contains("502 Bad Gateway"));

    assert_eq!(front(Kind::FunctionUrl).throttled().status, 429);
    assert_eq!(rest().throttled().status, 500);
    assert_eq!(
        front(Kind::Alb { multi_value: false }).throttled().status,
        502
    );
}

#[test]
fn headers_that_cannot_be_sent_are_refused() {
    let split = r#"{"statusCode": 200, "headers": {"X-A": "1\r\nSet-Cookie: evil=1"}}"#;
    let bad_name = r#"{"statusCode": 200, "headers": {"Bad Name": "1"}}"#;
    for payload in [split, bad_name] {
        let rest_bad = bad(&rest(), &get(), payload.as_bytes());
        assert_rest_502(&rest_bad);
        assert!(rest_bad.reason.contains("header"), "{}", rest_bad.reason);
        assert_eq!(
            bad(&front(Kind::HttpV2), &get(), payload.as_bytes())
                .response
                .status,
            500
        );
        assert_alb_502(&bad(
            &front(Kind::Alb { multi_value: false }),
            &get(),
            payload.as_bytes(),
        ));
    }
    let cookie = r#"{"statusCode": 200, "cookies": ["a=1\nb=2"]}"#;
    let url_bad = bad(&front(Kind::FunctionUrl), &get(), cookie.as_bytes());
    assert!(url_bad.reason.contains("set-cookie"), "{}", url_bad.reason);
}
