"""lambdaship's stand-in for the managed runtime's /var/runtime/bootstrap.py.

It sets the import path the way Lambda's Python runtimes do (task root, then the layers'
site-packages, then the layers' python directory, each also scanned for .pth files) and
hands over to awslambdaric, the runtime client the managed runtime runs.

argv[1] is the layers' directory (/opt on Lambda); it is removed before the handler loads.
"""

import os
import site
import sys


def main():
    opt = sys.argv[1]
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

    runtime_client.main([task_root, os.environ["_HANDLER"]])


main()
