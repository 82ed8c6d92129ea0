//! HTTP API events: payload 2.0 and payload 1.0.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use lambdaship_events::{HttpRequest, Kind};
use serde_json::{Value, json};

#[test]
fn v2_fields_for_the_default_stage() {
    let front = front(Kind::HttpV2);
    let meta = meta(&front);
    let request = HttpRequest::new("GET", "/items/42?a=1&a=2&q=x%20y&p=a+b")
        .with_header("Host", "localhost:3000")
        .with_header("User-Agent", "curl/8.0")
        .with_header("X-Multi", "v1")
        .with_header("x-multi", "v2")
        .with_header("Cookie", "s=abc; theme=dark")
        .with_header("Cookie", "last=1")
        .with_source_ip("203.0.113.9");
    let event = front.event(&request, &meta).unwrap();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/items/42");
    assert_eq!(event["rawQueryString"], "a=1&a=2&q=x%20y&p=a+b");
    assert_eq!(event["cookies"], json!(["s=abc", "theme=dark", "last=1"]));
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "1,2", "q": "x y", "p": "a b"})
    );
    let headers = &event["headers"];
    assert_eq!(headers["x-multi"], "v1,v2");
    assert_eq!(headers["host"], "localhost:3000");
    assert_eq!(headers["user-agent"], "curl/8.0");
    assert_eq!(headers["x-forwarded-for"], "203.0.113.9");
    assert_eq!(headers["x-forwarded-port"], "3000");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(
        headers["x-amzn-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert!(!has(headers, "cookie"), "cookies leave the headers");
    assert!(
        headers
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k == &k.to_lowercase())
    );
    for absent in [
        "body",
        "pathParameters",
        "stageVariables",
        "multiValueHeaders",
    ] {
        assert!(!has(&event, absent), "{absent} must be omitted");
    }
    assert_eq!(event["isBase64Encoded"], false);

    let context = &event["requestContext"];
    assert_eq!(context["accountId"], "123456789012");
    assert_eq!(context["apiId"], "abc123defg");
    assert_eq!(
        context["domainName"],
        "abc123defg.execute-api.us-east-1.amazonaws.com"
    );
    assert_eq!(context["domainPrefix"], "abc123defg");
    assert_eq!(
        context["http"],
        json!({"method": "GET", "path": "/items/42", "protocol": "HTTP/1.1",
               "sourceIp": "203.0.113.9", "userAgent": "curl/8.0"})
    );
    assert_eq!(context["requestId"], meta.request_id.as_str());
    assert_eq!(meta.request_id.len(), 16, "HTTP API ids are short");
    assert_eq!(context["routeKey"], "$default");
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["time"], "15/May/2020:06:01:09 +0000");
    assert_eq!(context["timeEpoch"], EPOCH_MS);
}

#[test]
fn v2_absent_query_and_cookies() {
    let front = front(Kind::HttpV2);
    let event = event(&front, &HttpRequest::new("GET", "/"));
    assert_eq!(event["rawQueryString"], "");
    assert!(!has(&event, "queryStringParameters"));
    assert!(!has(&event, "cookies"));
    let event = common::event(&front, &HttpRequest::new("GET", "/x?"));
    assert_eq!(event["rawQueryString"], "");
    assert!(!has(&event, "queryStringParameters"));
}

#[test]
fn v2_named_stage_keeps_its_prefix() {
    let mut front = front(Kind::HttpV2);
    front.stage = "dev".to_owned();
    front
        .stage_variables
        .insert("env".to_owned(), "dev".to_owned());
    let event = event(&front, &HttpRequest::new("GET", "/dev/items/42"));
    assert_eq!(event["rawPath"], "/dev/items/42");
    assert_eq!(event["requestContext"]["http"]["path"], "/dev/items/42");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert_eq!(event["stageVariables"], json!({"env": "dev"}));
    assert_eq!(
        common::event(&front, &HttpRequest::new("GET", "/dev"))["rawPath"],
        "/dev"
    );
    for target in ["/items/42", "/devx/1", "/"] {
        let refusal = refusal(&front, &HttpRequest::new("GET", target));
        assert_eq!(refusal.response.status, 404, "{target}");
        assert_eq!(text(&refusal.response), r#"{"message":"Not Found"}"#);
    }
}

#[test]
fn v2_paths_are_decoded() {
    let front = front(Kind::HttpV2);
    let event = event(
        &front,
        &HttpRequest::new("GET", "/caf%C3%A9/a%2Fb/space%20value"),
    );
    assert_eq!(event["rawPath"], "/café/a/b/space value");
    assert_eq!(
        event["requestContext"]["http"]["path"],
        "/café/a/b/space value"
    );
    for target in ["/%zz", "/%FF", "/x?q=%C3", "/x?%=1"] {
        let refusal = refusal(&front, &HttpRequest::new("GET", target));
        assert_eq!(refusal.response.status, 400, "{target}");
        assert_eq!(text(&refusal.response), r#"{"message":"Bad Request"}"#);
    }
}

#[test]
fn v2_bodies() {
    let front = front(Kind::HttpV2);
    let post = |content_type: Option<&str>, body: &[u8]| {
        let request = HttpRequest::new("POST", "/").with_body(body.to_vec());
        match content_type {
            Some(ct) => request.with_header("Content-Type", ct),
            None => request,
        }
    };
    for (content_type, as_text) in [
        (Some("application/json"), true),
        (Some("text/html; charset=utf-8"), true),
        (Some("application/xml"), true),
        (Some("application/javascript"), true),
        (Some("application/vnd.api+json"), true),
        (Some("image/svg+xml"), true),
        (Some("application/x-www-form-urlencoded"), false),
        (Some("application/octet-stream"), false),
        (None, false),
    ] {
        let event = event(&front, &post(content_type, b"a=1"));
        if as_text {
            assert_eq!(event["body"], "a=1", "{content_type:?}");
        } else {
            assert_eq!(event["body"], STANDARD.encode("a=1"), "{content_type:?}");
        }
        assert_eq!(event["isBase64Encoded"], !as_text, "{content_type:?}");
    }
    let event = event(&front, &post(Some("text/plain"), &[0xc3, 0x28]));
    assert_eq!(event["body"], STANDARD.encode([0xc3, 0x28]));
    assert_eq!(event["isBase64Encoded"], true);
    let event = common::event(&front, &post(Some("application/json"), b""));
    assert!(!has(&event, "body"));
    assert_eq!(event["isBase64Encoded"], false);
}

#[test]
fn v1_is_the_rest_shape_with_http_api_rules() {
    let mut front = front(Kind::HttpV1);
    front.stage = "dev".to_owned();
    let meta = meta(&front);
    let request = HttpRequest::new("GET", "/dev/caf%C3%A9?p=1&p=2&q=a+b")
        .with_header("Host", "localhost")
        .with_header("User-Agent", "agent/1")
        .with_header("X-Multi", "v1")
        .with_header("X-Multi", "v2")
        .with_header("Cookie", "a=1")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body("p=1");
    let event = front.event(&request, &meta).unwrap();
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["resource"], "$default");
    assert_eq!(event["path"], "/dev/café");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["headers"]["Host"], "localhost");
    assert_eq!(event["headers"]["User-Agent"], "agent/1");
    assert_eq!(event["headers"]["x-multi"], "v2");
    assert_eq!(event["headers"]["cookie"], "a=1");
    assert_eq!(event["headers"]["x-forwarded-proto"], "http");
    assert_eq!(event["multiValueHeaders"]["x-multi"], json!(["v1", "v2"]));
    assert!(!has(&event["headers"], "X-Multi"));
    assert_eq!(
        event["queryStringParameters"],
        json!({"p": "1", "q": "a b"})
    );
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"p": ["1", "2"], "q": ["a b"]})
    );
    assert_eq!(event["pathParameters"], Value::Null);
    assert_eq!(event["stageVariables"], Value::Null);
    assert_eq!(event["body"], STANDARD.encode("p=1"));
    assert_eq!(event["isBase64Encoded"], true);
    let context = &event["requestContext"];
    assert_eq!(context["requestId"], meta.request_id.as_str());
    assert_eq!(meta.request_id.len(), 16);
    assert_eq!(context["stage"], "dev");
    assert_eq!(context["path"], "/dev/café");
    assert_eq!(context["resourceId"], Value::Null);
    assert_eq!(context["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["requestTimeEpoch"], EPOCH_MS);
    assert!(!has(&context["identity"], "apiKey"));

    let event = common::event(&front, &HttpRequest::new("GET", "/dev/"));
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["queryStringParameters"], Value::Null);
    assert_eq!(
        refusal(&front, &HttpRequest::new("GET", "/x"))
            .response
            .status,
        404
    );
}
