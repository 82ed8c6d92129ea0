//! CORS handled by the front: preflight answers and headers on responses.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use lambdaship_events::cors::Cors;
use lambdaship_events::{HttpRequest, HttpResponse};

fn preflight(origin: &str) -> HttpRequest {
    HttpRequest::new("OPTIONS", "/items")
        .with_header("Origin", origin)
        .with_header("Access-Control-Request-Method", "PUT")
        .with_header("Access-Control-Request-Headers", "content-type, x-api-key")
}

fn specific() -> Cors {
    Cors {
        allow_origins: vec!["https://app.example.com".to_owned()],
        allow_methods: vec!["GET".to_owned(), "PUT".to_owned()],
        allow_headers: vec!["content-type".to_owned(), "x-api-key".to_owned()],
        expose_headers: vec!["x-request-id".to_owned(), "date".to_owned()],
        max_age: Some(300),
        allow_credentials: false,
    }
}

fn names(response: &HttpResponse) -> Vec<String> {
    response
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect()
}

#[test]
fn only_preflights_are_answered() {
    let cors = specific();
    assert!(cors.preflight(&HttpRequest::new("GET", "/")).is_none());
    assert!(
        cors.preflight(
            &HttpRequest::new("OPTIONS", "/").with_header("Origin", "https://app.example.com")
        )
        .is_none(),
        "no Access-Control-Request-Method: a plain OPTIONS for the function"
    );
    assert!(
        cors.preflight(
            &HttpRequest::new("OPTIONS", "/").with_header("Access-Control-Request-Method", "GET")
        )
        .is_none()
    );
}

#[test]
fn preflight_for_an_allowed_origin() {
    let answer = specific()
        .preflight(&preflight("https://app.example.com"))
        .unwrap();
    assert_eq!(answer.status, 204);
    assert!(answer.body.is_empty());
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        answer.header("access-control-allow-methods"),
        Some("GET,PUT")
    );
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("content-type,x-api-key")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("300"));
    assert_eq!(answer.header("vary"), Some("Origin"));
    assert_eq!(answer.header("access-control-allow-credentials"), None);
    // Origins compare without case.
    let answer = specific()
        .preflight(&preflight("HTTPS://APP.EXAMPLE.COM"))
        .unwrap();
    assert!(answer.header("access-control-allow-origin").is_some());
}

#[test]
fn preflight_for_a_foreign_origin_has_no_grants() {
    let answer = specific()
        .preflight(&preflight("https://evil.example"))
        .unwrap();
    assert_eq!(answer.status, 204);
    assert!(
        names(&answer)
            .iter()
            .all(|n| !n.starts_with("access-control-")),
        "{:?}",
        answer.headers
    );
}

#[test]
fn wildcards_without_and_with_credentials() {
    let mut cors = Cors {
        allow_origins: vec!["*".to_owned()],
        allow_methods: vec!["*".to_owned()],
        allow_headers: vec!["*".to_owned()],
        ..Cors::default()
    };
    let answer = cors.preflight(&preflight("https://any.example")).unwrap();
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(answer.header("access-control-allow-methods"), Some("*"));
    assert_eq!(answer.header("access-control-allow-headers"), Some("*"));
    assert_eq!(answer.header("vary"), None);
    assert_eq!(answer.header("access-control-max-age"), None);

    // Browsers ignore `*` on credentialed requests: echo what was asked instead.
    cors.allow_credentials = true;
    let answer = cors.preflight(&preflight("https://any.example")).unwrap();
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://any.example")
    );
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(answer.header("access-control-allow-methods"), Some("PUT"));
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("content-type, x-api-key")
    );
    assert_eq!(answer.header("vary"), Some("Origin"));
}

fn function_response() -> HttpResponse {
    HttpResponse {
        status: 200,
        reason: None,
        headers: vec![
            (
                "Access-Control-Allow-Origin".to_owned(),
                "https://mine.example".to_owned(),
            ),
            (
                "access-control-allow-credentials".to_owned(),
                "true".to_owned(),
            ),
            ("Vary".to_owned(), "Accept-Encoding".to_owned()),
            ("Content-Type".to_owned(), "text/plain".to_owned()),
        ],
        body: Bytes::from_static(b"ok"),
    }
}

#[test]
fn apply_replaces_the_functions_cors_headers() {
    let cors = specific();
    let request = HttpRequest::new("GET", "/").with_header("Origin", "https://app.example.com");
    let mut response = function_response();
    cors.apply(&request, &mut response);
    assert_eq!(
        response
            .header_values("access-control-allow-origin")
            .collect::<Vec<_>>(),
        ["https://app.example.com"]
    );
    assert_eq!(response.header("access-control-allow-credentials"), None);
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("x-request-id,date")
    );
    assert_eq!(response.header("vary"), Some("Accept-Encoding, Origin"));
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("access-control-allow-methods"), None);
}

#[test]
fn apply_without_an_allowed_origin_only_removes() {
    let cors = specific();
    for request in [
        HttpRequest::new("GET", "/"),
        HttpRequest::new("GET", "/").with_header("Origin", "https://evil.example"),
    ] {
        let mut response = function_response();
        cors.apply(&request, &mut response);
        assert!(
            names(&response)
                .iter()
                .all(|n| !n.starts_with("access-control-")),
            "{:?}",
            response.headers
        );
        assert_eq!(response.header("vary"), Some("Accept-Encoding"));
    }
}

#[test]
fn apply_with_credentials_and_any_origin() {
    let cors = Cors {
        allow_origins: vec!["*".to_owned()],
        allow_credentials: true,
        ..Cors::default()
    };
    let request = HttpRequest::new("GET", "/").with_header("Origin", "https://x.example");
    let mut response = HttpResponse::default();
    cors.apply(&request, &mut response);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://x.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(response.header("vary"), Some("Origin"));
    assert_eq!(response.header("access-control-expose-headers"), None);
}
