"""Soak: a few hundred MCP calls with injected vendor faults through the HTTP entrypoint.

Starts ``image-gen-mcp --transport http`` on a free loopback port with the fake vendor
(``IMAGE_GEN_MCP_FAKE_PROVIDER``), slow answers (``IMAGE_GEN_MCP_FAKE_LATENCY``) and random
faults (``IMAGE_GEN_MCP_FAKE_FAULT_RATE``: 503, 429 with Retry-After, timeouts, refusals,
empty answers, extra-slow answers), then drives a burst above the in-flight cap and a steady
mixed load (generate, fan-out, edit by data URL and by reference, capabilities, hostile
arguments). Afterwards it checks that:

* the server still answers (health probe, capabilities, one generation);
* every call got images or an isError result with a known code (never ``internal``, never a
  transport failure);
* no temp or partial file is left in the output root, and every saved image has its sidecar.

It prints its figures and exits non-zero if a check fails. Loopback only; bounded in calls
and time. Not a unit test: run it by hand or in a nightly job::

    uv run python benchmarks/soak.py [--calls 300] [--concurrency 12] [--fault-rate 0.25]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stdio_client import environ_without_server_settings, free_port  # noqa: E402

from adapters.png import solid_png  # noqa: E402 -- after the path fix above
from domain.errors import ERROR_CODES  # noqa: E402
from domain.media import sniff_media_type  # noqa: E402

IMAGE_SUFFIXES = (".png", ".jpg", ".webp", ".gif")
SIDECARS = tuple(f"{suffix}.json" for suffix in IMAGE_SUFFIXES)
PNG_URL = "data:image/png;base64," + base64.b64encode(solid_png(32, 32, (10, 120, 200, 255))).decode()


def server_command() -> list[str]:
    script = REPO / ".venv" / "bin" / "image-gen-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "entrypoints.cli"]


def start_server(port: int, output: Path, args: argparse.Namespace, log: Path) -> subprocess.Popen[bytes]:
    """Spawn the console script; its output goes to ``log`` (the child keeps the file open)."""
    env = environ_without_server_settings()
    env.update(
        IMAGE_GEN_MCP_FAKE_PROVIDER="true",
        IMAGE_GEN_MCP_FAKE_LATENCY=str(args.latency),
        IMAGE_GEN_MCP_FAKE_FAULT_RATE=str(args.fault_rate),
        IMAGE_GEN_MCP_FAKE_FAULT_SEED=str(args.seed),
        IMAGE_GEN_MCP_OUTPUT_DIR=str(output),
        IMAGE_GEN_MCP_STORE="filesystem",
        IMAGE_GEN_MCP_MAX_IN_FLIGHT=str(args.max_in_flight),
        IMAGE_GEN_MCP_RETRIES="2",
        IMAGE_GEN_MCP_TIMEOUT="20",
        IMAGE_GEN_MCP_ALLOW_URLS="false",
        IMAGE_GEN_MCP_LOG_LEVEL="WARNING",
    )
    command = [*server_command(), "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as log_file:
        return subprocess.Popen(
            command, cwd=output.parent, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )


async def wait_ready(base: str, server: subprocess.Popen[bytes], limit_s: float = 30.0) -> float:
    import httpx2

    started = time.monotonic()
    async with httpx2.AsyncClient(timeout=2.0, trust_env=False) as http:
        while time.monotonic() - started < limit_s:
            if server.poll() is not None:
                raise SystemExit(f"the server exited early with code {server.returncode}")
            try:
                if (await http.get(f"{base}/healthz")).status_code < 500:
                    return time.monotonic() - started
            except httpx2.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"the server did not answer within {limit_s:g} s")


def plan_calls(count: int, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """A deterministic mix: mostly generations, some fan-outs, edits and hostile arguments."""
    kinds = [
        ("generate_image", lambda: {"prompt": "a soak test", "provider": "fake", "n": rng.randint(1, 3)}),
        ("generate_image", lambda: {"prompt": "fan out", "provider": "fake", "model": "fake-single", "n": 3}),
        ("edit_image", lambda: {"prompt": "edit", "provider": "fake", "images": [PNG_URL], "mask": PNG_URL}),
        ("edit_image", lambda: {"prompt": "by reference", "provider": "fake", "images": ["{last}"]}),
        ("get_model_capabilities", lambda: {}),
        ("generate_image", lambda: {"prompt": "x", "provider": "fake", "directory": "../escape"}),
        ("edit_image", lambda: {"prompt": "x", "provider": "fake", "images": [PNG_URL[:-40]]}),
        (
            "generate_image",
            lambda: {"prompt": "y", "provider": "fake", "directory": f"run/{rng.randrange(4)}"},
        ),
    ]
    weights = [8, 2, 2, 2, 1, 1, 1, 2]
    return [(tool, make()) for tool, make in rng.choices(kinds, weights=weights, k=count)]


class Tally:
    """Every call's outcome and latency."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.problems: list[str] = []
        self.images = 0
        self.last_id: str | None = None
        self.ids: set[str] = set()

    def record(self, tool: str, result: Any, elapsed: float) -> None:
        self.latencies.append(elapsed)
        data = result.structured_content or {}
        if result.is_error:
            code = data.get("code")
            self.outcomes[f"error:{code}"] += 1
            if code not in ERROR_CODES or code == "internal":
                self.problems.append(f"{tool}: uncoded or internal error {data}")
        elif tool == "get_model_capabilities":
            self.outcomes["ok:capabilities"] += 1
        else:
            images = data.get("images") or []
            if not images or data.get("image_count") != len(images):
                self.problems.append(f"{tool}: success without images {data}")
            self.outcomes["ok:images"] += 1
            self.images += len(images)
            saved = [i["id"] for i in images if i.get("id")]
            self.ids.update(saved)
            if saved:
                self.last_id = saved[-1]


async def one_call(client: Any, tool: str, arguments: dict[str, Any], tally: Tally) -> None:
    if arguments.get("images") == ["{last}"]:
        arguments["images"] = [f"image://{tally.last_id}" if tally.last_id else PNG_URL]
    started = time.perf_counter()
    try:
        result = await client.call_tool(tool, arguments, raise_on_error=False)
    except Exception as exc:  # a transport failure or protocol error is a soak failure
        tally.outcomes["exception"] += 1
        tally.problems.append(f"{tool}: {type(exc).__name__}: {str(exc)[:200]}")
        return
    tally.record(tool, result, time.perf_counter() - started)


async def drive(url: str, calls: list[tuple[str, dict[str, Any]]], args: argparse.Namespace) -> Tally:
    from fastmcp import Client

    tally = Tally()
    deadline = time.monotonic() + args.max_seconds
    async with Client(url, timeout=60) as client:
        # A burst well above the in-flight cap: the excess must be refused as `overloaded`.
        burst = [("generate_image", {"prompt": "burst", "provider": "fake"})] * (args.max_in_flight * 3)
        await asyncio.gather(*(one_call(client, tool, dict(a), tally) for tool, a in burst))
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        for item in calls:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty() and time.monotonic() < deadline:
                tool, arguments = queue.get_nowait()
                await one_call(client, tool, arguments, tally)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        if not queue.empty():
            tally.problems.append(f"time limit reached with {queue.qsize()} calls not made")
    return tally


async def still_answers(url: str, base: str) -> list[str]:
    import httpx2
    from fastmcp import Client

    problems = []
    async with httpx2.AsyncClient(timeout=5.0, trust_env=False) as http:
        health = await http.get(f"{base}/healthz")
        if health.status_code != 200:
            problems.append(f"/healthz answered {health.status_code} after the soak")
    async with Client(url, timeout=30) as client:
        caps = await client.call_tool("get_model_capabilities", {}, raise_on_error=False)
        if caps.is_error:
            problems.append("get_model_capabilities failed after the soak")
        for _ in range(10):  # faults are random: one clean generation among a few tries
            result = await client.call_tool("generate_image", {"prompt": "after"}, raise_on_error=False)
            if not result.is_error:
                break
        else:
            problems.append("no generation succeeded after the soak")
    return problems


def check_output(root: Path, returned_ids: set[str]) -> tuple[dict[str, int], list[str]]:
    """No temp, partial or empty file; every image valid with its sidecar; every id a call
    returned is on disk; nothing beside the output root."""
    problems = []
    files = [p for p in root.rglob("*") if p.is_file()]
    strays = [p for p in files if p.name.endswith((".tmp", ".part", ".partial")) or p.stat().st_size == 0]
    problems += [f"stray or empty file: {p.relative_to(root)}" for p in strays]
    images = [p for p in files if p.suffix in IMAGE_SUFFIXES]
    for image in images:
        if sniff_media_type(image.read_bytes()[:16]) is None:
            problems.append(f"not an image: {image.relative_to(root)}")
        if not image.with_suffix(image.suffix + ".json").exists():
            problems.append(f"image without sidecar: {image.relative_to(root)}")
    on_disk = {json.loads(p.read_text())["id"] for p in files if p.name.endswith(SIDECARS)}
    problems += [f"returned id {i} is not on disk" for i in sorted(returned_ids - on_disk)[:10]]
    outside = [p for p in root.parent.iterdir() if p.name not in (root.name, "server.log")]
    problems += [f"written outside the output root: {p.name}" for p in outside]
    return {"files": len(files), "images": len(images), "strays": len(strays)}, problems


async def soak(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    calls = plan_calls(args.calls, rng)
    with tempfile.TemporaryDirectory(prefix="image-gen-soak-") as tmp:
        output = Path(tmp) / "out"
        port = free_port()
        base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/mcp"
        server = start_server(port, output, args, Path(tmp) / "server.log")
        try:
            ready_s = await wait_ready(base, server)
            started = time.monotonic()
            tally = await drive(url, calls, args)
            wall = time.monotonic() - started
            tally.problems += await still_answers(url, base)
        finally:
            server.terminate()  # only the process this script started
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        files, file_problems = check_output(output, tally.ids)
        problems = tally.problems + file_problems
        log_tail = (Path(tmp) / "server.log").read_text(errors="replace")[-2000:]
    report(args, tally, wall, ready_s, files)
    for problem in problems[:30]:
        print(f"  PROBLEM {problem}")
    if problems:
        print(f"FAILED: {len(problems)} problem(s). Server log tail:\n{log_tail}")
        return 1
    print("OK: the server stayed up, every call was answered with images or a coded error, no stray files.")
    return 0


def report(
    args: argparse.Namespace, tally: Tally, wall: float, ready_s: float, files: dict[str, int]
) -> None:
    lat = sorted(tally.latencies) or [0.0]
    total = sum(tally.outcomes.values())
    print(f"soak: {total} calls ({args.calls} planned + burst of {args.max_in_flight * 3}) in {wall:.1f} s")
    print(f"  concurrency {args.concurrency}, fault rate {args.fault_rate}, vendor latency {args.latency} s")
    print(f"  server ready after {ready_s:.2f} s; throughput {total / max(wall, 1e-9):.1f} calls/s")
    print(
        f"  latency p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )
    for outcome, count in sorted(tally.outcomes.items()):
        print(f"  {outcome:<28} {count}")
    print(f"  images returned {tally.images}; on disk {files['images']} images, {files['files']} files")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fault-rate", type=float, default=0.25)
    parser.add_argument("--latency", type=float, default=0.05, help="fake vendor latency per call (s)")
    parser.add_argument("--max-in-flight", type=int, default=16, help="server cap; the burst is 3x")
    parser.add_argument("--max-seconds", type=float, default=240.0, help="stop driving after this long")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return asyncio.run(soak(args))


if __name__ == "__main__":
    raise SystemExit(main())
