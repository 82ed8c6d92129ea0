//! Header rules shared by the fronts: the names each front writes, the hop-by-hop headers a
//! proxy never forwards, and the forwarding headers (`X-Forwarded-*`, `X-Amzn-Trace-Id`)
//! every front adds to a request.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::ids;
use crate::types::HttpRequest;

/// Connection-level headers a proxy consumes instead of forwarding (RFC 9110 §7.6.1, plus
/// the non-standard `Keep-Alive` and `Proxy-Connection`).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` is a hop-by-hop header.
pub(crate) fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Drops what a front never passes from a function's headers to the client: hop-by-hop
/// headers, and `Content-Length`, which the server computes from the body it sends (ALB
/// guide: "does not honor hop-by-hop headers ... computes" Content-Length).
pub(crate) fn strip_response_headers(headers: &mut Vec<(String, String)>) {
    headers
        .retain(|(name, _)| !is_hop_by_hop(name) && !name.eq_ignore_ascii_case("content-length"));
}

/// Refuses headers no HTTP response can carry: a name that is not a token (RFC 9110 §5.1)
/// or a value with a line break or other control character (§5.5). The ELB guide lists a
/// target response with "HTTP headers that are not valid" among the causes of 502, and
/// passing them on would let a result split the response.
pub(crate) fn check_response_headers(headers: &[(String, String)]) -> Result<(), String> {
    for (name, value) in headers {
        if !is_token(name) {
            return Err(format!(
                "header name {name:?} is not a valid HTTP header name"
            ));
        }
        if value.chars().any(|c| c != '\t' && c.is_control()) {
            return Err(format!(
                "header {name:?} has a value with a line break or control character: {value:?}"
            ));
        }
    }
    Ok(())
}

/// Whether `text` is an RFC 9110 §5.6.2 token, as header names and methods must be.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `name` with each dash-separated word capitalised: `x-forwarded-for` → `X-Forwarded-For`.
pub(crate) fn canonical(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// How a front writes header names in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    /// REST: the client's case, but `Host` and `User-Agent`, which API Gateway rewrites,
    /// and the headers it adds in canonical case (a live REST capture, hotsock/voker
    /// `vokerhttp/testdata/apigwv1-request.json`, has `Host`, `User-Agent`,
    /// `X-Forwarded-For` next to the client's lowercase `accept`).
    Rest,
    /// HTTP API payload 1.0: lowercase, but `Host` and `User-Agent` canonical (captured
    /// event cited in the reference, glassechidna/serverlessish PR #4).
    HttpV1,
    /// HTTP API 2.0, Function URLs and ALB: all lowercase.
    Lower,
}

impl Naming {
    /// The name a client header `name` gets in the event.
    fn client(self, name: &str) -> String {
        match self {
            Naming::Lower => name.to_ascii_lowercase(),
            Naming::Rest | Naming::HttpV1 => {
                if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("user-agent") {
                    canonical(name)
                } else if self == Naming::Rest {
                    name.to_owned()
                } else {
                    name.to_ascii_lowercase()
                }
            }
        }
    }

    /// The name of a header the front adds itself (given in lowercase).
    fn added(self, name: &str) -> String {
        match self {
            Naming::Rest => canonical(name),
            Naming::HttpV1 | Naming::Lower => name.to_owned(),
        }
    }
}

/// Which client headers a front leaves out of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drop {
    /// Hop-by-hop headers: API Gateway and Function URLs terminate the connection (and talk
    /// HTTP/2, which has none). The ALB guide's example event keeps `connection`, so the ALB
    /// passes them.
    pub hop_by_hop: bool,
    /// `Content-Length`: absent from the live REST capture whose body was 66 bytes, present
    /// in the HTTP API, Function URL and ALB captures of the same request.
    pub content_length: bool,
    /// `Cookie`: HTTP API 2.0 moves it to `cookies` (the Function URL capture keeps both).
    pub cookie: bool,
}

/// The forwarding headers the fronts add: client address appended to `X-Forwarded-For`, the
/// port and scheme the client used, and an X-Ray trace header.
const FORWARDED_FOR: &str = "x-forwarded-for";
const FORWARDED_PORT: &str = "x-forwarded-port";
const FORWARDED_PROTO: &str = "x-forwarded-proto";
const TRACE_ID: &str = "x-amzn-trace-id";

/// The request's headers as the front passes them to the function, in wire order, with the
/// forwarding headers last.
///
/// AWS appends the peer address to any `X-Forwarded-For` the client sent. For the port and
/// scheme a value the client (or a proxy in front of the local server) already sent is kept;
/// otherwise they describe the local listener, which is plain HTTP: the port of the `Host`
/// header (80 without one) and `http`. AWS would say `443`/`https`, but a function building
/// absolute URLs from them would then point at a scheme the local server does not speak.
/// A client's `X-Amzn-Trace-Id` is kept; otherwise a new root id is made.
pub(crate) fn event_headers(
    request: &HttpRequest,
    naming: Naming,
    drop: Drop,
    time: SystemTime,
) -> Vec<(String, String)> {
    let mut forwarded_for: Vec<&str> = Vec::new();
    let mut port = None;
    let mut proto = None;
    let mut trace = None;
    let mut out = Vec::with_capacity(request.headers.len() + 4);
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            FORWARDED_FOR => forwarded_for.push(value.trim()),
            FORWARDED_PORT => port = Some(value.clone()),
            FORWARDED_PROTO => proto = Some(value.clone()),
            TRACE_ID => trace = Some(value.clone()),
            _ => {
                if (drop.hop_by_hop && is_hop_by_hop(&lower))
                    || (drop.content_length && lower == "content-length")
                    || (drop.cookie && lower == "cookie")
                {
                    continue;
                }
                out.push((naming.client(name), value.clone()));
            }
        }
    }
    forwarded_for.retain(|v| !v.is_empty());
    forwarded_for.push(&request.source_ip);
    let port = port.unwrap_or_else(|| host_port(request.header("host")));
    let proto = proto.unwrap_or_else(|| "http".to_owned());
    let trace = trace.unwrap_or_else(|| ids::trace_id(time));
    out.push((naming.added(FORWARDED_FOR), forwarded_for.join(", ")));
    out.push((naming.added(FORWARDED_PORT), port));
    out.push((naming.added(FORWARDED_PROTO), proto));
    out.push((naming.added(TRACE_ID), trace));
    out
}

/// The port of a `Host` header value (`localhost:3000` → `3000`), 80 when it has none.
fn host_port(host: Option<&str>) -> String {
    let Some(host) = host else {
        return "80".to_owned();
    };
    // `[::1]:3000`: the port follows the bracket; a bare IPv6 address has no port.
    let after = match host.rfind(']') {
        Some(end) => &host[end + 1..],
        None => host,
    };
    match after.rsplit_once(':') {
        Some((_, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            port.to_owned()
        }
        _ => "80".to_owned(),
    }
}

/// One entry per name with the name's last value (REST `headers`, ALB single-value mode).
pub(crate) fn last_values(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in pairs {
        map.insert(name.clone(), Value::String(value.clone()));
    }
    map
}

/// One entry per name with all its values in order (`multiValueHeaders`).
pub(crate) fn all_values(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut grouped: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (name, value) in pairs {
        grouped
            .entry(name)
            .or_default()
            .push(Value::String(value.clone()));
    }
    grouped
        .into_iter()
        .map(|(name, values)| (name.to_owned(), Value::Array(values)))
        .collect()
}

/// One entry per name with its values joined by commas, as HTTP API 2.0 does
/// (`"x-multi": "v1,v2"`). `cookie` joins with `"; "`: HTTP/2 splits one cookie header
/// into several, and RFC 9113 §8.2.3 rebuilds it that way.
pub(crate) fn joined_values(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in pairs {
        grouped.entry(name).or_default().push(value);
    }
    grouped
        .into_iter()
        .map(|(name, values)| {
            let separator = if name == "cookie" { "; " } else { "," };
            (name.to_owned(), Value::String(values.join(separator)))
        })
        .collect()
}

/// Header pairs grouped by name compared without case, as HTTP names compare: one entry per
/// name, spelled as first seen, in the order first seen, with its values in order.
pub(crate) fn grouped(pairs: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in pairs {
        match groups
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, values)) => values.push(value.clone()),
            None => groups.push((name.clone(), vec![value.clone()])),
        }
    }
    groups
}

/// The cookies of every `Cookie` header, split at `;` (HTTP API 2.0 `cookies`).
pub(crate) fn cookies(request: &HttpRequest) -> Vec<String> {
    request
        .header_values("cookie")
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|cookie| !cookie.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(canonical("x-forwarded-for"), "X-Forwarded-For");
        assert_eq!(canonical("USER-AGENT"), "User-Agent");
        assert_eq!(canonical("host"), "Host");
    }

    #[test]
    fn ports_from_host() {
        assert_eq!(host_port(Some("localhost:3000")), "3000");
        assert_eq!(host_port(Some("example.com")), "80");
        assert_eq!(host_port(Some("[::1]:8080")), "8080");
        assert_eq!(host_port(Some("[::1]")), "80");
        assert_eq!(host_port(Some("host:")), "80");
        assert_eq!(host_port(None), "80");
    }

    #[test]
    fn refuses_headers_that_cannot_be_sent() {
        let pair = |n: &str, v: &str| vec![(n.to_owned(), v.to_owned())];
        assert!(check_response_headers(&pair("X-Ok", "a\tb é")).is_ok());
        assert!(check_response_headers(&pair("X-Bad", "a\r\nSet-Cookie: x=1")).is_err());
        assert!(check_response_headers(&pair("X Bad", "a")).is_err());
        assert!(check_response_headers(&pair("", "a")).is_err());
        assert!(check_response_headers(&pair("X:Bad", "a")).is_err());
    }

    #[test]
    fn groups_names_without_case() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect()
        };
        let got = grouped(&pairs(&[
            ("Set-Cookie", "a"),
            ("X", "1"),
            ("set-cookie", "b"),
        ]));
        assert_eq!(
            got,
            vec![
                (
                    "Set-Cookie".to_owned(),
                    vec!["a".to_owned(), "b".to_owned()]
                ),
                ("X".to_owned(), vec!["1".to_owned()]),
            ]
        );
    }

    #[test]
    fn strips_hop_by_hop_and_length() {
        let mut headers = vec![
            ("Connection".to_owned(), "close".to_owned()),
            ("Content-Length".to_owned(), "3".to_owned()),
            ("Transfer-Encoding".to_owned(), "chunked".to_owned()),
            ("X-Kept".to_owned(), "1".to_owned()),
        ];
        strip_response_headers(&mut headers);
        assert_eq!(headers, vec![("X-Kept".to_owned(), "1".to_owned())]);
    }
}
