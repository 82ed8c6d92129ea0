//! One execution environment: its Runtime API, its processes, and the INIT, INVOKE and
//! SHUTDOWN phases with Lambda's limits.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::api::{ApiEvent, ApiServer, Identity, NextInvocation};
use crate::error::RuntimeError;
use crate::invocation::{FunctionResult, error_document};
use crate::isolate::{IsolationPaths, PreparedIsolation};
use crate::limits::{
    RUNTIME_SHUTDOWN_GRACE, RUNTIME_SHUTDOWN_GRACE_INTERNAL, SHUTDOWN_WITH_EXTERNAL,
    SHUTDOWN_WITH_INTERNAL,
};
use crate::logs::{LogPipe, LogStream};
use crate::memory;
use crate::process::{self, Exit, Launch, Process, ProcessRole};
use crate::spec::EnvSpec;

/// How often memory is checked while the function runs.
const MEMORY_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// Why INIT failed.
#[derive(Debug)]
pub(crate) struct InitFailure {
    pub(crate) payload: Bytes,
    pub(crate) error_type: String,
    /// `error` or `timeout`, as INIT_REPORT prints it.
    pub(crate) status: &'static str,
    pub(crate) duration: Duration,
}

/// How an INVOKE phase ended.
#[derive(Debug)]
pub(crate) struct InvokeEnd {
    pub(crate) result: FunctionResult,
    pub(crate) streamed: bool,
    /// `timeout` or `error` when the platform ended it.
    pub(crate) status: Option<&'static str>,
    /// Whether the environment can serve another invocation.
    pub(crate) reusable: bool,
}

/// Called once with the function's answer (and whether it was streamed) as soon as the
/// runtime posts it, before the invoke phase ends with the runtime's next request.
pub(crate) type AnswerHook = Box<dyn FnOnce(&FunctionResult, bool) + Send>;

/// Why an environment shuts down, as the SHUTDOWN event names it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ShutdownReason {
    Spindown,
    Timeout,
    Failure,
}

impl ShutdownReason {
    fn as_str(self) -> &'static str {
        match self {
            ShutdownReason::Spindown => "spindown",
            ShutdownReason::Timeout => "timeout",
            ShutdownReason::Failure => "failure",
        }
    }
}

pub(crate) struct Environment {
    spec: Arc<EnvSpec>,
    api: ApiServer,
    api_events: mpsc::UnboundedReceiver<ApiEvent>,
    exits: mpsc::UnboundedReceiver<Exit>,
    exit_sender: mpsc::UnboundedSender<Exit>,
    pub(crate) logs: LogStream,
    pipe: LogPipe,
    processes: Vec<Process>,
    exited: BTreeSet<u32>,
    isolation: Option<Arc<PreparedIsolation>>,
    /// The private /tmp of an isolated environment.
    _tmp: Option<tempfile::TempDir>,
    pids: BTreeSet<u32>,
    peak_bytes: u64,
    peaks: memory::PeakReader,
    log_stream: String,
}

impl Environment {
    /// Opens the environment's API and log pipe; no process runs yet.
    pub(crate) async fn create(spec: Arc<EnvSpec>) -> Result<Environment, RuntimeError> {
        let (event_sender, api_events) = mpsc::unbounded_channel();
        let identity = Identity {
            function_name: spec.config.name.clone(),
            function_version: spec.config.version.clone(),
            handler: spec.config.handler.clone(),
            account_id: spec.config.account_id.clone(),
        };
        let external_names = spec
            .extensions
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let api = ApiServer::start(identity, external_names, event_sender)
            .await
            .map_err(RuntimeError::Listen)?;
        let logs = LogStream::new(spec.logs.clone());
        let pipe = LogPipe::open(logs.clone()).map_err(|source| RuntimeError::Spawn {
            program: "the log pipe".to_string(),
            source,
        })?;
        let (exit_sender, exits) = mpsc::unbounded_channel();
        let (tmp, isolation) = if spec.isolate {
            let tmp = tempfile::Builder::new()
                .prefix("tmp-")
                .tempdir_in(&spec.scratch)
                .map_err(|e| RuntimeError::io("cannot create a directory in", &spec.scratch, e))?;
            let prepared = crate::isolate::prepare(&IsolationPaths {
                task_root: spec.code.task_root.clone(),
                opt: spec.code.opt.clone(),
                runtime_dir: spec.runtime_dir().to_path_buf(),
                tmp: tmp.path().to_path_buf(),
            })
            .map_err(|error| RuntimeError::Spawn {
                program: "an isolated environment".to_string(),
                source: std::io::Error::other(error.to_string()),
            })?;
            (Some(tmp), Some(Arc::new(prepared)))
        } else {
            (None, None)
        };
        let log_stream = log_stream_name(&spec.config.version);
        Ok(Environment {
            spec,
            api,
            api_events,
            exits,
            exit_sender,
            logs,
            pipe,
            processes: Vec::new(),
            exited: BTreeSet::new(),
            isolation,
            _tmp: tmp,
            pids: BTreeSet::new(),
            peak_bytes: 0,
            peaks: memory::PeakReader::default(),
            log_stream,
        })
    }

    fn start(&mut self, role: ProcessRole, launch: &Launch) -> Result<(), RuntimeError> {
        let started = process::start(
            role,
            launch,
            &self.pipe,
            self.isolation.as_ref(),
            &self.exit_sender,
        )?;
        self.pids.insert(started.pid);
        self.processes.push(started);
        Ok(())
    }

    fn roots(&self) -> Vec<u32> {
        self.processes
            .iter()
            .map(|process| process.pid)
            .filter(|pid| !self.exited.contains(pid))
            .collect()
    }

    /// The INIT phase: external extensions start and register, then the runtime starts;
    /// it ends when the runtime and every extension wait for their next event.
    pub(crate) async fn init(&mut self, budget: Duration) -> Result<Duration, InitFailure> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + budget);
        let api = self.api.address.to_string();
        let runtime_env = self.spec.runtime_env(&api, &self.log_stream);
        let fail = |error_type: &str, message: String, status: &'static str| InitFailure {
            payload: error_document(error_type, &message),
            error_type: error_type.to_string(),
            status,
            duration: started.elapsed(),
        };
        let seen_opt = self.spec.seen_paths().opt;
        let extensions = self.spec.extensions.clone();
        for (name, _) in &extensions {
            let launch = Launch {
                program: seen_opt.join("extensions").join(name),
                args: Vec::new(),
                cwd: std::path::PathBuf::from("/"),
                env: self.spec.extension_env(&runtime_env),
            };
            if let Err(error) = self.start(ProcessRole::Extension(name.clone()), &launch) {
                return Err(fail("Extension.LaunchError", error.to_string(), "error"));
            }
        }
        // Extension init: every external extension registers before the runtime starts.
        while self
            .api
            .shared
            .lock()
            .extensions
            .iter()
            .filter(|e| e.external)
            .count()
            < extensions.len()
        {
            match self.next_signal(deadline, false).await {
                Signal::Api(ApiEvent::ExtensionError {
                    payload,
                    error_type,
                }) => {
                    return Err(self.init_error(payload, error_type, started));
                }
                Signal::Api(_) | Signal::MemoryCheck => {}
                Signal::Exit(exit) => return Err(self.init_exit(exit, started)),
                Signal::Deadline => {
                    return Err(fail(
                        "Sandbox.Timedout",
                        "INIT timed out".to_string(),
                        "timeout",
                    ));
                }
            }
        }
        let (program, args) = match self.spec.runtime_command() {
            Ok(command) => command,
            Err(error) => {
                return Err(fail(
                    "Runtime.InvalidEntrypoint",
                    error.to_string(),
                    "error",
                ));
            }
        };
        let mut launch = Launch {
            program,
            args,
            cwd: self.spec.seen_paths().task_root,
            env: runtime_env,
        };
        let spec = self.spec.clone();
        let zygote = spec.zygote.as_ref().filter(|_| self.isolation.is_none());
        let forked = match zygote {
            Some(plan) => {
                plan.fork(&spec, &launch, &self.pipe, &self.exit_sender)
                    .await
            }
            None => None,
        };
        let fresh = forked.is_none();
        match forked {
            Some(process) => {
                self.pids.insert(process.pid);
                self.processes.push(process);
            }
            None => {
                if let Some(record) = zygote.and_then(|plan| plan.record_to()) {
                    launch.args.push(record.into_os_string());
                }
                if let Err(error) = self.start(ProcessRole::Runtime, &launch) {
                    return Err(fail(
                        "Runtime.InvalidEntrypoint",
                        error.to_string(),
                        "error",
                    ));
                }
            }
        }
        let mut runtime_ready = false;
        loop {
            if runtime_ready && self.extensions_ready(|_| true) {
                break;
            }
            match self.next_signal(deadline, true).await {
                Signal::Api(ApiEvent::RuntimeNext) => runtime_ready = true,
                Signal::Api(ApiEvent::InitError {
                    payload,
                    error_type,
                })
                | Signal::Api(ApiEvent::ExtensionError {
                    payload,
                    error_type,
                }) => {
                    return Err(self.init_error(payload, error_type, started));
                }
                Signal::Api(_) => {}
                Signal::Exit(exit) => return Err(self.init_exit(exit, started)),
                Signal::MemoryCheck => {
                    if self.over_memory() {
                        return Err(fail(
                            "Runtime.OutOfMemory",
                            "Runtime exited with error: signal: killed".to_string(),
                            "error",
                        ));
                    }
                }
                Signal::Deadline => {
                    return Err(fail(
                        "Sandbox.Timedout",
                        "INIT timed out".to_string(),
                        "timeout",
                    ));
                }
            }
        }
        let registered: Vec<String> = {
            let mut state = self.api.shared.lock();
            state.init_done = true;
            state
                .extensions
                .iter()
                .map(|e| {
                    let events: Vec<&str> = [(e.invoke, "INVOKE"), (e.shutdown, "SHUTDOWN")]
                        .into_iter()
                        .filter_map(|(on, name)| on.then_some(name))
                        .collect();
                    format!(
                        "EXTENSION\tName: {}\tState: Ready\tEvents: [{}]",
                        e.name,
                        events.join(", ")
                    )
                })
                .collect()
        };
        for line in registered {
            self.platform(&line);
        }
        self.pids = memory::process_tree(&self.roots());
        if let Some(plan) = zygote.filter(|_| fresh) {
            // The runtime has recorded its layer modules by now: the next environments
            // can start from a zygote.
            plan.warm(&spec);
        }
        Ok(started.elapsed())
    }

    fn init_error(&mut self, payload: Bytes, error_type: String, started: Instant) -> InitFailure {
        InitFailure {
            payload,
            error_type,
            status: "error",
            duration: started.elapsed(),
        }
    }

    fn init_exit(&mut self, exit: Exit, started: Instant) -> InitFailure {
        let (error_type, message) = match &exit.role {
            ProcessRole::Runtime => (
                "Runtime.ExitError",
                format!(
                    "Runtime exited with error: {}",
                    process::describe_exit(&exit.status)
                ),
            ),
            ProcessRole::Extension(name) => (
                "Extension.Crash",
                format!(
                    "Extension {name} exited with error: {}",
                    process::describe_exit(&exit.status)
                ),
            ),
        };
        InitFailure {
            payload: error_document(error_type, &message),
            error_type: error_type.to_string(),
            status: "error",
            duration: started.elapsed(),
        }
    }

    fn extensions_ready(&self, select: impl Fn(&crate::api::Extension) -> bool) -> bool {
        self.api
            .shared
            .lock()
            .extensions
            .iter()
            .filter(|e| select(e))
            .all(|e| e.ready)
    }

    /// Waits for the next thing that matters to the phase in progress.
    async fn next_signal(&mut self, deadline: tokio::time::Instant, watch_memory: bool) -> Signal {
        let check = tokio::time::sleep(MEMORY_CHECK_INTERVAL);
        tokio::select! {
            biased;
            Some(event) = self.api_events.recv() => Signal::Api(event),
            Some(exit) = self.exits.recv() => {
                self.exited.insert(exit.pid);
                Signal::Exit(exit)
            }
            _ = tokio::time::sleep_until(deadline) => Signal::Deadline,
            _ = check, if watch_memory => Signal::MemoryCheck,
        }
    }

    /// Whether the processes use more than the function's memory; the peak is recorded.
    fn over_memory(&mut self) -> bool {
        self.pids = memory::process_tree(&self.roots());
        let resident = memory::resident_bytes(&self.pids);
        self.peak_bytes = self.peak_bytes.max(resident);
        resident > u64::from(self.spec.config.memory_mb) * 1024 * 1024
    }

    /// Peak memory in MB so far, capped at the memory size as the limit enforces it.
    pub(crate) fn max_memory_used_mb(&mut self) -> u64 {
        let peak = self.peaks.peak_bytes(&self.pids).max(self.peak_bytes);
        memory::to_mb(peak).min(u64::from(self.spec.config.memory_mb))
    }

    /// Waits until the log pipe is drained.
    pub(crate) fn sync_logs(&self) {
        self.pipe.sync();
    }

    /// A platform line (START, END, REPORT, errors), after what the processes wrote so far.
    pub(crate) fn platform(&self, text: &str) {
        self.pipe.sync();
        self.logs.platform(text);
    }

    /// The INVOKE phase for one event.
    pub(crate) async fn invoke(
        &mut self,
        invocation: NextInvocation,
        stream_to: Option<mpsc::Sender<Bytes>>,
        deadline: Instant,
        mut on_answer: Option<AnswerHook>,
    ) -> InvokeEnd {
        let request_id = invocation.request_id.clone();
        let wanted = self.api.shared.lock().extensions.iter().any(|e| e.invoke);
        let event = wanted.then(|| {
            Bytes::from(
                serde_json::json!({
                    "eventType": "INVOKE",
                    "deadlineMs": invocation.deadline_ms,
                    "requestId": invocation.request_id,
                    "invokedFunctionArn": invocation.invoked_arn,
                    "tracing": {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id},
                })
                .to_string(),
            )
        });
        // Events left from INIT (a late registration notice) say nothing about this phase.
        while self.api_events.try_recv().is_ok() {}
        self.api.shared.deliver(invocation, stream_to);
        if let Some(event) = event {
            self.api.shared.broadcast(&event, |e| e.invoke);
        }
        let deadline = tokio::time::Instant::from_std(deadline);
        let mut answer: Option<(FunctionResult, bool)> = None;
        let mut runtime_done = false;
        let mut refused = false;
        loop {
            if answer.is_some() && runtime_done && self.extensions_ready(|e| e.invoke) {
                break;
            }
            match self.next_signal(deadline, true).await {
                Signal::Api(ApiEvent::Answer { result, streamed }) => {
                    if answer.is_none() {
                        if let Some(hook) = on_answer.take() {
                            hook(&result, streamed);
                        }
                        answer = Some((result, streamed));
                    }
                }
                Signal::Api(ApiEvent::Refused { result, streamed }) => {
                    if answer.is_none() {
                        if let Some(hook) = on_answer.take() {
                            hook(&result, streamed);
                        }
                        answer = Some((result, streamed));
                        refused = true;
                    }
                }
                Signal::Api(ApiEvent::RuntimeNext) => runtime_done = answer.is_some(),
                Signal::Api(ApiEvent::ExtensionError {
                    payload,
                    error_type,
                }) => {
                    return self.failed(
                        FunctionResult::Error {
                            payload,
                            error_type,
                        },
                        "error",
                    );
                }
                Signal::Api(_) => {}
                Signal::Exit(exit) => {
                    let message = format!("RequestId: {request_id} Error: {}", exit_message(&exit));
                    let error_type = match exit.role {
                        ProcessRole::Runtime => "Runtime.ExitError",
                        ProcessRole::Extension(_) => "Extension.Crash",
                    };
                    self.platform(&format!("{message}\n{error_type}"));
                    return match answer {
                        // The function answered; the environment is gone all the same.
                        Some((result, streamed)) => InvokeEnd {
                            result,
                            streamed,
                            status: None,
                            reusable: false,
                        },
                        None => {
                            self.failed(FunctionResult::platform(error_type, &message), "error")
                        }
                    };
                }
                Signal::MemoryCheck => {
                    if self.over_memory() {
                        self.kill();
                        let message = format!(
                            "RequestId: {request_id} Error: Runtime exited with error: signal: killed"
                        );
                        self.platform(&format!("{message}\nRuntime.OutOfMemory"));
                        self.peak_bytes = u64::from(self.spec.config.memory_mb) * 1024 * 1024;
                        return self.failed(
                            FunctionResult::platform("Runtime.OutOfMemory", &message),
                            "error",
                        );
                    }
                }
                Signal::Deadline => {
                    self.kill();
                    let seconds = self.spec.config.timeout.as_secs_f64();
                    let now = humantime::format_rfc3339_millis(SystemTime::now());
                    self.platform(&format!(
                        "{now} {request_id} Task timed out after {seconds:.2} seconds"
                    ));
                    let message = format!(
                        "RequestId: {request_id} Error: Task timed out after {seconds:.2} seconds"
                    );
                    return self.failed(
                        FunctionResult::platform("Sandbox.Timedout", &message),
                        "timeout",
                    );
                }
            }
        }
        let (result, streamed) = answer.unwrap_or_else(|| {
            (
                FunctionResult::platform("Runtime.Unknown", "no answer"),
                false,
            )
        });
        InvokeEnd {
            result,
            streamed,
            status: None,
            // A runtime whose answer was refused saw its post fail, as on Lambda: start the
            // next invocation from a fresh environment.
            reusable: !refused,
        }
    }

    fn failed(&mut self, result: FunctionResult, status: &'static str) -> InvokeEnd {
        InvokeEnd {
            result,
            streamed: false,
            status: Some(status),
            reusable: false,
        }
    }

    /// SIGKILLs every process at once.
    pub(crate) fn kill(&mut self) {
        for process in &self.processes {
            if !self.exited.contains(&process.pid) {
                process::signal_group(process.pid, libc::SIGKILL);
            }
        }
    }

    /// The SHUTDOWN phase on Lambda's timings: the runtime gets SIGTERM and a short grace
    /// when extensions are registered (SIGKILL at once otherwise), extensions subscribed to
    /// SHUTDOWN get the event and until the phase's deadline to exit; then SIGKILL.
    pub(crate) async fn shutdown(mut self, reason: ShutdownReason) {
        let (external, internal) = {
            let state = self.api.shared.lock();
            (
                state.extensions.iter().any(|e| e.external),
                state.extensions.iter().any(|e| !e.external),
            )
        };
        if !external && !internal {
            self.kill();
            self.reap(Instant::now() + Duration::from_secs(1)).await;
            return;
        }
        let started = Instant::now();
        let total = if external {
            SHUTDOWN_WITH_EXTERNAL
        } else {
            SHUTDOWN_WITH_INTERNAL
        };
        let grace = if internal {
            RUNTIME_SHUTDOWN_GRACE_INTERNAL
        } else {
            RUNTIME_SHUTDOWN_GRACE
        };
        let runtime: Vec<u32> = self
            .processes
            .iter()
            .filter(|p| p.role == ProcessRole::Runtime && !self.exited.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        for pid in &runtime {
            process::signal_group(*pid, libc::SIGTERM);
        }
        self.wait_exits(&runtime, started + grace).await;
        for pid in &runtime {
            if !self.exited.contains(pid) {
                process::signal_group(*pid, libc::SIGKILL);
            }
        }
        let deadline_ms = epoch_ms(SystemTime::now()) + total.as_millis() as u64;
        let event = Bytes::from(
            serde_json::json!({
                "eventType": "SHUTDOWN",
                "shutdownReason": reason.as_str(),
                "deadlineMs": deadline_ms,
            })
            .to_string(),
        );
        let subscribed: Vec<String> = {
            let state = self.api.shared.lock();
            state
                .extensions
                .iter()
                .filter(|e| e.shutdown)
                .map(|e| e.name.clone())
                .collect()
        };
        self.api.shared.broadcast(&event, |e| e.shutdown);
        let extension_pids: Vec<u32> = self
            .processes
            .iter()
            .filter(
                |p| matches!(&p.role, ProcessRole::Extension(name) if subscribed.contains(name)),
            )
            .map(|p| p.pid)
            .collect();
        // Extensions not subscribed to SHUTDOWN are killed at once.
        for process in &self.processes {
            if matches!(&process.role, ProcessRole::Extension(name) if !subscribed.contains(name)) {
                process::signal_group(process.pid, libc::SIGKILL);
            }
        }
        // An extension is done with SHUTDOWN when it exits or asks for its next event.
        let until = tokio::time::Instant::from_std(started + total);
        while extension_pids.iter().any(|pid| !self.exited.contains(pid))
            && !self.extensions_ready(|e| e.shutdown)
        {
            tokio::select! {
                Some(exit) = self.exits.recv() => { self.exited.insert(exit.pid); }
                Some(_) = self.api_events.recv() => {}
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        self.kill();
        self.reap(Instant::now() + Duration::from_secs(1)).await;
    }

    /// Waits until every process in `pids` has exited, or `until`.
    async fn wait_exits(&mut self, pids: &[u32], until: Instant) {
        let until = tokio::time::Instant::from_std(until);
        while pids.iter().any(|pid| !self.exited.contains(pid)) {
            tokio::select! {
                Some(exit) = self.exits.recv() => { self.exited.insert(exit.pid); }
                _ = tokio::time::sleep_until(until) => return,
            }
        }
    }

    /// Collects the exits of killed processes so none is left a zombie, and the last of
    /// their output reaches the log.
    async fn reap(&mut self, until: Instant) {
        let all: Vec<u32> = self.processes.iter().map(|p| p.pid).collect();
        self.wait_exits(&all, until).await;
        self.pipe.sync();
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        self.kill();
    }
}

enum Signal {
    Api(ApiEvent),
    Exit(Exit),
    Deadline,
    MemoryCheck,
}

fn exit_message(exit: &Exit) -> String {
    let described = process::describe_exit(&exit.status);
    match (&exit.role, exit.status.as_ref().ok().and_then(|s| s.code())) {
        (ProcessRole::Runtime, Some(0)) => "Runtime exited without providing a reason".to_string(),
        (ProcessRole::Runtime, _) => format!("Runtime exited with error: {described}"),
        (ProcessRole::Extension(name), _) => {
            format!("Extension {name} exited with error: {described}")
        }
    }
}

pub(crate) fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2025/08/31/[$LATEST]3893...`: one stream per environment, as Lambda names them.
fn log_stream_name(version: &str) -> String {
    let now = humantime::format_rfc3339(SystemTime::now()).to_string();
    let date = now.get(..10).unwrap_or("1970-01-01").replace('-', "/");
    format!("{date}/[{version}]{}", uuid::Uuid::new_v4().simple())
}
