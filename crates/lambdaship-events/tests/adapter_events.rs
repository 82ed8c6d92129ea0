//! The adapter on events no front of this crate makes: the seed's API Gateway sample event,
//! pass-through events, malformed events and hostile bytes; and the body rules of results.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use lambdaship_events::adapter::{self, AppRequest, BadEvent, Source};
use lambdaship_events::{HttpResponse, Kind};
use serde_json::{Value, json};

fn app(event: &[u8]) -> AppRequest {
    match adapter::request(event, "/events") {
        Ok(app) => app,
        Err(bad) => panic!("{bad}"),
    }
}

fn app_json(event: &Value) -> AppRequest {
    app(event.to_string().as_bytes())
}

fn bad(event: &Value) -> BadEvent {
    match adapter::request(event.to_string().as_bytes(), "/events") {
        Ok(app) => panic!("accepted: {app:?}"),
        Err(bad) => bad,
    }
}

fn header<'a>(app: &'a AppRequest, name: &str) -> Vec<&'a str> {
    app.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn response(content_type: Option<&str>, body: &[u8]) -> HttpResponse {
    HttpResponse {
        status: 200,
        reason: None,
        headers: content_type
            .map(|t| vec![("content-type".to_owned(), t.to_owned())])
            .unwrap_or_default(),
        body: Bytes::copy_from_slice(body),
    }
}

#[test]
fn seed_api_gateway_sample_event() {
    let event = include_bytes!("fixtures/seed_002_rest_event.json");
    let app = app(event);
    assert_eq!(app.source, Source::Front(Kind::Rest));
    assert_eq!(app.method, "GET");
    assert_eq!(app.path, "/hello/");
    // `queryStringParameters: {}`: no query at all, not a bare `?`.
    assert_eq!(app.query, None);
    assert_eq!(app.target(), "/hello/");
    assert_eq!(&app.body[..], b"{}");
    assert_eq!(header(&app, "content-type"), ["application/json"]);
    assert_eq!(header(&app, "user-agent"), ["PostmanRuntime/2.4.5"]);
    assert_eq!(
        header(&app, "x-forwarded-for"),
        ["54.240.196.186, 54.182.214.83"]
    );
    assert_eq!(header(&app, "headerName"), ["headerValue"]);
    // The sample's `"": [""]` header cannot be sent; the other 19 are all there.
    assert!(app.headers.iter().all(|(name, _)| !name.is_empty()));
    assert_eq!(app.headers.len(), 19);
    let context = app.request_context.unwrap();
    assert_eq!(context["stage"], "testStage");
    assert_eq!(context["identity"]["sourceIp"], "192.168.196.186");

    // The seed's container answered with Mangum's result; ours for the same response.
    let mut answer = response(Some("application/json"), br#"{"message":"Hello World"}"#);
    answer
        .headers
        .push(("x-correlation-id".to_owned(), "e6cc".to_owned()));
    let result = adapter::result(&app.source, &answer);
    assert_eq!(
        result,
        json!({
            "statusCode": 200,
            "multiValueHeaders": {
                "content-type": ["application/json"],
                "x-correlation-id": ["e6cc"],
            },
            "body": "{\"message\":\"Hello World\"}",
            "isBase64Encoded": false,
        })
    );
}

#[test]
fn pass_through_events() {
    let sqs = br#"{"Records":[{"messageId":"1","eventSource":"aws:sqs","body":"hi"}]}"#;
    for event in [
        &sqs[..],
        b"not json at all",
        b"\xff\x00\xfe",
        b"[1,2]",
        b"\"GET /\"",
        b"",
        br#"{"httpMethod":"GET"}"#,
    ] {
        let app = app(event);
        assert_eq!(app.source, Source::PassThrough);
        assert_eq!(app.method, "POST");
        assert_eq!(app.path, "/events");
        assert_eq!(app.query, None);
        assert_eq!(
            app.headers,
            [("content-type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(&app.body[..], event);
        assert_eq!(app.request_context, None);
    }
    // The configured path is made fit to send too.
    let app = adapter::request(sqs, "queue events/é").unwrap();
    assert_eq!(app.path, "/queue%20events/%C3%A9");
}

#[test]
fn pass_through_results() {
    let pass = |body: &[u8], content_type| {
        adapter::result(&Source::PassThrough, &response(content_type, body))
    };
    let failures = br#"{"batchItemFailures":[{"itemIdentifier":"1"}]}"#;
    assert_eq!(
        pass(failures, Some("application/json")),
        json!({"batchItemFailures": [{"itemIdentifier": "1"}]})
    );
    // JSON whatever the declared type, and scalars too.
    assert_eq!(pass(b" 42 ", Some("text/plain")), json!(42));
    assert_eq!(pass(b"\"done\"", None), json!("done"));
    // Not JSON: the text itself, never null.
    assert_eq!(pass(b"OK", Some("text/plain")), json!("OK"));
    assert_eq!(pass("é".as_bytes(), None), json!("é"));
    assert_eq!(pass(b"", None), json!(""));
    // Not UTF-8: base64.
    assert_eq!(pass(&[0xff, 0xfe], None), json!("//4="));
}

#[test]
fn bad_base64_names_the_fields() {
    let event = json!({
        "version": "2.0",
        "rawPath": "/",
        "requestContext": {"http": {"method": "POST"}},
        "body": "not base64!",
        "isBase64Encoded": true,
    });
    let bad = bad(&event);
    assert_eq!(bad.front, Source::Front(Kind::HttpV2));
    assert!(
        bad.reason.contains("body is not valid base64")
            && bad.reason.contains("isBase64Encoded is true"),
        "{}",
        bad.reason
    );
    assert!(
        bad.to_string()
            .starts_with("HTTP API (payload 2.0) event: ")
    );
}

#[test]
fn missing_and_mistyped_fields_are_named() {
    let cases = [
        (
            json!({"version": "2.0", "requestContext": {"http": {"method": "GET"}}}),
            "rawPath is missing",
        ),
        (
            json!({"version": "2.0", "rawPath": "/"}),
            "requestContext.http.method is missing",
        ),
        (
            json!({"httpMethod": 5, "path": "/", "requestContext": {}}),
            "httpMethod must be a string, got a number 5",
        ),
        (
            json!({"httpMethod": "GET\r\nX: 1", "path": "/", "requestContext": {}}),
            "httpMethod must be an HTTP method",
        ),
        (
            json!({"httpMethod": "GET", "requestContext": {}}),
            "path is missing",
        ),
        (
            json!({"httpMethod": "GET", "path": "/", "requestContext": {}, "headers": {"a": null}}),
            "headers['a'] must be a string, got null",
        ),
        (
            json!({"httpMethod": "GET", "path": "/", "requestContext": {},
                   "multiValueQueryStringParameters": {"a": "1"}}),
            "multiValueQueryStringParameters['a'] must be an array of strings",
        ),
        (
            json!({"httpMethod": "GET", "path": "/", "requestContext": {}, "isBase64Encoded": "yes"}),
            "isBase64Encoded must be true or false",
        ),
        (
            json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}},
                   "cookies": "a=1"}),
            "cookies must be an array of strings",
        ),
    ];
    for (event, reason) in cases {
        let bad = bad(&event);
        assert!(bad.reason.contains(reason), "{event}: {}", bad.reason);
    }
}

#[test]
fn control_bytes_leave_header_values() {
    let event = json!({
        "httpMethod": "GET",
        "path": "/",
        "requestContext": {},
        "multiValueHeaders": {
            "X-Evil": ["a\r\nInjected: 1\u{0}b\tc\u{7f}"],
            "X-Fine": ["é ✓"],
            "Bad Name": ["x"],
            "": [""],
        },
    });
    let app = app_json(&event);
    assert_eq!(header(&app, "x-evil"), ["aInjected: 1b\tc"]);
    assert_eq!(header(&app, "x-fine"), ["é ✓"]);
    assert_eq!(header(&app, "injected"), Vec::<&str>::new());
    assert_eq!(app.headers.len(), 2);
}

#[test]
fn paths_no_client_could_send_are_encoded() {
    let rest = |path: &str| {
        app_json(&json!({"httpMethod": "GET", "path": path, "requestContext": {}})).path
    };
    assert_eq!(rest("/a b/é"), "/a%20b/%C3%A9");
    assert_eq!(rest("/caf%C3%A9/a%2Fb"), "/caf%C3%A9/a%2Fb");
    assert_eq!(rest("/x\r\n\u{0}y?#"), "/x%0D%0A%00y%3F%23");
    assert_eq!(rest("/100%/%zz"), "/100%25/%25zz");
    assert_eq!(rest("relative"), "/relative");
    assert_eq!(rest(""), "/");
    let v2 = |raw_path: &str, raw_query: &str| {
        let app = app_json(&json!({
            "version": "2.0",
            "rawPath": raw_path,
            "rawQueryString": raw_query,
            "requestContext": {"http": {"method": "GET"}},
        }));
        app.target()
    };
    assert_eq!(
        v2("/a b/é", "q=a b&r=é#"),
        "/a%20b/%C3%A9?q=a%20b&r=%C3%A9%23"
    );
    assert_eq!(v2("/", ""), "/");
}

#[test]
fn alb_multi_value_event() {
    let event = json!({
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/tg/6d0e"}},
        "httpMethod": "PUT",
        "path": "/lambda/é",
        "multiValueQueryStringParameters": {
            "q": ["a%20b", "c+d"],
            "raw": ["x y&z"],
            "k=": ["v=w"],
        },
        "multiValueHeaders": {
            "set-cookie": ["ignored=1"],
            "cookie": ["n1=v1", "n2=v2"],
            "x-forwarded-for": ["72.12.164.125"],
            "transfer-encoding": ["chunked"],
            "content-length": ["5"],
        },
        "body": "aGVsbG8=",
        "isBase64Encoded": true,
    });
    let app = app_json(&event);
    assert_eq!(app.source, Source::Front(Kind::Alb { multi_value: true }));
    assert_eq!(app.method, "PUT");
    assert_eq!(app.path, "/lambda/%C3%A9");
    // Encoded values pass as they are; what could not be sent (or would split a pair) is
    // encoded.
    assert_eq!(
        app.query.as_deref(),
        Some("q=a%20b&q=c+d&raw=x%20y%26z&k%3D=v=w")
    );
    assert_eq!(header(&app, "cookie"), ["n1=v1; n2=v2"]);
    assert_eq!(header(&app, "x-forwarded-for"), ["72.12.164.125"]);
    assert!(header(&app, "transfer-encoding").is_empty());
    assert!(header(&app, "content-length").is_empty());
    assert_eq!(&app.body[..], b"hello");

    let mut answer = response(Some("text/plain"), b"ok");
    answer
        .headers
        .push(("Set-Cookie".to_owned(), "a=1".to_owned()));
    answer
        .headers
        .push(("Set-Cookie".to_owned(), "b=2".to_owned()));
    answer.status = 404;
    assert_eq!(
        adapter::result(&app.source, &answer),
        json!({
            "statusCode": 404,
            "statusDescription": "404 Not Found",
            "multiValueHeaders": {
                "content-type": ["text/plain"],
                "Set-Cookie": ["a=1", "b=2"],
            },
            "body": "ok",
            "isBase64Encoded": false,
        })
    );
}

#[test]
fn alb_single_value_event() {
    let event = json!({
        "requestContext": {"elb": {"targetGroupArn": "arn"}},
        "httpMethod": "GET",
        "path": "/health",
        "queryStringParameters": {},
        "headers": {"user-agent": "ELB-HealthChecker/2.0"},
        "body": "",
        "isBase64Encoded": false,
    });
    let app = app_json(&event);
    assert_eq!(app.source, Source::Front(Kind::Alb { multi_value: false }));
    assert_eq!(app.target(), "/health");
    assert_eq!(header(&app, "user-agent"), ["ELB-HealthChecker/2.0"]);
    assert!(app.body.is_empty());
}

#[test]
fn result_bodies_are_text_only_when_safe() {
    let shape = |content_type: Option<&str>, body: &[u8], extra: Option<(&str, &str)>| {
        let mut answer = response(content_type, body);
        if let Some((name, value)) = extra {
            answer.headers.push((name.to_owned(), value.to_owned()));
        }
        let result = adapter::result(&Source::Front(Kind::HttpV2), &answer);
        (
            result["body"].as_str().unwrap().to_owned(),
            result["isBase64Encoded"].as_bool().unwrap(),
        )
    };
    let text = |body: &str| (body.to_owned(), false);
    let base64 = |body: &str| (body.to_owned(), true);
    assert_eq!(shape(None, b"plain", None), text("plain"));
    assert_eq!(shape(Some("text/csv"), b"a,b", None), text("a,b"));
    assert_eq!(
        shape(Some("application/x-www-form-urlencoded"), b"a=1", None),
        text("a=1")
    );
    assert_eq!(
        shape(Some("application/jwk-set+json"), b"{}", None),
        text("{}")
    );
    assert_eq!(shape(Some("application/yaml"), b"a: 1", None), text("a: 1"));
    assert_eq!(
        shape(Some("Application/JSON; charset=utf-8"), b"{}", None),
        text("{}")
    );
    assert_eq!(shape(Some("image/png"), b"hi", None), base64("aGk="));
    assert_eq!(
        shape(Some("application/octet-stream"), b"hi", None),
        base64("aGk=")
    );
    // Compressed text is bytes.
    assert_eq!(
        shape(Some("text/html"), b"hi", Some(("Content-Encoding", "gzip"))),
        base64("aGk=")
    );
    // A textual type over bytes that are not UTF-8: base64, not a lossy decode.
    assert_eq!(shape(Some("text/plain"), &[0xe9], None), base64("6Q=="));
    assert_eq!(shape(Some("text/plain"), b"", None), text(""));
}
