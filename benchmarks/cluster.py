"""Several instances as one: N HTTP instances on one redis-server, driven by MCP clients.

Starts a `redis-server` on a free loopback port, then for each instance count given (default 2
and 3) that many ``image-gen-mcp --transport http`` processes sharing it and one output folder,
each with the fake vendor answering in ``--latency`` seconds, room for ``--cap``
generations per instance in the cluster-wide cap, and a task worker taking as many. It then
makes ``--calls`` generations two ways:

* ``blocking``: plain ``tools/call`` spread round-robin over the instances, as many in flight
  as the instances together allow (a load balancer in front, clients that do not use tasks);
* ``tasks``: every call asks for a background task on one instance and is polled on the next,
  so the queue in Redis decides which instance runs it.

For each it prints the wall time against the ideal (``ceil(calls / (instances × cap)) ×
latency``). Not a test: run it by hand (needs `redis-server`)::

    uv run python benchmarks/cluster.py [--calls 200] [--latency 1] [--instances 2 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from soak import server_command, wait_ready  # noqa: E402
from stdio_client import environ_without_server_settings, free_port  # noqa: E402

CALL = {"prompt": "a lighthouse at dusk", "provider": "fake", "model": "fake-single", "inline": "none"}


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()


def start_instance(
    port: int, output: Path, redis_url: str, args: argparse.Namespace, count: int
) -> subprocess.Popen[bytes]:
    env = environ_without_server_settings()
    env.update(
        IMAGE_GEN_MCP_FAKE_PROVIDER="true",
        IMAGE_GEN_MCP_FAKE_LATENCY=str(args.latency),
        IMAGE_GEN_MCP_OUTPUT_DIR=str(output),
        # With Redis the cap is cluster-wide: room for `cap` per instance; each instance's
        # worker takes as many tasks.
        IMAGE_GEN_MCP_MAX_IN_FLIGHT=str(args.cap * count),
        IMAGE_GEN_MCP_TASK_CONCURRENCY=str(args.cap),
        IMAGE_GEN_MCP_REDIS_URL=redis_url,
        IMAGE_GEN_MCP_TASK_POLL_INTERVAL=str(args.poll),
        IMAGE_GEN_MCP_LOG_LEVEL="WARNING",
    )
    command = [*server_command(), "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    quiet = subprocess.DEVNULL
    return subprocess.Popen(command, cwd=output, env=env, stdout=quiet, stderr=quiet)


async def run_blocking(urls: list[str], args: argparse.Namespace) -> Counter[str]:
    from fastmcp import Client

    class PlainClient(Client):  # a client that never asks for a task
        _auto_internal_extensions = False

    outcomes: Counter[str] = Counter()
    slots = asyncio.Semaphore(args.cap * len(urls))
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(PlainClient(url, timeout=120)) for url in urls]

        async def one(i: int) -> None:
            async with slots:
                client = clients[i % len(clients)]
                result = await client.call_tool("generate_image", CALL, raise_on_error=False)
            outcomes["ok" if not result.is_error else result.structured_content.get("code", "error")] += 1

        await asyncio.gather(*(one(i) for i in range(args.calls)))
    return outcomes


async def run_tasks(urls: list[str], args: argparse.Namespace) -> Counter[str]:
    from fastmcp import Client
    from fastmcp_tasks import ToolTask
    from fastmcp_tasks.client_models import ClientCreateTaskResult
    from mcp.shared.exceptions import MCPError

    outcomes: Counter[str] = Counter()
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(url, timeout=120)) for url in urls]

        async def one(i: int) -> None:
            starter, poller = clients[i % len(clients)], clients[(i + 1) % len(clients)]
            created = await starter.session.call_tool(
                name="generate_image", arguments=CALL, allow_claimed=True
            )
            if not isinstance(created, ClientCreateTaskResult):  # refused before a task existed
                outcomes[(created.structured_content or {}).get("code", "error")] += 1
                return
            # Polled on the next instance: whichever instance ran it, the result is in Redis.
            handle = ToolTask(poller, "generate_image", created, raise_on_error=False)
            try:
                result = await handle.result()
            except MCPError as exc:  # a poll refused: count its code and why
                data = exc.error.data or {}
                outcomes[f"poll {data.get('code')} ({data.get('details', {}).get('reason')})"] += 1
                return
            code = (result.structured_content or {}).get("code", "error")
            outcomes["ok" if not result.is_error else code] += 1

        await asyncio.gather(*(one(i) for i in range(args.calls)))
    return outcomes


async def measure(count: int, redis_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder)
        ports = [free_port() for _ in range(count)]
        servers = [start_instance(port, output, redis_url, args, count) for port in ports]
        try:
            for port, server in zip(ports, servers, strict=True):
                await wait_ready(f"http://127.0.0.1:{port}", server, limit_s=60)
            urls = [f"http://127.0.0.1:{port}/mcp" for port in ports]
            ideal = math.ceil(args.calls / (count * args.cap)) * args.latency
            for mode, runner in (("blocking", run_blocking), ("tasks", run_tasks)):
                started = time.perf_counter()
                outcomes = await runner(urls, args)
                wall = time.perf_counter() - started
                print(
                    f"cluster {count} instances, {mode:8}: {args.calls} generations in {wall:5.1f} s "
                    f"(ideal {ideal:.0f} s, {wall / ideal:.2f}x); {dict(outcomes)}",
                    flush=True,
                )
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0, help="fake vendor answer time (s)")
    parser.add_argument("--cap", type=int, default=16, help="generations at once per instance")
    parser.add_argument("--poll", type=float, default=0.5, help="task poll interval (s)")
    parser.add_argument("--instances", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args(argv)
    with redis_server() as redis_url:
        for count in args.instances:
            asyncio.run(measure(count, redis_url, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
