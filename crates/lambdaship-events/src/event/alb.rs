//! The ALB target event.

use serde_json::{Map, Value, json};

use crate::body::{EventBody, alb_text, media_type};
use crate::front::Front;
use crate::headers::{self, Drop, Naming};
use crate::path::or_root;
use crate::query::{self, Pick};
use crate::types::{HttpRequest, RequestMeta};

/// The event an ALB sends a Lambda target.
///
/// Path and query stay exactly as sent (the ALB decodes neither); headers are lowercase
/// with hop-by-hop headers kept (the ELB guide's example event has `connection`). In
/// single-value mode repeated headers and query keys keep their last value and
/// `queryStringParameters` is `{}` without a query (as health checks arrive); in
/// multi-value mode only the `multiValue*` fields are present. The body is `""` when
/// empty, and base64 when `Content-Encoding` is present or the type is not text (ELB guide,
/// "Receive events from the load balancer").
pub(crate) fn alb(
    front: &Front,
    request: &HttpRequest,
    meta: &RequestMeta,
    multi_value: bool,
) -> Value {
    let pairs = request
        .query
        .as_deref()
        .map(query::raw_pairs)
        .unwrap_or_default();
    let headers = headers::event_headers(
        request,
        Naming::Lower,
        Drop {
            hop_by_hop: false,
            content_length: false,
            cookie: false,
        },
        meta.time,
    );
    let media = request.header("content-type").map(media_type);
    let as_text = request.header("content-encoding").is_none() && alb_text(media.as_deref());
    let body = EventBody::of(&request.body, as_text);
    let mut event = Map::new();
    event.insert(
        "requestContext".to_owned(),
        json!({ "elb": { "targetGroupArn": front.target_group_arn } }),
    );
    event.insert("httpMethod".to_owned(), json!(request.method));
    event.insert("path".to_owned(), json!(or_root(&request.path)));
    if multi_value {
        event.insert(
            "multiValueQueryStringParameters".to_owned(),
            Value::Object(query::multi_map(&pairs)),
        );
        event.insert(
            "multiValueHeaders".to_owned(),
            Value::Object(headers::all_values(&headers)),
        );
    } else {
        event.insert(
            "queryStringParameters".to_owned(),
            Value::Object(query::single_map(&pairs, Pick::Last)),
        );
        event.insert(
            "headers".to_owned(),
            Value::Object(headers::last_values(&headers)),
        );
    }
    event.insert("body".to_owned(), body.value(json!("")));
    event.insert("isBase64Encoded".to_owned(), json!(body.is_base64()));
    Value::Object(event)
}
