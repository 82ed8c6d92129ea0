//! Request size limits: each front's body limit and Lambda's 6 MB on the whole event.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use lambdaship_events::{
    ALB_LAMBDA_LIMIT, API_GATEWAY_BODY_LIMIT, HttpRequest, Kind, LAMBDA_PAYLOAD_LIMIT,
};

fn post(target: &str, content_type: &str, len: usize) -> HttpRequest {
    HttpRequest::new("POST", target)
        .with_header("Content-Type", content_type)
        .with_body(vec![b'a'; len])
}

#[test]
fn binary_bodies_grow_by_a_third_against_lambdas_limit() {
    let front = front(Kind::FunctionUrl);
    // 4.5 MiB of binary is 6 MiB of base64: the event no longer fits.
    let refusal = refusal(&front, &post("/", "application/octet-stream", 4_718_592));
    assert_eq!(refusal.response.status, 413);
    assert_eq!(text(&refusal.response), r#"{"message":"Request Too Long"}"#);
    assert!(
        refusal.reason.contains("Lambda's limit"),
        "{}",
        refusal.reason
    );
    // 4 MiB of binary fits.
    let event = event(
        &front,
        &post("/", "application/octet-stream", 4 * 1024 * 1024),
    );
    assert_eq!(event["isBase64Encoded"], true);
}

#[test]
fn text_just_under_and_over_the_event_limit() {
    let front = rest();
    let small = serde_json::to_vec(&event(&front, &post("/prod/", "text/plain", 1))).unwrap();
    // The event's JSON is its fixed part plus the body; the fixed part varies by a few
    // bytes between requests (ids), so stay a margin away from the edge on either side.
    let fixed = small.len() - 1;
    let fits = LAMBDA_PAYLOAD_LIMIT - fixed - 64;
    let event = event(&front, &post("/prod/", "text/plain", fits));
    assert!(serde_json::to_vec(&event).unwrap().len() <= LAMBDA_PAYLOAD_LIMIT);
    let over = LAMBDA_PAYLOAD_LIMIT - fixed + 64;
    let refusal = refusal(&front, &post("/prod/", "text/plain", over));
    assert_eq!(refusal.response.status, 413);
}

#[test]
fn bodies_above_the_front_limit() {
    let refusal = refusal(
        &rest(),
        &post("/prod/", "text/plain", API_GATEWAY_BODY_LIMIT + 1),
    );
    assert_eq!(refusal.response.status, 413);
    assert!(
        refusal.reason.contains("this front's limit"),
        "{}",
        refusal.reason
    );
    assert_eq!(rest().max_request_body(), API_GATEWAY_BODY_LIMIT);

    let alb = front(Kind::Alb { multi_value: false });
    assert_eq!(alb.max_request_body(), ALB_LAMBDA_LIMIT);
    let refusal = common::refusal(&alb, &post("/", "text/plain", ALB_LAMBDA_LIMIT + 1));
    assert_eq!(refusal.response.status, 413);
    assert_eq!(
        refusal.response.reason.as_deref(),
        Some("Request Entity Too Large")
    );
    assert!(text(&refusal.response).contains("<title>413 Request Entity Too Large</title>"));
    assert_eq!(refusal.response.header("content-type"), Some("text/html"));
    let event = event(&alb, &post("/", "text/plain", ALB_LAMBDA_LIMIT));
    assert_eq!(event["body"].as_str().unwrap().len(), ALB_LAMBDA_LIMIT);
}
