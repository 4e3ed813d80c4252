"""MCP background tasks (the ``io.modelcontextprotocol/tasks`` extension, SEP-2663) on Docket.

``generate_image`` and ``edit_image`` run as a task only when the client declares the extension
on its call; every other client gets the blocking call it always had. With no Redis configured,
each process keeps its tasks in memory (Docket's ``memory://`` backend): nothing to install. With
``IMAGE_GEN_MCP_REDIS_URL``, tasks live in that Redis, so any instance answers a poll and any
worker (``image-gen-mcp worker``, or an HTTP instance) runs the work.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastmcp.utilities.tasks import TaskConfig

from domain.errors import Overloaded
from entrypoints.settings import Settings
from entrypoints.tenancy import acting_as, tenant_in_headers

if TYPE_CHECKING:
    from entrypoints.mcp.task_extension import ImageTasks


CONNECT_FLOOR_S = 5.0
MAX_CONNECTIONS = 1000


def task_config(settings: Settings) -> TaskConfig:
    """How the image tools take part in tasks: optional (the client decides) or not at all."""
    if not settings.tasks_enabled:
        return TaskConfig(mode="forbidden")
    return TaskConfig(mode="optional", poll_interval=timedelta(seconds=settings.task_poll_interval_s))


def docket_url(settings: Settings, shared: bool = True) -> str:
    """Docket's backend: the configured Redis when ``shared``, else a memory backend of this
    server's own (a unique name, so two servers in one process never run each other's tasks)."""
    if settings.redis_url is None or not shared:
        return f"memory://image-gen-mcp-{secrets.token_hex(8)}"
    parts = urlsplit(settings.redis_url.get_secret_value())
    query = dict(parse_qsl(parts.query))
    # A Redis that does not answer the TCP handshake (a dropped route, a firewall) must fail a
    # call in seconds, not hang it: redis-py waits forever unless told otherwise. Not below
    # CONNECT_FLOOR_S: a burst of task calls opens many connections at once, and on a busy event
    # loop a 1 s budget ran out on a healthy loopback Redis (benchmarks/cluster.py, 200 calls).
    timeout = max(settings.redis_timeout_s, CONNECT_FLOOR_S)
    query.setdefault("socket_connect_timeout", f"{timeout:g}")
    # redis-py's pool refuses (MaxConnectionsError) past 100 connections, and a burst of task
    # calls and polls on one instance went past that (200 calls, benchmarks/cluster.py).
    query.setdefault("max_connections", str(MAX_CONNECTIONS))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_tasks_extension(settings: Settings, *, shared: bool = True) -> ImageTasks | None:
    """The tasks extension for these settings, or None when ``IMAGE_GEN_MCP_TASKS=false``.
    ``shared``: tasks go to ``IMAGE_GEN_MCP_REDIS_URL`` when it is set."""
    if not settings.tasks_enabled:
        return None
    # Imported here: the runtime (Docket, redis-py, fastmcp's client half) costs a stdio start
    # several hundred milliseconds, which IMAGE_GEN_MCP_TASKS=false saves.
    from entrypoints.mcp.task_extension import ImageTasks

    concurrency = settings.task_concurrency
    return ImageTasks(
        url=docket_url(settings, shared),
        name=settings.task_queue,
        # 0 is honoured by Docket's worker: it never takes a task, so a front end that sets it
        # only queues tasks and answers polls while `image-gen-mcp worker` processes run them.
        concurrency=settings.max_in_flight if concurrency is None else concurrency,
        # A live worker renews its lease four times per timeout, however long the vendor takes;
        # only a worker that died stops renewing, and its task goes to another worker after this.
        redelivery_timeout=timedelta(seconds=settings.task_redelivery_s),
    )


@contextmanager
def acting_for_caller(ctx: Any) -> Iterator[None]:
    """In a background task, act for the tenant of the request that created it (the worker runs
    outside that request). Without a recorded tenant nothing is set, and the store decides:
    the HTTP app's and the worker's refuse, stdio's is its one local user."""
    tenant = None
    if ctx is not None and ctx.is_background_task:
        from fastmcp.server.dependencies import get_http_headers

        tenant = tenant_in_headers(get_http_headers(include_all=True))
    if tenant is None:
        yield
        return
    with acting_as(tenant):
        yield


async def waiting_for_a_slot(
    ctx: Any, call: Callable[[], Awaitable[Any]], within_s: float, say: Callable[..., Awaitable[None]]
) -> Any:
    """``call()``; as a background task, a full in-flight cap makes it wait and try again (for
    up to ``within_s``) instead of ending ``overloaded``: the client asked to poll, not to retry,
    and the queue holds what the cap cannot take yet. A blocking call is refused at once, as
    before."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        try:
            return await call()
        except Overloaded as exc:
            if ctx is None or not ctx.is_background_task or loop.time() >= deadline:
                raise
            await say(0, None, "Waiting for a free generation slot")
            wait = min(float(exc.details.get("retry_after") or 1.0), 1.0)
            await asyncio.sleep(wait * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not crypto
