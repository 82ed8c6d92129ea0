//! REST API proxy events (payload 1.0).
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use lambdaship_events::HttpRequest;
use serde_json::{Value, json};

#[test]
fn proxy_resource_fields() {
    let front = rest();
    let meta = meta(&front);
    let request = HttpRequest::new("POST", "/prod/hello/world?a=1&a=2&b=x+y")
        .with_header("Host", "localhost:3000")
        .with_header("User-Agent", "curl/8.0")
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"a":1}"#)
        .with_source_ip("203.0.113.9");
    let event = front.event(&request, &meta).unwrap();
    assert_eq!(event["resource"], "/{proxy+}");
    assert_eq!(event["path"], "/hello/world");
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["pathParameters"], json!({"proxy": "hello/world"}));
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "2", "b": "x y"})
    );
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"a": ["1", "2"], "b": ["x y"]})
    );
    assert_eq!(event["stageVariables"], Value::Null);
    assert_eq!(event["body"], r#"{"a":1}"#);
    assert_eq!(event["isBase64Encoded"], false);
    assert!(!has(&event, "version"));

    let context = &event["requestContext"];
    assert_eq!(context["path"], "/prod/hello/world");
    assert_eq!(context["resourcePath"], "/{proxy+}");
    assert_eq!(context["stage"], "prod");
    assert_eq!(context["httpMethod"], "POST");
    assert_eq!(context["protocol"], "HTTP/1.1");
    assert_eq!(context["accountId"], "123456789012");
    assert_eq!(context["apiId"], "abc123defg");
    assert_eq!(
        context["domainName"],
        "abc123defg.execute-api.us-east-1.amazonaws.com"
    );
    assert_eq!(context["domainPrefix"], "abc123defg");
    assert_eq!(context["requestId"], meta.request_id.as_str());
    assert_eq!(meta.request_id.len(), 36, "REST request ids are UUIDs");
    assert_eq!(context["extendedRequestId"].as_str().unwrap().len(), 16);
    assert_eq!(context["requestTime"], "15/May/2020:06:01:09 +0000");
    assert_eq!(context["requestTimeEpoch"], EPOCH_MS);
    assert_eq!(context["resourceId"].as_str().unwrap().len(), 6);
    assert_eq!(context["identity"]["sourceIp"], "203.0.113.9");
    assert_eq!(context["identity"]["userAgent"], "curl/8.0");
    assert_eq!(context["identity"]["caller"], Value::Null);
    assert_eq!(context["identity"]["apiKey"], Value::Null);
}

#[test]
fn stage_root_is_the_root_resource() {
    let front = rest();
    for (target, context_path) in [("/prod", "/prod"), ("/prod/", "/prod/")] {
        let event = event(&front, &HttpRequest::new("GET", target));
        assert_eq!(event["resource"], "/", "{target}");
        assert_eq!(event["path"], "/", "{target}");
        assert_eq!(event["pathParameters"], Value::Null, "{target}");
        assert_eq!(event["requestContext"]["path"], context_path);
        assert_eq!(event["requestContext"]["resourcePath"], "/");
        assert_eq!(event["queryStringParameters"], Value::Null);
        assert_eq!(event["multiValueQueryStringParameters"], Value::Null);
        assert_eq!(event["body"], Value::Null);
    }
    let root = event(&front, &HttpRequest::new("GET", "/prod/"));
    let proxy = event(&front, &HttpRequest::new("GET", "/prod/x"));
    assert_ne!(
        root["requestContext"]["resourceId"],
        proxy["requestContext"]["resourceId"]
    );
}

#[test]
fn paths_outside_the_stage_get_missing_authentication_token() {
    let front = rest();
    for target in ["/", "/other/x", "/production", "/Prod/x", ""] {
        let refusal = refusal(&front, &HttpRequest::new("GET", target));
        assert_eq!(refusal.response.status, 403, "{target}");
        assert_eq!(
            text(&refusal.response),
            r#"{"message":"Missing Authentication Token"}"#
        );
        assert_eq!(
            refusal.response.header("content-type"),
            Some("application/json")
        );
        assert_eq!(
            refusal.response.header("x-amzn-ErrorType"),
            Some("MissingAuthenticationTokenException")
        );
        assert!(refusal.reason.contains("/prod/"), "{}", refusal.reason);
    }
}

#[test]
fn paths_stay_percent_encoded() {
    let front = rest();
    let event = event(&front, &HttpRequest::new("GET", "/prod/caf%C3%A9/a%2Fb"));
    assert_eq!(event["path"], "/caf%C3%A9/a%2Fb");
    assert_eq!(event["pathParameters"]["proxy"], "caf%C3%A9/a%2Fb");
    assert_eq!(event["requestContext"]["path"], "/prod/caf%C3%A9/a%2Fb");
    // The path is never decoded, so bytes that are not UTF-8 pass as they came.
    let event = common::event(&front, &HttpRequest::new("GET", "/prod/%FF"));
    assert_eq!(event["path"], "/%FF");
}

#[test]
fn bad_escapes_and_raw_pipes_are_refused_with_400() {
    let front = rest();
    for target in [
        "/prod/%zz",
        "/prod/a%2",
        "/prod/x?a=%zz",
        "/prod/x?a=%FF",
        "/prod/x?a|b=1",
        "/prod/x?a={}",
    ] {
        let refusal = refusal(&front, &HttpRequest::new("GET", target));
        assert_eq!(refusal.response.status, 400, "{target}");
        let body: Value = serde_json::from_slice(&refusal.response.body).unwrap();
        assert!(body["message"].is_string(), "{target}");
    }
}

#[test]
fn query_decoding() {
    let front = rest();
    let event = event(
        &front,
        &HttpRequest::new(
            "GET",
            "/prod/q?literal=a+b&encoded=a%2Bb&space=a%20b&url=https%3A%2F%2Fx.io%2Fa&flag&x=1&x=&semi=1;other=2&caf%C3%A9=%C3%A9",
        ),
    );
    assert_eq!(
        event["queryStringParameters"],
        json!({
            "literal": "a b",
            "encoded": "a+b",
            "space": "a b",
            "url": "https://x.io/a",
            "flag": "",
            "x": "",
            "semi": "1",
            "other": "2",
            "café": "é",
        })
    );
    assert_eq!(
        event["multiValueQueryStringParameters"]["x"],
        json!(["1", ""])
    );
    // `?` alone is no query at all.
    let event = common::event(&front, &HttpRequest::new("GET", "/prod/q?"));
    assert_eq!(event["queryStringParameters"], Value::Null);
}

#[test]
fn headers_keep_client_case_and_repeat_in_multi_value() {
    let front = rest();
    let request = HttpRequest::new("GET", "/prod/h")
        .with_header("host", "localhost:3000")
        .with_header("user-agent", "test/1")
        .with_header("X-Multi", "v1")
        .with_header("accept", "*/*")
        .with_header("X-Multi", "v2")
        .with_header("Cookie", "a=1")
        .with_header("Cookie", "b=2")
        .with_header("Connection", "keep-alive")
        .with_header("Content-Length", "0")
        .with_source_ip("192.0.2.7");
    let event = event(&front, &request);
    let headers = &event["headers"];
    let multi = &event["multiValueHeaders"];
    assert_eq!(headers["Host"], "localhost:3000");
    assert_eq!(headers["User-Agent"], "test/1");
    assert_eq!(headers["accept"], "*/*");
    assert_eq!(headers["X-Multi"], "v2");
    assert_eq!(multi["X-Multi"], json!(["v1", "v2"]));
    assert_eq!(headers["Cookie"], "b=2");
    assert_eq!(multi["Cookie"], json!(["a=1", "b=2"]));
    assert!(!has(headers, "host") && !has(headers, "user-agent"));
    assert!(!has(headers, "Connection"));
    assert!(!has(headers, "Content-Length"));
    assert_eq!(headers["X-Forwarded-For"], "192.0.2.7");
    assert_eq!(headers["X-Forwarded-Port"], "3000");
    assert_eq!(headers["X-Forwarded-Proto"], "http");
    let trace = headers["X-Amzn-Trace-Id"].as_str().unwrap();
    assert!(trace.starts_with("Root=1-5ebe3025-"), "{trace}");
    assert_eq!(multi["X-Forwarded-For"], json!(["192.0.2.7"]));
}

#[test]
fn forwarding_headers_extend_what_the_client_sent() {
    let front = rest();
    let request = HttpRequest::new("GET", "/prod/")
        .with_header("x-forwarded-for", "198.51.100.1")
        .with_header("X-Forwarded-Proto", "https")
        .with_header("X-Forwarded-Port", "443")
        .with_header(
            "X-Amzn-Trace-Id",
            "Root=1-00000000-000000000000000000000000",
        )
        .with_source_ip("10.0.0.1");
    let event = event(&front, &request);
    let headers = &event["headers"];
    assert_eq!(headers["X-Forwarded-For"], "198.51.100.1, 10.0.0.1");
    assert!(!has(headers, "x-forwarded-for"));
    assert_eq!(headers["X-Forwarded-Proto"], "https");
    assert_eq!(headers["X-Forwarded-Port"], "443");
    assert_eq!(
        headers["X-Amzn-Trace-Id"],
        "Root=1-00000000-000000000000000000000000"
    );
    // Without a Host header the port is HTTP's default.
    assert_eq!(
        common::event(&front, &HttpRequest::new("GET", "/prod/"))["headers"]["X-Forwarded-Port"],
        "80"
    );
}

#[test]
fn bodies_text_binary_media_types_and_non_utf8() {
    let mut front = rest();
    let png = [0x89_u8, b'P', b'N', b'G', 0, 0xff];
    let post = |content_type: &str, body: &[u8]| {
        HttpRequest::new("POST", "/prod/upload")
            .with_header("Content-Type", content_type)
            .with_body(body.to_vec())
    };
    // Without binary media types text passes as text and other bytes as base64.
    let event = event(&front, &post("application/json", r#"{"k":"é"}"#.as_bytes()));
    assert_eq!(event["body"], r#"{"k":"é"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    let event = common::event(&front, &post("image/png", &png));
    assert_eq!(event["body"], STANDARD.encode(png));
    assert_eq!(event["isBase64Encoded"], true);
    let event = common::event(&front, &post("text/plain; charset=latin-1", b"caf\xe9"));
    assert_eq!(event["body"], STANDARD.encode(b"caf\xe9"));
    assert_eq!(event["isBase64Encoded"], true);

    // A listed type, even a text one, arrives base64.
    for types in [&["image/png"][..], &["image/*"], &["*/*"]] {
        front.binary_media_types = types.iter().map(|s| (*s).to_owned()).collect();
        let event = common::event(&front, &post("image/png", b"abc"));
        assert_eq!(event["body"], "YWJj", "{types:?}");
        assert_eq!(event["isBase64Encoded"], true, "{types:?}");
    }
    front.binary_media_types = vec!["application/json".to_owned()];
    let event = common::event(&front, &post("application/json; charset=utf-8", b"{}"));
    assert_eq!(event["body"], "e30=");
    front.binary_media_types = vec!["image/*".to_owned()];
    let event = common::event(&front, &post("text/plain", b"abc"));
    assert_eq!(event["body"], "abc");
    assert_eq!(event["isBase64Encoded"], false);
}

#[test]
fn stage_variables_and_custom_domain() {
    let mut front = rest();
    front.stage = "v1".to_owned();
    front
        .stage_variables
        .insert("env".to_owned(), "dev".to_owned());
    front.domain_name = Some("api.example.com".to_owned());
    let event = event(&front, &HttpRequest::new("GET", "/v1/x"));
    assert_eq!(event["stageVariables"], json!({"env": "dev"}));
    assert_eq!(event["requestContext"]["domainName"], "api.example.com");
    assert_eq!(event["requestContext"]["domainPrefix"], "api");
    assert_eq!(event["requestContext"]["stage"], "v1");
}
