//! The environments of one function: warm ones reused, new ones started up to the
//! concurrency limit, idle ones shut down after the keep-alive period.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use crate::api::NextInvocation;
use crate::environment::{AnswerHook, Environment, InitFailure, ShutdownReason, epoch_ms};
use crate::error::InvokeError;
use crate::invocation::{FunctionResult, InvokeOutcome, InvokeRequest, Report};
use crate::limits::{INIT_TIMEOUT, MAX_EVENT_BYTES};
use crate::logs;
use crate::spec::EnvSpec;

/// How a function's environments are managed.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most invocations in flight at once; beyond it callers are throttled.
    pub concurrency: usize,
    /// How long an idle environment stays warm.
    pub keep_alive: Duration,
    /// Run environments in their own mount namespace with Lambda's paths (Linux).
    pub isolate: bool,
    /// How long an invocation waits for an environment that has answered and is finishing
    /// its invoke phase (the runtime's next request, END and REPORT: usually well under a
    /// millisecond) before starting a new one or being throttled.
    pub finishing_wait: Duration,
    /// How long an invocation beyond the concurrency limit waits for an environment before
    /// it is throttled; `None` throttles at once, as Lambda does.
    pub queue: Option<Duration>,
    /// Start new environments' Python runtimes from a zygote that has imported the
    /// dependency layer (`lambdaship dev`); `None` starts each from a fresh interpreter,
    /// as Lambda does.
    pub zygote: Option<crate::zygote::ZygoteOptions>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            concurrency: 10,
            keep_alive: Duration::from_secs(300),
            isolate: false,
            // A cold start costs hundreds of milliseconds: back-to-back requests must not
            // spread over fresh environments, nor be throttled at a concurrency of 1.
            finishing_wait: Duration::from_millis(100),
            queue: None,
            zygote: None,
        }
    }
}

struct Idle {
    environment: Environment,
    since: Instant,
}

struct PoolState {
    idle: Vec<Idle>,
    active: usize,
    /// Active invocations whose answer already went out ([`FunctionPool::invoke_answered`]):
    /// their environments are about to be idle again.
    finishing: usize,
    closing: tokio::task::JoinSet<()>,
}

struct PoolInner {
    spec: Arc<EnvSpec>,
    options: PoolOptions,
    state: Mutex<PoolState>,
    /// Signalled each time an invocation gives its slot back.
    released: tokio::sync::Notify,
}

impl PoolInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The execution environments of one function.
pub struct FunctionPool {
    inner: Arc<PoolInner>,
    /// Started with the first invocation, so a pool can be prepared outside Tokio.
    reaper: std::sync::OnceLock<tokio::task::JoinHandle<()>>,
    /// Why `isolate` was asked for and could not be used, when that happened.
    pub isolation_unavailable: Option<String>,
    /// What the caller should tell the user about how the function will run (e.g. an
    /// image that does not say its runtime).
    pub warnings: Vec<String>,
}

impl Drop for FunctionPool {
    fn drop(&mut self) {
        if let Some(reaper) = self.reaper.get() {
            reaper.abort();
        }
    }
}

/// Gives the concurrency slot back however the invocation ends.
struct Slot {
    inner: Arc<PoolInner>,
    /// Set once the answer went out early: the slot is then counted as finishing.
    answered: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut state = self.inner.lock();
            state.active = state.active.saturating_sub(1);
            if self.answered.load(std::sync::atomic::Ordering::Acquire) {
                state.finishing = state.finishing.saturating_sub(1);
            }
        }
        self.inner.released.notify_waiters();
    }
}

/// The function's answer, returned as soon as the runtime posted it.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The request id the runtime saw.
    pub request_id: String,
    /// The response or the error.
    pub result: FunctionResult,
    /// Whether the runtime streamed its response.
    pub streamed: bool,
}

impl FunctionPool {
    pub(crate) fn new(
        spec: Arc<EnvSpec>,
        options: PoolOptions,
        isolation_unavailable: Option<String>,
    ) -> FunctionPool {
        let inner = Arc::new(PoolInner {
            spec,
            options,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                active: 0,
                finishing: 0,
                closing: tokio::task::JoinSet::new(),
            }),
            released: tokio::sync::Notify::new(),
        });
        FunctionPool {
            inner,
            reaper: std::sync::OnceLock::new(),
            isolation_unavailable,
            warnings: Vec::new(),
        }
    }

    /// Environments started and not shut down: idle ones plus those serving invocations.
    pub fn environments(&self) -> (usize, usize) {
        let state = self.inner.lock();
        (state.idle.len(), state.active)
    }

    /// Runs one invocation: in a warm idle environment when there is one, else in a new one
    /// (a cold start). Returns when the invoke phase has ended, with its log lines and REPORT.
    pub async fn invoke(&self, request: InvokeRequest) -> Result<InvokeOutcome, InvokeError> {
        let (slot, warm) = self.acquire(&request).await?;
        let _slot = slot;
        self.inner.run(warm, request, None).await
    }

    /// Runs one invocation as [`FunctionPool::invoke`] does, but returns as soon as the
    /// function has answered, as Lambda answers a caller: the rest of the invoke phase (the
    /// runtime's next request, extensions finishing, END and REPORT) goes on in the
    /// background, and the environment serves the next invocation once it is over.
    pub async fn invoke_answered(&self, request: InvokeRequest) -> Result<Answered, InvokeError> {
        let (slot, warm) = self.acquire(&request).await?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let answered = slot.answered.clone();
        let inner = self.inner.clone();
        let request_id = request
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let hook_id = request_id.clone();
        let hook: AnswerHook = Box::new(move |result: &FunctionResult, streamed: bool| {
            inner.lock().finishing += 1;
            answered.store(true, std::sync::atomic::Ordering::Release);
            let _ = sender.send(Answered {
                request_id: hook_id,
                result: result.clone(),
                streamed,
            });
        });
        let inner = self.inner.clone();
        let request = InvokeRequest {
            request_id: Some(request_id),
            ..request
        };
        let run = tokio::spawn(async move {
            let _slot = slot;
            inner.run(warm, request, Some(hook)).await
        });
        if let Ok(answered) = receiver.await {
            return Ok(answered);
        }
        // The invocation ended without an answer from the runtime (a timeout, a crash, a
        // failed init): its outcome says so.
        match run.await {
            Ok(outcome) => outcome.map(|outcome| Answered {
                request_id: outcome.request_id,
                result: outcome.result,
                streamed: outcome.streamed,
            }),
            Err(error) => Err(InvokeError::Interrupted(error.to_string())),
        }
    }

    /// A concurrency slot and the warm environment to use, if any: an idle one, else one
    /// finishing an invocation whose answer already went out (waited for up to
    /// [`PoolOptions::finishing_wait`]), else none (a cold start) within the concurrency limit.
    async fn acquire(
        &self,
        request: &InvokeRequest,
    ) -> Result<(Slot, Option<Environment>), InvokeError> {
        if request.payload.len() > MAX_EVENT_BYTES {
            return Err(InvokeError::RequestTooLarge {
                size: request.payload.len(),
                limit: MAX_EVENT_BYTES,
            });
        }
        self.reaper
            .get_or_init(|| tokio::spawn(reap_idle(Arc::downgrade(&self.inner))));
        let options = &self.inner.options;
        let concurrency = options.concurrency;
        let start = tokio::time::Instant::now();
        let finishing_until = start + options.finishing_wait;
        let queue_until = options.queue.map(|queue| start + queue);
        loop {
            // Registered before the state is read, so a release in between is not missed.
            let released = self.inner.released.notified();
            let now = tokio::time::Instant::now();
            let wait_finishing = now < finishing_until;
            let until = {
                let mut state = self.inner.lock();
                let finishing = state.finishing > 0 && wait_finishing;
                if state.active < concurrency {
                    let warm = state.idle.pop().map(|idle| idle.environment);
                    if warm.is_some() || !finishing {
                        state.active += 1;
                        let slot = Slot {
                            inner: self.inner.clone(),
                            answered: Arc::default(),
                        };
                        return Ok((slot, warm));
                    }
                    finishing_until
                } else {
                    match queue_until.filter(|until| now < *until) {
                        Some(until) => until.max(finishing_until),
                        None if finishing => finishing_until,
                        None => return Err(InvokeError::Throttled { limit: concurrency }),
                    }
                }
            };
            let _ = tokio::time::timeout_at(until, released).await;
        }
    }

    /// Runs one invocation, then shuts every environment of the pool down and waits for
    /// them (SHUTDOWN included), as `lambdaship invoke` does with a new pool.
    pub async fn invoke_once(&self, request: InvokeRequest) -> Result<InvokeOutcome, InvokeError> {
        let outcome = self.invoke(request).await;
        self.shutdown().await;
        outcome
    }
}

impl PoolInner {
    async fn run(
        &self,
        warm: Option<Environment>,
        request: InvokeRequest,
        on_answer: Option<AnswerHook>,
    ) -> Result<InvokeOutcome, InvokeError> {
        let spec = &self.spec;
        let config = &spec.config;
        let request_id = request
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut init_duration = None;
        let mut suppressed: Option<InitFailure> = None;
        let mut environment = match warm {
            Some(environment) => environment,
            None => {
                let mut environment = Environment::create(spec.clone()).await?;
                match environment.init(INIT_TIMEOUT).await {
                    Ok(duration) => {
                        init_duration = Some(duration);
                        environment
                    }
                    Err(failure) => {
                        environment.platform(&logs::init_report_line(
                            failure.duration,
                            "init",
                            failure.status,
                            (failure.status == "error").then_some(failure.error_type.as_str()),
                        ));
                        environment.kill();
                        environment.sync_logs();
                        suppressed = Some(failure);
                        // Lambda retries a failed INIT inside the first invoke, under the
                        // function's timeout, in a fresh environment.
                        Environment::create(spec.clone()).await?
                    }
                }
            }
        };
        // What the processes wrote between invocations belongs before this one.
        environment.sync_logs();
        environment.logs.start_capture();
        // Just synced: the line goes straight out.
        environment
            .logs
            .platform(&logs::start_line(&request_id, &config.version));
        let started = Instant::now();
        let deadline = started + config.timeout;
        let mut end = None;
        if suppressed.is_some()
            && let Err(failure) = environment.init(config.timeout).await
        {
            environment.platform(&logs::init_report_line(
                failure.duration,
                "invoke",
                failure.status,
                (failure.status == "error").then_some(failure.error_type.as_str()),
            ));
            let result = if failure.status == "timeout" {
                let seconds = config.timeout.as_secs_f64();
                FunctionResult::platform(
                    "Sandbox.Timedout",
                    &format!(
                        "RequestId: {request_id} Error: Task timed out after {seconds:.2} seconds"
                    ),
                )
            } else {
                FunctionResult::Error {
                    payload: failure.payload,
                    error_type: failure.error_type.clone(),
                }
            };
            end = Some((
                result,
                false,
                Some(failure.status),
                Some(failure.error_type),
                false,
            ));
        }
        let (result, streamed, status, error_type, reusable) = match end {
            Some(end) => end,
            None => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let invocation = NextInvocation {
                    request_id: request_id.clone(),
                    deadline_ms: epoch_ms(SystemTime::now()) + remaining.as_millis() as u64,
                    invoked_arn: config.invoked_arn(request.qualifier.as_deref()),
                    trace_id: request.trace_id.clone().unwrap_or_else(new_trace_id),
                    client_context: request.client_context.clone(),
                    cognito_identity: request.cognito_identity.clone(),
                    payload: request.payload.clone(),
                };
                let end = environment
                    .invoke(invocation, request.stream_to.clone(), deadline, on_answer)
                    .await;
                let error_type = match (&end.status, &end.result) {
                    (Some(_), FunctionResult::Error { error_type, .. }) => Some(error_type.clone()),
                    _ => None,
                };
                (
                    end.result,
                    end.streamed,
                    end.status,
                    error_type,
                    end.reusable,
                )
            }
        };
        // END and REPORT go out after a sync of the pipe (`platform`), so what the runtime
        // printed before posting its response precedes them.
        let duration = started.elapsed().min(config.timeout);
        let billed = duration + init_duration.unwrap_or_default();
        let report = Report {
            duration,
            billed_ms: (billed.as_nanos().div_ceil(1_000_000)) as u64,
            memory_size_mb: config.memory_mb,
            max_memory_used_mb: environment.max_memory_used_mb(),
            init_duration,
            status: status.map(str::to_string),
            // Lambda names the error type of platform errors, not of timeouts.
            error_type: status.filter(|s| *s == "error").and(error_type),
        };
        // END and REPORT in one write.
        environment.platform(&format!(
            "{}\n{}",
            logs::end_line(&request_id),
            logs::report_line(&request_id, &report)
        ));
        let logs = environment.logs.take_capture();
        self.release(environment, reusable, status);
        Ok(InvokeOutcome {
            request_id,
            result,
            streamed,
            logs,
            report,
        })
    }

    fn release(&self, environment: Environment, reusable: bool, status: Option<&str>) {
        let mut state = self.lock();
        if reusable {
            state.idle.push(Idle {
                environment,
                since: Instant::now(),
            });
        } else {
            let reason = if status == Some("timeout") {
                ShutdownReason::Timeout
            } else {
                ShutdownReason::Failure
            };
            state.closing.spawn(environment.shutdown(reason));
        }
    }
}

impl FunctionPool {
    /// Shuts every idle environment down (SHUTDOWN with reason spindown) and waits for
    /// them and for the environments already closing.
    pub async fn shutdown(&self) {
        // Invocations that answered early give their environments back first.
        loop {
            let released = self.inner.released.notified();
            if self.inner.lock().finishing == 0 {
                break;
            }
            released.await;
        }
        let (idle, mut closing) = {
            let mut state = self.inner.lock();
            (
                std::mem::take(&mut state.idle),
                std::mem::take(&mut state.closing),
            )
        };
        for idle in idle {
            closing.spawn(idle.environment.shutdown(ShutdownReason::Spindown));
        }
        while closing.join_next().await.is_some() {}
    }
}

/// Shuts down environments idle for longer than the keep-alive period.
async fn reap_idle(pool: Weak<PoolInner>) {
    let period = match pool.upgrade() {
        Some(inner) => (inner.options.keep_alive / 4).max(Duration::from_millis(100)),
        None => return,
    };
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        let Some(inner) = pool.upgrade() else { return };
        let mut state = inner.lock();
        let keep_alive = inner.options.keep_alive;
        let (expired, kept): (Vec<Idle>, Vec<Idle>) = std::mem::take(&mut state.idle)
            .into_iter()
            .partition(|idle| idle.since.elapsed() >= keep_alive);
        state.idle = kept;
        for idle in expired {
            state
                .closing
                .spawn(idle.environment.shutdown(ShutdownReason::Spindown));
        }
        while state.closing.try_join_next().is_some() {}
    }
}

/// A fresh, unsampled X-Ray trace header, as Lambda passes one to every invocation.
fn new_trace_id() -> String {
    let epoch = epoch_ms(SystemTime::now()) / 1000;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{epoch:08x}-{};Parent={};Sampled=0",
        &id[..24],
        &parent[..16]
    )
}
