//! `AWS_LWA_ENABLE_COMPRESSION`: gzip for clients that accept it, on buffered and (unlike the
//! Lambda Web Adapter) streamed responses alike, chunk by chunk.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Bodies smaller than this are sent as they are (the Lambda Web Adapter's threshold).
const MIN_BYTES: usize = 32;

/// Whether a response with these headers, for a request with these, should be gzipped.
/// `body_len` is `None` for a stream of unknown length.
pub fn should_gzip(
    request_headers: &[(String, String)],
    response_headers: &[(String, String)],
    body_len: Option<usize>,
) -> bool {
    let header = |headers: &[(String, String)], name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(",")
    };
    let accepted = header(request_headers, "accept-encoding")
        .split(',')
        .any(accepts_gzip);
    let encoded = !header(response_headers, "content-encoding").is_empty();
    let content_type = header(response_headers, "content-type");
    accepted
        && !encoded
        && compressible(&content_type)
        && body_len.is_none_or(|len| len >= MIN_BYTES)
}

/// `gzip` or `*` in one Accept-Encoding item, unless its q is 0.
fn accepts_gzip(item: &str) -> bool {
    let mut parts = item.split(';').map(str::trim);
    let coding = parts.next().unwrap_or_default();
    let refused = parts.any(|p| {
        p.strip_prefix("q=")
            .and_then(|q| q.parse::<f32>().ok())
            .is_some_and(|q| q == 0.0)
    });
    (coding == "gzip" || coding == "*") && !refused
}

/// Text, JSON, JavaScript, XML, SVG and other formats gzip shrinks; not images, video,
/// audio or archives, which are compressed already.
fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.is_empty() {
        return true;
    }
    essence.starts_with("text/")
        || essence == "image/svg+xml"
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
                | "application/x-ndjson"
        )
}

/// The headers of a gzipped response: `content-encoding: gzip`, `vary: accept-encoding`,
/// and no `content-length` (the length changes).
pub fn gzipped_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
        .cloned()
        .collect();
    out.push(("content-encoding".to_string(), "gzip".to_string()));
    if !out.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("vary") && v.to_ascii_lowercase().contains("accept-encoding")
    }) {
        out.push(("vary".to_string(), "accept-encoding".to_string()));
    }
    out
}

/// A gzip stream fed chunk by chunk: each chunk comes out flushed, so a streamed response's
/// client sees every chunk as the app sends it.
pub struct GzipStream {
    encoder: GzEncoder<Vec<u8>>,
}

impl Default for GzipStream {
    fn default() -> Self {
        GzipStream {
            encoder: GzEncoder::new(Vec::new(), Compression::default()),
        }
    }
}

impl GzipStream {
    /// The compressed bytes for `chunk`, flushed.
    pub fn chunk(&mut self, chunk: &[u8]) -> std::io::Result<Vec<u8>> {
        self.encoder.write_all(chunk)?;
        self.encoder.flush()?;
        Ok(std::mem::take(self.encoder.get_mut()))
    }

    /// The end of the gzip stream.
    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        self.encoder.finish()
    }
}

/// `body` gzipped whole.
pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = GzipStream::default();
    let mut out = stream.chunk(body)?;
    out.extend(stream.finish()?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn gzip_only_what_the_client_accepts_and_what_shrinks() {
        let accepts = pairs(&[("Accept-Encoding", "br, gzip;q=0.8")]);
        let json = pairs(&[("Content-Type", "application/json")]);
        assert!(should_gzip(&accepts, &json, Some(100)));
        assert!(should_gzip(&accepts, &json, None));
        assert!(!should_gzip(&accepts, &json, Some(10)));
        assert!(!should_gzip(
            &pairs(&[("Accept-Encoding", "gzip;q=0")]),
            &json,
            Some(100)
        ));
        assert!(!should_gzip(&[], &json, Some(100)));
        let png = pairs(&[("content-type", "image/png")]);
        assert!(!should_gzip(&accepts, &png, Some(100)));
        let already = pairs(&[("content-type", "text/html"), ("content-encoding", "br")]);
        assert!(!should_gzip(&accepts, &already, Some(100)));
    }

    #[test]
    fn chunks_decode_back_to_the_stream() {
        let mut stream = GzipStream::default();
        let mut out = stream.chunk(b"data: one\n\n").expect("chunk");
        assert!(!out.is_empty(), "a flushed chunk is not held back");
        out.extend(stream.chunk(b"data: two\n\n").expect("chunk"));
        out.extend(stream.finish().expect("finish"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(out.as_slice())
            .read_to_string(&mut text)
            .expect("valid gzip");
        assert_eq!(text, "data: one\n\ndata: two\n\n");
        let whole = gzip(b"hello hello hello hello hello hello").expect("gzip");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(whole.as_slice())
            .read_to_end(&mut back)
            .expect("valid gzip");
        assert_eq!(back, b"hello hello hello hello hello hello");
    }
}
