"""Compiles Python sources to unchecked-hash .pyc files for AWS Lambda.

Run by `lambdaship build` with the interpreter of the function's runtime version. Lambda's
task root and /opt are read-only, so a .pyc that does not validate is recompiled at every
cold start; unchecked-hash .pyc are used as they are.

stdin: a JSON list of [source, pyc_output, path_lambda_sees].
stdout: one JSON object {"cache_tag": "cpython-3XY", "failed": [[source, message], ...]}.
"""

import json
import py_compile
import sys


def main() -> None:
    jobs = json.load(sys.stdin)
    failed = []
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    for source, output, shown_as in jobs:
        try:
            py_compile.compile(
                source, cfile=output, dfile=shown_as, doraise=True, invalidation_mode=mode
            )
        except py_compile.PyCompileError as error:
            failed.append([source, error.msg.strip()])
        except (OSError, ValueError, SyntaxError) as error:
            failed.append([source, str(error)])
    json.dump({"cache_tag": sys.implementation.cache_tag, "failed": failed}, sys.stdout)


if __name__ == "__main__":
    main()
