"""Benchmark of `lambdaship build --layout image` and `build --push` (bench/image runs it).

Measured in one run, on examples/hello-fastapi and a Lambda-shaped base image made by
crates/lambdaship/tests/fixtures/make_base_image.py (the public base cannot be reached here):
  - an image build with an empty lambdaship cache (uv's own cache warm), and after an app
    edit (the target: under 150 ms);
  - the same layer work done by hand, as a Dockerfile-less recipe would: `tar --sort=name
    --mtime --owner=0 --group=0`, `gzip -n` and `sha256sum` of the dependency and app trees
    (extracted from lambdaship's own layers, so the content is identical), plus the config
    and manifest JSON; for an app edit only the app layer;
  - the seeds' whole recipe as a script (a script has no cache, so an app edit redoes it all);
  - a push of an unchanged image to Debian's docker-registry on loopback: lambdaship's blob
    bytes sent (target: zero) and time, beside `skopeo copy` of the same OCI layout.
Prints a Markdown table with medians and ratios; rounds alternate between the two sides.
"""

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(command, env=None, cwd=None):
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(f"{command[:4]} failed:\n{done.stderr}")
    return done.stdout


def timed(command, env=None, cwd=None):
    started = time.perf_counter()
    out = run(command, env=env, cwd=cwd)
    return time.perf_counter() - started, out


def by_hand(trees, work):
    """tar, sha256sum (diff_id), gzip -n, sha256sum (digest) for each tree, then the config
    and manifest: the minimum a hand-made image needs."""
    started = time.perf_counter()
    layers = []
    for name, tree in trees:
        tar = work / f"{name}.tar"
        run(["tar", "--sort=name", "--mtime=@315532800", "--owner=0", "--group=0", "--numeric-owner",
             "-cf", str(tar), "-C", str(tree), "."])
        diff_id = run(["sha256sum", str(tar)]).split()[0]
        run(["gzip", "-n", "-6", "-f", str(tar)])
        digest = run(["sha256sum", f"{tar}.gz"]).split()[0]
        layers.append((diff_id, digest, os.path.getsize(f"{tar}.gz")))
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d, _, _ in layers]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "config": {"digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"digest": f"sha256:{g}", "size": s} for _, g, s in layers],
    }).encode()
    (work / "manifest.json").write_bytes(manifest)
    return time.perf_counter() - started


def full_recipe(project, work):
    """The seeds' recipe as a script, which has no cache and so redoes everything on every
    run: uv export, uv pip install --target for the Lambda platform, bytecode, the app copied,
    then the two layers as in by_hand."""
    started = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    deps = work / "deps" / "var" / "task"
    app = work / "app" / "var" / "task"
    deps.mkdir(parents=True)
    requirements = work / "requirements.txt"
    run(["uv", "export", "--frozen", "--no-dev", "--no-editable", "--no-emit-project", "--no-hashes",
         "-o", str(requirements)], cwd=project)
    run(["uv", "pip", "install", "--quiet", "--target", str(deps), "--python-platform", "x86_64-manylinux2014",
         "--python-version", "3.11", "--only-binary", ":all:", "-r", str(requirements)])
    run([sys.executable, "-m", "compileall", "-q", str(deps)])
    shutil.copytree(project / "app", app / "app")
    run([sys.executable, "-m", "compileall", "-q", str(app)])
    by_hand([("dependencies", work / "deps"), ("app", work / "app")], work)
    return time.perf_counter() - started


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(work):
    port = free_port()
    config = work / "registry.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {work / 'registry'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return process, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    sys.exit("docker-registry did not start")


def median_ms(values):
    return statistics.median(values) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lambdaship", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="image-bench-"))
    project = work / "hello-fastapi"
    shutil.copytree(ROOT / "examples/hello-fastapi", project, ignore=shutil.ignore_patterns("dist", ".venv"))
    base = work / "base"
    run([sys.executable, str(ROOT / "crates/lambdaship/tests/fixtures/make_base_image.py"), str(base), "amd64"])
    cache = work / "cache"
    env = dict(os.environ, LAMBDASHIP_CACHE_DIR=str(cache), DOCKER_CONFIG=str(work / "docker"))
    build = [args.lambdaship, "build", str(project), "--layout", "image", "--base-image", str(base), "--json"]
    app = project / "app" / "main.py"
    original = app.read_text()

    # The layer trees for the manual recipe: lambdaship's own layers, extracted.
    run(build, env=env)
    layout = project / "dist/lambda/hello-fastapi-image"
    manifest_digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest.split(":")[1]).read_bytes())
    trees = []
    for name, layer in zip(["dependencies", "app"], manifest["layers"][-2:]):
        tree = work / f"tree-{name}"
        tree.mkdir()
        run(["tar", "-xzf", str(layout / "blobs/sha256" / layer["digest"].split(":")[1]), "-C", str(tree)])
        trees.append((name, tree))
    manual_work = work / "manual"
    manual_work.mkdir()

    cold, warm_edit, hand_all, hand_app, recipe = [], [], [], [], []
    for round_number in range(args.rounds):
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(timed(build, env=env)[0])
        hand_all.append(by_hand(trees, manual_work))
        app.write_text(original + f"\n# edit {round_number}\n")
        warm_edit.append(timed(build, env=env)[0])
        hand_app.append(by_hand(trees[1:], manual_work))
        recipe.append(full_recipe(project, work / "recipe"))

    registry, host = start_registry(work)
    try:
        target = f"{host}/hello-fastapi:bench"
        run(build[:-1] + ["--push", target, "--json"], env=env)
        ours, theirs, sent = [], [], []
        for _ in range(args.rounds):
            elapsed, out = timed(build[:-1] + ["--push", target, "--json"], env=env)
            ours.append(elapsed)
            sent.append(json.loads(out)["pushed"]["bytes_sent"])
            theirs.append(timed(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                                 "--preserve-digests", f"oci:{layout}", f"docker://{target}"])[0])
    finally:
        registry.kill()
        registry.wait()

    rows = [
        ("image build, empty lambdaship cache", median_ms(cold), "tar + gzip + sha256sum of both layers", median_ms(hand_all)),
        ("image build after an app edit", median_ms(warm_edit), "tar + gzip + sha256sum of the app layer", median_ms(hand_app)),
        ("image build after an app edit", median_ms(warm_edit), "the seeds' recipe as a script (uv export, uv pip install --target, compileall, tar, gzip, sha256sum)", median_ms(recipe)),
        ("push of an unchanged image (build check included)", median_ms(ours), "skopeo copy oci: -> docker://", median_ms(theirs)),
    ]
    print(f"| measure ({args.rounds} rounds, medians) | lambdaship | by hand / peer | | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, mine, other_name, other in rows:
        print(f"| {name} | {mine:.0f} ms | {other_name} | {other:.0f} ms | {other / mine:.2f}x |")
    print(f"\nblob bytes sent by the unchanged pushes: {sorted(set(sent))}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
