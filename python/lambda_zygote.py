"""lambdaship's zygote: an interpreter that has imported a function's dependencies once and
forks a new execution environment's runtime from them, for `lambdaship dev`.

A fresh CPython spends most of a web function's Init importing its dependency layer
(FastAPI, pydantic, ...). An app edit does not change that layer, so after the first
environment has recorded which of its modules it imported, this process imports them once,
and each new environment is a fork of it that only imports the app and awslambdaric.

Started as `python -S -B zygote.py OPT MODULES_FILE` with the function's variables, stdin
a SOCK_SEQPACKET socket to lambdaship, stdout a pipe for one status line. Then, per
message on stdin (JSON: env, cwd; with three descriptors: stdout and stderr of the new
runtime, and a report socket), it forks a child that becomes the runtime as
bootstrap.py would start it. The child writes `{"pid": N}` on the report socket once it
leads its own session; the zygote writes `{"status": W}` (the raw wait status) when it
has reaped it. When lambdaship closes stdin, the zygote takes no more requests and exits
once its children have.

awslambdaric is never imported here: its C client keeps the Runtime API address it saw at
import, so each child imports it with its own environment.
"""

import importlib
import json
import os
import select
import signal
import site
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# bootstrap.py's layer paths, written again rather than imported: a module named
# `bootstrap` in the function's layers would come first on the path.
def layer_paths(opt):
    version = "python%d.%d" % sys.version_info[:2]
    return [
        os.path.join(opt, "python", "lib", version, "site-packages"),
        os.path.join(opt, "python"),
    ]


def preload(opt, modules_file):
    """Sets the import path as bootstrap.py does (less the task root, which each child
    adds) and imports the recorded modules; returns the status line."""
    started = time.perf_counter()
    paths = layer_paths(opt)
    sys.path[0:0] = paths
    for path in paths:
        site.addsitedir(path)
    with open(modules_file, encoding="utf-8") as recorded:
        names = [line.strip() for line in recorded if line.strip()]
    failed = []
    for name in names:
        if name == "awslambdaric" or name.startswith("awslambdaric."):
            continue
        try:
            importlib.import_module(name)
        except BaseException as error:  # noqa: BLE001 - the child imports it again
            failed.append("%s: %s" % (name, type(error).__name__))
    status = {
        "preloaded": len(names) - len(failed),
        "failed": failed,
        "preload_ms": round((time.perf_counter() - started) * 1000, 1),
        "top_level": sorted({name.split(".")[0] for name in names}),
    }
    # A thread would not survive the fork: a child would miss it, or deadlock on a lock
    # it held. Forking is only safe from a process with one thread.
    threads = len(os.listdir("/proc/self/task"))
    if threading.active_count() != 1 or threads != 1:
        status["refused"] = (
            "importing the dependencies started %d threads (%s): a fork would not "
            "carry them" % (threads - 1, ", ".join(t.name for t in threading.enumerate()))
        )
    return status


def become_runtime(request, descriptors):
    """In the child: take the environment's output, variables and directory, then start
    awslambdaric as bootstrap.py does."""
    out, err = descriptors
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in {null, out, err}:
        if fd > 2:
            os.close(fd)
    env = request["env"]
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    os.chdir(request["cwd"])
    task_root = env["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    site.addsitedir(task_root)
    importlib.invalidate_caches()
    os.environ["PYTHONPATH"] = env["LAMBDA_RUNTIME_DIR"]
    sys.argv = [os.path.join(HERE, "bootstrap.py")]
    from awslambdaric import __main__ as runtime_client

    runtime_client.main([task_root, env["_HANDLER"]])


def run_child(request, descriptors):
    """The child's whole life: it never returns into the zygote's loop, and ends as a
    fresh interpreter would (exit functions run, output flushed, SystemExit's code)."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        become_runtime(request, descriptors[:2])
        code = 0
    except SystemExit as exit_request:
        if exit_request.code is None:
            code = 0
        elif isinstance(exit_request.code, int):
            code = exit_request.code
        else:
            print(exit_request.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - printed as a fresh interpreter prints it
        import traceback

        traceback.print_exc()
    try:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def serve(control):
    """Forks a child per request until lambdaship hangs up, then waits for the children."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    reports = {}  # pid of a child -> the socket its wait status goes to
    open_control = True
    while open_control or reports:
        watched = [wake_read] + ([control] if open_control else [])
        try:
            ready, _, _ = select.select(watched, [], [])
        except InterruptedError:
            continue
        if wake_read in ready:
            os.read(wake_read, 4096)
            reap(reports)
        if open_control and control in ready:
            message, descriptors, _, _ = socket.recv_fds(control, 1 << 20, 3)
            if not message:
                open_control = False
                for fd in descriptors:
                    os.close(fd)
                continue
            if len(descriptors) != 3:
                for fd in descriptors:
                    os.close(fd)
                continue
            report = socket.socket(fileno=descriptors[2])
            request = json.loads(message)
            try:
                pid = os.fork()
            except OSError as error:
                send(report, {"error": "fork failed: %s" % error})
                report.close()
                for fd in descriptors[:2]:
                    os.close(fd)
                continue
            if pid == 0:
                control.close()
                os.close(wake_read)
                os.close(wake_write)
                for other in reports.values():
                    other.close()
                child_start(request, descriptors, report)
            for fd in descriptors[:2]:
                os.close(fd)
            reports[pid] = report
            reap(reports)


def child_start(request, descriptors, report):
    """Reports the child's pid once it leads its own session, then becomes the runtime."""
    os.setsid()
    try:
        send(report, {"pid": os.getpid()})
    finally:
        report.close()
    run_child(request, descriptors)


def reap(reports):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        report = reports.pop(pid, None)
        if report is not None:
            send(report, {"status": status})
            report.close()


def send(report, message):
    try:
        report.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass


def main():
    opt, modules_file = sys.argv[1], sys.argv[2]
    del sys.argv[1:]
    control = socket.socket(fileno=0)
    try:
        status = preload(opt, modules_file)
    except BaseException as error:  # noqa: BLE001 - told to lambdaship, which starts fresh
        status = {"refused": "the zygote could not start: %s: %s" % (type(error).__name__, error)}
    os.write(1, (json.dumps(status) + "\n").encode())
    if "refused" in status:
        return
    serve(control)


main()
