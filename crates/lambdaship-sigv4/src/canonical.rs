//! The canonical request of Signature Version 4, rebuilt from the request as received.
//!
//! The rules follow what botocore's `SigV4Auth` signs for a non-S3 service (Function URLs are
//! signed as service `lambda`), since that is what AWS accepts:
//! - the path as sent (already percent-encoded once) has its dot segments and empty segments
//!   removed and is then percent-encoded a second time, `/` excepted, so `%2F` becomes `%252F`
//!   and `é` sent as `%C3%A9` becomes `%25C3%25A9`;
//! - query keys and values are decoded (`+` meaning a space, as AWS reads it) and re-encoded
//!   with RFC 3986's unreserved set, then sorted by key and value;
//! - header names are lowercased, values trimmed with inner whitespace runs collapsed, and
//!   repeated headers joined with `,`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};

/// Everything but RFC 3986's unreserved characters is encoded.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// As [`QUERY_ENCODE`], but the path keeps its separators.
const PATH_ENCODE: &AsciiSet = &QUERY_ENCODE.remove(b'/');

/// The canonical URI for the raw (percent-encoded) path as received.
pub fn canonical_uri(raw_path: &str) -> String {
    let normalized = remove_dot_segments(raw_path);
    percent_encode(normalized.as_bytes(), PATH_ENCODE).to_string()
}

/// RFC 3986 section 5.2.4, plus the removal of empty segments (`a//b` is `a/b`) that AWS
/// services expect; an empty path is `/`.
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&kept.join("/"));
    if path.ends_with('/') && !kept.is_empty() {
        out.push('/');
    }
    out
}

/// The query's key/value pairs, decoded: `+` is a space and `%XX` a byte. A pair without `=`
/// has an empty value; empty pairs (`a=1&&b=2`) are dropped.
pub fn query_pairs(raw_query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key), decode_component(value))
        })
        .collect()
}

fn decode_component(raw: &str) -> Vec<u8> {
    let spaced: Vec<u8> = raw
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// The canonical query string of decoded `pairs`, leaving out those whose key is `skip`.
pub fn canonical_query(pairs: &[(Vec<u8>, Vec<u8>)], skip: Option<&str>) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(key, _)| skip.is_none_or(|skip| key.as_slice() != skip.as_bytes()))
        .map(|(key, value)| {
            (
                percent_encode(key, QUERY_ENCODE).to_string(),
                percent_encode(value, QUERY_ENCODE).to_string(),
            )
        })
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers block (each line ending in a newline) for `signed`, which must be
/// lowercased, sorted and free of duplicates. A signed header the request lacks canonicalises
/// with an empty value, so the signature then fails to match rather than being waved through.
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> String {
    let mut block = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .iter()
            .filter(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| trim_all(value))
            .collect();
        block.push_str(name);
        block.push(':');
        block.push_str(&values.join(","));
        block.push('\n');
    }
    block
}

/// Trims a header value and collapses each inner run of whitespace into one space.
fn trim_all(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parts of a canonical request, joined by [`CanonicalRequest::render`].
pub struct CanonicalRequest<'a> {
    /// The request method; uppercased when rendered.
    pub method: &'a str,
    /// From [`canonical_uri`].
    pub uri: &'a str,
    /// From [`canonical_query`].
    pub query: &'a str,
    /// From [`canonical_headers`].
    pub headers: &'a str,
    /// The signed header names, joined with `;`.
    pub signed_headers: &'a str,
    /// The payload hash in hex, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
}

impl CanonicalRequest<'_> {
    /// The canonical request text that is hashed into the string to sign.
    pub fn render(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.method.to_ascii_uppercase(),
            self.uri,
            self.query,
            self.headers,
            self.signed_headers,
            self.payload_hash
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_encoded_a_second_time() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a%2Fb/caf%C3%A9"), "/a%252Fb/caf%25C3%25A9");
        assert_eq!(canonical_uri("/a b/(x)!*'"), "/a%20b/%28x%29%21%2A%27");
        assert_eq!(canonical_uri("/~user/-_."), "/~user/-_.");
    }

    #[test]
    fn uri_drops_dot_and_empty_segments() {
        assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
        assert_eq!(canonical_uri("//a//b/"), "/a/b/");
        assert_eq!(canonical_uri("/../.."), "/");
        assert_eq!(canonical_uri("/a/.."), "/");
        assert_eq!(canonical_uri("/a/b/.."), "/a");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        let pairs = query_pairs("b=2&a=z&a=y&space=a+b%20c&empty&eq=&tilde=%7E&slash=/&&x=%2b");
        assert_eq!(
            canonical_query(&pairs, None),
            "a=y&a=z&b=2&empty=&eq=&slash=%2F&space=a%20b%20c&tilde=~&x=%2B"
        );
    }

    #[test]
    fn query_leaves_out_the_skipped_key() {
        let pairs = query_pairs("X-Amz-Signature=abc&X-Amz-Date=1&x-amz-signature=kept");
        assert_eq!(
            canonical_query(&pairs, Some("X-Amz-Signature")),
            "X-Amz-Date=1&x-amz-signature=kept"
        );
    }

    #[test]
    fn headers_are_lowercased_trimmed_and_joined() {
        let headers = vec![
            ("Host".to_owned(), "example.com".to_owned()),
            ("X-Multi".to_owned(), "  a   b  ".to_owned()),
            ("x-multi".to_owned(), "c\t\td".to_owned()),
            ("X-Unsigned".to_owned(), "z".to_owned()),
        ];
        let signed = [
            "host".to_owned(),
            "x-absent".to_owned(),
            "x-multi".to_owned(),
        ];
        assert_eq!(
            canonical_headers(&headers, &signed),
            "host:example.com\nx-absent:\nx-multi:a b,c d\n"
        );
    }
}
