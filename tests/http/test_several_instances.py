"""Several instances as one: two HTTP instances and `image-gen-mcp worker` processes on one real
redis-server and one store: a bucket on moto's S3 server, or a shared folder.

A and B only queue tasks (IMAGE_GEN_MCP_TASK_CONCURRENCY=0), so every task runs on a worker.
"""

from __future__ import annotations

import asyncio
import signal
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from fastmcp_tasks import ToolTask, call_tool_task

from tests.http.helpers import AUTH, serving
from tests.http.test_tasks_on_redis import CALL, mcp_client, redis_app
from tests.http.test_worker_process import worker
from tests.task_clients import PlainClient, wait_for

CAP = 2  # cluster-wide, on every process of the cluster


@pytest.mark.parametrize("store", ["bucket", "folder"])
async def test_two_instances_and_a_worker_behave_as_one(
    output_root: Path, redis_url: str, store: str, request: pytest.FixtureRequest
) -> None:
    stores = {}
    if store == "bucket":
        stores = {"IMAGE_GEN_MCP_STORE_URL": f"s3://{request.getfixturevalue('s3_bucket')}/images"}
    shared = {"IMAGE_GEN_MCP_TASK_CONCURRENCY": 0, "IMAGE_GEN_MCP_MAX_IN_FLIGHT": CAP, **stores}
    a = redis_app(output_root, redis_url, IMAGE_GEN_MCP_FAKE_LATENCY=1.0, **shared)
    b = redis_app(output_root, redis_url, IMAGE_GEN_MCP_FAKE_LATENCY=1.0, **shared)
    async with AsyncExitStack() as stack:
        plain_a = await stack.enter_async_context(mcp_client(a, PlainClient))
        plain_b = await stack.enter_async_context(mcp_client(b, PlainClient))
        rest_b = await stack.enter_async_context(serving(b, AUTH))

        # An image made through A is read through B: MCP resource, REST bytes, edit by id.
        made = await plain_a.call_tool("generate_image", CALL)
        image = made.structured_content["images"][0]
        resource = await plain_b.read_resource(f"image://{image['id']}")
        assert len(resource[0].blob) > 0
        fetched = await rest_b.get(f"/v1/images/{image['id']}")
        assert fetched.status_code == 200 and len(fetched.content) == image["byte_size"]
        edited = await plain_b.call_tool("edit_image", CALL | {"images": [f"image://{image['id']}"]})
        assert edited.structured_content["ok"] is True

        # The cap is the cluster's: two calls through A and one through B, one is refused.
        calls = [plain_a.call_tool("generate_image", CALL, raise_on_error=False) for _ in range(CAP)]
        calls.append(plain_b.call_tool("generate_image", CALL, raise_on_error=False))
        outcomes = sorted(r.structured_content.get("code", "ok") for r in await asyncio.gather(*calls))
        assert outcomes == ["ok"] * CAP + ["overloaded"]

        # A task started on A is run by a worker and polled to completion on B; a worker killed
        # mid-task hands it to the next one.
        on_a = await stack.enter_async_context(mcp_client(a))
        on_b = await stack.enter_async_context(mcp_client(b))
        with worker(output_root, redis_url, latency=60, max_in_flight=CAP, **stores) as doomed:
            task = await call_tool_task(on_a, "generate_image", CALL)
            await wait_for(task, lambda s: s.status_message == "Waiting for the vendor", 60)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            killed_at = time.monotonic()
        with worker(output_root, redis_url, latency=0.2, max_in_flight=CAP, **stores):
            result = await ToolTask(on_b, "generate_image", task.create_result).result()
            assert time.monotonic() - killed_at < 60
        assert result.structured_content["ok"] is True
        # Nothing half-written: every image the store lists reads back whole through B.
        listed = (await rest_b.get("/v1/images?limit=50")).json()
        items = listed["images"] if isinstance(listed, dict) else listed
        assert len(items) >= CAP + 3
        for item in items:
            assert (await rest_b.get(f"/v1/images/{item['id']}")).status_code == 200
    # Nothing half-written anywhere in the shared store.
    assert [p.name for p in output_root.rglob("*") if p.is_file() and p.name.endswith(".tmp")] == []
