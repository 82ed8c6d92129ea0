//! The REST event of the project's seed 002 (a FastAPI + Mangum container tested with the
//! API Gateway sample event): a GET of `/testStage/hello/` on stage `testStage`, with the
//! headers of that sample event, must give the event the seed shows, except for values
//! only AWS can know (ids, times, the `""` header artifact of the sample).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use lambdaship_events::HttpRequest;
use serde_json::{Value, json};

/// The seed event's headers in its order. `X-Forwarded-For` is the client part only:
/// API Gateway appends the address it received the request from.
const SEED_HEADERS: [(&str, &str); 19] = [
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("cache-control", "no-cache"),
    ("CloudFront-Forwarded-Proto", "https"),
    ("CloudFront-Is-Desktop-Viewer", "true"),
    ("CloudFront-Is-Mobile-Viewer", "false"),
    ("CloudFront-Is-SmartTV-Viewer", "false"),
    ("CloudFront-Is-Tablet-Viewer", "false"),
    ("CloudFront-Viewer-Country", "US"),
    ("Content-Type", "application/json"),
    ("headerName", "headerValue"),
    ("Host", "gy415nuibc.execute-api.us-east-1.amazonaws.com"),
    ("Postman-Token", "9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f"),
    ("User-Agent", "PostmanRuntime/2.4.5"),
    (
        "Via",
        "1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)",
    ),
    (
        "X-Amz-Cf-Id",
        "pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A==",
    ),
    ("X-Forwarded-For", "54.240.196.186"),
    ("X-Forwarded-Port", "443"),
    ("X-Forwarded-Proto", "https"),
];

#[test]
fn seed_rest_event() {
    let mut front = rest();
    front.stage = "testStage".to_owned();
    front.api_id = "gy415nuibc".to_owned();
    let mut request = HttpRequest::new("GET", "/testStage/hello/").with_source_ip("54.182.214.83");
    for (name, value) in SEED_HEADERS {
        request = request.with_header(name, value);
    }
    let event = event(&front, &request);

    assert_eq!(event["path"], "/hello/");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["requestContext"]["stage"], "testStage");
    assert_eq!(event["requestContext"]["httpMethod"], "GET");
    assert_eq!(event["requestContext"]["apiId"], "gy415nuibc");
    assert_eq!(event["requestContext"]["path"], "/testStage/hello/");
    assert_eq!(
        event["requestContext"]["identity"]["userAgent"],
        "PostmanRuntime/2.4.5"
    );
    assert_eq!(
        event["requestContext"]["identity"]["sourceIp"],
        "54.182.214.83"
    );
    assert_eq!(event["isBase64Encoded"], false);

    // Every header of the seed, as the seed has it: single values and lists.
    let seed_headers = json!({
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate",
        "cache-control": "no-cache",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Is-Mobile-Viewer": "false",
        "CloudFront-Is-SmartTV-Viewer": "false",
        "CloudFront-Is-Tablet-Viewer": "false",
        "CloudFront-Viewer-Country": "US",
        "Content-Type": "application/json",
        "headerName": "headerValue",
        "Host": "gy415nuibc.execute-api.us-east-1.amazonaws.com",
        "Postman-Token": "9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f",
        "User-Agent": "PostmanRuntime/2.4.5",
        "Via": "1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A==",
        "X-Forwarded-For": "54.240.196.186, 54.182.214.83",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    });
    let headers = event["headers"].as_object().unwrap();
    let multi = event["multiValueHeaders"].as_object().unwrap();
    for (name, value) in seed_headers.as_object().unwrap() {
        assert_eq!(headers.get(name), Some(value), "headers[{name}]");
        assert_eq!(
            multi.get(name),
            Some(&Value::Array(vec![value.clone()])),
            "multiValueHeaders[{name}]"
        );
    }
    // The only header beyond the seed's is the trace id API Gateway adds to every request.
    let extra: Vec<&String> = headers
        .keys()
        .filter(|name| !seed_headers.as_object().unwrap().contains_key(*name))
        .collect();
    assert_eq!(extra, ["X-Amzn-Trace-Id"]);
}
