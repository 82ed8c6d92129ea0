//! Runs a process in its own mount namespace where Lambda's fixed paths (/var/task, /opt,
//! /var/runtime, /tmp) are bind mounts of host directories, while the rest of the host
//! filesystem (the interpreter under /root/.pyenv or /usr, /etc) and the network stay as they are.
//!
//! Everything the child needs is computed by [`prepare`] before `fork`: the `pre_exec` hook runs
//! in a copy of a multi-threaded process, where allocating or taking a lock can deadlock, so it
//! only makes raw syscalls on that data.
//!
//! The host's /var is never modified, yet /var/task and /var/runtime rarely exist there. The child
//! mounts a tmpfs over /var and recreates each entry of the original /var in it (directories and
//! files as bind mounts of the originals, reached through a descriptor opened before the tmpfs hid
//! them; symlinks such as /var/run as the same symlinks), then adds the two Lambda directories.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Host directories that become Lambda's fixed paths inside an isolated environment.
#[derive(Debug, Clone)]
pub struct IsolationPaths {
    /// Seen read-only as /var/task.
    pub task_root: PathBuf,
    /// Seen read-only as /opt, hiding the host's /opt.
    pub opt: PathBuf,
    /// Seen read-only as /var/runtime.
    pub runtime_dir: PathBuf,
    /// Seen read-write as /tmp; private to one environment.
    pub tmp: PathBuf,
}

/// Why isolation cannot be used here (shown to the user, who then runs unisolated).
#[derive(Debug, Clone, thiserror::Error)]
pub enum IsolationUnavailable {
    /// Mount namespaces only exist on Linux.
    #[error("isolation needs Linux mount namespaces")]
    NotLinux,
    /// The kernel refused to create or set up the namespaces.
    #[error("this process may not create a mount namespace: {step} failed: {reason}{hint}")]
    NotPermitted {
        /// The operation that failed.
        step: &'static str,
        /// The error the kernel gave.
        reason: String,
        /// What usually causes it, starting with "; ", or empty.
        hint: &'static str,
    },
    /// A directory to mount, or the host directory it covers, does not exist.
    #[error("{what} {} is missing or not a directory", .path.display())]
    PathMissing {
        /// Which directory.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Reading the host's filesystem or starting the probe failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: Arc<io::Error>,
    },
}

/// Everything computed before fork: what the child mounts, and where.
#[derive(Debug)]
pub struct PreparedIsolation {
    #[cfg(target_os = "linux")]
    plan: linux::Plan,
}

/// Checks once whether this process may create the namespaces, by forking a child that tries;
/// later calls return the cached answer.
pub fn probe() -> Result<(), IsolationUnavailable> {
    static PROBE: OnceLock<Result<(), IsolationUnavailable>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            #[cfg(target_os = "linux")]
            return linux::probe(linux::current_ids().as_ref());
            #[cfg(not(target_os = "linux"))]
            Err(IsolationUnavailable::NotLinux)
        })
        .clone()
}

/// Checks the directories and computes the mounts for one environment.
pub fn prepare(paths: &IsolationPaths) -> Result<PreparedIsolation, IsolationUnavailable> {
    #[cfg(target_os = "linux")]
    return Ok(PreparedIsolation {
        plan: linux::prepare(paths, linux::current_ids())?,
    });
    #[cfg(not(target_os = "linux"))]
    {
        let _ = paths;
        Err(IsolationUnavailable::NotLinux)
    }
}

impl PreparedIsolation {
    /// Makes `command` start in the isolated view. Its current directory (Lambda's /var/task,
    /// say) is then resolved inside that view, after the mounts.
    ///
    /// If a step fails in the child, `spawn` fails with that step's raw OS error (for example
    /// `EPERM` from mount): the hook cannot allocate a more detailed message.
    ///
    /// The command must not also switch user (`Command::uid`) when this process is not root:
    /// that leaves the child undumpable, its /proc/self files root's, and its id maps unwritable.
    pub fn apply(self: &Arc<Self>, command: &mut std::process::Command) {
        #[cfg(target_os = "linux")]
        linux::apply(self, command);
        #[cfg(not(target_os = "linux"))]
        let _ = command;
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::{CStr, CString};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    use std::path::Path;
    use std::{fs, ptr};

    use libc::{MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT, c_int, c_ulong};

    use super::*;

    /// The kernel's value; libc only exports it for glibc.
    const ST_RELATIME: c_ulong = 0x1000;

    fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> IsolationUnavailable {
        let context = context.into();
        move |source| IsolationUnavailable::Io {
            context,
            source: Arc::new(source),
        }
    }

    /// Single-line maps of the user namespace, used when the child is not root.
    #[derive(Debug)]
    pub(super) struct IdMaps {
        uid_map: Vec<u8>,
        gid_map: Vec<u8>,
    }

    impl IdMaps {
        pub(super) fn new(uid: u32, gid: u32) -> IdMaps {
            let uid_map = format!("{uid} {uid} 1\n").into_bytes();
            let gid_map = format!("{gid} {gid} 1\n").into_bytes();
            IdMaps { uid_map, gid_map }
        }
    }

    pub(super) fn current_ids() -> Option<IdMaps> {
        // SAFETY: neither call has preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        (uid != 0).then(|| IdMaps::new(uid, gid))
    }

    #[derive(Debug)]
    struct Bind {
        source: CString,
        target: &'static CStr,
        /// For a read-only bind: the flags its remount must keep (see `remount_flags`).
        read_only: Option<c_ulong>,
    }

    #[derive(Debug)]
    enum VarEntry {
        /// A directory or file, bound from `name` in the original /var onto `path`.
        Mount {
            name: CString,
            path: CString,
            dir: bool,
        },
        Symlink {
            link: CString,
            path: CString,
        },
    }

    #[derive(Debug)]
    pub(super) struct Plan {
        ids: Option<IdMaps>,
        var_entries: Vec<VarEntry>,
        binds: [Bind; 4],
    }

    #[derive(Clone, Copy)]
    pub(super) enum Step {
        Unshare = 1,
        IdMap,
        MakePrivate,
    }

    impl Step {
        fn describe(self, user_ns: bool) -> &'static str {
            match (self, user_ns) {
                (Step::Unshare, true) => "unshare(CLONE_NEWUSER | CLONE_NEWNS)",
                (Step::Unshare, false) => "unshare(CLONE_NEWNS)",
                (Step::IdMap, _) => "writing /proc/self/{setgroups,uid_map,gid_map}",
                (Step::MakePrivate, _) => "making / private",
            }
        }

        fn hint(self, user_ns: bool) -> &'static str {
            match (self, user_ns) {
                (Step::Unshare, true) => {
                    "; unprivileged user namespaces are disabled: sysctl kernel.unprivileged_userns_clone=1 (or user.max_user_namespaces > 0), or run as root"
                }
                (Step::Unshare, false) => {
                    "; root without CAP_SYS_ADMIN (an unprivileged container, or a seccomp filter blocking unshare)"
                }
                (_, true) => {
                    "; AppArmor may confine unprivileged user namespaces: sysctl kernel.apparmor_restrict_unprivileged_userns=0, or run as root"
                }
                (_, false) => "",
            }
        }
    }

    pub(super) fn prepare(
        paths: &IsolationPaths,
        ids: Option<IdMaps>,
    ) -> Result<Plan, IsolationUnavailable> {
        for host in ["/var", "/opt", "/tmp"] {
            if !Path::new(host).is_dir() {
                let path = PathBuf::from(host);
                return Err(IsolationUnavailable::PathMissing {
                    what: "the host directory",
                    path,
                });
            }
        }
        let bind = |what, path: &Path, target, read_only: bool| {
            // Absolute, since the child resolves it from / (see `apply`).
            let source = fs::canonicalize(path).ok().filter(|source| source.is_dir());
            let source = source.ok_or_else(|| IsolationUnavailable::PathMissing {
                what,
                path: path.to_path_buf(),
            })?;
            let source = c_path(&source)?;
            let read_only = if read_only {
                Some(remount_flags(&source)?)
            } else {
                None
            };
            Ok::<_, IsolationUnavailable>(Bind {
                source,
                target,
                read_only,
            })
        };
        let binds = [
            bind("the task root", &paths.task_root, c"/var/task", true)?,
            bind(
                "the runtime directory",
                &paths.runtime_dir,
                c"/var/runtime",
                true,
            )?,
            bind("the layers directory", &paths.opt, c"/opt", true)?,
            bind("the private /tmp", &paths.tmp, c"/tmp", false)?,
        ];
        let mut var_entries = Vec::new();
        for entry in fs::read_dir("/var").map_err(io_error("cannot list /var"))? {
            let entry = entry.map_err(io_error("cannot list /var"))?;
            let name = entry.file_name();
            if name == "task" || name == "runtime" {
                continue;
            }
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(io_error(format!("cannot read {}", path.display())))?;
            var_entries.push(if kind.is_symlink() {
                let link = fs::read_link(&path)
                    .map_err(io_error(format!("cannot read {}", path.display())))?;
                VarEntry::Symlink {
                    link: c_path(&link)?,
                    path: c_path(&path)?,
                }
            } else {
                let dir = kind.is_dir();
                VarEntry::Mount {
                    name: c_path(Path::new(&name))?,
                    path: c_path(&path)?,
                    dir,
                }
            });
        }
        Ok(Plan {
            ids,
            var_entries,
            binds,
        })
    }

    fn c_path(path: &Path) -> Result<CString, IsolationUnavailable> {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io_error(format!("cannot use {}", path.display()))(io::Error::other(e)))
    }

    /// A read-only remount of a bind replaces the mount's flags; inside a user namespace the
    /// kernel refuses to drop nosuid, nodev, noexec or to change atime handling inherited from
    /// the host ("locked" flags), so the remount restates the source mount's.
    fn remount_flags(source: &CStr) -> Result<c_ulong, IsolationUnavailable> {
        // SAFETY: statvfs is plain data; the kernel fills it on success.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `source` is NUL-terminated and `stat` is a valid out pointer.
        if unsafe { libc::statvfs(source.as_ptr(), &mut stat) } != 0 {
            let context = format!("cannot stat {}", source.to_string_lossy());
            return Err(io_error(context)(io::Error::last_os_error()));
        }
        let pairs = [
            (libc::ST_NOSUID, MS_NOSUID),
            (libc::ST_NODEV, MS_NODEV),
            (libc::ST_NOEXEC, libc::MS_NOEXEC),
            (libc::ST_NOATIME, libc::MS_NOATIME),
            (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
            (ST_RELATIME, libc::MS_RELATIME),
        ];
        let mut flags = pairs
            .iter()
            .filter(|(st, _)| stat.f_flag & st != 0)
            .fold(0, |f, (_, ms)| f | ms);
        if stat.f_flag & (libc::ST_NOATIME | ST_RELATIME) == 0 {
            flags |= libc::MS_STRICTATIME;
        }
        Ok(flags)
    }

    pub(super) fn apply(prepared: &Arc<PreparedIsolation>, command: &mut std::process::Command) {
        // std changes directory before running pre_exec hooks, that is on the host, where
        // /var/task may not exist: start from / and change directory after the mounts.
        let cwd = command.get_current_dir().map(Path::to_path_buf);
        let cwd = cwd
            .or_else(|| std::env::current_dir().ok())
            .and_then(|dir| std::path::absolute(dir).ok());
        let cwd = cwd.and_then(|dir| CString::new(dir.into_os_string().into_encoded_bytes()).ok());
        let cwd = cwd.unwrap_or_else(|| c"/".to_owned());
        command.current_dir("/");
        let prepared = Arc::clone(prepared);
        // SAFETY: `enter` only makes syscalls on data computed before fork, and
        // `from_raw_os_error` does not allocate.
        unsafe {
            command.pre_exec(move || {
                prepared
                    .plan
                    .enter(&cwd)
                    .map_err(io::Error::from_raw_os_error)
            });
        }
    }

    impl Plan {
        /// Runs in the child between fork and exec: no allocation, no locks.
        fn enter(&self, cwd: &CStr) -> Result<(), c_int> {
            enter_namespaces(self.ids.as_ref()).map_err(|(_, errno)| errno)?;
            // Opened before any mount, so a source under /var, /opt or /tmp stays reachable once
            // those are covered. Opened after unshare, since a bind's source must belong to the
            // namespace it is mounted in.
            let var = open_dir(c"/var")?;
            let mut sources = [0; 4];
            for (fd, bind) in sources.iter_mut().zip(&self.binds) {
                *fd = open_dir(&bind.source)?;
            }
            mount(
                Some(c"tmpfs"),
                c"/var",
                Some(c"tmpfs"),
                MS_NOSUID | MS_NODEV,
                Some(c"mode=755"),
            )?;
            // Relative names now resolve in the original /var, under the tmpfs.
            // SAFETY (all blocks below): arguments are valid NUL-terminated strings or descriptors.
            check(unsafe { libc::fchdir(var) })?;
            for entry in &self.var_entries {
                match entry {
                    VarEntry::Symlink { link, path } => {
                        check(unsafe { libc::symlink(link.as_ptr(), path.as_ptr()) })?;
                    }
                    VarEntry::Mount { name, path, dir } => {
                        if *dir {
                            check(unsafe { libc::mkdir(path.as_ptr(), 0o755) })?;
                        } else {
                            let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC;
                            let fd = check(unsafe { libc::open(path.as_ptr(), flags, 0o644) })?;
                            unsafe { libc::close(fd) };
                        }
                        mount(Some(name), path, None, MS_BIND | MS_REC, None)?;
                    }
                }
            }
            for dir in [c"/var/task", c"/var/runtime"] {
                check(unsafe { libc::mkdir(dir.as_ptr(), 0o755) })?;
            }
            // Like Lambda's, /var is read-only apart from what is mounted in it.
            let read_only = MS_REMOUNT | MS_BIND | MS_RDONLY;
            mount(None, c"/var", None, read_only | MS_NOSUID | MS_NODEV, None)?;
            for (fd, bind) in sources.iter().zip(&self.binds) {
                check(unsafe { libc::fchdir(*fd) })?;
                mount(Some(c"."), bind.target, None, MS_BIND | MS_REC, None)?;
                if let Some(flags) = bind.read_only {
                    mount(None, bind.target, None, read_only | flags, None)?;
                }
            }
            check(unsafe { libc::chdir(cwd.as_ptr()) }).map(drop)
        }
    }

    /// Creates the namespaces and cuts propagation to the host. Async-signal-safe.
    pub(super) fn enter_namespaces(ids: Option<&IdMaps>) -> Result<(), (Step, c_int)> {
        // SAFETY (all blocks): plain syscalls with valid pointers.
        let Some(ids) = ids else {
            check(unsafe { libc::unshare(libc::CLONE_NEWNS) }).map_err(|e| (Step::Unshare, e))?;
            return make_private();
        };
        let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNS;
        check(unsafe { libc::unshare(flags) }).map_err(|e| (Step::Unshare, e))?;
        // Required before an unprivileged gid_map; absent (ENOENT) before Linux 3.19.
        match write_file(c"/proc/self/setgroups", b"deny") {
            Ok(()) | Err(libc::ENOENT) => {}
            Err(errno) => return Err((Step::IdMap, errno)),
        }
        write_file(c"/proc/self/uid_map", &ids.uid_map).map_err(|e| (Step::IdMap, e))?;
        write_file(c"/proc/self/gid_map", &ids.gid_map).map_err(|e| (Step::IdMap, e))?;
        make_private()
    }

    fn make_private() -> Result<(), (Step, c_int)> {
        mount(None, c"/", None, MS_REC | libc::MS_PRIVATE, None).map_err(|e| (Step::MakePrivate, e))
    }

    fn mount(
        source: Option<&CStr>,
        target: &CStr,
        fstype: Option<&CStr>,
        flags: c_ulong,
        data: Option<&CStr>,
    ) -> Result<(), c_int> {
        let raw = |s: Option<&CStr>| s.map_or(ptr::null(), CStr::as_ptr);
        // SAFETY: every pointer is null or a NUL-terminated string.
        let result = unsafe {
            libc::mount(
                raw(source),
                target.as_ptr(),
                raw(fstype),
                flags,
                raw(data).cast(),
            )
        };
        check(result).map(drop)
    }

    fn open_dir(path: &CStr) -> Result<c_int, c_int> {
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: `path` is NUL-terminated.
        check(unsafe { libc::open(path.as_ptr(), flags) })
    }

    /// Writes `data` in one call, as the id map files require.
    fn write_file(path: &CStr, data: &[u8]) -> Result<(), c_int> {
        // SAFETY: `path` is NUL-terminated and `data` valid for its length.
        let fd = check(unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })?;
        let written = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        let result = if written < 0 { Err(errno()) } else { Ok(()) };
        unsafe { libc::close(fd) };
        result
    }

    fn check(result: c_int) -> Result<c_int, c_int> {
        if result < 0 { Err(errno()) } else { Ok(result) }
    }

    fn errno() -> c_int {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    }

    /// Forks a child that creates the namespaces and reports through a pipe which step failed.
    pub(super) fn probe(ids: Option<&IdMaps>) -> Result<(), IsolationUnavailable> {
        let failed = io_error("cannot run the namespace probe");
        let mut pipe = [0; 2];
        // SAFETY: `pipe` has room for two descriptors.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(failed(io::Error::last_os_error()));
        }
        // SAFETY: the child only makes syscalls before `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let report = match enter_namespaces(ids) {
                Ok(()) => [0; 5],
                Err((step, errno)) => {
                    let [a, b, c, d] = errno.to_ne_bytes();
                    [step as u8, a, b, c, d]
                }
            };
            // SAFETY: plain syscalls; `_exit` skips the parent's atexit handlers and destructors.
            unsafe {
                libc::write(pipe[1], report.as_ptr().cast(), report.len());
                libc::_exit(0);
            }
        }
        let fork_error = io::Error::last_os_error();
        let mut report = [0u8; 5];
        // SAFETY: descriptors from pipe2; `report` is valid for its length; `pid` is our child.
        let read = unsafe {
            libc::close(pipe[1]);
            let mut read = -1;
            while pid > 0 && read < 0 {
                read = libc::read(pipe[0], report.as_mut_ptr().cast(), report.len());
                if read < 0 && errno() != libc::EINTR {
                    break;
                }
            }
            libc::close(pipe[0]);
            let mut status = 0;
            while pid > 0 && libc::waitpid(pid, &mut status, 0) < 0 && errno() == libc::EINTR {}
            read
        };
        if pid < 0 {
            return Err(failed(fork_error));
        }
        if read != 5 {
            return Err(failed(io::Error::other(
                "the probe child ended without reporting",
            )));
        }
        let step = match report[0] {
            0 => return Ok(()),
            1 => Step::Unshare,
            2 => Step::IdMap,
            _ => Step::MakePrivate,
        };
        let errno = c_int::from_ne_bytes([report[1], report[2], report[3], report[4]]);
        Err(IsolationUnavailable::NotPermitted {
            step: step.describe(ids.is_some()),
            reason: io::Error::from_raw_os_error(errno).to_string(),
            hint: step.hint(ids.is_some()),
        })
    }
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    use super::*;

    /// Prints `key=value` lines describing what the child sees.
    const SCRIPT: &str = r#"
        echo task=$(cat /var/task/marker)
        if touch /var/task/new 2>/dev/null; then echo task_write=ok; else echo task_write=refused; fi
        if touch /var/new 2>/dev/null; then echo var_write=ok; else echo var_write=refused; fi
        echo opt=$(ls -A /opt)
        echo runtime=$(cat /var/runtime/marker)
        echo mounts=$(awk '$5 ~ "^/(var/task|var/runtime|opt|tmp|var)$" {print $5 ":" $6}' /proc/self/mountinfo)
        echo tmp=$(cat /tmp/marker)
        echo from-child > /tmp/written && echo tmp_write=ok
        echo pwd=$(pwd)
        echo var=$(ls -A /var | sort)
        echo var_lib=$(ls -A /var/lib | sort)
        echo var_run=$(readlink /var/run)
        test -x /bin/sh && test -d /usr/bin && test -r /etc/passwd && echo host=ok
    "#;

    fn fixture() -> (tempfile::TempDir, IsolationPaths) {
        let root = tempfile::tempdir().unwrap();
        // Readable by the unprivileged child of `unprivileged_child_sees_lambda_paths`.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for name in ["task", "opt", "runtime", "tmp"] {
            fs::create_dir(root.path().join(name)).unwrap();
            fs::write(
                root.path().join(name).join("marker"),
                format!("{name}-marker"),
            )
            .unwrap();
        }
        let paths = IsolationPaths {
            task_root: root.path().join("task"),
            opt: root.path().join("opt"),
            runtime_dir: root.path().join("runtime"),
            tmp: root.path().join("tmp"),
        };
        (root, paths)
    }

    fn listing(dir: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Runs SCRIPT isolated, killed after 30 s so a hang fails instead of blocking.
    fn run(prepared: PreparedIsolation, uid: Option<u32>) -> io::Result<BTreeMap<String, String>> {
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", SCRIPT])
            .current_dir("/var/task")
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        command.stdout(Stdio::piped());
        if let Some(uid) = uid {
            become_user(&mut command, uid);
        }
        Arc::new(prepared).apply(&mut command);
        let child = command.spawn()?;
        let pid = child.id() as libc::pid_t;
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if wait.recv_timeout(Duration::from_secs(30)).is_err() {
                // SAFETY: kill has no memory preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        let output = child.wait_with_output()?;
        done.send(()).unwrap();
        watchdog.join().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        Ok(stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }

    fn check_view(paths: &IsolationPaths, seen: &BTreeMap<String, String>, var_before: &[String]) {
        assert_eq!(seen["task"], "task-marker");
        assert_eq!(seen["task_write"], "refused");
        assert_eq!(seen["var_write"], "refused");
        assert_eq!(seen["opt"], "marker", "the host's /opt is hidden");
        assert_eq!(seen["runtime"], "runtime-marker");
        for mount in [
            "/var:ro,",
            "/var/task:ro,",
            "/var/runtime:ro,",
            "/opt:ro,",
            "/tmp:rw,",
        ] {
            assert!(
                seen["mounts"].contains(mount),
                "{mount} in {}",
                seen["mounts"]
            );
        }
        assert_eq!(seen["tmp"], "tmp-marker");
        assert_eq!(seen["tmp_write"], "ok");
        assert_eq!(
            fs::read_to_string(paths.tmp.join("written")).unwrap(),
            "from-child\n"
        );
        assert_eq!(seen["pwd"], "/var/task");
        assert_eq!(seen["host"], "ok");
        let mut var: Vec<String> = var_before.to_vec();
        var.extend(["task".into(), "runtime".into()]);
        var.sort();
        var.dedup();
        assert_eq!(seen["var"], var.join(" "));
        assert_eq!(seen["var_lib"], listing("/var/lib").join(" "));
        let var_run = fs::read_link("/var/run")
            .map(|l| l.display().to_string())
            .unwrap_or_default();
        assert_eq!(seen["var_run"], var_run);
        // Nothing leaked to the host.
        assert_eq!(listing("/var"), var_before);
        assert!(!fs::exists(paths.task_root.join("new")).unwrap());
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts.contains(paths.task_root.to_str().unwrap()),
            "{mounts}"
        );
    }

    #[test]
    fn child_sees_lambda_paths() {
        if let Err(reason) = probe() {
            eprintln!("isolation unavailable, skipped: {reason}");
            return;
        }
        let (_root, paths) = fixture();
        let var_before = listing("/var");
        let seen = run(prepare(&paths).unwrap(), None).unwrap();
        check_view(&paths, &seen, &var_before);
    }

    /// An unprivileged child goes through the user namespace path, where flags inherited from the
    /// host are locked. Needs root to switch to `nobody`.
    #[test]
    fn unprivileged_child_sees_lambda_paths() {
        // SAFETY: no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root, skipped");
            return;
        }
        const NOBODY: u32 = 65534;
        if !user_namespaces_allowed(NOBODY) {
            eprintln!("unprivileged user namespaces unavailable, skipped");
            return;
        }
        let (_root, paths) = fixture();
        std::os::unix::fs::chown(&paths.tmp, Some(NOBODY), Some(NOBODY)).unwrap();
        let var_before = listing("/var");
        let plan = linux::prepare(&paths, Some(linux::IdMaps::new(NOBODY, NOBODY))).unwrap();
        let seen = run(PreparedIsolation { plan }, Some(NOBODY)).unwrap();
        check_view(&paths, &seen, &var_before);
    }

    /// Switches the child to `id`, as lambdaship itself running unprivileged would be. The
    /// switch leaves the child undumpable, which would keep it from writing its id maps.
    fn become_user(command: &mut Command, id: u32) {
        command.uid(id).gid(id);
        // SAFETY: prctl is a plain syscall.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_DUMPABLE, 1 as libc::c_ulong);
                Ok(())
            });
        }
    }

    /// Whether `nobody` may create a user namespace here, which kernels may forbid.
    fn user_namespaces_allowed(id: u32) -> bool {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "exit 0"]);
        become_user(&mut command, id);
        // SAFETY: enter_namespaces only makes syscalls on data computed before fork.
        unsafe {
            let ids = linux::IdMaps::new(id, id);
            command.pre_exec(move || {
                let result = linux::enter_namespaces(Some(&ids));
                result.map_err(|(_, errno)| io::Error::from_raw_os_error(errno))
            });
        }
        command.status().is_ok_and(|status| status.success())
    }

    #[test]
    fn missing_directory_is_reported() {
        let (_root, mut paths) = fixture();
        paths.opt = paths.opt.join("absent");
        let error = prepare(&paths).err().unwrap();
        assert!(matches!(
            error,
            IsolationUnavailable::PathMissing {
                what: "the layers directory",
                ..
            }
        ));
        assert!(error.to_string().contains("absent"), "{error}");
    }
}
