//! The event's headers made fit to send the app.

use crate::headers::{is_hop_by_hop, is_token};

/// The headers to send the app, from the event's header pairs and, for payload 2.0, its
/// `cookies`.
///
/// - A name that is not a token cannot be sent and is left out (the API Gateway console's
///   sample event has a `""` header).
/// - Control bytes other than tab are removed from values: a scanner's path can put CR, LF
///   or NUL in a forwarded header, and the Lambda Web Adapter answered such requests with
///   5xx until it stripped them (its #732).
/// - `Content-Length` and hop-by-hop headers are left out: the body is already whole, and
///   an ALB passes the client's `Transfer-Encoding: chunked` on with it; the sender frames
///   the body itself.
/// - The cookies become one `cookie` header, their values joined with `; `: HTTP/1.1 allows
///   only one (RFC 6265 §5.4), and servers that merge repeated headers with commas would
///   break the cookie string. Payload 2.0's `cookies` are used when present; a Function
///   URL sends the `cookie` header too, which then is left out to avoid doubling it.
pub(super) fn for_app(pairs: Vec<(String, String)>, cookies: Vec<String>) -> Vec<(String, String)> {
    let mut header_cookies = Vec::new();
    let mut out = Vec::with_capacity(pairs.len() + 1);
    for (name, value) in pairs {
        if !is_token(&name) || is_hop_by_hop(&name) || name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let value = without_controls(&value);
        if name.eq_ignore_ascii_case("cookie") {
            header_cookies.push(value);
        } else {
            out.push((name, value));
        }
    }
    let cookies = if cookies.is_empty() {
        header_cookies
    } else {
        cookies
            .iter()
            .map(|cookie| without_controls(cookie))
            .collect()
    };
    let joined = cookies
        .iter()
        .map(|cookie| cookie.trim())
        .filter(|cookie| !cookie.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if !joined.is_empty() {
        out.push(("cookie".to_owned(), joined));
    }
    out
}

/// `value` without the bytes a field value may not hold (RFC 9110 §5.5): C0 controls but
/// tab, and DEL.
fn without_controls(value: &str) -> String {
    value
        .chars()
        .filter(|&c| c == '\t' || !(c.is_ascii_control()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn cleans_names_values_and_framing() {
        let got = for_app(
            pairs(&[
                ("", ""),
                ("bad name", "x"),
                ("X-Evil", "a\r\nInjected: 1\0\u{7f}\tb é"),
                ("Content-Length", "3"),
                ("transfer-encoding", "chunked"),
                ("Connection", "keep-alive"),
                ("X-Multi", "1"),
                ("X-Multi", "2"),
            ]),
            Vec::new(),
        );
        assert_eq!(
            got,
            pairs(&[
                ("X-Evil", "aInjected: 1\tb é"),
                ("X-Multi", "1"),
                ("X-Multi", "2"),
            ])
        );
    }

    #[test]
    fn one_cookie_header() {
        let got = for_app(
            pairs(&[("Cookie", "a=1; b=2"), ("x", "1"), ("cookie", " c=3 ")]),
            Vec::new(),
        );
        assert_eq!(got, pairs(&[("x", "1"), ("cookie", "a=1; b=2; c=3")]));
        let got = for_app(
            pairs(&[("cookie", "a=1; b=2")]),
            vec!["a=1".to_owned(), "b=2".to_owned()],
        );
        assert_eq!(got, pairs(&[("cookie", "a=1; b=2")]));
        assert_eq!(for_app(pairs(&[("cookie", "")]), Vec::new()), vec![]);
    }
}
