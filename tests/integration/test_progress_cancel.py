"""Progress during a slow vendor call, and cancellation that leaves nothing behind, for a client
that blocks on its call (one with the tasks extension: tests/integration/test_background_tasks.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings
from tests.task_clients import PlainClient


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_arrives_while_the_vendor_is_slow(output_root: Path, mode: str) -> None:
    container = build_container(
        make_settings(output_root, IMAGE_GEN_MCP_FAKE_LATENCY=0.3, IMAGE_GEN_MCP_HEARTBEAT=0.05)
    )
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with PlainClient(build_mcp_server(container), progress_handler=on_progress, mode=mode) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "fake", "model": "fake-single", "n": 2}
        )
    assert result.structured_content["image_count"] == 2
    heartbeats = [u for u in updates if u[2] == "Waiting for the vendor"]
    assert len(heartbeats) >= 2
    values = [u[0] for u in updates]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert updates[-1][0] == updates[-1][1]  # finished at the total


async def test_cancelled_call_stops_vendor_and_writes_nothing(output_root: Path) -> None:
    container = build_container(make_settings(output_root, IMAGE_GEN_MCP_FAKE_LATENCY=5))
    fake = container.fake()
    async with PlainClient(build_mcp_server(container)) as client:
        with pytest.raises(Exception, match="timed out"):
            await client.call_tool(
                "generate_image",
                {"prompt": "x", "provider": "fake", "model": "fake-single", "n": 2},
                timeout=0.3,
            )
        for _ in range(100):
            if fake.cancelled == 2:
                break
            await asyncio.sleep(0.01)
    assert fake.cancelled == 2
    written = [p for p in output_root.rglob("*") if p.is_file()]
    assert written == []
