"""Side by side with the older ``image-gen-mcp`` 1.4.0, both spawned over stdio.

Both servers run their real OpenAI path against the same loopback vendor (``fake_openai``),
driven by the same raw JSON-RPC client (``stdio_client``):

* cold start: spawn → tools/list answered (legacy handshake; 1.4.0 predates 2026-07-28), on a
  later start and on the first start of a configuration (empty listing cache), and spawn → the
  answer of a first tool call;
* per call: one 1024² generate_image, vendor answering at once (median and p95 of sequential
  calls, MCP serialization over the pipe included);
* result size: characters of the tools/call response line for one 1024² and one 1536×1024 image;
* concurrency: 16 parallel calls with the vendor taking 1 s each: wall time and the server's
  peak RSS (VmHWM of the server process).

``--with-seed`` creates ``/tmp/seedvenv`` when missing (``pip install image-gen-mcp==1.4.0
"fastmcp<2.14"``; 1.4.0 needs Python ≥ 3.12). Without it, or when that install fails, only this
server's figures are printed. Never run by the test suite.

Usage::

    uv run python benchmarks/compare_seed.py [--with-seed] [--runs 7] [--calls 20] [--json]
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cold_start import DEFAULT_COMMAND, interleaved
from fake_openai import FakeOpenAI
from harness import summarize
from stdio_client import StdioSession, clean_env

SEED_VENV = Path("/tmp/seedvenv")  # noqa: S108 -- the fixed, documented place for the older package
SEED_REQUIREMENTS = ["image-gen-mcp==1.4.0", "fastmcp<2.14"]


def _python_at_least_312() -> str | None:
    """A Python ≥ 3.12 interpreter for the older package, or None."""
    candidates = [sys.executable, shutil.which("python3.13"), shutil.which("python3.12")]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run([uv, "python", "find", ">=3.12"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip() or None)
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.stdout.strip() == "True":
            return candidate
    return None


def ensure_seed(venv: Path = SEED_VENV) -> list[str] | None:
    """The older server's command, installing it into ``venv`` first if needed; None on failure."""
    script = venv / "bin" / "image-gen-mcp"
    if script.exists():
        return [str(script)]
    python = _python_at_least_312()
    if python is None:
        print("seed: no Python >= 3.12 found; image-gen-mcp 1.4.0 cannot be installed", file=sys.stderr)
        return None
    print(
        f"seed: creating {venv} with {python} and installing {' '.join(SEED_REQUIREMENTS)} ...",
        file=sys.stderr,
    )
    steps = [
        [python, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", *SEED_REQUIREMENTS],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"seed: {' '.join(step[:3])} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
    return [str(script)] if script.exists() else None


def _arguments(server: str, orientation: str, prompt: str, directory: Path) -> dict[str, Any]:
    if server == "seed":  # 1.4.0 saves to a fresh temp folder unless told where
        return {"prompt": prompt, "provider": "openai", "model": "gpt-image-1",
                "orientation": orientation, "directory": str(directory)}  # fmt: skip
    return {"prompt": prompt, "provider": "openai", "orientation": orientation}


def _checked(line: str) -> str:
    message = json.loads(line)
    result = message.get("result") or {}
    if "error" in message or result.get("isError"):
        raise RuntimeError(f"the call failed: {line[:600]}")
    return line


@contextmanager
def _session(command: list[str], latency: float) -> Iterator[tuple[StdioSession, Path]]:
    """A server spawned against a loopback OpenAI vendor answering after ``latency`` seconds,
    its session opened; and the temporary folder it works in."""
    with FakeOpenAI(latency=latency) as vendor, tempfile.TemporaryDirectory(prefix="seed-compare-") as tmp:
        env = clean_env(
            OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=vendor.base_url,
            IMAGE_GEN_MCP_OUTPUT_DIR=str(Path(tmp) / "out"), TMPDIR=tmp,
        )  # fmt: skip
        with StdioSession(command, env, tmp) as session:
            session.open()
            yield session, Path(tmp)


def per_call_and_size(server: str, command: list[str], calls: int) -> dict[str, Any]:
    with _session(command, latency=0.0) as (session, tmp):
        square = _arguments(server, "square", "a lighthouse at dusk", tmp / "images")
        for _ in range(3):
            _checked(session.call("generate_image", square))
        samples, size_1024 = [], 0
        for _ in range(calls):
            start = time.perf_counter()
            size_1024 = len(_checked(session.call("generate_image", square)))
            samples.append(time.perf_counter() - start)
        wide = _arguments(server, "landscape", "a harbour at dawn", tmp / "images")
        size_1536 = len(_checked(session.call("generate_image", wide)))
    return {
        "per_call": summarize(samples),
        "result_chars_1024": size_1024,
        "result_chars_1536x1024": size_1536,
    }


def concurrency(server: str, command: list[str], calls: int = 16, latency: float = 1.0) -> dict[str, Any]:
    with _session(command, latency) as (session, tmp):
        _checked(session.call("generate_image", _arguments(server, "square", "warm-up", tmp / "i")))
        batch = [_arguments(server, "square", f"scene {i}", tmp / "i") for i in range(calls)]
        start = time.perf_counter()
        for line in session.call_many("generate_image", batch):
            _checked(line)
        wall = time.perf_counter() - start
        rss = session.peak_rss_mb()
    return {"calls": calls, "vendor_latency_s": latency, "wall_s": wall, "peak_rss_mb": rss}


def measure_servers(commands: dict[str, list[str]], runs: int, calls: int) -> dict[str, dict[str, Any]]:
    cold = interleaved(commands, "legacy", runs)
    # 1.4.0 has no listing cache: its every start is a first start.
    first = interleaved(commands, "legacy", runs, cached=False)
    return {
        server: {
            "cold_start_s": cold[server]["median_s"],
            "cold_start_cpu_s": cold[server]["cpu_median_s"],
            "first_start_s": first[server]["median_s"],
            "first_call_s": cold[server]["first_call_median_s"],
            **per_call_and_size(server, command, calls),
            "concurrency": concurrency(server, command),
        }
        for server, command in commands.items()
    }


def _rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    def row(name: str, fmt: str, pick: Any) -> tuple[str, str, str]:
        ours = pick(results["this"])
        seed = pick(results["seed"]) if "seed" in results else None
        ratio = f"{ours / seed:.2f}x" if seed else "-"
        return name, fmt.format(ours) + ("" if seed is None else "  vs  " + fmt.format(seed)), ratio

    return [
        row("cold start → tools/list (median, s)", "{:.2f}", lambda r: r["cold_start_s"]),
        row("cold start, server CPU (s)", "{:.2f}", lambda r: r["cold_start_cpu_s"]),
        row("first start of a configuration (s)", "{:.2f}", lambda r: r["first_start_s"]),
        row("cold start → first call answered (s)", "{:.2f}", lambda r: r["first_call_s"]),
        row("per call 1024² (median, ms)", "{:.0f}", lambda r: r["per_call"]["median_ms"]),
        row("per call 1024² (p95, ms)", "{:.0f}", lambda r: r["per_call"]["p95_ms"]),
        row("result chars, 1024²", "{:,}", lambda r: r["result_chars_1024"]),
        row("result chars, 1536×1024", "{:,}", lambda r: r["result_chars_1536x1024"]),
        row("16 parallel, 1 s vendor (wall s)", "{:.2f}", lambda r: r["concurrency"]["wall_s"]),
        row("16 parallel: server peak RSS (MB)", "{:.0f}", lambda r: r["concurrency"]["peak_rss_mb"]),
    ]


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--with-seed", action="store_true", help="install (if needed) and measure 1.4.0 too")
    parser.add_argument("--runs", type=int, default=7, help="cold starts per server (median)")
    parser.add_argument("--calls", type=int, default=20, help="sequential calls per server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seed = ensure_seed() if args.with_seed else None
    commands = {"this": DEFAULT_COMMAND, **({"seed": seed} if seed else {})}
    results = measure_servers(commands, args.runs, args.calls)
    if args.json:
        print(json.dumps(results))
        return results
    title = "this server  vs  image-gen-mcp 1.4.0" if seed else "this server (1.4.0 not measured)"
    print(f"side by side over stdio, same loopback OpenAI vendor: {title}")
    for name, values, ratio in _rows(results):
        print(f"  {name:<36} {values:<28} {ratio}")
    return results


if __name__ == "__main__":
    main()
