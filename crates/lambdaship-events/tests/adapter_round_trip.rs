//! The adapter read against the crate's own fronts: a client's request goes through
//! `Front::event` and back through `adapter::request`, an app's response through
//! `adapter::result` and back through `Front::response`. The app must see what the client
//! sent and the client must get what the app answered, up to what each front itself
//! changes (named where it happens).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use lambdaship_events::adapter::{self, AppRequest, Source};
use lambdaship_events::{Front, HttpRequest, HttpResponse, Kind, split_stream_prelude};

/// A body that is not UTF-8, with a NUL and a line break in it.
const BINARY: &[u8] = &[0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, b'\r', b'\n', 0x80];

/// The path after any stage: an encoded `é`, a raw `ï` (a client may send UTF-8 unencoded)
/// and an encoded slash.
const PATH: &str = "/caf%C3%A9/na\u{ef}ve/a%2Fb";

/// A repeated key, an encoded space and `+`, a non-ASCII value.
const QUERY: &str = "a=1&b=x%20y&a=2&c=caf%C3%A9&d=1%2B1";

fn client_request(stage_prefix: &str) -> HttpRequest {
    HttpRequest::new("POST", &format!("{stage_prefix}{PATH}?{QUERY}"))
        .with_header("Host", "example.test")
        .with_header("Content-Type", "application/octet-stream")
        .with_header("Content-Length", BINARY.len().to_string())
        .with_header("Connection", "keep-alive")
        .with_header("X-Multi", "v1")
        .with_header("X-Multi", "v2")
        .with_header("Cookie", "a=1; b=2")
        .with_header("Cookie", "c=3")
        .with_header("User-Agent", "test/1.0")
        .with_body(BINARY)
}

/// The request the app gets for `request` sent to `front`.
fn through(front: &Front, request: &HttpRequest) -> AppRequest {
    let event = event(front, request).to_string();
    match adapter::request(event.as_bytes(), "/events") {
        Ok(app) => app,
        Err(bad) => panic!("{bad}\n{event}"),
    }
}

fn values<'a>(app: &'a AppRequest, name: &str) -> Vec<&'a str> {
    app.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `%XX` and `+` decoded, as a form parser reads a query.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The query's parameters as an app reads them: decoded, each key's values in order.
fn params(query: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for piece in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        map.entry(unescape(key)).or_default().push(unescape(value));
    }
    map
}

fn expected_params(repeated_a: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    map.insert(
        "a".to_owned(),
        repeated_a.iter().map(|v| (*v).to_owned()).collect(),
    );
    map.insert("b".to_owned(), vec!["x y".to_owned()]);
    map.insert("c".to_owned(), vec!["café".to_owned()]);
    map.insert("d".to_owned(), vec!["1+1".to_owned()]);
    map
}

/// What every front passes the same way.
fn assert_common(app: &AppRequest, source: Source) {
    assert_eq!(app.source, source);
    assert_eq!(app.method, "POST");
    assert_eq!(&app.body[..], BINARY);
    assert_eq!(values(app, "content-type"), ["application/octet-stream"]);
    assert_eq!(values(app, "host"), ["example.test"]);
    assert_eq!(values(app, "user-agent"), ["test/1.0"]);
    assert_eq!(values(app, "x-forwarded-for"), ["127.0.0.1"]);
    // Framing is the sender's: no length or connection header reaches the app.
    assert!(values(app, "content-length").is_empty());
    assert!(values(app, "connection").is_empty());
    // Every path and query the app gets is a valid request-target.
    let target = app.target();
    assert!(
        target.starts_with('/') && target.bytes().all(|b| b.is_ascii_graphic()),
        "{target}"
    );
    assert!(app.request_context.is_some());
}

#[test]
fn rest_request() {
    let app = through(&rest(), &client_request("/prod"));
    assert_common(&app, Source::Front(Kind::Rest));
    // REST's `path` has no stage and stays encoded; the raw `ï` is encoded.
    assert_eq!(app.path, "/caf%C3%A9/na%C3%AFve/a%2Fb");
    // REST decodes the query; it is encoded again, a repeated key's values together.
    assert_eq!(
        app.query.as_deref(),
        Some("a=1&a=2&b=x+y&c=caf%C3%A9&d=1%2B1")
    );
    assert_eq!(params(app.query.as_deref()), expected_params(&["1", "2"]));
    assert_eq!(values(&app, "x-multi"), ["v1", "v2"]);
    assert_eq!(values(&app, "cookie"), ["a=1; b=2; c=3"]);
    assert_eq!(app.request_context.unwrap()["stage"], "prod");
}

#[test]
fn http_api_v2_request_default_stage() {
    let app = through(&front(Kind::HttpV2), &client_request(""));
    assert_common(&app, Source::Front(Kind::HttpV2));
    // HTTP API decodes the path, so its `%2F` arrives as a plain `/`.
    assert_eq!(app.path, "/caf%C3%A9/na%C3%AFve/a/b");
    assert_eq!(app.query.as_deref(), Some(QUERY));
    assert_eq!(params(app.query.as_deref()), expected_params(&["1", "2"]));
    // Payload 2.0 joins repeated headers; they stay one header.
    assert_eq!(values(&app, "x-multi"), ["v1,v2"]);
    assert_eq!(values(&app, "cookie"), ["a=1; b=2; c=3"]);
}

#[test]
fn http_api_v2_request_named_stage() {
    let mut front = front(Kind::HttpV2);
    front.stage = "beta".to_owned();
    let app = through(&front, &client_request("/beta"));
    assert_common(&app, Source::Front(Kind::HttpV2));
    // `rawPath` keeps a named stage.
    assert_eq!(app.path, "/beta/caf%C3%A9/na%C3%AFve/a/b");
    assert_eq!(app.query.as_deref(), Some(QUERY));
    assert_eq!(app.request_context.unwrap()["stage"], "beta");
}

#[test]
fn http_api_v1_request() {
    let app = through(&front(Kind::HttpV1), &client_request(""));
    assert_common(&app, Source::Front(Kind::HttpV1));
    assert_eq!(app.path, "/caf%C3%A9/na%C3%AFve/a/b");
    assert_eq!(
        app.query.as_deref(),
        Some("a=1&a=2&b=x+y&c=caf%C3%A9&d=1%2B1")
    );
    assert_eq!(params(app.query.as_deref()), expected_params(&["1", "2"]));
    assert_eq!(values(&app, "x-multi"), ["v1", "v2"]);
    assert_eq!(values(&app, "cookie"), ["a=1; b=2; c=3"]);
}

#[test]
fn function_url_request() {
    let app = through(&front(Kind::FunctionUrl), &client_request(""));
    assert_common(&app, Source::Front(Kind::FunctionUrl));
    // A Function URL's `rawPath` stays encoded.
    assert_eq!(app.path, "/caf%C3%A9/na%C3%AFve/a%2Fb");
    assert_eq!(app.query.as_deref(), Some(QUERY));
    assert_eq!(values(&app, "x-multi"), ["v1,v2"]);
    // The event has both `cookies` and a `cookie` header: one cookie header, not two.
    assert_eq!(values(&app, "cookie"), ["a=1; b=2; c=3"]);
}

#[test]
fn alb_request_single_value() {
    let app = through(
        &front(Kind::Alb { multi_value: false }),
        &client_request(""),
    );
    assert_common(&app, Source::Front(Kind::Alb { multi_value: false }));
    assert_eq!(app.path, "/caf%C3%A9/na%C3%AFve/a%2Fb");
    // The ALB keeps the last of repeated keys and headers, and does not decode the query:
    // it is passed on as the client encoded it, not encoded twice.
    assert_eq!(
        app.query.as_deref(),
        Some("a=2&b=x%20y&c=caf%C3%A9&d=1%2B1")
    );
    assert_eq!(params(app.query.as_deref()), expected_params(&["2"]));
    assert_eq!(values(&app, "x-multi"), ["v2"]);
    assert_eq!(values(&app, "cookie"), ["c=3"]);
    assert!(app.request_context.unwrap()["elb"]["targetGroupArn"].is_string());
}

#[test]
fn alb_request_multi_value() {
    let app = through(&front(Kind::Alb { multi_value: true }), &client_request(""));
    assert_common(&app, Source::Front(Kind::Alb { multi_value: true }));
    assert_eq!(app.path, "/caf%C3%A9/na%C3%AFve/a%2Fb");
    assert_eq!(
        app.query.as_deref(),
        Some("a=1&a=2&b=x%20y&c=caf%C3%A9&d=1%2B1")
    );
    assert_eq!(params(app.query.as_deref()), expected_params(&["1", "2"]));
    assert_eq!(values(&app, "x-multi"), ["v1", "v2"]);
    assert_eq!(values(&app, "cookie"), ["a=1; b=2; c=3"]);
}

#[test]
fn requests_without_query_or_body() {
    for kind in kinds() {
        let front = front(kind);
        let prefix = if kind == Kind::Rest { "/prod" } else { "" };
        let app = through(&front, &HttpRequest::new("GET", &format!("{prefix}/")));
        assert_eq!(app.method, "GET", "{kind:?}");
        assert_eq!(app.path, "/", "{kind:?}");
        assert_eq!(app.query, None, "{kind:?}");
        assert!(app.body.is_empty(), "{kind:?}");
        assert_eq!(app.target(), "/", "{kind:?}");
    }
}

fn kinds() -> [Kind; 6] {
    [
        Kind::Rest,
        Kind::HttpV2,
        Kind::HttpV1,
        Kind::FunctionUrl,
        Kind::Alb { multi_value: false },
        Kind::Alb { multi_value: true },
    ]
}

fn source(kind: Kind) -> Source {
    Source::Front(kind)
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0xff,
];

fn app_response(content_type: &str, body: &[u8]) -> HttpResponse {
    let header = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    HttpResponse {
        status: 201,
        reason: None,
        headers: vec![
            header("Content-Type", content_type),
            header("Set-Cookie", "a=1; Path=/"),
            header("X-Multi", "v1"),
            header("Set-Cookie", "b=2; HttpOnly"),
            header("X-Multi", "v2"),
            // A comma inside the value: cookies cannot be joined.
            header("Set-Cookie", "c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
            header("Cache-Control", "no-cache"),
            header("Transfer-Encoding", "chunked"),
            header("Connection", "keep-alive"),
        ],
        body: bytes::Bytes::copy_from_slice(body),
    }
}

/// The response the client gets when the app answers `app` through `kind`'s front.
fn back(kind: Kind, app: &HttpResponse) -> (serde_json::Value, HttpResponse) {
    let mut front = front(kind);
    // Without a binary media type a REST API hands the client the base64 text.
    front.binary_media_types = vec!["*/*".to_owned()];
    let result = adapter::result(&source(kind), app);
    let request = HttpRequest::new("GET", "/prod/x");
    match front.response(&request, result.to_string().as_bytes(), false) {
        Ok(response) => (result, response),
        Err(bad) => panic!("{kind:?} refused {result}: {}", bad.reason),
    }
}

#[test]
fn responses_come_back_as_the_app_sent_them() {
    let bodies: [(&str, &[u8], bool); 4] = [
        ("image/png", PNG, true),
        (
            "application/json",
            r#"{"ok":true,"name":"café"}"#.as_bytes(),
            false,
        ),
        (
            "text/plain; charset=utf-8",
            "héllo wörld ✓\n".as_bytes(),
            false,
        ),
        // Compressed text is bytes, whatever its type.
        ("text/html", &[0x1f, 0x8b, 8, 0, 0xff], true),
    ];
    for kind in kinds() {
        for (content_type, body, base64) in bodies {
            let mut app = app_response(content_type, body);
            if content_type == "text/html" {
                app.headers
                    .push(("Content-Encoding".to_owned(), "gzip".to_owned()));
            }
            let (result, client) = back(kind, &app);
            let case = format!("{kind:?} {content_type}");
            assert_eq!(result["isBase64Encoded"], base64, "{case}: {result}");
            if !base64 {
                assert_eq!(
                    result["body"].as_str().map(str::as_bytes),
                    Some(body),
                    "{case}"
                );
            }
            assert_eq!(client.status, 201, "{case}");
            assert_eq!(&client.body[..], body, "{case}");
            assert_eq!(client.header("content-type"), Some(content_type), "{case}");
            assert_eq!(client.header("cache-control"), Some("no-cache"), "{case}");
            assert_eq!(
                client.header_values("set-cookie").collect::<Vec<_>>(),
                [
                    "a=1; Path=/",
                    "b=2; HttpOnly",
                    "c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"
                ],
                "{case}"
            );
            // Fronts that hold one value per name get the values joined, which RFC 9110
            // §5.3 makes the same header.
            assert_eq!(
                client
                    .header_values("x-multi")
                    .collect::<Vec<_>>()
                    .join(", "),
                "v1, v2",
                "{case}"
            );
            assert_eq!(client.header("transfer-encoding"), None, "{case}");
            assert_eq!(client.header("connection"), None, "{case}");
            if let Kind::Alb { .. } = kind {
                assert_eq!(result["statusDescription"], "201 Created", "{case}");
                assert_eq!(client.reason.as_deref(), Some("Created"), "{case}");
            }
        }
    }
}

#[test]
fn result_shapes() {
    let app = app_response("application/json", b"{}");
    let keys = |kind: Kind| -> Vec<String> {
        let result = adapter::result(&source(kind), &app);
        result.as_object().unwrap().keys().cloned().collect()
    };
    let v1 = ["statusCode", "multiValueHeaders", "body", "isBase64Encoded"];
    let v2 = [
        "statusCode",
        "headers",
        "cookies",
        "body",
        "isBase64Encoded",
    ];
    assert_eq!(keys(Kind::Rest), v1);
    assert_eq!(keys(Kind::HttpV1), v1);
    assert_eq!(keys(Kind::HttpV2), v2);
    assert_eq!(keys(Kind::FunctionUrl), v2);
    assert_eq!(
        keys(Kind::Alb { multi_value: false }),
        [
            "statusCode",
            "statusDescription",
            "headers",
            "body",
            "isBase64Encoded"
        ]
    );
    assert_eq!(
        keys(Kind::Alb { multi_value: true }),
        [
            "statusCode",
            "statusDescription",
            "multiValueHeaders",
            "body",
            "isBase64Encoded"
        ]
    );

    let rest = adapter::result(&Source::Front(Kind::Rest), &app);
    assert_eq!(
        rest["multiValueHeaders"]["Set-Cookie"],
        serde_json::json!([
            "a=1; Path=/",
            "b=2; HttpOnly",
            "c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"
        ])
    );
    assert_eq!(
        rest["multiValueHeaders"]["X-Multi"],
        serde_json::json!(["v1", "v2"])
    );
    assert!(!has(&rest["multiValueHeaders"], "Transfer-Encoding"));

    let v2 = adapter::result(&Source::Front(Kind::HttpV2), &app);
    assert_eq!(v2["headers"]["X-Multi"], "v1, v2");
    assert!(!has(&v2["headers"], "Set-Cookie"));
    assert_eq!(
        v2["cookies"][2],
        "c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"
    );

    let alb = adapter::result(&Source::Front(Kind::Alb { multi_value: false }), &app);
    assert_eq!(alb["headers"]["set-cookie"], "a=1; Path=/");
    assert_eq!(alb["headers"]["Set-cookie"], "b=2; HttpOnly");
    assert_eq!(
        alb["headers"]["sEt-cookie"],
        "c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"
    );
    assert_eq!(alb["headers"]["X-Multi"], "v1, v2");
}

#[test]
fn stream_prelude_reads_back() {
    let app = app_response("text/event-stream", b"");
    let mut stream = adapter::stream_prelude(&app);
    let prelude_len = stream.len();
    assert!(stream.ends_with(&[0; 8]));
    stream.extend_from_slice(b"data: 1\n\n");
    let (head, consumed) = split_stream_prelude(&stream).unwrap().unwrap();
    assert_eq!(consumed, prelude_len);
    assert_eq!(&stream[consumed..], b"data: 1\n\n");
    assert_eq!(head.status, 201);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.header("x-multi"), Some("v1, v2"));
    assert_eq!(head.header("transfer-encoding"), None);
    assert_eq!(
        head.header_values("set-cookie").collect::<Vec<_>>(),
        [
            "a=1; Path=/",
            "b=2; HttpOnly",
            "c=3; Expires=Wed, 21 Oct 2026 07:28:00 GMT"
        ]
    );
    let prelude: serde_json::Value = serde_json::from_slice(&stream[..prelude_len - 8]).unwrap();
    assert_eq!(prelude["statusCode"], 201);
}
