//! Request paths: checking and decoding percent-escapes, and the stage prefix of
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
