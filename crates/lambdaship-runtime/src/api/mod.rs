//! The local Runtime API (2018-06-01) and Extensions API (2020-01-01) of one execution
//! environment, served on its own loopback port, plus the Logs and Telemetry subscription
//! endpoints answered as the Runtime Interface Emulator answers them.

mod extensions;
mod reply;
mod runtime;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::invocation::FunctionResult;

/// The event a runtime receives from `invocation/next`.
#[derive(Debug)]
pub(crate) struct NextInvocation {
    pub(crate) request_id: String,
    pub(crate) deadline_ms: u64,
    pub(crate) invoked_arn: String,
    pub(crate) trace_id: String,
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
    pub(crate) payload: Bytes,
}

/// What the API tells the environment's driver.
#[derive(Debug)]
pub(crate) enum ApiEvent {
    /// The runtime asked for its next event: it is ready (init) or done (invoke).
    RuntimeNext,
    /// The runtime answered the current invocation.
    Answer {
        result: FunctionResult,
        streamed: bool,
    },
    /// The runtime's answer was refused (too large, cut short, bad response mode): the
    /// invocation fails with `result`, and the runtime client, whose post failed, is not
    /// trusted with another invocation.
    Refused {
        result: FunctionResult,
        streamed: bool,
    },
    /// The runtime failed to initialise (`init/error`).
    InitError { payload: Bytes, error_type: String },
    /// An extension registered.
    ExtensionRegistered,
    /// An extension asked for its next event.
    ExtensionNext,
    /// An extension reported a fatal error.
    ExtensionError { payload: Bytes, error_type: String },
}

/// An extension as the API knows it.
#[derive(Debug)]
pub(crate) struct Extension {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) invoke: bool,
    pub(crate) shutdown: bool,
    pub(crate) external: bool,
    /// Whether it is waiting in `event/next` (done with the current phase).
    pub(crate) ready: bool,
    waiter: Option<oneshot::Sender<Bytes>>,
    queued: VecDeque<Bytes>,
}

/// The invocation in flight.
#[derive(Debug)]
pub(crate) struct Current {
    pub(crate) request_id: String,
    pub(crate) answered: bool,
    pub(crate) stream_to: Option<mpsc::Sender<Bytes>>,
}

/// State shared by the API handlers and the driver.
#[derive(Debug, Default)]
pub(crate) struct State {
    runtime_waiter: Option<oneshot::Sender<Arc<NextInvocation>>>,
    pending: Option<Arc<NextInvocation>>,
    pub(crate) current: Option<Current>,
    /// Set when INIT ends: registration and `init/error` are closed.
    pub(crate) init_done: bool,
    pub(crate) extensions: Vec<Extension>,
    /// File names of the external extensions started.
    pub(crate) external_names: Vec<String>,
}

/// What `extension/register` answers with.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) function_name: String,
    pub(crate) function_version: String,
    pub(crate) handler: String,
    pub(crate) account_id: String,
}

/// The shared half of an environment's API.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) identity: Identity,
    state: Mutex<State>,
    events: mpsc::UnboundedSender<ApiEvent>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A handler that panicked cannot leave the state half-changed in a way that matters
        // more than stopping every later request: keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn send(&self, event: ApiEvent) {
        let _ = self.events.send(event);
    }

    /// Hands `invocation` to the runtime: now if it waits in `next`, else at its next call.
    pub(crate) fn deliver(
        &self,
        invocation: NextInvocation,
        stream_to: Option<mpsc::Sender<Bytes>>,
    ) {
        let invocation = Arc::new(invocation);
        let mut state = self.lock();
        state.current = Some(Current {
            request_id: invocation.request_id.clone(),
            answered: false,
            stream_to,
        });
        match state.runtime_waiter.take() {
            Some(waiter) => {
                if let Err(invocation) = waiter.send(invocation) {
                    state.pending = Some(invocation);
                }
            }
            None => state.pending = Some(invocation),
        }
    }

    /// Sends an event (INVOKE or SHUTDOWN) to every extension `wants` selects, marking
    /// them busy. Returns how many received it.
    pub(crate) fn broadcast(&self, event: &Bytes, wants: impl Fn(&Extension) -> bool) -> usize {
        let mut state = self.lock();
        let mut sent = 0;
        for extension in state.extensions.iter_mut().filter(|e| wants(e)) {
            extension.ready = false;
            sent += 1;
            match extension.waiter.take() {
                Some(waiter) => {
                    if let Err(event) = waiter.send(event.clone()) {
                        extension.queued.push_back(event);
                    }
                }
                None => extension.queued.push_back(event.clone()),
            }
        }
        sent
    }
}

/// A running API server for one environment.
pub(crate) struct ApiServer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiServer {
    /// Listens on a fresh loopback port.
    pub(crate) async fn start(
        identity: Identity,
        external_names: Vec<String>,
        events: mpsc::UnboundedSender<ApiEvent>,
    ) -> std::io::Result<ApiServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            identity,
            state: Mutex::new(State {
                external_names,
                ..State::default()
            }),
            events,
        });
        let task = tokio::spawn(serve(listener, shared.clone()));
        Ok(ApiServer {
            shared,
            address,
            task,
        })
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Each request is a round trip on the invoke path: never wait for Nagle.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

async fn route(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") {
        return runtime::route(shared, &method, rest, request).await;
    }
    if let Some(rest) = path.strip_prefix("/2020-01-01/extension/") {
        return extensions::route(shared, &method, rest, request).await;
    }
    match path.as_str() {
        "/2020-08-15/logs" | "/2020-08-15/logs/" => reply::error(
            hyper::StatusCode::ACCEPTED,
            "Logs.NotSupported",
            "Logs API is not supported",
        ),
        "/2022-07-01/telemetry" | "/2022-07-01/telemetry/" => reply::error(
            hyper::StatusCode::ACCEPTED,
            "Telemetry.NotSupported",
            "Telemetry API is not supported",
        ),
        "/ping" => reply::text(hyper::StatusCode::OK, "pong"),
        _ => reply::error(
            hyper::StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no such endpoint: {method} {path}"),
        ),
    }
}
