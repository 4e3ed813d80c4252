"""MCP clients with and without the tasks extension, for the background-task tests.

Importing ``fastmcp_tasks`` (which the server does) makes every fastmcp ``Client`` declare the
tasks extension and resolve tasked calls by polling behind the caller's back. The hosts agents
run in today declare no such thing, so tests/conftest.py makes plain ``Client`` a client without
it (the switch fastmcp's own proxy client uses), and the tests of tasks say which they want:
``TaskClient`` declares the extension, ``PlainClient`` does not.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastmcp import Client
from fastmcp_tasks import ToolTask


class PlainClient(Client):
    """A modern-era client that does not declare ``io.modelcontextprotocol/tasks``."""

    _auto_internal_extensions = False


class TaskClient(Client):
    """A modern-era client that declares ``io.modelcontextprotocol/tasks`` on every call."""

    _auto_internal_extensions = True


async def wait_for(task: ToolTask, accept: Any, within: float) -> Any:
    """Poll ``task`` until ``accept(status)`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    seen: list[str] = []
    while time.monotonic() < deadline:
        status = await task.status()
        seen.append(f"{status.status}:{status.status_message}")
        if accept(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task.task_id[:8]} never reached the state wanted; saw {seen[-5:]}")
