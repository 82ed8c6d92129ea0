//! Which front sent an event, told from the event's shape alone.

use std::fmt;

use serde_json::Value;

use crate::front::Kind;

/// What sent an event, which decides how the event is read and the shape of the result: one
/// of the fronts this crate serves, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An HTTP front (for an ALB, `multi_value` says whether the result must carry
    /// `multiValueHeaders` instead of `headers`).
    Front(Kind),
    /// No HTTP front: SQS, EventBridge, a direct invocation, or bytes that are not JSON.
    PassThrough,
}

impl Source {
    /// The source of `event`, from its structure (the order matters, as the shapes
    /// overlap): `requestContext.elb` is an ALB, in multi-value mode when the event has
    /// `multiValueHeaders`; `version` `"2.0"` or a `requestContext.http` is payload 2.0,
    /// from a Function URL when `requestContext.domainName` is a `.lambda-url.` domain;
    /// `httpMethod` with a `requestContext` is payload 1.0, from an HTTP API when `version`
    /// is `"1.0"` and from a REST API otherwise (REST events have no `version`). Anything
    /// else, non-objects included, passes through.
    pub(crate) fn of(event: &Value) -> Source {
        let Some(object) = event.as_object() else {
            return Source::PassThrough;
        };
        let context = object.get("requestContext").and_then(Value::as_object);
        let version = object.get("version").and_then(Value::as_str);
        if context.is_some_and(|c| c.get("elb").is_some_and(Value::is_object)) {
            return Source::Front(Kind::Alb {
                multi_value: object
                    .get("multiValueHeaders")
                    .is_some_and(Value::is_object),
            });
        }
        if version == Some("2.0")
            || context.is_some_and(|c| c.get("http").is_some_and(Value::is_object))
        {
            let function_url = context
                .and_then(|c| c.get("domainName"))
                .and_then(Value::as_str)
                .is_some_and(|domain| domain.contains(".lambda-url."));
            return if function_url {
                Source::Front(Kind::FunctionUrl)
            } else {
                Source::Front(Kind::HttpV2)
            };
        }
        if context.is_some() && object.contains_key("httpMethod") {
            return if version == Some("1.0") {
                Source::Front(Kind::HttpV1)
            } else {
                Source::Front(Kind::Rest)
            };
        }
        Source::PassThrough
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Front(Kind::Rest) => "REST API",
            Source::Front(Kind::HttpV2) => "HTTP API (payload 2.0)",
            Source::Front(Kind::HttpV1) => "HTTP API (payload 1.0)",
            Source::Front(Kind::FunctionUrl) => "Function URL",
            Source::Front(Kind::Alb { multi_value: false }) => "ALB",
            Source::Front(Kind::Alb { multi_value: true }) => "ALB (multi-value)",
            Source::PassThrough => "pass-through",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_each_shape() {
        let cases = [
            (
                json!({"httpMethod": "GET", "requestContext": {}}),
                Source::Front(Kind::Rest),
            ),
            (
                json!({"version": "1.0", "httpMethod": "GET", "requestContext": {}}),
                Source::Front(Kind::HttpV1),
            ),
            (json!({"version": "2.0"}), Source::Front(Kind::HttpV2)),
            (
                json!({"requestContext": {"http": {}}}),
                Source::Front(Kind::HttpV2),
            ),
            (
                json!({"version": "2.0", "requestContext": {"domainName": "x.lambda-url.us-east-1.on.aws"}}),
                Source::Front(Kind::FunctionUrl),
            ),
            (
                json!({"httpMethod": "GET", "requestContext": {"elb": {}}, "headers": {}}),
                Source::Front(Kind::Alb { multi_value: false }),
            ),
            (
                json!({"httpMethod": "GET", "requestContext": {"elb": {}}, "multiValueHeaders": {}}),
                Source::Front(Kind::Alb { multi_value: true }),
            ),
            (json!({"httpMethod": "GET"}), Source::PassThrough),
            (json!({"Records": []}), Source::PassThrough),
            (json!([1, 2]), Source::PassThrough),
            (json!("GET /"), Source::PassThrough),
            (json!(null), Source::PassThrough),
        ];
        for (event, source) in cases {
            assert_eq!(Source::of(&event), source, "{event}");
        }
    }
}
