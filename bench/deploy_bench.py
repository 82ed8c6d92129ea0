"""Benchmark of `lambdaship deploy` against `lambdaship server` (bench/deploy runs it).

Measures, in one run and on the same server:
  - the first deploy of examples/hello-fastapi (build included, from a warm cache);
  - a no-op redeploy (build check included): its wall time and the bytes it uploads;
  - the seeds' manual redeploy for comparison: `aws lambda update-function-code
    --zip-file fileb://...` with the same zip (it uploads the whole zip every time), plus
    `aws lambda wait function-updated`, as the seeds do it.
Prints a Markdown table with medians and ratios.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(command, env):
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{command[:3]} failed:\n{done.stderr}")
    return elapsed, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lambdaship", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    project = work / "hello-fastapi"
    shutil.copytree(ROOT / "examples/hello-fastapi", project, ignore=shutil.ignore_patterns("dist", ".venv"))
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_PAGER="",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
    )
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [args.lambdaship, "server", "--port", str(port), "--state", str(work / "state"), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        server.stdout.readline()  # "listening on ..."
        # Warm the build cache so the first deploy measures deploy, not wheel downloads.
        timed([args.lambdaship, "build", str(project)], env)
        first, out = timed(
            [args.lambdaship, "deploy", str(project), "--endpoint-url", endpoint, "--json"], env
        )
        first_report = json.loads(out)
        zip_path = project / "dist/lambda/hello-fastapi.zip"
        zip_size = zip_path.stat().st_size

        noop, manual = [], []
        uploaded = []
        for _ in range(args.rounds):
            elapsed, out = timed(
                [args.lambdaship, "deploy", str(project), "--endpoint-url", endpoint, "--json"], env
            )
            noop.append(elapsed)
            uploaded.append(json.loads(out)["bytes_uploaded"])
            started = time.perf_counter()
            timed(
                ["aws", "lambda", "update-function-code", "--function-name", "hello-fastapi",
                 "--zip-file", f"fileb://{zip_path}", "--endpoint-url", endpoint],
                env,
            )
            timed(
                ["aws", "lambda", "wait", "function-updated", "--function-name", "hello-fastapi",
                 "--endpoint-url", endpoint],
                env,
            )
            manual.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    noop_median = statistics.median(noop)
    manual_median = statistics.median(manual)
    print("| measure | result |")
    print("|---|---|")
    print(f"| first deploy of hello-fastapi (warm build cache) | {first:.2f} s, {first_report['bytes_uploaded'] / 1e6:.1f} MB uploaded |")
    print(f"| no-op redeploy, build check included, median of {args.rounds} | {noop_median * 1000:.0f} ms (max {max(noop) * 1000:.0f} ms), {max(uploaded)} bytes uploaded |")
    print(f"| manual redeploy (`aws lambda update-function-code` + `wait function-updated`), median | {manual_median * 1000:.0f} ms, {zip_size / 1e6:.1f} MB uploaded |")
    print(f"| no-op redeploy / manual redeploy | {noop_median / manual_median:.2f}x |")


if __name__ == "__main__":
    main()
