"""`image-gen-mcp worker` as a real process on a real redis-server: it runs the tasks an HTTP
front end queues, and a worker killed mid-task loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastmcp_tasks import call_tool_task

from tests.http.test_tasks_on_redis import CALL, mcp_client, redis_app
from tests.task_clients import wait_for

REPO = Path(__file__).resolve().parents[2]
REDELIVERY_S = 2.0


def worker_env(output_root: Path, redis_url: str, latency: float, max_in_flight: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGE_GEN_MCP_")}
    env.update(
        IMAGE_GEN_MCP_REDIS_URL=redis_url,
        IMAGE_GEN_MCP_OUTPUT_DIR=str(output_root),
        IMAGE_GEN_MCP_FAKE_PROVIDER="true",
        IMAGE_GEN_MCP_FAKE_LATENCY=str(latency),
        IMAGE_GEN_MCP_HEARTBEAT="0.05",
        IMAGE_GEN_MCP_TASK_REDELIVERY=str(REDELIVERY_S),
        IMAGE_GEN_MCP_MAX_IN_FLIGHT=str(max_in_flight),
    )
    return env


@contextmanager
def worker(
    output_root: Path, redis_url: str, latency: float, max_in_flight: int = 16, **extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """The `image-gen-mcp worker` console script, stopped at the end."""
    process = subprocess.Popen(  # noqa: S603 - our own argv
        [str(Path(sys.executable).parent / "image-gen-mcp"), "worker"],
        cwd=REPO,
        env=worker_env(output_root, redis_url, latency, max_in_flight) | extra,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


async def test_the_worker_command_runs_what_a_front_end_queues(output_root: Path, redis_url: str) -> None:
    front = redis_app(output_root, redis_url, IMAGE_GEN_MCP_TASK_CONCURRENCY=0)
    with worker(output_root, redis_url, latency=0.2):
        async with mcp_client(front) as client:
            task = await call_tool_task(client, "generate_image", CALL)
            final = await wait_for(task, lambda s: s.status != "working", 60)
            result = await task.result()
    assert final.status == "completed"
    assert result.structured_content["ok"] is True


async def test_a_worker_killed_mid_task_hands_it_to_another_within_the_bound(
    output_root: Path, redis_url: str
) -> None:
    front = redis_app(output_root, redis_url, IMAGE_GEN_MCP_TASK_CONCURRENCY=0)
    async with mcp_client(front) as client:
        with worker(output_root, redis_url, latency=60) as doomed:
            task = await call_tool_task(client, "generate_image", CALL)
            # The heartbeat says the doomed worker has the task and the vendor is answering.
            await wait_for(task, lambda s: s.status_message == "Waiting for the vendor", 60)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            killed_at = time.monotonic()
        with worker(output_root, redis_url, latency=0.2):
            final = await wait_for(task, lambda s: s.status != "working", 60)
            recovered_in = time.monotonic() - killed_at
            result = await task.result()
    assert final.status == "completed"
    assert result.structured_content["ok"] is True
    # Lease expiry plus at most a jittered quarter of it for the sweep, plus the new worker's
    # start-up: well inside the minute the issue allows.
    assert recovered_in < 60
    # Nothing half-written: every file in the store is a finished image or its record.
    leftovers = [p.name for p in output_root.rglob("*") if p.is_file() and ".tmp" in p.name]
    assert leftovers == []
