//! `/2020-01-01/extension/...`: registration and events of extensions.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::oneshot;

use super::{ApiEvent, Extension, Shared, reply};
use crate::limits::MAX_EXTENSIONS;

const IDENTIFIER: &str = "lambda-extension-identifier";

pub(super) async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    rest: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    match (method, rest) {
        (&Method::POST, "register") => register(shared, request).await,
        (&Method::GET, "event/next") => next(shared, &request).await,
        (&Method::POST, "init/error") => fatal(shared, request, true).await,
        (&Method::POST, "exit/error") => fatal(shared, request, false).await,
        _ => reply::error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no such Extensions API endpoint: {method} /2020-01-01/extension/{rest}"),
        ),
    }
}

fn forbidden(error_type: &str, message: &str) -> Response<Full<Bytes>> {
    reply::error(StatusCode::FORBIDDEN, error_type, message)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Registration {
    #[serde(default)]
    events: Vec<String>,
    configuration_keys: Option<serde_json::Value>,
}

async fn register(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let name = request
        .headers()
        .get("lambda-extension-name")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return forbidden(
            "Extension.InvalidExtensionName",
            "Missing Lambda-Extension-Name header: send the extension's file name",
        );
    }
    let wants_account = request
        .headers()
        .get("lambda-extension-accept-feature")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|feature| feature.trim() == "accountId")
        });
    let body = match Limited::new(request.into_body(), 64 * 1024).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return forbidden("InvalidRequestFormat", "The registration body is too large"),
    };
    let registration: Registration = match serde_json::from_slice(&body) {
        Ok(registration) => registration,
        Err(error) => {
            return forbidden(
                "InvalidRequestFormat",
                &format!(
                    "The registration body is not valid: {error}; send {{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}}"
                ),
            );
        }
    };
    if registration.configuration_keys.is_some() {
        return forbidden(
            "InvalidRequestFormat",
            "configurationKeys is deprecated and not accepted",
        );
    }
    let mut invoke = false;
    let mut shutdown = false;
    for event in &registration.events {
        match event.as_str() {
            "INVOKE" => invoke = true,
            "SHUTDOWN" => shutdown = true,
            other => {
                return forbidden(
                    "Extension.InvalidEventType",
                    &format!("Unknown event type `{other}`: the events are INVOKE and SHUTDOWN"),
                );
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    {
        let mut state = shared.lock();
        if state.init_done {
            return forbidden(
                "Extension.RegistrationClosed",
                "Extensions register during INIT only",
            );
        }
        if state.extensions.len() >= MAX_EXTENSIONS {
            return forbidden(
                "Extension.TooManyExtensions",
                &format!("A function has at most {MAX_EXTENSIONS} extensions"),
            );
        }
        if state
            .extensions
            .iter()
            .any(|extension| extension.name == name)
        {
            return forbidden(
                "Extension.AlreadyRegistered",
                &format!("An extension named `{name}` is already registered"),
            );
        }
        let external = state.external_names.contains(&name);
        if !external && shutdown {
            return forbidden(
                "Extension.InvalidEventType",
                "Internal extensions cannot register for SHUTDOWN",
            );
        }
        state.extensions.push(Extension {
            id: id.clone(),
            name,
            invoke,
            shutdown,
            external,
            ready: false,
            waiter: None,
            queued: VecDeque::new(),
        });
    }
    shared.send(ApiEvent::ExtensionRegistered);
    let identity = &shared.identity;
    let mut body = serde_json::json!({
        "functionName": identity.function_name,
        "functionVersion": identity.function_version,
        "handler": identity.handler,
    });
    if wants_account {
        body["accountId"] = serde_json::Value::String(identity.account_id.clone());
    }
    let mut response = reply::json(StatusCode::OK, body.to_string());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(IDENTIFIER, value);
    }
    response
}

/// The identifier header, checked: a registered extension's index.
fn identify(
    shared: &Shared,
    request: &Request<Incoming>,
) -> Result<usize, Box<Response<Full<Bytes>>>> {
    let Some(id) = request
        .headers()
        .get(IDENTIFIER)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Box::new(forbidden(
            "Extension.MissingExtensionIdentifier",
            "Missing Lambda-Extension-Identifier header: send the identifier register returned",
        )));
    };
    let state = shared.lock();
    state
        .extensions
        .iter()
        .position(|extension| extension.id == id)
        .ok_or_else(|| {
            Box::new(forbidden(
                "Extension.InvalidExtensionIdentifier",
                &format!("`{id}` is not the identifier of a registered extension"),
            ))
        })
}

async fn next(shared: &Arc<Shared>, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let index = match identify(shared, request) {
        Ok(index) => index,
        Err(refusal) => return *refusal,
    };
    let waiting = {
        let mut state = shared.lock();
        let extension = &mut state.extensions[index];
        extension.ready = true;
        shared.send(ApiEvent::ExtensionNext);
        match extension.queued.pop_front() {
            Some(event) => {
                extension.ready = false;
                return event_response(event);
            }
            None => {
                let (sender, receiver) = oneshot::channel();
                extension.waiter = Some(sender);
                receiver
            }
        }
    };
    match waiting.await {
        Ok(event) => event_response(event),
        Err(_) => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Extension.ContainerError",
            "The execution environment is shutting down",
        ),
    }
}

fn event_response(event: Bytes) -> Response<Full<Bytes>> {
    let mut response = reply::json(StatusCode::OK, String::new());
    *response.body_mut() = Full::new(event);
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response
            .headers_mut()
            .insert("lambda-extension-event-identifier", value);
    }
    response
}

async fn fatal(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    init: bool,
) -> Response<Full<Bytes>> {
    if let Err(refusal) = identify(shared, &request) {
        return *refusal;
    }
    let Some(error_type) = request
        .headers()
        .get("lambda-extension-function-error-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
    else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestFormat",
            "Missing Lambda-Extension-Function-Error-Type header",
        );
    };
    let payload = Limited::new(request.into_body(), 64 * 1024)
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    let error_type = if error_type.starts_with("Extension.") {
        error_type
    } else if init {
        "Extension.InitError".to_string()
    } else {
        "Extension.ExitError".to_string()
    };
    shared.send(ApiEvent::ExtensionError {
        payload,
        error_type,
    });
    reply::accepted()
}
