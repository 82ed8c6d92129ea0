//! Request → event, one module per payload shape: payload 1.0 (REST and HTTP API 1.0),
//! payload 2.0 (HTTP API 2.0 and Function URLs) and ALB target events.

mod alb;
mod fields;
mod v1;
mod v2;

pub(crate) use alb::alb;

pub(crate) use v1::{http_v1, rest};
pub(crate) use v2::{function_url, http_v2};

use std::collections::BTreeMap;

use crate::answers;
use crate::front::Front;
use crate::types::Refusal;

/// The 400 the front answers to a request it cannot decode.
fn bad_request(reason: String) -> Refusal {
    Refusal {
        response: answers::bad_request(),
        reason,
    }
}

/// The stage variables, `None` (`null`, or no field in 2.0) when there are none.
fn stage_variables(front: &Front) -> Option<&BTreeMap<String, String>> {
    (!front.stage_variables.is_empty()).then_some(&front.stage_variables)
}

/// The first label of the domain name (`domainPrefix`).
fn domain_prefix(domain: &str) -> String {
    domain.split('.').next().unwrap_or(domain).to_owned()
}

/// The JSON of a typed event. Made of strings, numbers and maps with string keys, it always
/// serializes; were it ever not to, the request is answered as a front's internal failure.
pub(crate) fn to_json(event: &impl serde::Serialize) -> Result<Vec<u8>, Refusal> {
    serde_json::to_vec(event).map_err(|error| Refusal {
        response: answers::json_message(500, "Internal server error", None),
        reason: format!("the event could not be written as JSON: {error}"),
    })
}
