"""Side by side with the older ``image-gen-mcp`` 1.4.0 and the floor server, all spawned over stdio.

Every server runs its real OpenAI path against a loopback vendor (``fake_openai``) answering
with the same image, driven by the same raw JSON-RPC client (``stdio_client``). The floor
(``floor_server.py``) makes the same call, writes the file and returns a link: what the machine,
protocol and client cost by themselves. Per call and concurrency are measured on each image
(``--images``: photo-like, high-detail and transparent), the servers taking turns so that load hits all alike:

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

    uv run python benchmarks/compare_seed.py [--with-seed] [--runs 7] [--calls 20] [--repeats 3]
        [--images detailed photo transparent] [--orientation square|landscape|portrait]
        [--no-floor] [--also NAME=COMMAND] [--json]
"""

from __future__ import annotations

import argparse
import glob
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench_images import IMAGES
from cold_start import DEFAULT_COMMAND, REPO, interleaved
from fake_openai import FakeOpenAI
from harness import summarize
from stdio_client import StdioSession, clean_env

HERE = Path(__file__).resolve().parent
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


def _arguments(server: str, orientation: str, prompt: str, directory: Path, image: str) -> dict[str, Any]:
    # The transparent image is what ``background: transparent`` gives, and is asked for so.
    # (The floor takes a prompt only: it makes the same vendor call and keeps no preview.)
    background = {"background": "transparent"} if image == "transparent" and server != "floor" else {}
    if server == "seed":  # 1.4.0 saves to a fresh temp folder unless told where
        return {"prompt": prompt, "provider": "openai", "model": "gpt-image-1",
                "orientation": orientation, "directory": str(directory), **background}  # fmt: skip
    if background:  # gpt-image-2 makes transparency only as a vendor preview; 2.5 makes it
        background["model"] = "gpt-image-2.5-sunburst"
    return {"prompt": prompt, "provider": "openai", "orientation": orientation, **background}


def _checked(line: str) -> str:
    message = json.loads(line)
    result = message.get("result") or {}
    if "error" in message or result.get("isError"):
        raise RuntimeError(f"the call failed: {line[:600]}")
    return line


@contextmanager
def _session(command: list[str], latency: float, image: str) -> Iterator[tuple[StdioSession, Path]]:
    """A server spawned against its own loopback OpenAI vendor answering ``image`` after
    ``latency`` seconds, its session opened; and the temporary folder it works in."""
    with (
        FakeOpenAI(latency=latency, image=image) as vendor,
        tempfile.TemporaryDirectory(prefix="seed-compare-") as tmp,
    ):
        env = clean_env(
            OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=vendor.base_url,
            IMAGE_GEN_MCP_OUTPUT_DIR=str(Path(tmp) / "out"), TMPDIR=tmp,
        )  # fmt: skip
        with StdioSession(command, env, tmp) as session:
            session.open()
            yield session, Path(tmp)


@contextmanager
def _sessions(
    commands: dict[str, list[str]], latency: float, image: str
) -> Iterator[dict[str, tuple[StdioSession, Path]]]:
    """Every server spawned at once, so that their calls can be taken in turns."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(_session(cmd, latency, image)) for name, cmd in commands.items()}


def _rotated(sessions: dict[str, Any], turn: int) -> list[tuple[str, Any]]:
    """The servers in turns, each turn starting one further on: none always goes first, right
    after a pause, or always right after the same other one."""
    items = list(sessions.items())
    shift = turn % len(items)
    return items[shift:] + items[:shift]


def per_call_and_size(
    commands: dict[str, list[str]], image: str, calls: int, orientation: str = "square"
) -> dict[str, dict[str, Any]]:
    """Sequential calls (1024², or ``orientation``'s size), the servers in turns (a load spike
    hits all of them alike); the result sizes of one 1024² and one 1536×1024 call."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, float] = dict.fromkeys(commands, 0.0)
    sizes: dict[str, dict[str, int]] = {name: {} for name in commands}
    with _sessions(commands, 0.0, image) as sessions:
        for name, (session, tmp) in sessions.items():
            warm_up = _arguments(name, "square", "warm-up", tmp / "i", image)
            for _ in range(3):
                _checked(session.call("generate_image", warm_up))
        for turn in range(calls):
            for name, (session, tmp) in _rotated(sessions, turn):
                square = _arguments(name, orientation, "a lighthouse at dusk", tmp / "i", image)
                start, cpu_start = time.perf_counter(), session.cpu_seconds()
                sizes[name]["1024"] = len(_checked(session.call("generate_image", square)))
                samples[name].append(time.perf_counter() - start)
                cpu[name] += session.cpu_seconds() - cpu_start
        for name, (session, tmp) in sessions.items():
            wide = _arguments(name, "landscape", "a harbour at dawn", tmp / "i", image)
            sizes[name]["1536x1024"] = len(_checked(session.call("generate_image", wide)))
    return {
        name: {
            "per_call": summarize(samples[name]),
            # The server's CPU time per call (all threads): what a busy machine moves least.
            "cpu_ms_per_call": cpu[name] * 1000 / calls,
            "result_chars_1024": sizes[name]["1024"],
            "result_chars_1536x1024": sizes[name]["1536x1024"],
        }
        for name in commands
    }


def concurrency(
    commands: dict[str, list[str]],
    image: str,
    repeats: int,
    calls: int = 16,
    latency: float = 1.0,
    orientation: str = "square",
) -> dict[str, dict[str, Any]]:
    """``calls`` parallel calls with a vendor taking ``latency``, the servers in turns,
    ``repeats`` times: median wall time, and each server's peak RSS over all of them."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    with _sessions(commands, latency, image) as sessions:
        for name, (session, tmp) in sessions.items():
            _checked(session.call("generate_image", _arguments(name, "square", "warm-up", tmp / "i", image)))
        for turn in range(repeats):
            for name, (session, tmp) in _rotated(sessions, turn):
                batch = [_arguments(name, orientation, f"scene {i}", tmp / "i", image) for i in range(calls)]
                start, cpu_start = time.perf_counter(), session.cpu_seconds()
                for line in session.call_many("generate_image", batch):
                    _checked(line)
                walls[name].append(time.perf_counter() - start)
                cpus[name].append(session.cpu_seconds() - cpu_start)
        rss = {name: session.peak_rss_mb() for name, (session, _) in sessions.items()}
    return {
        name: {
            "calls": calls,
            "vendor_latency_s": latency,
            "repeats": repeats,
            "wall_s": statistics.median(walls[name]),
            "walls_s": walls[name],
            "cpu_s": statistics.median(cpus[name]),
            "peak_rss_mb": rss[name],
        }
        for name in commands
    }


def measure_servers(
    commands: dict[str, list[str]],
    runs: int,
    calls: int,
    images: list[str],
    repeats: int,
    orientation: str = "square",
) -> dict[str, Any]:
    """Cold starts of this server and 1.4.0 (the floor has no listing cache to compare), then
    per call, result size and concurrency of every server on each image."""
    starters = {name: command for name, command in commands.items() if name != "floor"}
    cold = interleaved(starters, "legacy", runs) if runs else {}
    # 1.4.0 has no listing cache: its every start is a first start.
    first = interleaved(starters, "legacy", runs, cached=False) if runs else {}
    results: dict[str, Any] = {
        "cold": {
            name: {
                "cold_start_s": cold[name]["median_s"],
                "cold_start_cpu_s": cold[name]["cpu_median_s"],
                "first_start_s": first[name]["median_s"],
                "first_call_s": cold[name]["first_call_median_s"],
            }
            for name in cold
        }
    }
    for image in images:
        calls_and_sizes = per_call_and_size(commands, image, calls, orientation)
        parallel = concurrency(commands, image, repeats, orientation=orientation)
        results[image] = {name: {**calls_and_sizes[name], "concurrency": parallel[name]} for name in commands}
    return results


def _row(name: str, fmt: str, values: dict[str, float]) -> str:
    """One figure of every server, then this server's ratio to 1.4.0's and to the floor's."""
    ours, seed, floor = values["this"], values.get("seed"), values.get("floor")
    cells = [fmt.format(value) for value in values.values()]
    cells.append(f"{ours / seed:.2f}x" if seed else "-")
    cells.append(f"{ours / floor:.2f}x" if floor else "-")
    return f"  {name:<38}" + "".join(f"{cell:>12}" for cell in cells)


SIZES = {"square": "1024²", "landscape": "1536×1024", "portrait": "1024×1536"}


def report(results: dict[str, Any], orientation: str = "square") -> None:
    cold = results["cold"]
    if cold:
        print(f"  {'':<38}" + "".join(f"{h:>12}" for h in (*cold, "vs 1.4.0", "vs floor")))
        for label, key in (
            ("cold start → tools/list (median, s)", "cold_start_s"),
            ("cold start, server CPU (s)", "cold_start_cpu_s"),
            ("first start of a configuration (s)", "first_start_s"),
            ("cold start → first call answered (s)", "first_call_s"),
        ):
            print(_row(label, "{:.2f}", {name: cold[name][key] for name in cold}))
    for image in (key for key in results if key != "cold"):
        by = results[image]
        pick = {
            f"per call {SIZES[orientation]} (median, ms)": ("{:.0f}", lambda r: r["per_call"]["median_ms"]),
            f"per call {SIZES[orientation]} (p95, ms)": ("{:.0f}", lambda r: r["per_call"]["p95_ms"]),
            "per call: server CPU (ms)": ("{:.0f}", lambda r: r.get("cpu_ms_per_call", float("nan"))),
            "result chars, 1024²": ("{:,}", lambda r: r["result_chars_1024"]),
            "result chars, 1536×1024": ("{:,}", lambda r: r["result_chars_1536x1024"]),
            "16 parallel, 1 s vendor (wall s)": ("{:.2f}", lambda r: r["concurrency"]["wall_s"]),
            "16 parallel: server CPU (s)": ("{:.2f}", lambda r: r["concurrency"].get("cpu_s", float("nan"))),
            "16 parallel: server peak RSS (MB)": ("{:.0f}", lambda r: r["concurrency"]["peak_rss_mb"]),
        }
        print(f"  {image} image:" + " " * 24 + "".join(f"{h:>12}" for h in (*by, "vs 1.4.0", "vs floor")))
        for label, (fmt, get) in pick.items():
            print(_row(label, fmt, {name: get(r) for name, r in by.items()}))
        if "floor" in by:
            floor = by["floor"]["per_call"]["median_ms"]
            above = {name: r["per_call"]["median_ms"] - floor for name, r in by.items()}
            print(f"  {'one call above the floor (ms)':<38}" + "".join(f"{v:>12.1f}" for v in above.values()))


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--with-seed", action="store_true", help="install (if needed) and measure 1.4.0 too")
    parser.add_argument("--runs", type=int, default=7, help="cold starts per server (median); 0: none")
    parser.add_argument("--calls", type=int, default=20, help="sequential calls per server")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of parallel calls (median)")
    parser.add_argument("--images", nargs="+", default=sorted(IMAGES), choices=sorted(IMAGES))
    parser.add_argument("--no-floor", action="store_true", help="leave out the floor server")
    parser.add_argument(
        "--orientation", default="square", choices=sorted(SIZES),
        help="the size of the timed calls (per call and 16 parallel): 1024², 1536×1024 or 1024×1536",
    )  # fmt: skip
    parser.add_argument(
        "--also", action="append", default=[], metavar="NAME=COMMAND",
        help="one more server side by side, e.g. an older checkout of this one",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seed = ensure_seed() if args.with_seed else None
    commands = {"this": DEFAULT_COMMAND}
    commands.update((name, shlex.split(command)) for name, command in (a.split("=", 1) for a in args.also))
    if seed:
        commands["seed"] = seed
    if not args.no_floor:
        commands["floor"] = [str(REPO / ".venv" / "bin" / "python"), str(HERE / "floor_server.py")]
    results = measure_servers(commands, args.runs, args.calls, args.images, args.repeats, args.orientation)
    if args.json:
        print(json.dumps(results))
        return results
    title = "this server, image-gen-mcp 1.4.0" if seed else "this server (1.4.0 not measured)"
    print(f"side by side over stdio, same loopback OpenAI vendor: {title}, the floor server")
    report(results, args.orientation)
    return results


if __name__ == "__main__":
    main()
