//! One AWS front in front of one function: each HTTP request becomes the front's event,
//! the function runs, and its result becomes the front's HTTP answer, with the front's own
//! refusals (missing route, too large, CORS preflight) and failures (502, 500).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use lambdaship_events::cors::Cors;
use lambdaship_events::{Front, HttpRequest, HttpResponse, IamIdentity, RequestMeta};
use tokio::sync::mpsc;

use crate::http1;

/// What the function answered.
#[derive(Debug)]
pub struct Invoked {
    /// The result payload (empty when it was streamed).
    pub payload: Bytes,
    /// Lambda reported a function error (`X-Amz-Function-Error`).
    pub function_error: bool,
    /// The payload went to the stream instead.
    pub streamed: bool,
}

/// Why the function could not be invoked at all.
#[derive(Debug)]
pub struct InvokeFailed {
    /// For the log.
    pub reason: String,
    /// Lambda throttled it (concurrency exhausted).
    pub throttled: bool,
}

/// A boxed invocation.
pub type Invocation<'a> = Pin<Box<dyn Future<Output = Result<Invoked, InvokeFailed>> + Send + 'a>>;

/// Runs the function behind a front.
pub trait Backend: Send + Sync + 'static {
    /// Invokes the function with `event`; with `stream`, a streamed response's bytes are
    /// sent there as they come.
    fn invoke(&self, event: Bytes, stream: Option<mpsc::Sender<Bytes>>) -> Invocation<'_>;
}

/// Where a front writes what it did: one line per failed request, with the reason.
pub trait FrontLog: Send + Sync + 'static {
    /// A line for the user.
    fn line(&self, text: &str);
}

/// A front, configured, in front of a backend.
pub struct Gateway {
    /// The front and its settings.
    pub front: Front,
    /// CORS answered by the front, when configured.
    pub cors: Option<Cors>,
    /// Stream the function's answer (Function URL `RESPONSE_STREAM`).
    pub streaming: bool,
    /// The function.
    pub backend: Arc<dyn Backend>,
    /// Where failures are explained.
    pub log: Arc<dyn FrontLog>,
}

impl Gateway {
    /// Answers one request.
    pub async fn handle(&self, request: HttpRequest, iam: Option<IamIdentity>) -> http1::Response {
        if let Some(cors) = &self.cors
            && let Some(preflight) = cors.preflight(&request)
        {
            return full(preflight);
        }
        let meta = RequestMeta {
            request_id: self.front.new_request_id(),
            time: SystemTime::now(),
            iam,
        };
        let event = match self.front.event_json(&request, &meta) {
            Ok(event) => event,
            Err(refusal) => {
                self.log.line(&format!(
                    "{} {} -> {}: {}",
                    request.method, request.path, refusal.response.status, refusal.reason
                ));
                return self.finish(&request, refusal.response);
            }
        };
        let event = Bytes::from(event);
        if self.streaming {
            return self.handle_streaming(request, event).await;
        }
        let outcome = self.backend.invoke(event, None).await;
        let response = self.answer(&request, outcome);
        self.finish(&request, response)
    }

    /// The HTTP answer to a buffered invocation's outcome, failures explained in the log.
    fn answer(
        &self,
        request: &HttpRequest,
        outcome: Result<Invoked, InvokeFailed>,
    ) -> HttpResponse {
        let invoked = match outcome {
            Ok(invoked) => invoked,
            Err(failed) => {
                let response = if failed.throttled {
                    self.front.throttled()
                } else {
                    self.front.invocation_failed()
                };
                self.log.line(&format!(
                    "{} {} -> {}: the function could not be invoked: {}",
                    request.method, request.path, response.status, failed.reason
                ));
                return response;
            }
        };
        match self
            .front
            .response(request, &invoked.payload, invoked.function_error)
        {
            Ok(response) => response,
            Err(bad) => {
                self.log.line(&format!(
                    "{} {} -> {}: {}",
                    request.method, request.path, bad.response.status, bad.reason
                ));
                bad.response
            }
        }
    }

    /// Function URL response streaming: the prelude (status, headers, cookies) is read from
    /// the start of the stream, then the body goes to the client as the function writes it.
    /// A stream without a valid prelude is sent as it is, as a 200 body; a function that
    /// answers buffered is mapped as a buffered URL maps it.
    async fn handle_streaming(&self, request: HttpRequest, event: Bytes) -> http1::Response {
        let (sender, mut chunks) = mpsc::channel::<Bytes>(64);
        let backend = self.backend.clone();
        let invocation = tokio::spawn(async move { backend.invoke(event, Some(sender)).await });
        let mut buffer = Vec::new();
        // Until the prelude is complete the answer is not known.
        let head = loop {
            let Some(chunk) = chunks.recv().await else {
                break None;
            };
            buffer.extend_from_slice(&chunk);
            match lambdaship_events::split_stream_prelude(&buffer) {
                None => continue,
                Some(Ok((head, consumed))) => {
                    let rest = buffer.split_off(consumed);
                    break Some((head, rest));
                }
                Some(Err(reason)) => {
                    self.log.line(&format!(
                        "{} {} -> streamed response without a valid prelude ({reason}); sent as it is",
                        request.method, request.path
                    ));
                    let raw = HttpResponse {
                        status: 200,
                        reason: None,
                        headers: vec![(
                            "content-type".to_string(),
                            "application/octet-stream".to_string(),
                        )],
                        body: Bytes::new(),
                    };
                    break Some((raw, std::mem::take(&mut buffer)));
                }
            }
        };
        let Some((mut response, rest)) = head else {
            // The stream closed before any prelude: a buffered answer (its payload is the
            // result), bytes that ended too soon, or a failed invocation.
            let outcome = invocation.await.unwrap_or_else(|e| {
                Err(InvokeFailed {
                    reason: format!("the invocation stopped: {e}"),
                    throttled: false,
                })
            });
            let outcome = outcome.map(|invoked| {
                if invoked.streamed {
                    Invoked {
                        payload: Bytes::from(buffer),
                        ..invoked
                    }
                } else {
                    invoked
                }
            });
            let response = self.answer(&request, outcome);
            return self.finish(&request, response);
        };
        if let Some(cors) = &self.cors {
            cors.apply(&request, &mut response);
        }
        let (body_sender, body) = mpsc::channel::<Bytes>(64);
        // Drains the function's stream to its end whatever the client does, so the function
        // never blocks on a full channel.
        tokio::spawn(async move {
            let mut client_gone = false;
            if !rest.is_empty() {
                client_gone = body_sender.send(Bytes::from(rest)).await.is_err();
            }
            while let Some(chunk) = chunks.recv().await {
                if !client_gone {
                    client_gone = body_sender.send(chunk).await.is_err();
                }
            }
            let _ = invocation.await;
        });
        http1::Response {
            status: response.status,
            reason: response.reason,
            headers: response.headers,
            body: http1::Body::Stream(body),
        }
    }

    fn finish(&self, request: &HttpRequest, mut response: HttpResponse) -> http1::Response {
        if let Some(cors) = &self.cors {
            cors.apply(request, &mut response);
        }
        full(response)
    }
}

/// A buffered answer on the wire.
pub fn full(response: HttpResponse) -> http1::Response {
    http1::Response {
        status: response.status,
        reason: response.reason,
        headers: response.headers,
        body: http1::Body::Full(response.body),
    }
}

/// The request a front sees, from what the server read.
pub fn from_wire(request: http1::Request) -> HttpRequest {
    HttpRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: request.body,
        source_ip: request.peer.ip().to_string(),
        protocol: request.version,
    }
}
