//! ALB target events.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use lambdaship_events::{HttpRequest, Kind};
use serde_json::json;

fn alb(multi_value: bool) -> lambdaship_events::Front {
    front(Kind::Alb { multi_value })
}

fn probe() -> HttpRequest {
    HttpRequest::new(
        "POST",
        "/capture/space%20value?repeat=one&repeat=two&literalPlus=a+b&encodedPlus=a%2Bb&empty=&bad=%zz",
    )
    .with_header("Host", "lb.example.com")
    .with_header("Connection", "keep-alive")
    .with_header("Cookie", "a=1")
    .with_header("Cookie", "b=2")
    .with_header("Content-Type", "application/json")
    .with_header("Content-Length", "7")
    .with_body(r#"{"a":1}"#)
    .with_source_ip("72.12.164.125")
}

#[test]
fn single_value_mode() {
    let front = alb(false);
    let event = event(&front, &probe());
    assert_eq!(
        event["requestContext"],
        json!({"elb": {"targetGroupArn": front.target_group_arn}})
    );
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["path"], "/capture/space%20value");
    assert_eq!(
        event["queryStringParameters"],
        json!({"repeat": "two", "literalPlus": "a+b", "encodedPlus": "a%2Bb", "empty": "", "bad": "%zz"})
    );
    let headers = &event["headers"];
    assert_eq!(headers["cookie"], "b=2");
    assert_eq!(headers["connection"], "keep-alive");
    assert_eq!(headers["content-length"], "7");
    assert_eq!(headers["host"], "lb.example.com");
    assert_eq!(headers["x-forwarded-for"], "72.12.164.125");
    assert_eq!(headers["x-forwarded-port"], "80");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(
        headers["x-amzn-trace-id"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    assert_eq!(event["body"], r#"{"a":1}"#);
    assert_eq!(event["isBase64Encoded"], false);
    for absent in [
        "multiValueHeaders",
        "multiValueQueryStringParameters",
        "version",
        "resource",
    ] {
        assert!(!has(&event, absent), "{absent}");
    }
}

#[test]
fn health_check_shape() {
    let front = alb(false);
    let event = event(
        &front,
        &HttpRequest::new("GET", "/").with_header("User-Agent", "ELB-HealthChecker/2.0"),
    );
    assert_eq!(event["queryStringParameters"], json!({}));
    assert_eq!(event["body"], "");
    assert_eq!(event["isBase64Encoded"], false);
}

#[test]
fn multi_value_mode() {
    let front = alb(true);
    let event = event(&front, &probe());
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"repeat": ["one", "two"], "literalPlus": ["a+b"], "encodedPlus": ["a%2Bb"],
               "empty": [""], "bad": ["%zz"]})
    );
    assert_eq!(event["multiValueHeaders"]["cookie"], json!(["a=1", "b=2"]));
    assert_eq!(
        event["multiValueHeaders"]["x-forwarded-for"],
        json!(["72.12.164.125"])
    );
    assert!(!has(&event, "headers"));
    assert!(!has(&event, "queryStringParameters"));
    let event = common::event(&front, &HttpRequest::new("GET", "/"));
    assert_eq!(event["multiValueQueryStringParameters"], json!({}));
}

#[test]
fn bodies() {
    let front = alb(false);
    let post = |content_type: &str, encoding: Option<&str>, body: &[u8]| {
        let mut request = HttpRequest::new("POST", "/")
            .with_header("Content-Type", content_type)
            .with_body(body.to_vec());
        if let Some(encoding) = encoding {
            request = request.with_header("Content-Encoding", encoding);
        }
        request
    };
    for (content_type, encoding, as_text) in [
        ("text/plain", None, true),
        ("application/json", None, true),
        ("application/javascript", None, true),
        ("application/xml", None, true),
        ("application/vnd.api+json", None, false),
        ("application/octet-stream", None, false),
        ("application/json", Some("gzip"), false),
    ] {
        let event = event(&front, &post(content_type, encoding, b"abc"));
        let expected = if as_text {
            "abc".to_owned()
        } else {
            STANDARD.encode("abc")
        };
        assert_eq!(event["body"], expected, "{content_type} {encoding:?}");
        assert_eq!(event["isBase64Encoded"], !as_text);
    }
    let event = event(&front, &post("text/plain", None, &[0xff]));
    assert_eq!(event["body"], "/w==");
    assert_eq!(event["isBase64Encoded"], true);
}
