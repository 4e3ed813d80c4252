"""Cold start: spawn the console script → ``tools/list`` answered, with a raw JSON-RPC client.

No ``uv run`` in the loop (it adds its own resolution time): the script under test is spawned
directly, as an MCP host spawns it. Two opening sequences are timed:

* legacy: ``initialize`` → response → ``notifications/initialized`` + ``tools/list`` → response;
* modern (2026-07-28): one ``tools/list`` carrying the per-request ``_meta`` envelope.

Each is timed twice: on the first start of a configuration (an empty listing cache, so the
answers wait for the MCP framework to load) and on later starts (the listing cache holds the
answers of the previous start; see ``entrypoints/stdio/relay.py``). Every run also times spawn →
the answer of a first tool call sent right after the list: that one always waits for the
framework.

``--floor`` also times a one-tool "hello world" FastMCP server on the same interpreter: what the
framework alone costs, which no change of ours can go below.

Usage::

    uv run python benchmarks/cold_start.py [--runs 9] [--keys] [--floor] [--command '/path/to/script']
    uv run python benchmarks/cold_start.py --importtime     # the slowest imports on the start-up path
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from stdio_client import clean_env, time_to_tools_list

REPO = Path(__file__).resolve().parent.parent
DEFAULT_COMMAND = [str(REPO / ".venv" / "bin" / "image-gen-mcp")]

# Placeholder values that enable every vendor without reaching one: shows what configured
# vendors add to start-up (their SDKs must not be imported before a call needs them).
FAKE_KEYS = {
    "OPENAI_API_KEY": "sk-bench",
    "AZURE_OPENAI_API_KEY": "bench",
    "AZURE_OPENAI_ENDPOINT": "https://bench.openai.azure.com",
    "GEMINI_API_KEY": "bench",
    "VERTEX_PROJECT": "bench-project",
    "OPENROUTER_API_KEY": "sk-or-bench",
}

FLOOR_SERVER = """\
from fastmcp import FastMCP

mcp = FastMCP("floor")


@mcp.tool
def get_model_capabilities() -> str:
    return "none"


mcp.run(transport="stdio", show_banner=False)
"""


def measure(
    command: Sequence[str], era: str, runs: int, keys: bool = False, cached: bool = True
) -> dict[str, float]:
    """Median of ``runs`` cold starts (after one untimed run that warms the page cache)."""
    return interleaved({"server": command}, era, runs, keys, cached)["server"]


def interleaved(
    commands: Mapping[str, Sequence[str]], era: str, runs: int, keys: bool = False, cached: bool = True
) -> dict[str, dict[str, float]]:
    """Cold starts of several servers, taken in turns so that machine load hits all alike.

    ``cached``: each server keeps one listing cache across its runs (the untimed first round
    fills it), as on a host that starts sessions with an unchanged configuration; otherwise
    every run starts with an empty one. Servers without a listing cache ignore the variable."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    calls: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="cold-start-caches-") as caches:
        for run in range(runs + 1):
            for name, command in commands.items():
                with tempfile.TemporaryDirectory(prefix="cold-start-") as cwd:
                    cache = Path(caches) / name if cached else Path(cwd) / "cache"
                    env = clean_env(
                        IMAGE_GEN_MCP_OUTPUT_DIR=str(Path(cwd) / "out"),
                        IMAGE_GEN_MCP_CACHE_DIR=str(cache),
                        **(FAKE_KEYS if keys else {}),
                    )
                    wall, cpu, call = time_to_tools_list(command, era, env, cwd)
                if run:  # the first round only warms the page cache (and the listing cache)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                    calls[name].append(call)
    return {
        name: {
            "median_s": statistics.median(walls[name]),
            "min_s": min(walls[name]),
            "max_s": max(walls[name]),
            "cpu_median_s": statistics.median(cpus[name]),
            "first_call_median_s": statistics.median(calls[name]),
            "runs": runs,
        }
        for name in commands
    }


def floor_command() -> list[str]:
    path = Path(tempfile.gettempdir()) / "image_gen_mcp_bench_floor_server.py"
    path.write_text(FLOOR_SERVER)
    return [str(REPO / ".venv" / "bin" / "python"), str(path)]


def import_profile(top: int = 25) -> str:
    """The slowest cumulative imports of the stdio start-up path (``python -X importtime``)."""
    code = (
        "import asyncio\n"
        "from entrypoints.settings import Settings\n"
        "from entrypoints.stdio.server import build_stdio_server\n"
        "server = build_stdio_server(Settings(_env_file=None))\n"
        "asyncio.run(server.list_tools())\n"
    )
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=clean_env(IMAGE_GEN_MCP_OUTPUT_DIR=str(Path(cwd) / "out")),
            check=True,
        )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    rows.sort(reverse=True)
    lines = [f"{'cumulative ms':>14} {'self ms':>8}  module"]
    lines += [f"{cum / 1000:14.1f} {own / 1000:8.1f}  {name}" for cum, own, name in rows[:top]]
    return "\n".join(lines)


def resolve(command_line: str) -> list[str]:
    command = shlex.split(command_line)
    # The server runs in a temp cwd; absolute() (not resolve()) keeps a venv's python symlink.
    command[0] = str(Path(command[0]).absolute()) if "/" in command[0] else shutil.which(command[0]) or ""
    return command


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="timed runs per era (median is reported)")
    parser.add_argument("--command", default=shlex.join(DEFAULT_COMMAND), help="server command line")
    parser.add_argument("--eras", nargs="+", default=["legacy", "modern"], choices=["legacy", "modern"])
    parser.add_argument("--keys", action="store_true", help="also time with every vendor configured")
    parser.add_argument("--floor", action="store_true", help="also time a hello-world FastMCP server")
    parser.add_argument("--importtime", action="store_true", help="print the slowest imports and exit")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    if args.importtime:
        print(import_profile())
        return {}
    command = resolve(args.command)
    results: dict[str, dict[str, float]] = {}
    for era in args.eras:
        commands = {era: command, f"{era} fastmcp floor": floor_command()} if args.floor else {era: command}
        results.update(interleaved(commands, era, args.runs))
        results[f"{era} first start"] = measure(command, era, args.runs, cached=False)
        if args.keys:
            results[f"{era}+keys"] = measure(command, era, args.runs, keys=True)
    if args.json:
        print(json.dumps(results))
    else:
        for name, r in results.items():
            print(
                f"cold start {name:<20} tools/list median {r['median_s'] * 1000:5.0f} ms  "
                f"(min {r['min_s'] * 1000:.0f}, max {r['max_s'] * 1000:.0f}, {r['runs']} runs; "
                f"server CPU {r['cpu_median_s'] * 1000:.0f} ms); "
                f"first call answered {r['first_call_median_s'] * 1000:.0f} ms"
            )
    return results


if __name__ == "__main__":
    main()
