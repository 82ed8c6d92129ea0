//! Query strings: decoded the way API Gateway and Function URLs decode them, or split raw the
//! way an ALB passes them, and encoded again for an app.

use serde_json::{Map, Value};

use crate::path::{decode_escapes, push_escape};

/// The query's key/value pairs in order, each key and value decoded: `+` is a space and
/// `%XX` a byte, and the bytes must be UTF-8. A piece without `=` has the value `""`; empty
/// pieces are skipped. `separators` are the characters that end a piece (REST also splits
/// at `;`, per its known-issues page).
///
/// `+` decodes to a space for every front: the live captures of `literalPlus=a+b`
/// (hotsock/voker testdata) show `"a b"` from REST, HTTP API and Function URLs alike, and
/// aws/aws-cdk#19827 shows REST turning `sort=-+createdAt` into `"- createdAt"`.
pub(crate) fn decoded_pairs(
    raw: &str,
    separators: &[char],
) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for piece in raw.split(|c| separators.contains(&c)) {
        if piece.is_empty() {
            continue;
        }
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let key = decode_component(key).map_err(|e| format!("query parameter {key:?}: {e}"))?;
        let value = decode_component(value).map_err(|e| format!("query parameter {key:?}: {e}"))?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The query's key/value pairs split at `&` and `=` but not decoded (ALB: "If the query
/// parameters are URL-encoded, the load balancer does not decode them").
pub(crate) fn raw_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// Decoded pairs written back as a query, each key and value form-encoded
/// (`application/x-www-form-urlencoded`: a space is `+`, every byte but ASCII letters,
/// digits and `-._~` is `%XX`), so that `decoded_pairs` reads the same pairs back.
pub(crate) fn form_encoded(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        form_encode_into(&mut out, key);
        out.push('=');
        form_encode_into(&mut out, value);
    }
    out
}

fn form_encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'-' | b'.' | b'_' | b'~' => out.push(char::from(byte)),
            _ if byte.is_ascii_alphanumeric() => out.push(char::from(byte)),
            _ => push_escape(out, byte),
        }
    }
}

fn decode_component(text: &str) -> Result<String, String> {
    let bytes = decode_escapes(text, true)?;
    String::from_utf8(bytes).map_err(|_| "decodes to bytes that are not UTF-8".to_owned())
}

/// Which of a repeated key's values a single-value map keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The last (REST, ALB single-value mode).
    Last,
    /// All, joined with commas (HTTP API 2.0, Function URLs).
    Joined,
}

/// One entry per key, keeping the value(s) `pick` says.
pub(crate) fn single_map(pairs: &[(String, String)], pick: Pick) -> Map<String, Value> {
    let mut map: Map<String, Value> = Map::new();
    for (key, value) in pairs {
        match (map.get_mut(key), pick) {
            (Some(Value::String(existing)), Pick::Joined) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                map.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    map
}

/// One entry per key with every value in order (`multiValueQueryStringParameters`).
pub(crate) fn multi_map(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut map: Map<String, Value> = Map::new();
    for (key, value) in pairs {
        match map.get_mut(key) {
            Some(Value::Array(values)) => values.push(Value::String(value.clone())),
            _ => {
                map.insert(
                    key.clone(),
                    Value::Array(vec![Value::String(value.clone())]),
                );
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn decodes_plus_percent_and_bare_keys() {
        let got = decoded_pairs("a=x+y&b=%2B%20&flag&&c=caf%C3%A9&d=", &['&']);
        assert_eq!(
            got,
            Ok(pairs(&[
                ("a", "x y"),
                ("b", "+ "),
                ("flag", ""),
                ("c", "café"),
                ("d", "")
            ]))
        );
    }

    #[test]
    fn semicolons_split_only_when_asked() {
        assert_eq!(
            decoded_pairs("a=1;b=2", &['&', ';']),
            Ok(pairs(&[("a", "1"), ("b", "2")]))
        );
        assert_eq!(
            decoded_pairs("a=1;b=2", &['&']),
            Ok(pairs(&[("a", "1;b=2")]))
        );
    }

    #[test]
    fn refuses_bad_escapes_and_non_utf8() {
        assert!(decoded_pairs("a=%zz", &['&']).is_err());
        assert!(decoded_pairs("a=%4", &['&']).is_err());
        assert!(decoded_pairs("a=%FF", &['&']).is_err());
        assert!(decoded_pairs("%C3=1", &['&']).is_err());
    }

    #[test]
    fn raw_pairs_keep_encoding() {
        assert_eq!(
            raw_pairs("q=a%20b&p=a+b&flag&&x=%zz"),
            pairs(&[("q", "a%20b"), ("p", "a+b"), ("flag", ""), ("x", "%zz")])
        );
    }

    #[test]
    fn form_encoding_reads_back() {
        let list = pairs(&[("a b", "x+y&z=1"), ("café", ""), ("k", "~-._*%")]);
        let encoded = form_encoded(&list);
        assert_eq!(encoded, "a+b=x%2By%26z%3D1&caf%C3%A9=&k=~-._%2A%25");
        assert_eq!(decoded_pairs(&encoded, &['&']), Ok(list));
        assert_eq!(form_encoded(&[]), "");
    }

    #[test]
    fn picks() {
        let list = pairs(&[("a", "1"), ("b", "x"), ("a", "2"), ("a", "")]);
        assert_eq!(
            Value::Object(single_map(&list, Pick::Last)),
            serde_json::json!({"a": "", "b": "x"})
        );
        assert_eq!(
            Value::Object(single_map(&list, Pick::Joined)),
            serde_json::json!({"a": "1,2,", "b": "x"})
        );
        assert_eq!(
            Value::Object(multi_map(&list)),
            serde_json::json!({"a": ["1", "2", ""], "b": ["x"]})
        );
    }
}
