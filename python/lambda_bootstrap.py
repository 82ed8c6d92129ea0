"""lambdaship's stand-in for the managed runtime's /var/runtime/bootstrap.py.

It sets the import path the way Lambda's Python runtimes do (task root, then the layers'
site-packages, then the layers' python directory, each also scanned for .pth files) and
hands over to awslambdaric, the runtime client the managed runtime runs.

argv[1] is the layers' directory (/opt on Lambda); it is removed before the handler loads.
argv[2], when given, is a file to write, at the end of Init, the names of the modules the
function imported from the layers: `lambdaship dev`'s zygote imports them ahead of the
next environments (see lambda_zygote.py).
"""

import os
import site
import sys


def main():
    opt = sys.argv[1]
    record = sys.argv[2] if len(sys.argv) > 2 else None
    del sys.argv[1:]
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    version = "python%d.%d" % sys.version_info[:2]
    layer_paths = [
        task_root,
        os.path.join(opt, "python", "lib", version, "site-packages"),
        os.path.join(opt, "python"),
    ]
    # Lambda only takes over the path when the function did not set PYTHONPATH itself.
    if "PYTHONPATH" not in os.environ:
        sys.path[0:0] = layer_paths
    for path in layer_paths:
        site.addsitedir(path)
    os.environ["PYTHONPATH"] = os.environ["LAMBDA_RUNTIME_DIR"]

    from awslambdaric import __main__ as runtime_client

    if record:
        record_layer_modules_at_init_end(opt, record)
    runtime_client.main([task_root, os.environ["_HANDLER"]])


def record_layer_modules_at_init_end(opt, record):
    """Writes, when the runtime first asks for an event (the handler is imported by then),
    the modules loaded from under `opt`, in import order."""
    from awslambdaric.lambda_runtime_client import LambdaRuntimeClient

    wait = LambdaRuntimeClient.wait_next_invocation

    def first_wait(client):
        LambdaRuntimeClient.wait_next_invocation = wait
        try:
            write_layer_modules(opt, record)
        except OSError:
            pass  # only an optimisation is lost
        return wait(client)

    LambdaRuntimeClient.wait_next_invocation = first_wait


def write_layer_modules(opt, record):
    root = os.path.join(os.path.realpath(opt), "")
    names = [
        name
        for name, module in list(sys.modules.items())
        if os.path.realpath(getattr(module, "__file__", None) or "/").startswith(root)
    ]
    partial = "%s.%d.tmp" % (record, os.getpid())
    with open(partial, "w", encoding="utf-8") as out:
        out.write("".join(name + "\n" for name in names))
    os.replace(partial, record)


main()
