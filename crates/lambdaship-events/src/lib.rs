//! HTTP ↔ Lambda events for the AWS fronts that call a function over HTTP: API Gateway
//! REST APIs (proxy integration, payload 1.0), HTTP APIs (payload 2.0 and 1.0), Lambda
//! Function URLs and Application Load Balancers.
//!
//! This crate goes the way a front goes:
//!
//! - **request → event**: [`Front::event`] turns a request as the client sent it
//!   ([`HttpRequest`]) into the JSON event that front would send the function, or into the
//!   answer the front gives itself without calling it ([`Refusal`]: a path outside the
//!   stage, a bad percent-escape, a body or event above the limits);
//! - **result → response**: [`Front::response`] turns what the function returned into the
//!   [`HttpResponse`] that front would send the client, or refuses it as AWS does
//!   ([`BadResult`], whose `reason` says exactly what is wrong for the log);
//! - the front's answers to failed invocations ([`Front::invocation_failed`],
//!   [`Front::throttled`], [`Front::too_large`]), CORS handled by the front ([`cors::Cors`])
//!   and the head of a streamed Function URL response ([`split_stream_prelude`]).
//!
//! The local dev server and the local Function URL endpoint use it. The reverse direction,
//! for a web adapter running inside Lambda in front of a local web app, is [`adapter`]: an
//! event becomes the request to send the app ([`adapter::request`]) and the app's response
//! the function's result ([`adapter::result`], [`adapter::stream_prelude`]), with the same
//! rules read backwards.
//!
//! Layout: `front` (the entry points and each front's answers, with `answers`), `event`
//! (one module per event shape: `v1` for REST and HTTP API 1.0, `v2` for HTTP API 2.0 and
//! Function URLs, `alb`), `result` (the same split for results, with `fields` reading each
//! result field), `adapter` (the reverse direction), and the shared rules in `headers`,
//! `query`, `path`, `body`, `status`, `time`, `ids` and `limits`. Every rule cites where it
//! comes from: the AWS guides, or live captures where the guides are silent.

pub mod adapter;
mod answers;
mod body;
pub mod cors;
mod event;
mod front;
mod headers;
mod ids;
mod limits;
mod path;
mod query;
mod result;
mod status;
mod stream;
mod time;
mod types;

pub use front::{Front, Kind};
pub use limits::{ALB_LAMBDA_LIMIT, API_GATEWAY_BODY_LIMIT, LAMBDA_PAYLOAD_LIMIT};
pub use status::reason_phrase;
pub use stream::{MAX_STREAM_PRELUDE, split_stream_prelude};
pub use types::{BadResult, HttpRequest, HttpResponse, IamIdentity, Refusal, RequestMeta};
