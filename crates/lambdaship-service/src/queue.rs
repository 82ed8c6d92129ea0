//! Asynchronous invocations: queued, run, and on a function error retried twice, after
//! one and then two minutes, as Lambda does. Throttled events wait and try again without
//! using a retry, for up to six hours.

use std::sync::Weak;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lambdaship_runtime::InvokeRequest;
use tokio::sync::mpsc;

use crate::Service;

/// Lambda's event age limit.
const MAX_EVENT_AGE: Duration = Duration::from_secs(6 * 3600);
/// Wait before a throttled event tries again.
const THROTTLE_WAIT: Duration = Duration::from_secs(1);

/// One queued event.
#[derive(Debug)]
pub struct AsyncEvent {
    /// Function name.
    pub function: String,
    /// Version or alias invoked.
    pub qualifier: Option<String>,
    /// The event.
    pub payload: Bytes,
    /// The request id, the same on every attempt.
    pub request_id: String,
    /// Decoded client context.
    pub client_context: Option<String>,
    /// Attempts made so far.
    pub attempt: u32,
    /// When the event was accepted.
    pub enqueued: Instant,
}

/// The queue's entry point.
#[derive(Debug, Clone)]
pub struct AsyncQueue {
    sender: mpsc::UnboundedSender<AsyncEvent>,
}

impl AsyncQueue {
    /// A queue and the receiver its worker reads.
    pub fn new() -> (AsyncQueue, mpsc::UnboundedReceiver<AsyncEvent>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (AsyncQueue { sender }, receiver)
    }

    /// Accepts an event.
    pub fn push(&self, event: AsyncEvent) {
        // The worker lives as long as the service: a send cannot fail while requests come.
        let _ = self.sender.send(event);
    }
}

/// Runs queued events until the service is gone.
pub async fn work(service: Weak<Service>, mut receiver: mpsc::UnboundedReceiver<AsyncEvent>) {
    while let Some(event) = receiver.recv().await {
        let service = service.clone();
        tokio::spawn(async move { run(service, event).await });
    }
}

async fn run(service: Weak<Service>, mut event: AsyncEvent) {
    loop {
        let Some(service) = service.upgrade() else {
            return;
        };
        let name = event.function.clone();
        let Some(doc) = service.store.function(&name) else {
            service.notice(
                &name,
                &format!(
                    "async event {} dropped: the function was deleted",
                    event.request_id
                ),
            );
            return;
        };
        let version = match service.resolve(&doc, event.qualifier.as_deref()) {
            Ok(resolved) => resolved.clone(),
            Err(error) => {
                service.notice(
                    &name,
                    &format!(
                        "async event {} dropped: {}",
                        event.request_id, error.message
                    ),
                );
                return;
            }
        };
        let request = InvokeRequest {
            payload: event.payload.clone(),
            qualifier: event.qualifier.clone(),
            client_context: event.client_context.clone(),
            request_id: Some(event.request_id.clone()),
            ..InvokeRequest::default()
        };
        let outcome = service.engine.invoke(&version, request).await;
        service.retire_if_stale(&version);
        let failure = match outcome {
            Ok(outcome) if !outcome.result.is_error() => return,
            Ok(outcome) => match outcome.result {
                lambdaship_runtime::FunctionResult::Error { error_type, .. } => error_type,
                lambdaship_runtime::FunctionResult::Success { .. } => return,
            },
            Err(error) if error.status == 429 => {
                if event.enqueued.elapsed() > MAX_EVENT_AGE {
                    service.notice(&name, &format!("async event {} discarded: throttled for longer than the maximum event age", event.request_id));
                    return;
                }
                drop(service);
                tokio::time::sleep(THROTTLE_WAIT).await;
                continue;
            }
            Err(error) => error.to_string(),
        };
        event.attempt += 1;
        let delays = service.retry_delays.clone();
        let Some(delay) = delays.get(event.attempt as usize - 1).copied() else {
            service.notice(
                &name,
                &format!(
                    "async event {} failed on attempt {} of {} ({failure}); discarded",
                    event.request_id,
                    event.attempt,
                    delays.len() + 1
                ),
            );
            return;
        };
        service.notice(
            &name,
            &format!(
                "async event {} failed on attempt {} of {} ({failure}); retrying in {}",
                event.request_id,
                event.attempt,
                delays.len() + 1,
                humantime::format_duration(delay)
            ),
        );
        drop(service);
        tokio::time::sleep(delay).await;
    }
}
