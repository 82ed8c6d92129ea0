//! CORS answered by the front itself, as Function URLs and HTTP APIs do when CORS is
//! configured.
//!
//! Sources: the HTTP API guide (http-api-cors): "API Gateway automatically sends a response
//! to preflight OPTIONS requests, even if there isn't an OPTIONS route", "adds the
//! configured CORS headers to the response from an integration" and "ignores CORS headers
//! returned from your backend integration"; the Lambda guide (urls-configuration, CORS):
//! "Lambda automatically adds the CORS headers to all responses through the function URL
//! ... If there are conflicting headers, the configured CORS headers on the function URL
//! take precedence". Where they say nothing the Fetch standard decides: a literal `*` is
//! not honoured by browsers on credentialed requests, so with `allow_credentials` the
//! request's own origin, method and headers are echoed instead, and a response that
//! depends on `Origin` says `Vary: Origin`.

use bytes::Bytes;

use crate::types::{HttpRequest, HttpResponse};

/// A front's CORS configuration (Function URL `Cors`, HTTP API `CorsConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins (`https://example.com`), or `*` for any.
    pub allow_origins: Vec<String>,
    /// Allowed methods, or `*`.
    pub allow_methods: Vec<String>,
    /// Allowed request headers, or `*`.
    pub allow_headers: Vec<String>,
    /// Response headers exposed to the page.
    pub expose_headers: Vec<String>,
    /// How long a browser may cache a preflight answer, in seconds.
    pub max_age: Option<u32>,
    /// Whether credentials (cookies, authorization) may be sent.
    pub allow_credentials: bool,
}

impl Cors {
    /// Answers an OPTIONS preflight (a request with `Origin` and
    /// `Access-Control-Request-Method`): `Some(204)` with the `Access-Control-Allow-*`
    /// headers when the origin is allowed, `Some(204)` without them when it is not (the
    /// browser then blocks the request, as it would on AWS), `None` when the request is not
    /// a preflight and goes to the function.
    pub fn preflight(&self, request: &HttpRequest) -> Option<HttpResponse> {
        if !request.method.eq_ignore_ascii_case("OPTIONS") {
            return None;
        }
        let origin = request.header("origin")?;
        let requested_method = request.header("access-control-request-method")?;
        let mut headers = Vec::new();
        if let Some(allow_origin) = self.allowed_origin(origin) {
            headers.extend(self.origin_headers(allow_origin));
            let methods = self.listed(&self.allow_methods, Some(requested_method));
            if !methods.is_empty() {
                headers.push(("Access-Control-Allow-Methods".to_owned(), methods));
            }
            let requested_headers = request
                .header("access-control-request-headers")
                .map(str::trim)
                .filter(|h| !h.is_empty());
            let allowed = self.listed(&self.allow_headers, requested_headers);
            if !allowed.is_empty() {
                headers.push(("Access-Control-Allow-Headers".to_owned(), allowed));
            }
            if let Some(max_age) = self.max_age {
                headers.push(("Access-Control-Max-Age".to_owned(), max_age.to_string()));
            }
        }
        Some(HttpResponse {
            status: 204,
            reason: None,
            headers,
            body: Bytes::new(),
        })
    }

    /// Puts the configured CORS headers on a response to `request`: the function's own
    /// `Access-Control-*` headers are always removed, and when the request's `Origin` is
    /// allowed, `Access-Control-Allow-Origin` (with `-Allow-Credentials` and
    /// `-Expose-Headers` when configured) is added.
    pub fn apply(&self, request: &HttpRequest, response: &mut HttpResponse) {
        response
            .headers
            .retain(|(name, _)| !name.to_ascii_lowercase().starts_with("access-control-"));
        let Some(origin) = request.header("origin") else {
            return;
        };
        let Some(allow_origin) = self.allowed_origin(origin) else {
            return;
        };
        let added = self.origin_headers(allow_origin);
        for (name, value) in added {
            if name == "Vary" {
                add_vary_origin(response);
            } else {
                response.headers.push((name, value));
            }
        }
        if !self.expose_headers.is_empty() {
            response.headers.push((
                "Access-Control-Expose-Headers".to_owned(),
                self.expose_headers.join(","),
            ));
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, or `None` when it is not
    /// allowed. Origins compare without case (scheme and host are case-insensitive).
    fn allowed_origin<'a>(&self, origin: &'a str) -> Option<&'a str> {
        if self.allows_any_origin() {
            return Some(if self.allow_credentials { origin } else { "*" });
        }
        self.allow_origins
            .iter()
            .any(|allowed| allowed.trim().eq_ignore_ascii_case(origin))
            .then_some(origin)
    }

    fn allows_any_origin(&self) -> bool {
        self.allow_origins.iter().any(|o| o.trim() == "*")
    }

    /// Allow-Origin, Allow-Credentials and, when the answer names the origin, `Vary`.
    fn origin_headers(&self, allow_origin: &str) -> Vec<(String, String)> {
        let mut headers = vec![(
            "Access-Control-Allow-Origin".to_owned(),
            allow_origin.to_owned(),
        )];
        if self.allow_credentials {
            headers.push((
                "Access-Control-Allow-Credentials".to_owned(),
                "true".to_owned(),
            ));
        }
        if allow_origin != "*" {
            headers.push(("Vary".to_owned(), "Origin".to_owned()));
        }
        headers
    }

    /// A configured list for a preflight answer: `*` stays `*` unless credentials are
    /// allowed, where it becomes what the browser asked for.
    fn listed(&self, configured: &[String], requested: Option<&str>) -> String {
        if configured.iter().any(|c| c.trim() == "*") && self.allow_credentials {
            return requested.unwrap_or("").to_owned();
        }
        configured
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Adds `Origin` to the response's `Vary`, keeping what the function put there.
fn add_vary_origin(response: &mut HttpResponse) {
    let existing = response
        .headers
        .iter_mut()
        .find(|(name, _)| name.eq_ignore_ascii_case("vary"));
    match existing {
        Some((_, value)) => {
            let listed = value
                .split(',')
                .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case("origin"));
            if !listed {
                value.push_str(", Origin");
            }
        }
        None => response
            .headers
            .push(("Vary".to_owned(), "Origin".to_owned())),
    }
}
