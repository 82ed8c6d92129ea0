//! The answers the fronts give themselves, byte for byte where AWS documents them.

use bytes::Bytes;

use crate::types::HttpResponse;

/// A JSON `{"message": ...}` answer, as API Gateway writes its own errors; with an
/// `x-amzn-ErrorType` header when `error_type` is given.
pub(crate) fn json_message(status: u16, message: &str, error_type: Option<&str>) -> HttpResponse {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(error_type) = error_type {
        headers.push(("x-amzn-ErrorType".to_owned(), error_type.to_owned()));
    }
    HttpResponse {
        status,
        reason: None,
        headers,
        body: Bytes::from(body),
    }
}

/// REST's answer to a path outside the API's resources or stage: 403 Missing
/// Authentication Token.
pub(crate) fn missing_authentication_token() -> HttpResponse {
    json_message(
        403,
        "Missing Authentication Token",
        Some("MissingAuthenticationTokenException"),
    )
}

/// REST's answer when the function failed or its result was malformed (502), or when
/// Lambda refused the invocation (500); the body is the same (Lambda guide,
/// services-apigateway-errors).
pub(crate) fn rest_internal_error(status: u16) -> HttpResponse {
    json_message(
        status,
        "Internal server error",
        Some("InternalServerErrorException"),
    )
}

/// HTTP API's answer to any failed Lambda integration: 500 `{"message":"Internal Server
/// Error"}` (HTTP API troubleshooting guide; aws-lambda-cpp#117 and deno_registry2#87 see
/// 500 for function errors and timeouts).
pub(crate) fn http_api_internal_error() -> HttpResponse {
    json_message(500, "Internal Server Error", None)
}

/// HTTP API's answer to a path outside its stage.
pub(crate) fn http_api_not_found() -> HttpResponse {
    json_message(404, "Not Found", None)
}

/// A Function URL's answer when the function failed or its result was malformed: 502 with
/// the text `Internal Server Error` (awsdocs/aws-lambda-developer-guide#430,
/// awslabs/aws-lambda-cpp#200).
pub(crate) fn function_url_error() -> HttpResponse {
    HttpResponse {
        status: 502,
        reason: None,
        headers: vec![("Content-Type".to_owned(), "text/plain".to_owned())],
        body: Bytes::from_static(b"Internal Server Error"),
    }
}

/// A Function URL's answer when the function is throttled: 429 (Lambda guide,
/// "Throttling function URLs").
pub(crate) fn function_url_throttled() -> HttpResponse {
    json_message(429, "Rate Exceeded.", None)
}

/// An ALB's own error page: `<status> <reason>` in its HTML, with `Server: awselb/2.0`.
pub(crate) fn alb_page(status: u16, reason: &str) -> HttpResponse {
    let title = format!("{status} {reason}");
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    HttpResponse {
        status,
        reason: Some(reason.to_owned()),
        headers: vec![
            ("Server".to_owned(), "awselb/2.0".to_owned()),
            ("Content-Type".to_owned(), "text/html".to_owned()),
        ],
        body: Bytes::from(body),
    }
}

/// API Gateway's and Function URLs' answer to a request they cannot parse.
pub(crate) fn bad_request() -> HttpResponse {
    json_message(400, "Bad Request", None)
}

/// API Gateway's and Function URLs' answer to a request above their size limit.
pub(crate) fn request_too_long() -> HttpResponse {
    json_message(413, "Request Too Long", None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alb_502_page_is_byte_exact() {
        let page = alb_page(502, "Bad Gateway");
        assert_eq!(
            page.body,
            Bytes::from_static(
                b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
            )
        );
        assert_eq!(page.header("content-type"), Some("text/html"));
    }

    #[test]
    fn rest_errors_carry_their_type() {
        let answer = missing_authentication_token();
        assert_eq!(answer.status, 403);
        assert_eq!(
            answer.header("x-amzn-errortype"),
            Some("MissingAuthenticationTokenException")
        );
        assert_eq!(
            answer.body,
            Bytes::from_static(br#"{"message":"Missing Authentication Token"}"#)
        );
    }
}
