"""What running a call as a background task costs, against the blocking call.

In process, with an instant fake vendor: the time to the task id (the answer an opted-in
client waits for) and the time to the finished result when the client polls every
``--poll`` seconds, against a plain blocking ``tools/call``. Memory backend by default;
``--redis redis://...`` measures Docket on a real Redis instead. Not a test::

    uv run python benchmarks/task_overhead.py [--calls 30] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

from fastmcp import Client
from fastmcp_tasks import call_tool_task
from harness import PlainClient, summarize

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from entrypoints.settings import Settings

CALL = {"prompt": "a lighthouse", "provider": "fake", "model": "fake-single", "inline": "none"}


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        values: dict[str, object] = {
            "IMAGE_GEN_MCP_OUTPUT_DIR": folder,
            "IMAGE_GEN_MCP_FAKE_PROVIDER": True,
            "IMAGE_GEN_MCP_TASK_POLL_INTERVAL": args.poll,
        }
        if args.redis:
            values["IMAGE_GEN_MCP_REDIS_URL"] = args.redis
        settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
        server = build_mcp_server(build_container(settings), shared_tasks=bool(args.redis))
        blocking, created, finished = [], [], []
        async with PlainClient(server) as plain, Client(server) as tasked:
            await plain.call_tool("generate_image", CALL)  # first-use costs are not the figure
            for _ in range(args.calls):
                started = time.perf_counter()
                await plain.call_tool("generate_image", CALL)
                blocking.append(time.perf_counter() - started)
                started = time.perf_counter()
                task = await call_tool_task(tasked, "generate_image", CALL)
                created.append(time.perf_counter() - started)
                await task.result()
                finished.append(time.perf_counter() - started)
        backend = "redis" if args.redis else "memory"
        for name, samples in (("blocking call", blocking), ("task id", created), ("task result", finished)):
            figures = summarize(samples)
            print(
                f"tasks ({backend}, poll {args.poll:g} s) {name:13}: median {figures['median_ms']:6.1f} ms, "
                f"p95 {figures['p95_ms']:6.1f} ms ({args.calls} calls)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--poll", type=float, default=0.05, help="IMAGE_GEN_MCP_TASK_POLL_INTERVAL (s)")
    parser.add_argument("--redis", help="a Redis URL (default: Docket's memory backend)")
    asyncio.run(measure(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
