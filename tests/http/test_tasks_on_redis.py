"""Background tasks through the HTTP entrypoint on a real redis-server: instances that share one
Redis share their tasks, and a Redis that goes away is a coded error, never a hang."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from fastmcp_tasks import ToolTask, call_tool_task
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette

from adapters.png import solid_png
from tests.engines import RedisServer, free_port
from tests.http.helpers import AUTH, BASE_URL, TOKEN, make_app, mcp_client_factory, serving
from tests.task_clients import PlainClient, TaskClient

CALL = {"prompt": "a lighthouse", "provider": "fake", "model": "fake-single"}
PNG = "data:image/png;base64," + base64.b64encode(solid_png(16, 16, (200, 40, 40, 255))).decode()
QUICK = {"IMAGE_GEN_MCP_TASK_POLL_INTERVAL": 0.05, "IMAGE_GEN_MCP_HEARTBEAT": 0.05}


def redis_app(output_root: Path, redis_url: str, **values: Any) -> Starlette:
    return make_app(output_root, IMAGE_GEN_MCP_REDIS_URL=redis_url, **QUICK, **values)


@asynccontextmanager
async def mcp_client(app: Starlette, client_class: type[Client] = TaskClient) -> AsyncIterator[Client]:
    """A fastmcp client on ``app``'s /mcp, in process, with the app's lifespan running."""
    transport = StreamableHttpTransport(f"{BASE_URL}/mcp", auth=TOKEN, httpx_client_factory=mcp_client_factory(app))
    async with serving(app), client_class(transport) as client:
        yield client


async def test_a_task_started_on_one_instance_is_run_and_polled_on_another(
    output_root: Path, redis_url: str
) -> None:
    # A only queues (it runs no task itself), so B's worker must be the one that runs it.
    front = redis_app(output_root, redis_url, IMAGE_GEN_MCP_TASK_CONCURRENCY=0, IMAGE_GEN_MCP_FAKE_LATENCY=0.3)
    back = redis_app(output_root, redis_url, IMAGE_GEN_MCP_FAKE_LATENCY=0.3)
    async with AsyncExitStack() as stack:
        on_a = await stack.enter_async_context(mcp_client(front))
        on_b = await stack.enter_async_context(mcp_client(back))
        task = await call_tool_task(on_a, "generate_image", CALL | {"n": 2})
        # B resolves a task id it never issued, then A sees the same finished task.
        result = await ToolTask(on_b, "generate_image", task.create_result).result()
        on_a_view = await task.status()
        rest = await stack.enter_async_context(serving(back, AUTH))
        assert result.structured_content["ok"] is True and result.structured_content["image_count"] == 2
        assert on_a_view.status == "completed"
        for image in result.structured_content["images"]:
            stored = await rest.get(f"/v1/images/{image['id']}")
            assert stored.status_code == 200 and len(stored.content) == image["byte_size"]


async def test_a_client_without_the_extension_still_blocks(output_root: Path, redis_url: str) -> None:
    app = redis_app(output_root, redis_url, IMAGE_GEN_MCP_FAKE_LATENCY=0.3)
    async with mcp_client(app, PlainClient) as client:
        started = time.monotonic()
        result = await client.call_tool("generate_image", CALL)
    assert time.monotonic() - started >= 0.3
    assert result.structured_content["ok"] is True


async def test_redis_going_away_is_a_coded_error_at_once(output_root: Path, redis_server: RedisServer) -> None:
    app = redis_app(output_root, redis_server.url)
    async with mcp_client(app) as client:
        earlier = await call_tool_task(client, "generate_image", CALL)
        await earlier.result()
        redis_server.stop()

        started = time.monotonic()
        refused = await client.call_tool("generate_image", CALL, raise_on_error=False)
        assert time.monotonic() - started < 10
        assert refused.is_error
        assert refused.structured_content["code"] == "backend_unavailable"
        assert refused.structured_content["retryable"] is True

        started = time.monotonic()
        with pytest.raises(MCPError) as polled:
            await earlier.status()
        assert time.monotonic() - started < 10
        assert polled.value.error.data["code"] == "backend_unavailable"
        # No password, host detail or driver text beyond the error's type leaks.
        assert "redis://" not in str(polled.value.error.data)

        # A blocking call needs Redis too (the cluster-wide cap): refused as fast, same code.
        async with PlainClient(client.transport) as plain:
            started = time.monotonic()
            blocking = await plain.call_tool("generate_image", CALL, raise_on_error=False)
        assert time.monotonic() - started < 10
        assert blocking.structured_content["code"] == "backend_unavailable"


async def test_an_instance_starts_without_redis_and_refuses_task_calls_at_once(output_root: Path) -> None:
    app = redis_app(output_root, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    async with mcp_client(app) as client:
        started = time.monotonic()
        refused = await client.call_tool("generate_image", CALL, raise_on_error=False)
        assert time.monotonic() - started < 5
    assert refused.structured_content["code"] == "backend_unavailable"


def redis_values(url: str) -> list[bytes]:
    """Every value in the Redis at ``url``, whatever the key's type."""
    import redis

    client = redis.Redis.from_url(url)
    values: list[bytes] = []
    for key in client.scan_iter():
        kind = client.type(key).decode()
        if kind == "string":
            values.append(client.get(key) or b"")
        elif kind == "hash":
            values.extend(k + b"=" + v for k, v in client.hgetall(key).items())
        elif kind == "stream":
            values.extend(k + b"=" + v for _, fields in client.xrange(key) for k, v in fields.items())
        elif kind == "zset":
            values.extend(client.zrange(key, 0, -1))
        elif kind == "set":
            values.extend(client.smembers(key))
        elif kind == "list":
            values.extend(client.lrange(key, 0, -1))
    client.close()
    return values


async def test_no_bearer_token_is_kept_in_redis(output_root: Path, redis_url: str) -> None:
    front = redis_app(output_root, redis_url, IMAGE_GEN_MCP_TASK_CONCURRENCY=0)
    async with mcp_client(front) as client:
        task = await call_tool_task(client, "generate_image", CALL)
        held = redis_values(redis_url)  # while the task is queued with its request snapshot
    assert held and not any(TOKEN.encode() in value for value in held)
    assert task.task_id


async def test_a_task_runs_for_the_tenant_that_started_it(output_root: Path, redis_url: str) -> None:
    acme, globex = "acme-token-0123456789", "globex-token-0123456789"
    tokens = {"IMAGE_GEN_MCP_AUTH_TOKENS": f"acme={acme}, globex={globex}"}
    front = redis_app(output_root, redis_url, IMAGE_GEN_MCP_TASK_CONCURRENCY=0, **tokens)
    back = redis_app(output_root, redis_url, **tokens)  # its worker runs the task, outside the request

    # A client cannot pick its tenant by sending the header the server uses internally.
    forged = {"x-image-gen-mcp-tenant": "tenant:globex"}
    transport = StreamableHttpTransport(
        f"{BASE_URL}/mcp", auth=acme, headers=forged, httpx_client_factory=mcp_client_factory(front)
    )

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serving(back))
        http = await stack.enter_async_context(serving(front))
        client = await stack.enter_async_context(TaskClient(transport))
        result = await (await call_tool_task(client, "edit_image", CALL | {"images": [PNG]})).result()
        image_id = result.structured_content["images"][0]["id"]
        as_acme = await http.get(f"/v1/images/{image_id}", headers={"Authorization": f"Bearer {acme}"})
        as_globex = await http.get(f"/v1/images/{image_id}", headers={"Authorization": f"Bearer {globex}"})
    assert as_acme.status_code == 200
    assert as_globex.status_code == 404
