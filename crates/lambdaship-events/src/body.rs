//! Bodies in events and results: which media types each front passes as text, matching
//! REST's binary media types, and base64 both ways.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde_json::Value;

/// A request body as an event carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EventBody {
    /// No bytes.
    Empty,
    /// UTF-8 text, passed as is.
    Text(String),
    /// Base64 of the bytes, with `isBase64Encoded: true`.
    Base64(String),
}

impl EventBody {
    /// `body` as text when `as_text` and it is valid UTF-8, otherwise base64: a body is
    /// never decoded lossily (the reference's §8.7: invalid UTF-8 under a text type goes as
    /// base64).
    pub(crate) fn of(body: &[u8], as_text: bool) -> EventBody {
        if body.is_empty() {
            return EventBody::Empty;
        }
        match std::str::from_utf8(body) {
            Ok(text) if as_text => EventBody::Text(text.to_owned()),
            _ => EventBody::Base64(STANDARD.encode(body)),
        }
    }

    /// The `body` value: `empty` for no bytes, else the text or base64 string.
    pub(crate) fn value(&self, empty: Value) -> Value {
        match self {
            EventBody::Empty => empty,
            EventBody::Text(text) | EventBody::Base64(text) => Value::String(text.clone()),
        }
    }

    /// The `body` text or base64, `None` for no bytes.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            EventBody::Empty => None,
            EventBody::Text(text) | EventBody::Base64(text) => Some(text),
        }
    }

    /// The `isBase64Encoded` flag.
    pub(crate) fn is_base64(&self) -> bool {
        matches!(self, EventBody::Base64(_))
    }
}

/// The media type of a `Content-Type` value: lowercase, without parameters.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether HTTP API (and Function URLs) pass a body of this media type as text: `text/*`,
/// `application/json|xml|javascript` and `+json`/`+xml` types. Anything else, a missing
/// type and `application/x-www-form-urlencoded` included, arrives base64 (tested against
/// AWS by ministackorg/ministack PR #766; the AWS docs only say "binary → base64").
pub(crate) fn http_api_text(media: Option<&str>) -> bool {
    let Some(media) = media else {
        return false;
    };
    media.starts_with("text/")
        || matches!(
            media,
            "application/json" | "application/xml" | "application/javascript"
        )
        || media.ends_with("+json")
        || media.ends_with("+xml")
}

/// Whether an ALB passes a body of this media type as text: exactly `text/*`,
/// `application/json`, `application/javascript` and `application/xml` (ELB guide,
/// "Receive events from the load balancer").
pub(crate) fn alb_text(media: Option<&str>) -> bool {
    let Some(media) = media else {
        return false;
    };
    media.starts_with("text/")
        || matches!(
            media,
            "application/json" | "application/javascript" | "application/xml"
        )
}

/// Whether an app's response body of this media type goes into a result as text (the
/// in-Lambda adapter; the fronts only ever see the result): no type, `text/*`,
/// `application/json|javascript|xml|yaml|x-www-form-urlencoded` and `+json`/`+xml`/`+yaml`
/// types. This is the list of `lambda_http`, which the Lambda Web Adapter uses, plus form
/// data, which is text by definition (reference http-events.md §7). Anything else is
/// base64, as is any body with a `Content-Encoding` (the caller checks that).
pub(crate) fn response_text(media: Option<&str>) -> bool {
    let Some(media) = media else {
        return true;
    };
    media.starts_with("text/")
        || matches!(
            media,
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/yaml"
                | "application/x-www-form-urlencoded"
        )
        || media.ends_with("+json")
        || media.ends_with("+xml")
        || media.ends_with("+yaml")
}

/// Whether `media` matches one of REST's `binaryMediaTypes`, where `*` stands for a whole
/// type or subtype (`image/*`, `*/*`). `media` itself is taken literally: an `Accept` of
/// `*/*` matches only a `*/*` entry. No media type (no header) matches only `*/*`.
pub(crate) fn matches_binary_types(media: Option<&str>, patterns: &[String]) -> bool {
    let (kind, subtype) = match media {
        Some(media) => media.split_once('/').unwrap_or((media, "")),
        None => return patterns.iter().any(|p| p.trim() == "*/*"),
    };
    patterns.iter().any(|pattern| {
        let pattern = media_type(pattern);
        let (p_kind, p_subtype) = pattern.split_once('/').unwrap_or((pattern.as_str(), ""));
        (p_kind == "*" || p_kind == kind) && (p_subtype == "*" || p_subtype == subtype)
    })
}

/// Standard base64, with or without padding (functions encode with their language's
/// standard library; some drop the padding).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The bytes of a base64 `body` from a function's result.
pub(crate) fn decode_base64(body: &str) -> Result<Vec<u8>, String> {
    LENIENT
        .decode(body)
        .map_err(|e| format!("body is not valid base64 although isBase64Encoded is true: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn text_or_base64() {
        assert_eq!(EventBody::of(b"", true), EventBody::Empty);
        assert_eq!(EventBody::of(b"hi", true), EventBody::Text("hi".to_owned()));
        assert_eq!(
            EventBody::of(b"hi", false),
            EventBody::Base64("aGk=".to_owned())
        );
        assert_eq!(
            EventBody::of(&[0xff, 0xfe], true),
            EventBody::Base64(STANDARD.encode([0xff, 0xfe]))
        );
    }

    #[test]
    fn media_types() {
        assert_eq!(media_type("Text/HTML; charset=UTF-8"), "text/html");
        assert!(http_api_text(Some("application/vnd.api+json")));
        assert!(http_api_text(Some("image/svg+xml")));
        assert!(!http_api_text(Some("application/x-www-form-urlencoded")));
        assert!(!http_api_text(None));
        assert!(alb_text(Some("application/xml")));
        assert!(!alb_text(Some("application/vnd.api+json")));
        assert!(response_text(None));
        assert!(response_text(Some("application/x-www-form-urlencoded")));
        assert!(response_text(Some("application/jwk-set+json")));
        assert!(response_text(Some("application/yaml")));
        assert!(!response_text(Some("image/png")));
        assert!(!response_text(Some("application/octet-stream")));
    }

    #[test]
    fn binary_media_type_wildcards() {
        assert!(matches_binary_types(
            Some("image/png"),
            &types(&["image/png"])
        ));
        assert!(matches_binary_types(
            Some("image/png"),
            &types(&["image/*"])
        ));
        assert!(matches_binary_types(Some("image/png"), &types(&["*/*"])));
        assert!(!matches_binary_types(
            Some("image/png"),
            &types(&["image/jpeg"])
        ));
        assert!(!matches_binary_types(
            Some("text/plain"),
            &types(&["image/*"])
        ));
        assert!(!matches_binary_types(Some("*/*"), &types(&["image/png"])));
        assert!(matches_binary_types(Some("*/*"), &types(&["*/*"])));
        assert!(matches_binary_types(None, &types(&["*/*"])));
        assert!(!matches_binary_types(None, &types(&["image/*"])));
        assert!(!matches_binary_types(Some("image/png"), &[]));
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(decode_base64("aGk="), Ok(b"hi".to_vec()));
        assert_eq!(decode_base64("aGk"), Ok(b"hi".to_vec()));
        assert!(decode_base64("not base64!").is_err());
    }
}
