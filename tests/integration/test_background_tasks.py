"""MCP background tasks with nothing installed: Docket's in-process memory backend."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fastmcp.exceptions import ToolError
from fastmcp_tasks import call_tool_task

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings
from tests.task_clients import PlainClient, TaskClient, wait_for

SLOW = {"IMAGE_GEN_MCP_FAKE_LATENCY": 1.0, "IMAGE_GEN_MCP_HEARTBEAT": 0.05}
FAST_POLL = {"IMAGE_GEN_MCP_TASK_POLL_INTERVAL": 0.05}
CALL = {"prompt": "a lighthouse", "provider": "fake", "model": "fake-single", "n": 2}


async def test_an_opted_in_client_gets_a_task_at_once_and_polls_it_to_the_blocking_result(
    output_root: Path,
) -> None:
    server = build_mcp_server(build_container(make_settings(output_root, **SLOW, **FAST_POLL)))
    async with TaskClient(server) as client:
        started = time.monotonic()
        task = await call_tool_task(client, "generate_image", CALL)
        assert time.monotonic() - started < 0.9  # the vendor takes 1 s: this did not wait for it
        assert task.create_result.status == "working" and len(task.task_id) >= 32
        assert task.create_result.poll_interval_ms == 50
        # Progress reaches the task status while the vendor works.
        working = await wait_for(task, lambda s: s.status_message == "Waiting for the vendor", 5)
        assert working.status == "working"
        tasked = await task.result()
    async with PlainClient(server) as client:
        blocking = await client.call_tool("generate_image", CALL)
    # The same result shape either way: the same keys, the same content block types.
    assert tasked.structured_content["ok"] is True and tasked.structured_content["image_count"] == 2
    assert tasked.structured_content.keys() == blocking.structured_content.keys()
    assert [b.type for b in tasked.content] == [b.type for b in blocking.content]
    stored = {p.name for p in output_root.rglob("*") if p.is_file()}
    for image in tasked.structured_content["images"]:
        assert any(name.startswith(image["id"]) for name in stored)


async def test_a_client_without_the_extension_blocks_and_gets_progress_notifications(output_root: Path) -> None:
    server = build_mcp_server(build_container(make_settings(output_root, **SLOW)))
    updates: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message)

    async with PlainClient(server, progress_handler=on_progress) as client:
        started = time.monotonic()
        result = await client.call_tool("generate_image", CALL)
    assert time.monotonic() - started >= 1.0
    assert result.structured_content["image_count"] == 2
    assert "Waiting for the vendor" in updates


async def test_a_cancelled_task_stops_the_vendor_and_writes_nothing(output_root: Path) -> None:
    container = build_container(
        make_settings(output_root, IMAGE_GEN_MCP_FAKE_LATENCY=10, IMAGE_GEN_MCP_HEARTBEAT=0.05, **FAST_POLL)
    )
    fake = container.fake()
    async with TaskClient(build_mcp_server(container)) as client:
        task = await call_tool_task(client, "generate_image", CALL)
        await wait_for(task, lambda s: s.status_message == "Waiting for the vendor", 5)
        await task.cancel()
        final = await wait_for(task, lambda s: s.status != "working", 5)
        assert final.status == "cancelled"
        for _ in range(200):
            if fake.cancelled == 2:
                break
            await asyncio.sleep(0.01)
    assert fake.cancelled == 2
    assert [p for p in output_root.rglob("*") if p.is_file()] == []


async def test_a_failure_inside_a_task_is_the_same_coded_result(output_root: Path) -> None:
    server = build_mcp_server(build_container(make_settings(output_root, **FAST_POLL)))
    bad = {"prompt": "x", "provider": "fake", "model": "fake-single", "directory": "../outside"}
    async with TaskClient(server) as client:
        task = await call_tool_task(client, "generate_image", bad, raise_on_error=False)
        tasked = await task.result()  # a coded isError result is a *completed* task
    async with PlainClient(server) as client:
        blocking = await client.call_tool("generate_image", bad, raise_on_error=False)
    assert tasked.is_error and blocking.is_error
    assert tasked.structured_content == blocking.structured_content
    assert tasked.structured_content["code"] == "invalid_request"


async def test_invalid_arguments_are_refused_before_any_task_exists(output_root: Path) -> None:
    server = build_mcp_server(build_container(make_settings(output_root)))
    async with TaskClient(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "n": 99}, raise_on_error=False)
    assert result.is_error and result.structured_content["code"] == "invalid_request"


async def test_capabilities_never_run_as_a_task(output_root: Path) -> None:
    server = build_mcp_server(build_container(make_settings(output_root)))
    async with TaskClient(server) as client:
        with pytest.raises(ToolError, match="did not run as a task"):
            await call_tool_task(client, "get_model_capabilities", {})
        # The server decides per call (SEP-2663 has no per-tool flag): image tools task, this
        # one answers inline even to a client that asked.
        plain = await client.call_tool("get_model_capabilities", {})
    assert plain.structured_content["ok"] is True


async def test_tasks_can_be_turned_off(output_root: Path) -> None:
    server = build_mcp_server(build_container(make_settings(output_root, IMAGE_GEN_MCP_TASKS=False)))
    async with TaskClient(server) as client:
        with pytest.raises(ToolError, match="did not run as a task"):
            await call_tool_task(client, "generate_image", CALL | {"n": 1})


async def test_tasks_wait_for_a_free_slot_where_blocking_calls_are_refused(output_root: Path) -> None:
    # The worker takes all three at once; the cap lets one run (as a cluster-wide cap would).
    settings = make_settings(
        output_root,
        IMAGE_GEN_MCP_MAX_IN_FLIGHT=1,
        IMAGE_GEN_MCP_TASK_CONCURRENCY=3,
        IMAGE_GEN_MCP_FAKE_LATENCY=0.3,
        **FAST_POLL,
    )
    server = build_mcp_server(build_container(settings))
    single = CALL | {"n": 1}
    async with PlainClient(server) as plain:
        blocking = await asyncio.gather(
            *(plain.call_tool("generate_image", single, raise_on_error=False) for _ in range(3))
        )
    assert sorted(r.structured_content.get("code", "ok") for r in blocking) == ["ok", "overloaded", "overloaded"]
    async with TaskClient(server) as client:
        tasks = [await call_tool_task(client, "generate_image", single) for _ in range(3)]
        # Which of the three the worker admits first is not fixed: some other one waits.
        deadline = time.monotonic() + 5
        waiting = False
        while not waiting and time.monotonic() < deadline:
            statuses = [await task.status() for task in tasks]
            waiting = any(s.status_message == "Waiting for a free generation slot" for s in statuses)
            await asyncio.sleep(0.02)
        assert waiting, "no task reported waiting for a slot"
        results = await asyncio.gather(*(task.result() for task in tasks))
    assert [r.structured_content["ok"] for r in results] == [True, True, True]
