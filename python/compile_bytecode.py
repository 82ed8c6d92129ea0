"""Compiles Python sources to unchecked-hash .pyc files for AWS Lambda.

Run by `lambdaship build` with the interpreter of the function's runtime version. Lambda's
task root and /opt are read-only, so a .pyc that does not validate is recompiled at every
cold start; unchecked-hash .pyc are used as they are.

The bytes are what `py_compile.compile(..., invalidation_mode=UNCHECKED_HASH)` writes. Only
modules the interpreter has already loaded at startup are used: importing py_compile and json
would cost more than compiling a changed file.

stdin: NUL-separated triples of source path, .pyc path and the path Lambda sees.
stdout: the interpreter's cache tag, then a source path and message per file that did not
compile, all NUL-terminated.
"""

import _imp
import os
import sys
from importlib import _bootstrap_external

try:
    _code_to_hash_pyc = _bootstrap_external._code_to_hash_pyc
    _magic = _bootstrap_external._RAW_MAGIC_NUMBER
except AttributeError:  # an interpreter whose internals moved: py_compile does the same

    def compile_one(source_path, pyc_path, shown_as):
        import py_compile

        py_compile.compile(
            os.fsdecode(source_path),
            cfile=os.fsdecode(pyc_path),
            dfile=os.fsdecode(shown_as),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )

else:

    def compile_one(source_path, pyc_path, shown_as):
        with open(source_path, "rb") as file:
            source = file.read()
        code = compile(source, os.fsdecode(shown_as), "exec", dont_inherit=True)
        pyc = _code_to_hash_pyc(code, _imp.source_hash(_magic, source), False)
        os.makedirs(os.path.dirname(pyc_path), exist_ok=True)
        with open(pyc_path, "wb") as file:
            file.write(pyc)


def main():
    fields = sys.stdin.buffer.read().split(b"\0")
    out = sys.stdout.buffer
    out.write(sys.implementation.cache_tag.encode() + b"\0")
    for source_path, pyc_path, shown_as in zip(fields[0::3], fields[1::3], fields[2::3]):
        try:
            compile_one(source_path, pyc_path, shown_as)
        except Exception as error:  # py_compile wraps syntax errors in PyCompileError
            message = str(error).replace("\0", " ")
            out.write(source_path + b"\0" + message.encode("utf-8", "replace") + b"\0")


main()
