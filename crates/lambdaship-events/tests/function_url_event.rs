//! Function URL events.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use lambdaship_events::{HttpRequest, IamIdentity, Kind};
use serde_json::{Value, json};

#[test]
fn url_event_shape() {
    let front = front(Kind::FunctionUrl);
    let meta = meta(&front);
    assert_eq!(
        meta.request_id.len(),
        36,
        "Function URL request ids are UUIDs"
    );
    let request = HttpRequest::new("POST", "/capture/space%20value?repeat=one&repeat=two")
        .with_header("Cookie", "session=abc123; theme=dark")
        .with_header("Content-Type", "application/json")
        .with_header("X-Probe", "first")
        .with_header("X-Probe", "second")
        .with_body(r#"{"m":"λ"}"#);
    let event = front.event(&request, &meta).unwrap();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/capture/space%20value");
    assert_eq!(event["rawQueryString"], "repeat=one&repeat=two");
    assert_eq!(event["queryStringParameters"], json!({"repeat": "one,two"}));
    assert_eq!(event["cookies"], json!(["session=abc123", "theme=dark"]));
    assert_eq!(event["headers"]["cookie"], "session=abc123; theme=dark");
    assert_eq!(event["headers"]["x-probe"], "first,second");
    assert_eq!(event["body"], r#"{"m":"λ"}"#);
    assert_eq!(event["isBase64Encoded"], false);
    assert!(!has(&event, "pathParameters"));
    assert!(!has(&event, "stageVariables"));

    let context = &event["requestContext"];
    assert_eq!(context["http"]["path"], "/capture/space value");
    assert_eq!(context["routeKey"], "$default");
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["accountId"], "anonymous");
    assert_eq!(context["authorizer"], Value::Null);
    assert_eq!(context["authentication"], Value::Null);
    assert_eq!(context["apiId"], "abc123defg");
    assert_eq!(context["domainPrefix"], "abc123defg");
    assert_eq!(
        context["domainName"],
        "abc123defg.lambda-url.us-east-1.on.aws"
    );
    assert_eq!(context["requestId"], meta.request_id.as_str());
}

#[test]
fn url_stage_setting_is_ignored() {
    let mut front = front(Kind::FunctionUrl);
    front.stage = "prod".to_owned();
    front
        .stage_variables
        .insert("ignored".to_owned(), "yes".to_owned());
    let event = event(&front, &HttpRequest::new("GET", "/x"));
    assert_eq!(event["rawPath"], "/x");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert!(!has(&event, "stageVariables"));
}

#[test]
fn url_iam_authorizer() {
    let front = front(Kind::FunctionUrl);
    let mut meta = meta(&front);
    meta.iam = Some(IamIdentity {
        access_key: "AKIAEXAMPLE".to_owned(),
        account_id: "111122223333".to_owned(),
        caller_id: "AIDAEXAMPLE".to_owned(),
        user_arn: "arn:aws:iam::111122223333:user/me".to_owned(),
        user_id: "AIDAUSER".to_owned(),
    });
    let event = front.event(&HttpRequest::new("GET", "/"), &meta).unwrap();
    assert_eq!(
        event["requestContext"]["authorizer"],
        json!({"iam": {
            "accessKey": "AKIAEXAMPLE",
            "accountId": "111122223333",
            "callerId": "AIDAEXAMPLE",
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": "arn:aws:iam::111122223333:user/me",
            "userId": "AIDAUSER",
        }})
    );
    assert_eq!(event["requestContext"]["accountId"], "123456789012");
}

#[test]
fn url_bad_escapes() {
    let front = front(Kind::FunctionUrl);
    for target in ["/%zz", "/%FF", "/?a=%ZZ"] {
        let refusal = refusal(&front, &HttpRequest::new("GET", target));
        assert_eq!(refusal.response.status, 400, "{target}");
        assert!(refusal.reason.contains('%'), "{}", refusal.reason);
    }
}

#[test]
fn url_custom_domain() {
    let mut front = front(Kind::FunctionUrl);
    front.domain_name = Some("fn.example.com".to_owned());
    let event = event(&front, &HttpRequest::new("GET", "/"));
    assert_eq!(event["requestContext"]["domainName"], "fn.example.com");
}
