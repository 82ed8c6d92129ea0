//! The processes of an environment: started in their own process groups with the
//! environment's variables and log pipe, watched for exit, killed as a group.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::error::RuntimeError;
use crate::isolate::PreparedIsolation;
use crate::logs::LogPipe;

/// Which part of the environment a process is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcessRole {
    /// The runtime (awslambdaric or a bootstrap).
    Runtime,
    /// An external extension, by file name.
    Extension(String),
}

/// A started process.
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) role: ProcessRole,
    pub(crate) pid: u32,
}

/// How to start one process.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) cwd: PathBuf,
    pub(crate) env: BTreeMap<String, String>,
}

impl Launch {
    /// The command for this launch, with nothing but its own variables, leading a new
    /// process group (so the whole group can be signalled); its output is the caller's.
    pub(crate) fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(&self.env)
            .process_group(0)
            .kill_on_drop(false);
        command
    }
}

/// A process exit, reported to the environment's driver.
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) role: ProcessRole,
    pub(crate) pid: u32,
    pub(crate) status: std::io::Result<ExitStatus>,
}

/// Starts `launch` in a new process group, its output into `logs`; its exit is sent to
/// `exits`.
pub(crate) fn start(
    role: ProcessRole,
    launch: &Launch,
    logs: &LogPipe,
    isolation: Option<&Arc<PreparedIsolation>>,
    exits: &mpsc::UnboundedSender<Exit>,
) -> Result<Process, RuntimeError> {
    let spawn_error = |source: std::io::Error| RuntimeError::Spawn {
        program: launch.program.display().to_string(),
        source,
    };
    let mut command = launch.command();
    command
        .stdin(std::process::Stdio::null())
        .stdout(logs.writer().map_err(spawn_error)?)
        .stderr(logs.writer().map_err(spawn_error)?);
    if let Some(isolation) = isolation {
        isolation.apply(command.as_std_mut());
    }
    let mut child = command.spawn().map_err(spawn_error)?;
    let pid = child.id().unwrap_or(0);
    let exits = exits.clone();
    let watched_role = role.clone();
    tokio::spawn(async move {
        let status = child.wait().await;
        let _ = exits.send(Exit {
            role: watched_role,
            pid,
            status,
        });
    });
    Ok(Process { role, pid })
}

/// Sends `signal` to the process group of `pid` (each process leads its own group).
pub(crate) fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill has no memory preconditions; a group that is gone gives ESRCH.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// Lambda's wording for how a runtime process ended.
pub(crate) fn describe_exit(status: &std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("signal: {}", signal_name(signal)),
            _ => "exited".to_string(),
        },
        Err(error) => error.to_string(),
    }
}

/// Go's names for signals, which Lambda's messages use ("signal: killed").
fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGKILL => "killed".to_string(),
        libc::SIGTERM => "terminated".to_string(),
        libc::SIGSEGV => "segmentation fault".to_string(),
        libc::SIGABRT => "aborted".to_string(),
        libc::SIGINT => "interrupt".to_string(),
        libc::SIGBUS => "bus error".to_string(),
        libc::SIGFPE => "floating point exception".to_string(),
        libc::SIGILL => "illegal instruction".to_string(),
        libc::SIGPIPE => "broken pipe".to_string(),
        other => format!("signal {other}"),
    }
}
