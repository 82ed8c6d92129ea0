//! Request paths: checking, decoding and writing percent-escapes, and the stage prefix of
//! API Gateway URLs.

/// The bytes `text` stands for: each `%XX` is one byte (and `+` a space when
/// `plus_is_space`). A `%` not followed by two hex digits is an error, never passed on.
pub(crate) fn decode_escapes(text: &str, plus_is_space: bool) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3).and_then(|hex| {
                    std::str::from_utf8(hex)
                        .ok()
                        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match escape {
                    Some(decoded) => out.push(decoded),
                    None => {
                        let shown: String = text[i..].chars().take(3).collect();
                        return Err(format!("invalid percent-escape {shown:?}"));
                    }
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Checks that every `%` in `path` starts a valid escape.
pub(crate) fn check_escapes(path: &str) -> Result<(), String> {
    decode_escapes(path, false).map(|_| ())
}

/// `path` with its escapes decoded (`+` stays `+`); the result must be UTF-8.
pub(crate) fn decode_path(path: &str) -> Result<String, String> {
    let bytes = decode_escapes(path, false)?;
    String::from_utf8(bytes).map_err(|_| "decodes to bytes that are not UTF-8".to_owned())
}

/// Where in a request-target a text goes, which decides the bytes it may hold as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The path: `pchar` and `/` (RFC 3986 §3.3).
    Path,
    /// A whole query: `pchar`, `/` and `?` (RFC 3986 §3.4).
    Query,
    /// A query key between `&` and `=`: as `Query`, without `&` and `=`, which would split it.
    QueryKey,
    /// A query value after `=`: as `Query`, without `&`, which would end it.
    QueryValue,
}

/// `text`, which is already percent-encoded, made fit for `part` of a request-target:
/// every `%XX` escape and every byte RFC 3986 allows there stay as they are; any other
/// byte (a space, a control byte, each byte of a non-ASCII character, a `%` that starts no
/// escape) becomes `%XX`. An event can carry a path or query no client could send (HTTP
/// API decodes paths, a hand-written event holds anything); the app must still get a
/// request line it can parse, with the meaning the event's text had.
pub(crate) fn encode_target(text: &str, part: Part) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for (i, &byte) in bytes.iter().enumerate() {
        let escape = byte == b'%'
            && bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        if escape || keeps(byte, part) {
            out.push(char::from(byte));
        } else {
            push_escape(&mut out, byte);
        }
    }
    out
}

/// Appends `%XX` for `byte`, in uppercase hex as RFC 3986 §2.1 recommends.
pub(crate) fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

/// Whether `byte` may stand as itself in `part` (RFC 3986: unreserved, sub-delims, `:`,
/// `@`, `/`, and `?` in a query).
fn keeps(byte: u8, part: Part) -> bool {
    match byte {
        b'&' => matches!(part, Part::Path | Part::Query),
        b'=' => part != Part::QueryKey,
        b'?' => part != Part::Path,
        _ => {
            byte.is_ascii_alphanumeric()
                || b"-._~".contains(&byte)
                || b"!$'()*+,;".contains(&byte)
                || b":@/".contains(&byte)
        }
    }
}

/// `path` after the `/{stage}` prefix: `/prod` and `/prod/` → `/`, `/prod/a` → `/a`;
/// `None` when `path` is not under the stage (`/production`, `/other`).
pub(crate) fn strip_stage(path: &str, stage: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
    if rest.is_empty() {
        Some("/".to_owned())
    } else if rest.starts_with('/') {
        Some(rest.to_owned())
    } else {
        None
    }
}

/// `path`, or `/` when the request target had an empty path.
pub(crate) fn or_root(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths() {
        assert_eq!(
            decode_path("/caf%C3%A9/a%2Fb+c"),
            Ok("/café/a/b+c".to_owned())
        );
        assert!(decode_path("/%zz").is_err());
        assert!(decode_path("/%").is_err());
        assert!(decode_path("/%C3").is_err());
        assert!(check_escapes("/%C3").is_ok());
        assert!(check_escapes("/%é").is_err());
    }

    #[test]
    fn encodes_what_a_target_cannot_hold() {
        assert_eq!(
            encode_target("/caf%C3%A9/a b/\u{e9}/%zz/%4/x?y#z", Part::Path),
            "/caf%C3%A9/a%20b/%C3%A9/%25zz/%254/x%3Fy%23z"
        );
        assert_eq!(encode_target("/a\r\n\0\x7f", Part::Path), "/a%0D%0A%00%7F");
        assert_eq!(
            encode_target("a=1&b=x y?/:@!$'()*+,;~", Part::Query),
            "a=1&b=x%20y?/:@!$'()*+,;~"
        );
        assert_eq!(encode_target("a&b=c", Part::QueryKey), "a%26b%3Dc");
        assert_eq!(encode_target("a&b=c", Part::QueryValue), "a%26b=c");
        assert_eq!(
            encode_target("[x]{|}^`\"<>\\", Part::Path),
            "%5Bx%5D%7B%7C%7D%5E%60%22%3C%3E%5C"
        );
    }

    #[test]
    fn strips_stages() {
        assert_eq!(strip_stage("/prod", "prod"), Some("/".to_owned()));
        assert_eq!(strip_stage("/prod/", "prod"), Some("/".to_owned()));
        assert_eq!(strip_stage("/prod/a/b", "prod"), Some("/a/b".to_owned()));
        assert_eq!(strip_stage("/production", "prod"), None);
        assert_eq!(strip_stage("/Prod/a", "prod"), None);
        assert_eq!(strip_stage("/", "prod"), None);
        assert_eq!(strip_stage("", "prod"), None);
    }
}
