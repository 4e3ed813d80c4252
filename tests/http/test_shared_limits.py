"""End to end with IMAGE_GEN_MCP_REDIS_URL set: two HTTP instances share one in-flight cap, a
Redis that goes away turns calls (REST and MCP) into a fast 503 `backend_unavailable` and
/readyz into 503, and everything serves again once it is back — no restart, no password shown."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx2
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from tests.engines import RedisServer
from tests.http.helpers import AUTH, BASE_URL, make_app, mcp_client_factory, serving

PASSWORD = "redis-PASSWORD-for-e2e-0123"
FAST_S = 3.0


async def generate(client: httpx2.AsyncClient) -> httpx2.Response:
    return await client.post("/v1/images/generations", json={"prompt": "a lighthouse", "provider": "fake"})


async def lease_taken(redis_url: str) -> None:
    from redis.asyncio import Redis

    async with Redis.from_url(redis_url) as redis:
        async with asyncio.timeout(30):
            while True:  # polling Redis itself: no event to wait on across instances
                if await redis.zcard("image-gen-mcp:in-flight"):
                    return
                await asyncio.sleep(0.02)


async def test_two_instances_share_one_cap(output_root: Path, redis_url: str) -> None:
    shared = {"IMAGE_GEN_MCP_REDIS_URL": redis_url, "IMAGE_GEN_MCP_MAX_IN_FLIGHT": 1}
    first = make_app(output_root, IMAGE_GEN_MCP_FAKE_LATENCY=2.0, **shared)
    second = make_app(output_root, **shared)
    async with serving(first, headers=AUTH) as a, serving(second, headers=AUTH) as b:
        slow = asyncio.create_task(generate(a))
        await lease_taken(redis_url)  # A's call holds the only slot of the cluster
        refused = await generate(b)
        assert (await slow).status_code == 200
        after = await generate(b)
        ready = await b.get("/readyz")
    assert refused.status_code == 429 and refused.json()["code"] == "overloaded"
    assert int(refused.headers["retry-after"]) >= 1
    assert after.status_code == 200
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] == {"ok": True}


async def test_redis_going_away_and_coming_back(output_root: Path, redis_server: RedisServer) -> None:
    app = make_app(
        output_root,
        IMAGE_GEN_MCP_REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        IMAGE_GEN_MCP_REDIS_TIMEOUT=0.5,
    )
    async with serving(app, headers=AUTH) as client:
        assert (await generate(client)).status_code == 200
        redis_server.stop()
        started = time.monotonic()
        down = await generate(client)
        assert time.monotonic() - started < FAST_S
        not_ready = await client.get("/readyz")
        redis_server.start()
        up = await generate(client)
        ready = await client.get("/readyz")
    assert down.status_code == 503 and "retry-after" in down.headers
    assert down.json()["code"] == "backend_unavailable" and down.json()["retryable"] is True
    assert down.json()["details"]["engine"] == "redis"
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["redis"]["code"] == "backend_unavailable"
    assert up.status_code == 200 and ready.status_code == 200


async def test_mcp_tool_with_a_password_protected_redis(
    output_root: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    caplog.set_level(logging.DEBUG)

    with redis.Redis(port=redis_server.port) as setup:
        setup.config_set("requirepass", PASSWORD)
    app = make_app(
        output_root,
        IMAGE_GEN_MCP_REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:{redis_server.port}/0",
        IMAGE_GEN_MCP_REDIS_TIMEOUT=0.5,
    )
    transport = StreamableHttpTransport(
        f"{BASE_URL}/mcp", auth=AUTH["Authorization"].split()[1], httpx_client_factory=mcp_client_factory(app)
    )
    async with serving(app, headers=AUTH) as http, Client(transport) as mcp:
        made = await mcp.call_tool("generate_image", {"prompt": "a lighthouse", "provider": "fake"})
        redis_server.stop()
        failed = await mcp.call_tool(
            "generate_image", {"prompt": "a lighthouse", "provider": "fake"}, raise_on_error=False
        )
        not_ready = await http.get("/readyz")
    assert made.structured_content["ok"] is True
    assert failed.is_error and failed.structured_content["code"] == "backend_unavailable"
    assert "backend_unavailable" in failed.content[0].text
    assert "Redis at redis://127.0.0.1" in caplog.text  # the outage is logged, by endpoint only
    for shown in (str(failed.structured_content), failed.content[0].text, not_ready.text, caplog.text):
        assert PASSWORD not in shown
