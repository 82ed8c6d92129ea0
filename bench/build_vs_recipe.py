"""Benchmark: `lambdaship build` against the uv guide's manual zip recipe, in one run.

For each project it measures, with the same warm uv cache:
  1. a full build: the recipe (uv export + uv pip install --target --python-platform +
     python -m compileall + zip -r) against lambdaship with an empty lambdaship cache;
  2. a rebuild after editing one app file: the recipe (which has no incremental mode) against
     lambdaship with its warm cache;
  3. the cold import of the handler module from the unzipped artifact with
     PYTHONDONTWRITEBYTECODE=1, as on Lambda's read-only task root: the recipe's artifact built
     as the guide says (--no-compile-bytecode) against lambdaship's.
It prints medians and the ratios lambdaship / recipe. Absolute times are noisy; ratios hold.

Usage: python3 bench/build_vs_recipe.py --lambdaship PATH [--runs N] [PROJECT_DIR ...]
(bench/run builds lambdaship and passes the defaults).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

PYTHON = "python3.11"
PLATFORM = "x86_64-manylinux2014"
TIMEOUT = 900


def run(command: list[str], cwd: Path, env: dict | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, timeout=TIMEOUT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{result.stderr}")


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def recipe(project: Path, bytecode: bool) -> Path:
    """The uv guide's "Deploying a zip archive" steps, for python3.11 on x86_64."""
    for leftover in ("packages", "package.zip", "requirements.txt"):
        path = project / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    run(["uv", "export", "--frozen", "--no-dev", "--no-editable", "-o", "requirements.txt"], project)
    run(
        [
            "uv", "pip", "install", "--no-installer-metadata", "--no-compile-bytecode",
            "--python-platform", PLATFORM, "--python", "3.11",
            "--target", "packages", "-r", "requirements.txt",
        ],
        project,
    )
    if bytecode:
        run([PYTHON, "-m", "compileall", "-q", "packages", "app"], project)
    run(["zip", "-q", "-r", "../package.zip", "."], project / "packages")
    run(["zip", "-q", "-r", "package.zip", "app"], project)
    return project / "package.zip"


def lambdaship(binary: Path, project: Path, cache: Path, out: Path, *flags: str) -> Path:
    env = dict(os.environ, LAMBDASHIP_CACHE_DIR=str(cache))
    run([str(binary), "build", str(project), "--out", str(out), *flags], project, env)
    return out / f"{project_name(project)}.zip"


def project_name(project: Path) -> str:
    """The function name lambdaship gives the benchmark projects: [project].name."""
    for line in (project / "pyproject.toml").read_text().splitlines():
        if line.startswith("name = "):
            return line.split('"')[1]
    raise SystemExit(f"no [project] name in {project}")


def cold_imports(artifacts: list[Path], module: str, samples: int) -> list[float]:
    """Median seconds to import `module` from each unzipped artifact, no bytecode written.
    The artifacts are imported in turn, sample after sample, so machine noise hits all alike."""
    with tempfile.TemporaryDirectory() as root:
        roots = []
        for index, artifact in enumerate(artifacts):
            roots.append(Path(root) / str(index))
            with zipfile.ZipFile(artifact) as archive:
                archive.extractall(roots[-1])
        script = (
            "import sys, time; sys.path.insert(0, sys.argv[1]); "
            f"t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        times: list[list[float]] = [[] for _ in artifacts]
        for _ in range(samples):
            for index, task_root in enumerate(roots):
                output = subprocess.run(
                    [PYTHON, "-S", "-c", script, str(task_root)],
                    env=env, check=True, capture_output=True, text=True, timeout=TIMEOUT,
                )
                times[index].append(float(output.stdout.strip()))
        return [statistics.median(samples) for samples in times]


def bench_project(source: Path, binary: Path, runs: int) -> list[tuple[str, float, float, str]]:
    work = Path(tempfile.mkdtemp(prefix="lambdaship-bench-"))
    try:
        project = work / "project"
        shutil.copytree(source, project, ignore=shutil.ignore_patterns("dist", ".venv", "__pycache__"))
        recipe(project, bytecode=True)  # warms the uv cache for both sides

        recipe_full, ours_full, ours_rebuild = [], [], []
        for index in range(runs):
            recipe_full.append(timed(lambda: recipe(project, bytecode=True)))
            cache = work / f"cache-{index}"
            out = work / f"out-{index}"
            ours_full.append(timed(lambda: lambdaship(binary, project, cache, out)))
            main = project / "app" / "main.py"
            main.write_text(main.read_text() + f"\n# edit {index}\n")
            ours_rebuild.append(timed(lambda: lambdaship(binary, project, cache, out)))

        # The layers layout: the dependency layer is unchanged by an app edit and kept.
        lambdaship(binary, project, work / "cache-0", work / "out-layers", "--layout", "layers")
        ours_layers_rebuild = []
        for index in range(runs):
            main = project / "app" / "main.py"
            main.write_text(main.read_text() + f"\n# layers edit {index}\n")
            ours_layers_rebuild.append(
                timed(lambda: lambdaship(binary, project, work / "cache-0", work / "out-layers", "--layout", "layers"))
            )

        recipe_zip = recipe(project, bytecode=False)
        ours_zip = lambdaship(binary, project, work / "cache-0", work / "out-final")
        import_recipe, import_ours = cold_imports([recipe_zip, ours_zip], "app.main", max(runs, 15))

        recipe_time = statistics.median(recipe_full)
        return [
            ("full build", statistics.median(ours_full), recipe_time, "<= 0.70"),
            ("rebuild after one app edit", statistics.median(ours_rebuild), recipe_time, "<= 0.05, <= 100 ms"),
            ("  same, layers layout", statistics.median(ours_layers_rebuild), recipe_time, "<= 0.05, <= 100 ms"),
            ("cold import of the handler", import_ours, import_recipe, "<= 0.50"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdaship", type=Path, required=True, help="the lambdaship binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("projects", nargs="*", type=Path)
    args = parser.parse_args()
    if shutil.which("zip") is None:
        print("error: the recipe needs Info-ZIP's `zip`: apt-get install zip", file=sys.stderr)
        return 1
    root = Path(__file__).resolve().parent.parent
    projects = args.projects or [root / "examples" / "hello-fastapi", root / "bench" / "projects" / "heavy"]
    print(f"runs per figure: {args.runs} (medians); uv cache warm; python3.11, x86_64")
    print(f"{'project':<14} {'measure':<28} {'lambdaship':>11} {'recipe':>11} {'ratio':>7}  target")
    for project in projects:
        for measure, ours, theirs, target in bench_project(project, args.lambdaship.resolve(), args.runs):
            print(
                f"{project.name:<14} {measure:<28} {ours * 1000:>9.1f}ms {theirs * 1000:>9.1f}ms "
                f"{ours / theirs:>7.3f}  {target}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
