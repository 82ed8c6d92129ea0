//! Reading the fields of a function's result, each with a precise complaint.

use serde_json::{Map, Value};

/// The result parsed as JSON.
pub(crate) fn parse(payload: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(payload).map_err(|e| {
        format!(
            "the result is not valid JSON ({e}): {}",
            super::excerpt(payload)
        )
    })
}

/// The result as a JSON object, or a complaint naming what it is instead.
pub(crate) fn object(value: &Value) -> Result<&Map<String, Value>, String> {
    value.as_object().ok_or_else(|| {
        format!(
            "the result must be a JSON object with statusCode, got {}",
            describe(value)
        )
    })
}

/// `value` for a message: its kind and its JSON text, shortened.
pub(crate) fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let text = value.to_string();
    let mut shown: String = text.chars().take(80).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    if matches!(value, Value::Null) {
        kind.to_owned()
    } else {
        format!("{kind} {shown}")
    }
}

/// Refuses keys other than `allowed`.
pub(crate) fn only_keys(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(format!(
            "unexpected key '{key}' (allowed: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

/// `statusCode`: an integer from 100 to 599, written as an integer or an integer-valued
/// number (`200.0`), or as a string of digits when `allow_string` (apig-wsgi's changelog,
/// 2.1.0: "API Gateway always supported both strings and integers", the ALB only
/// integers).
pub(crate) fn status_code(object: &Map<String, Value>, allow_string: bool) -> Result<u16, String> {
    let Some(value) = object.get("statusCode") else {
        return Err("statusCode is missing from the result".to_owned());
    };
    let number = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s)
            if allow_string && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()
        }
        _ => None,
    };
    let Some(number) = number else {
        return Err(format!(
            "statusCode must be an integer, got {}",
            describe(value)
        ));
    };
    match u16::try_from(number) {
        Ok(code) if (100..=599).contains(&code) => Ok(code),
        _ => Err(format!("statusCode must be from 100 to 599, got {number}")),
    }
}

/// A header value: a string, or a number or boolean written as JSON writes it. The
/// community typings of the proxy result (DefinitelyTyped `aws-lambda`,
/// `APIGatewayProxyResult.headers`) declare `boolean | number | string`, written from what
/// API Gateway accepts; `null`, arrays and objects are refused.
fn header_value(field: &str, name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "{field}['{name}'] must be a string, got {}",
            describe(other)
        )),
    }
}

/// A `headers` object (absent or `null` → none): one value per name.
pub(crate) fn headers(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Vec<(String, String)>, String> {
    let Some(entries) = optional_object(object, field)? else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|(name, value)| Ok((name.clone(), header_value(field, name, value)?)))
        .collect()
}

/// A `multiValueHeaders` object (absent or `null` → none): a list of values per name.
pub(crate) fn multi_headers(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Vec<(String, Vec<String>)>, String> {
    let Some(entries) = optional_object(object, field)? else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|(name, value)| {
            let Value::Array(items) = value else {
                return Err(format!(
                    "{field}['{name}'] must be an array of strings, got {}",
                    describe(value)
                ));
            };
            let values = items
                .iter()
                .map(|item| header_value(field, name, item))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((name.clone(), values))
        })
        .collect()
}

fn optional_object<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(entries)) => Ok(Some(entries)),
        Some(other) => Err(format!(
            "{field} must be an object, got {}",
            describe(other)
        )),
    }
}

/// `body`: a string, or absent/`null` for none.
pub(crate) fn body(object: &Map<String, Value>) -> Result<Option<&str>, String> {
    match object.get("body") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "body must be a string or null, got {} (serialize it to a string first)",
            describe(other)
        )),
    }
}

/// `isBase64Encoded`: a boolean, absent or `null` meaning false.
pub(crate) fn base64_flag(object: &Map<String, Value>) -> Result<bool, String> {
    match object.get("isBase64Encoded") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(other) => Err(format!(
            "isBase64Encoded must be true or false, got {}",
            describe(other)
        )),
    }
}

/// `cookies` (payload 2.0): an array of strings, absent or `null` meaning none.
pub(crate) fn cookies(object: &Map<String, Value>) -> Result<Vec<String>, String> {
    match object.get("cookies") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "cookies must hold strings, got {}",
                    describe(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "cookies must be an array of strings, got {}",
            describe(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn status_codes() {
        assert_eq!(
            status_code(&obj(json!({"statusCode": 201})), false),
            Ok(201)
        );
        assert_eq!(
            status_code(&obj(json!({"statusCode": 201.0})), false),
            Ok(201)
        );
        assert_eq!(
            status_code(&obj(json!({"statusCode": "404"})), true),
            Ok(404)
        );
        assert_eq!(
            status_code(&obj(json!({"statusCode": "404"})), false),
            Err(r#"statusCode must be an integer, got a string "404""#.to_owned())
        );
        assert_eq!(
            status_code(&obj(json!({"statusCode": "abc"})), true),
            Err(r#"statusCode must be an integer, got a string "abc""#.to_owned())
        );
        assert!(status_code(&obj(json!({"statusCode": 200.5})), true).is_err());
        assert!(status_code(&obj(json!({"statusCode": -200})), true).is_err());
        assert!(status_code(&obj(json!({"statusCode": null})), true).is_err());
        assert_eq!(
            status_code(&obj(json!({"statusCode": 99})), true),
            Err("statusCode must be from 100 to 599, got 99".to_owned())
        );
        assert!(status_code(&obj(json!({"statusCode": 600})), true).is_err());
        assert!(status_code(&obj(json!({"statusCode": 70000})), true).is_err());
        assert_eq!(
            status_code(&obj(json!({})), true),
            Err("statusCode is missing from the result".to_owned())
        );
    }

    #[test]
    fn header_values() {
        let got = headers(
            &obj(json!({"headers": {"a": "x", "b": 3, "c": true}})),
            "headers",
        );
        assert_eq!(
            got,
            Ok(vec![
                ("a".to_owned(), "x".to_owned()),
                ("b".to_owned(), "3".to_owned()),
                ("c".to_owned(), "true".to_owned())
            ])
        );
        assert_eq!(
            headers(&obj(json!({"headers": {"a": null}})), "headers"),
            Err("headers['a'] must be a string, got null".to_owned())
        );
        assert!(headers(&obj(json!({"headers": {"a": ["x"]}})), "headers").is_err());
        assert!(headers(&obj(json!({"headers": "x"})), "headers").is_err());
        assert_eq!(
            headers(&obj(json!({"headers": null})), "headers"),
            Ok(vec![])
        );
        assert!(multi_headers(&obj(json!({"m": {"a": "x"}})), "m").is_err());
        assert!(multi_headers(&obj(json!({"m": {"a": [{}]}})), "m").is_err());
    }

    #[test]
    fn describes_long_values_briefly() {
        let long = Value::String("x".repeat(500));
        assert!(describe(&long).chars().count() < 100);
    }
}
