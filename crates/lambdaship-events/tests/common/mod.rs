//! Helpers shared by the integration tests: a fixed request time and short ways to build
//! fronts, events and results.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambdaship_events::{Front, HttpRequest, HttpResponse, Kind, Refusal, RequestMeta};
use serde_json::Value;

/// 15/May/2020:06:01:09 +0000, the REST guide's example time.
pub const EPOCH_MS: u64 = 1_589_522_469_693;

pub fn time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(EPOCH_MS)
}

pub fn meta(front: &Front) -> RequestMeta {
    RequestMeta {
        request_id: front.new_request_id(),
        time: time(),
        iam: None,
    }
}

pub fn front(kind: Kind) -> Front {
    let mut front = Front::new(kind);
    front.api_id = "abc123defg".to_owned();
    front.account_id = "123456789012".to_owned();
    front
}

pub fn rest() -> Front {
    front(Kind::Rest)
}

/// The event, which must be accepted.
pub fn event(front: &Front, request: &HttpRequest) -> Value {
    match front.event(request, &meta(front)) {
        Ok(event) => event,
        Err(refusal) => panic!("refused: {} ({})", refusal.reason, refusal.response.status),
    }
}

/// The refusal, which must happen.
pub fn refusal(front: &Front, request: &HttpRequest) -> Refusal {
    match front.event(request, &meta(front)) {
        Ok(event) => panic!("accepted: {event}"),
        Err(refusal) => refusal,
    }
}

/// The body of a response as text.
pub fn text(response: &HttpResponse) -> &str {
    std::str::from_utf8(&response.body).expect("UTF-8 body")
}

/// Whether `map` (an object) has `key`.
pub fn has(value: &Value, key: &str) -> bool {
    value.as_object().is_some_and(|o| o.contains_key(key))
}
