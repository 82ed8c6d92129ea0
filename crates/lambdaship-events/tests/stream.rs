//! The prelude of streamed Function URL responses.
#![allow(clippy::unwrap_used)]

use lambdaship_events::{MAX_STREAM_PRELUDE, split_stream_prelude};

const NULS: [u8; 8] = [0; 8];

fn framed(prelude: &str, body: &[u8]) -> Vec<u8> {
    let mut buffer = prelude.as_bytes().to_vec();
    buffer.extend_from_slice(&NULS);
    buffer.extend_from_slice(body);
    buffer
}

#[test]
fn waits_for_the_whole_delimiter() {
    let prelude = r#"{"statusCode":200}"#;
    let full = framed(prelude, b"body");
    for cut in 0..prelude.len() + 8 {
        assert!(split_stream_prelude(&full[..cut]).is_none(), "cut at {cut}");
    }
    assert!(split_stream_prelude(&full[..prelude.len() + 8]).is_some());
}

#[test]
fn splits_head_and_body() {
    let prelude = r#"{"statusCode":201,"headers":{"Content-Type":"text/event-stream","X-A":"1","Transfer-Encoding":"chunked"},"cookies":["a=1","b=2"]}"#;
    // A body may itself start with NUL bytes: only the first eight belong to the delimiter.
    let buffer = framed(prelude, b"\0\0data: 1\n\n");
    let (head, consumed) = split_stream_prelude(&buffer).unwrap().unwrap();
    assert_eq!(consumed, prelude.len() + 8);
    assert_eq!(&buffer[consumed..], b"\0\0data: 1\n\n");
    assert_eq!(head.status, 201);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(head.header("x-a"), Some("1"));
    assert_eq!(head.header("transfer-encoding"), None);
    assert_eq!(
        head.header_values("set-cookie").collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
}

#[test]
fn defaults_and_refusals() {
    let (head, consumed) = split_stream_prelude(&framed("{}", b"")).unwrap().unwrap();
    assert_eq!(head.status, 200);
    assert!(head.headers.is_empty());
    assert_eq!(consumed, 10);
    for (prelude, reason) in [
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        (r#"{"statusCode":"abc"}"#, "statusCode must be an integer"),
        (r#"{"statusCode":700}"#, "from 100 to 599"),
        (r#"{"headers":{"a":[1]}}"#, "headers['a'] must be a string"),
        (r#"{"cookies":"a=1"}"#, "cookies must be an array"),
    ] {
        let error = split_stream_prelude(&framed(prelude, b"x"))
            .unwrap()
            .unwrap_err();
        assert!(error.contains(reason), "{prelude}: {error}");
    }
}

#[test]
fn gives_up_on_a_prelude_without_delimiter() {
    let buffer = vec![b' '; MAX_STREAM_PRELUDE + 1];
    let error = split_stream_prelude(&buffer).unwrap().unwrap_err();
    assert!(error.contains("no 8-NUL delimiter"), "{error}");
    assert!(split_stream_prelude(&buffer[..MAX_STREAM_PRELUDE]).is_none());
}
