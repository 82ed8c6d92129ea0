//! Result → response, one module per result shape: payload 1.0 (REST and HTTP API 1.0),
//! payload 2.0 (HTTP API 2.0 and Function URLs) and ALB. Each returns the response or a
//! sentence saying precisely what is wrong with the result; the front turns that into its
//! own failure answer.

mod alb;
pub(crate) mod fields;
mod v1;
mod v2;

pub(crate) use alb::alb;
pub(crate) use v1::v1;
pub(crate) use v2::v2;

/// Up to 300 characters of a payload for a log line (lossy: it is only shown).
pub(crate) fn excerpt(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let mut shown: String = text.chars().take(300).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}
