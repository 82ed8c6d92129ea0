//! Reading an event's fields, each with a complaint naming the field. The fields an event
//! shares with a result (`headers`, `multiValueHeaders`, `cookies`, `body`,
//! `isBase64Encoded`) are read by the result readers, so both directions accept the same
//! values.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::body::decode_base64;
use crate::headers::is_token;
use crate::result::fields::{self, describe};

/// An event object.
pub(super) type Object = Map<String, Value>;

/// The string at `path` (`["requestContext", "http", "method"]`), which must be there.
pub(super) fn string<'a>(object: &'a Object, path: &[&str]) -> Result<&'a str, String> {
    let name = path.join(".");
    let mut keys = path.iter();
    let first = keys.next().and_then(|key| object.get(*key));
    let value = keys.fold(first, |value, key| value.and_then(|v| v.get(*key)));
    match value {
        Some(Value::String(text)) => Ok(text),
        None => Err(format!("{name} is missing")),
        Some(other) => Err(format!("{name} must be a string, got {}", describe(other))),
    }
}

/// The method at `path`: it goes into the request line, so it must be a token.
pub(super) fn method(object: &Object, path: &[&str]) -> Result<String, String> {
    let method = string(object, path)?;
    if !is_token(method) {
        return Err(format!(
            "{} must be an HTTP method such as GET, got {method:?}",
            path.join(".")
        ));
    }
    Ok(method.to_owned())
}

/// An optional string field: absent or `null` is `None`.
pub(super) fn optional_string<'a>(
    object: &'a Object,
    field: &str,
) -> Result<Option<&'a str>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!("{field} must be a string, got {}", describe(other))),
    }
}

/// The pairs of a payload 1.0 or ALB map: from `multi` (`multiValueHeaders`,
/// `multiValueQueryStringParameters`), every value its own pair, and from `single` when
/// `multi` is absent, `null` or empty (REST sends both; an ALB one or the other; a
/// hand-written test event often only `single`).
pub(super) fn pairs(
    object: &Object,
    multi: &str,
    single: &str,
) -> Result<Vec<(String, String)>, String> {
    let grouped = fields::multi_headers(object, multi)?;
    if grouped.is_empty() {
        return fields::headers(object, single);
    }
    Ok(grouped
        .into_iter()
        .flat_map(|(name, values)| values.into_iter().map(move |v| (name.clone(), v)))
        .collect())
}

/// The body's bytes: `body` (absent or `null` for none), decoded from base64 when
/// `isBase64Encoded` is true.
pub(super) fn body(object: &Object) -> Result<Bytes, String> {
    let text = fields::body(object)?.unwrap_or("");
    if fields::base64_flag(object)? {
        Ok(Bytes::from(decode_base64(text)?))
    } else {
        Ok(Bytes::copy_from_slice(text.as_bytes()))
    }
}

/// `requestContext`, when the event has one.
pub(super) fn request_context(object: &Object) -> Option<Value> {
    object
        .get("requestContext")
        .filter(|context| !context.is_null())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Object {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn strings_name_their_path() {
        let event = obj(json!({"requestContext": {"http": {"method": 3}}, "a": "x"}));
        assert_eq!(string(&event, &["a"]), Ok("x"));
        assert_eq!(
            string(&event, &["requestContext", "http", "method"]),
            Err("requestContext.http.method must be a string, got a number 3".to_owned())
        );
        assert_eq!(
            string(&event, &["requestContext", "nope", "method"]),
            Err("requestContext.nope.method is missing".to_owned())
        );
        assert_eq!(
            method(&obj(json!({"m": "GE T"})), &["m"]),
            Err(r#"m must be an HTTP method such as GET, got "GE T""#.to_owned())
        );
    }

    #[test]
    fn pairs_fall_back_to_single_values() {
        let both = obj(json!({"m": {"a": ["1", "2"]}, "s": {"a": "2"}}));
        assert_eq!(
            pairs(&both, "m", "s"),
            Ok(vec![
                ("a".to_owned(), "1".to_owned()),
                ("a".to_owned(), "2".to_owned())
            ])
        );
        let single = obj(json!({"m": {}, "s": {"a": "2"}}));
        assert_eq!(
            pairs(&single, "m", "s"),
            Ok(vec![("a".to_owned(), "2".to_owned())])
        );
        assert_eq!(pairs(&obj(json!({"m": null})), "m", "s"), Ok(vec![]));
    }

    #[test]
    fn bodies() {
        assert_eq!(body(&obj(json!({}))), Ok(Bytes::new()));
        assert_eq!(
            body(&obj(json!({"body": "aGk=", "isBase64Encoded": true}))),
            Ok(Bytes::from_static(b"hi"))
        );
        assert_eq!(
            body(&obj(json!({"body": "aGk=", "isBase64Encoded": false}))),
            Ok(Bytes::from_static(b"aGk="))
        );
        let error = body(&obj(json!({"body": "%%", "isBase64Encoded": true})));
        assert!(
            error.as_ref().is_err_and(|e| e.contains("isBase64Encoded")),
            "{error:?}"
        );
    }
}
