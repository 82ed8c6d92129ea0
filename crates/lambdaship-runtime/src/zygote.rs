//! Zygotes: for `lambdaship dev`, a Python interpreter that has imported a function's
//! dependency layer once, and forks the runtime of each new environment from there.
//!
//! A fresh CPython spends most of a web function's Init importing the dependency layer,
//! which an app edit does not change. The first environment of a layer runs fresh and
//! records which layer modules it imported (bootstrap.py's second argument); a zygote
//! then imports them (`python/lambda_zygote.py`) and each later environment's runtime is
//! a fork of it that only imports the app and awslambdaric. Anything that goes wrong
//! (the zygote is starting, refused to fork because a dependency started a thread, died,
//! or the app shadows a pre-imported package) falls back to a fresh process.
//!
//! The forked runtime is the zygote's child, not ours: the zygote reports its pid, then
//! its wait status, on a socket of its own; a pidfd kills it if the zygote is gone.

use std::collections::{BTreeMap, HashMap};
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambdaship_build::KeyBuilder;
use rustix::net::{
    AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::logs::LogPipe;
use crate::process::{Exit, Launch, Process, ProcessRole};
use crate::spec::EnvSpec;

/// The zygote's script, installed beside bootstrap.py in the runtime directory.
pub(crate) const SCRIPT: &str = include_str!("../../../python/lambda_zygote.py");
/// Its file name there.
pub(crate) const SCRIPT_NAME: &str = "zygote.py";

/// How long the zygote may take to import the dependencies.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a fork may take to report the new process.
const FORK_TIMEOUT: Duration = Duration::from_secs(10);

/// Variables a zygote cannot honour: they act when an interpreter starts (`PYTHON*`), or
/// start the runtime through another program.
fn needs_fresh_interpreter(variable: &str) -> bool {
    variable.starts_with("PYTHON") || variable == "AWS_LAMBDA_EXEC_WRAPPER"
}

/// Variables that differ between the environments of one function: the zygote starts
/// without them, each fork gets its own.
const PER_ENVIRONMENT: [&str; 3] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "_X_AMZN_TRACE_ID",
];

/// Tells the user what the zygotes do (ready, or why new environments start fresh).
pub type ZygoteNotices = Arc<dyn Fn(&str) + Send + Sync>;

/// Starting new environments' runtimes from a zygote ([`crate::PoolOptions::zygote`]).
#[derive(Clone)]
pub struct ZygoteOptions {
    /// Where the zygotes' news goes.
    pub notices: ZygoteNotices,
}

impl std::fmt::Debug for ZygoteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ZygoteOptions")
    }
}

/// The zygotes of one [`crate::LocalRuntime`]: at most one per function, for its current
/// dependency layer and configuration.
#[derive(Clone, Default)]
pub(crate) struct Zygotes {
    slots: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

impl std::fmt::Debug for Zygotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zygotes")
            .field("functions", &lock(&self.slots).len())
            .finish()
    }
}

struct Slot {
    key: String,
    state: Mutex<State>,
}

enum State {
    Starting,
    Ready(Arc<Running>),
    /// No retry: the next change of key (a dependency or configuration edit) tries again.
    Failed,
}

/// A zygote that has imported the dependencies. Dropping it closes the control socket:
/// the zygote takes no more requests and exits once its children have.
struct Running {
    control: Mutex<OwnedFd>,
    /// The top-level names it imported, which the app must not shadow.
    top_level: Vec<String>,
}

/// How one function's environments use a zygote, decided when the function is prepared.
pub(crate) struct ZygotePlan {
    zygotes: Zygotes,
    function: String,
    key: String,
    /// The recorded layer modules.
    modules: PathBuf,
    notices: ZygoteNotices,
}

/// The zygote's status line.
#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    preloaded: usize,
    #[serde(default)]
    preload_ms: f64,
    #[serde(default)]
    failed: Vec<String>,
    #[serde(default)]
    top_level: Vec<String>,
    refused: Option<String>,
}

/// What the zygote or its child reports on a fork's socket.
#[derive(Deserialize)]
struct ForkReport {
    pid: Option<u32>,
    status: Option<i32>,
    error: Option<String>,
}

impl ZygotePlan {
    /// A plan for `spec`'s environments, when a zygote can start them as a fresh
    /// interpreter would: a Python runtime, archives (an image's layer changes with every
    /// build), no isolation, and no variable that acts at interpreter start.
    pub(crate) fn for_function(
        zygotes: &Zygotes,
        spec: &EnvSpec,
        is_archive: bool,
        cache_root: &Path,
        options: &ZygoteOptions,
    ) -> Option<ZygotePlan> {
        let python = spec.python.as_ref()?;
        if !is_archive
            || spec.isolate
            || spec
                .config
                .environment
                .keys()
                .any(|name| needs_fresh_interpreter(name))
        {
            return None;
        }
        let mut key = KeyBuilder::new("zygote");
        key.add_str(&spec.config.name)
            .add_str(&python.interpreter.display().to_string())
            .add_str(&python.runtime_dir.display().to_string())
            .add_str(&spec.code.opt.display().to_string());
        for (name, value) in &spec.config.environment {
            key.add_str(name).add_str(value);
        }
        let key = key.finish();
        let modules = cache_root.join("zygote").join(format!("{key}.modules"));
        Some(ZygotePlan {
            zygotes: zygotes.clone(),
            function: spec.config.name.clone(),
            key,
            modules,
            notices: options.notices.clone(),
        })
    }

    /// Where a fresh runtime should record the layer modules it imports, when no earlier
    /// environment has.
    pub(crate) fn record_to(&self) -> Option<PathBuf> {
        if self.modules.is_file() {
            return None;
        }
        let dir = self.modules.parent()?;
        std::fs::create_dir_all(dir).ok()?;
        Some(self.modules.clone())
    }

    /// Starts this plan's zygote in the background, once the modules are recorded and
    /// unless it runs, starts or failed already. A zygote of another key for the same
    /// function is let go.
    pub(crate) fn warm(&self, spec: &EnvSpec) {
        if !self.modules.is_file() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Some(launch) = self.zygote_launch(spec) else {
            return;
        };
        let slot = {
            let mut slots = lock(&self.zygotes.slots);
            if slots
                .get(&self.function)
                .is_some_and(|slot| slot.key == self.key)
            {
                return;
            }
            let slot = Arc::new(Slot {
                key: self.key.clone(),
                state: Mutex::new(State::Starting),
            });
            slots.insert(self.function.clone(), slot.clone());
            slot
        };
        let notices = self.notices.clone();
        handle.spawn(async move {
            let started = Instant::now();
            let outcome = start(launch).await;
            let mut state = lock(&slot.state);
            match outcome {
                Ok((running, status)) => {
                    let failed = if status.failed.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({} could not be pre-imported and load in each environment: {})",
                            status.failed.len(),
                            status.failed.join(", ")
                        )
                    };
                    notices(&format!(
                        "new environments now start from an interpreter with the dependencies imported ({} modules in {:.0} ms, ready after {:.0} ms){failed}; --no-zygote starts each from a fresh interpreter, as Lambda does",
                        status.preloaded,
                        status.preload_ms,
                        started.elapsed().as_secs_f64() * 1000.0,
                    ));
                    *state = State::Ready(Arc::new(running));
                }
                Err(reason) => {
                    notices(&format!(
                        "new environments start from a fresh interpreter: {reason}"
                    ));
                    *state = State::Failed;
                }
            }
        });
    }

    /// Forks the runtime of a new environment from the ready zygote: `None` when there is
    /// none (it is started for next time) or it cannot serve this one, and the caller
    /// starts a fresh process.
    pub(crate) async fn fork(
        &self,
        spec: &EnvSpec,
        launch: &Launch,
        pipe: &LogPipe,
        exits: &mpsc::UnboundedSender<Exit>,
    ) -> Option<Process> {
        let slot = lock(&self.zygotes.slots)
            .get(&self.function)
            .filter(|slot| slot.key == self.key)
            .cloned();
        let Some(slot) = slot else {
            self.warm(spec);
            return None;
        };
        let running = match &*lock(&slot.state) {
            State::Ready(running) => running.clone(),
            State::Starting | State::Failed => return None,
        };
        if let Some(shadowed) = shadowed_package(&spec.code.task_root, &running.top_level) {
            (self.notices)(&format!(
                "this environment starts from a fresh interpreter: the app's `{shadowed}` has the name of a pre-imported dependency"
            ));
            return None;
        }
        match fork(&running, launch, pipe, exits).await {
            Ok(process) => Some(process),
            Err(reason) => {
                (self.notices)(&format!(
                    "new environments start from a fresh interpreter: the zygote could not fork ({reason})"
                ));
                *lock(&slot.state) = State::Failed;
                None
            }
        }
    }

    /// The zygote's command: the runtime's interpreter on lambda_zygote.py, with the
    /// function's variables less the per-environment ones.
    fn zygote_launch(&self, spec: &EnvSpec) -> Option<Launch> {
        let python = spec.python.as_ref()?;
        let mut env: BTreeMap<String, String> = spec.runtime_env("", "");
        for name in PER_ENVIRONMENT {
            env.remove(name);
        }
        Some(Launch {
            program: python.interpreter.clone(),
            args: vec![
                "-S".into(),
                "-B".into(),
                python.runtime_dir.join(SCRIPT_NAME).into_os_string(),
                spec.code.opt.clone().into_os_string(),
                self.modules.clone().into_os_string(),
            ],
            cwd: spec.code.task_root.clone(),
            env,
        })
    }
}

/// Starts a zygote and waits for its status line.
async fn start(launch: Launch) -> Result<(Running, Status), String> {
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot make its control socket: {e}"))?;
    let mut command = launch.command();
    command
        .stdin(std::process::Stdio::from(theirs))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| "its status pipe is missing".to_string())?;
    let stderr = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(last_lines(stderr)));
    let pid = child.id();
    // The zygote lives until the control socket closes and its children are gone.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    let mut line = String::new();
    let read =
        tokio::time::timeout(START_TIMEOUT, BufReader::new(stdout).read_line(&mut line)).await;
    let stop = || {
        if let Some(pid) = pid {
            crate::process::signal_group(pid, libc::SIGKILL);
        }
    };
    match read {
        Ok(Ok(n)) if n > 0 => {}
        Ok(_) => {
            // Its stderr ends with it: what Python said before it died is the reason.
            let said = match stderr {
                Some(task) => tokio::time::timeout(STDERR_CLOSE_WAIT, task)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default(),
                None => String::new(),
            };
            return Err(if said.is_empty() {
                "the zygote exited while importing the dependencies".to_string()
            } else {
                format!("the zygote exited while importing the dependencies: {said}")
            });
        }
        Err(_) => {
            stop();
            return Err(format!(
                "importing the dependencies took more than {} s",
                START_TIMEOUT.as_secs()
            ));
        }
    }
    let status: Status = serde_json::from_str(&line).map_err(|e| {
        stop();
        format!("the zygote's status line is not understood ({e}): {line}")
    })?;
    if let Some(reason) = status.refused.clone() {
        return Err(reason);
    }
    let running = Running {
        control: Mutex::new(ours),
        top_level: status.top_level.clone(),
    };
    Ok((running, status))
}

/// How much of the zygote's stderr is kept while it runs: enough for a traceback's end.
const STDERR_KEPT_BYTES: usize = 2048;
/// How many of its last lines explain its death: a traceback's error line and the two
/// before it.
const STDERR_LINES_SHOWN: usize = 3;
/// How long to wait for the stderr of a zygote that exited to close: at once, unless a
/// process it started at import keeps it open.
const STDERR_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Reads the zygote's stderr to its end (so the zygote never blocks on it) and returns its
/// last few lines joined by " | ". Forked runtimes write to their environment's pipe
/// instead, so this only sees the zygote's own words.
async fn last_lines(mut stderr: tokio::process::ChildStderr) -> String {
    use tokio::io::AsyncReadExt;
    let mut kept: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stderr.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > 2 * STDERR_KEPT_BYTES {
            kept.drain(..kept.len() - STDERR_KEPT_BYTES);
        }
    }
    let text = String::from_utf8_lossy(&kept);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    lines[lines.len().saturating_sub(STDERR_LINES_SHOWN)..].join(" | ")
}

/// Asks the zygote for a child running `launch`'s environment, its output into `pipe`;
/// its exit is sent to `exits`.
async fn fork(
    running: &Running,
    launch: &Launch,
    pipe: &LogPipe,
    exits: &mpsc::UnboundedSender<Exit>,
) -> Result<Process, String> {
    let request = serde_json::json!({"env": launch.env, "cwd": launch.cwd});
    let request = request.to_string();
    let (report, report_theirs) =
        std::os::unix::net::UnixStream::pair().map_err(|e| e.to_string())?;
    let out = pipe.writer_fd().map_err(|e| e.to_string())?;
    let err = pipe.writer_fd().map_err(|e| e.to_string())?;
    {
        let control = lock(&running.control);
        let descriptors = [out.as_fd(), err.as_fd(), report_theirs.as_fd()];
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(3))];
        let mut ancillary = SendAncillaryBuffer::new(&mut space);
        if !ancillary.push(SendAncillaryMessage::ScmRights(&descriptors)) {
            return Err("the descriptors do not fit the message".to_string());
        }
        rustix::net::sendmsg(
            &*control,
            &[IoSlice::new(request.as_bytes())],
            &mut ancillary,
            SendFlags::NOSIGNAL,
        )
        .map_err(|e| format!("the zygote is gone: {e}"))?;
    }
    drop((out, err, report_theirs));
    report.set_nonblocking(true).map_err(|e| e.to_string())?;
    let report = tokio::net::UnixStream::from_std(report).map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(report).lines();
    let first = tokio::time::timeout(FORK_TIMEOUT, lines.next_line())
        .await
        .map_err(|_| "no answer from the zygote".to_string())?
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the zygote is gone: it hung up".to_string())?;
    let first: ForkReport =
        serde_json::from_str(&first).map_err(|e| format!("not understood ({e}): {first}"))?;
    let pid = match (first.pid, first.error) {
        (Some(pid), _) => pid,
        (None, Some(error)) => return Err(error),
        (None, None) => return Err("it did not name the new process".to_string()),
    };
    // Opened while the child is known to live: it can then be killed race-free, even if
    // the zygote dies and something else reaps it.
    let pidfd = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .and_then(|pid| {
            rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
        });
    let exits = exits.clone();
    tokio::spawn(async move {
        let reported = match lines.next_line().await {
            Ok(Some(line)) => serde_json::from_str::<ForkReport>(&line)
                .ok()
                .and_then(|report| report.status),
            _ => None,
        };
        let status = match reported {
            Some(raw) => Ok(ExitStatus::from_raw(raw)),
            None => {
                if let Some(pidfd) = &pidfd {
                    let _ =
                        rustix::process::pidfd_send_signal(pidfd, rustix::process::Signal::KILL);
                }
                Err(std::io::Error::other(
                    "the zygote it was forked from ended before it; it was killed",
                ))
            }
        };
        let _ = exits.send(Exit {
            role: ProcessRole::Runtime,
            pid,
            status,
        });
    });
    Ok(Process {
        role: ProcessRole::Runtime,
        pid,
    })
}

/// The first of `top_level` that the task root also holds, as a package or a module.
fn shadowed_package(task_root: &Path, top_level: &[String]) -> Option<String> {
    let entries = std::fs::read_dir(task_root).ok()?;
    entries.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let module = name.split('.').next().unwrap_or(&name);
        let is_python = !name.contains('.')
            || name.ends_with(".py")
            || name.ends_with(".pyc")
            || name.ends_with(".so");
        (is_python && top_level.iter().any(|known| known == module)).then(|| module.to_string())
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_root_package_named_like_a_dependency_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("app")).expect("mkdir");
        std::fs::write(dir.path().join("helpers.py"), "").expect("write");
        std::fs::write(dir.path().join("README.md"), "").expect("write");
        let top = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shadowed_package(dir.path(), &top(&["fastapi", "README"])),
            None
        );
        assert_eq!(
            shadowed_package(dir.path(), &top(&["fastapi", "helpers"])),
            Some("helpers".to_string())
        );
        assert_eq!(
            shadowed_package(dir.path(), &top(&["app"])),
            Some("app".to_string())
        );
    }

    #[test]
    fn variables_read_at_interpreter_start_need_a_fresh_one() {
        assert!(needs_fresh_interpreter("PYTHONHASHSEED"));
        assert!(needs_fresh_interpreter("AWS_LAMBDA_EXEC_WRAPPER"));
        assert!(!needs_fresh_interpreter("TABLE_NAME"));
    }
}
