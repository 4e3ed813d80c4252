"""MCP background tasks (the ``io.modelcontextprotocol/tasks`` extension, SEP-2663) on Docket.

``generate_image`` and ``edit_image`` run as a task only when the client declares the extension
on its call; every other client gets the blocking call it always had. With no Redis configured,
each process keeps its tasks in memory (Docket's ``memory://`` backend): nothing to install. With
``IMAGE_GEN_MCP_REDIS_URL``, tasks live in that Redis, so any instance answers a poll and any
worker (``image-gen-mcp worker``, or an HTTP instance) runs the work.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastmcp.server.extensions import MethodBinding
from fastmcp.utilities.tasks import TaskConfig
from fastmcp_tasks import TasksExtension
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR

from domain.errors import BackendUnavailable
from entrypoints.settings import Settings
from entrypoints.tenancy import acting_as, tenant_in_headers

# A Redis that does not answer the TCP handshake (a dropped route, a firewall) must fail a call
# in seconds, not hang it: redis-py waits forever unless told otherwise.
CONNECT_TIMEOUT_S = 3


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
    query.setdefault("socket_connect_timeout", str(CONNECT_TIMEOUT_S))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_tasks_extension(settings: Settings, *, shared: bool = True) -> ImageTasks | None:
    """The tasks extension for these settings, or None when ``IMAGE_GEN_MCP_TASKS=false``.
    ``shared``: tasks go to ``IMAGE_GEN_MCP_REDIS_URL`` when it is set."""
    if not settings.tasks_enabled:
        return None
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


def _backend_error(exc: BaseException) -> BackendUnavailable:
    # The driver's message names the host and port, never the password (and the password is a
    # registered secret, scrubbed from every payload anyway).
    return BackendUnavailable(
        "The task backend (Redis) could not be reached; try again shortly.",
        engine="redis",
        reason=type(exc).__name__,
    )


def _is_backend_failure(exc: BaseException) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError | TimeoutError)


class ImageTasks(TasksExtension):
    """FastMCP's tasks extension, with a lost Redis reported as ``backend_unavailable``.

    Without this, a Redis that went away surfaces as a bare JSON-RPC internal error on
    ``tools/call`` and ``tasks/*``; with it, a task call gets the coded result every other
    failure has, and ``tasks/get``/``tasks/cancel`` a JSON-RPC error whose ``data`` holds it.
    """

    async def intercept_tool_call(self, params: Any, context: Any, call_next: Any) -> Any:
        try:
            return await super().intercept_tool_call(params, context, call_next)
        except Exception as exc:
            if _is_backend_failure(exc):
                raise _backend_error(exc) from exc
            raise

    def methods(self) -> Sequence[MethodBinding]:
        return [
            MethodBinding(
                method=binding.method,
                params_type=binding.params_type,
                handler=_coded(binding.handler),
                protocol_versions=binding.protocol_versions,
            )
            for binding in super().methods()
        ]


def _coded(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapped(ctx: Any, params: Any) -> Any:
        try:
            return await handler(ctx, params)
        except Exception as exc:
            if not _is_backend_failure(exc):
                raise
            error = _backend_error(exc)
            raise MCPError(code=INTERNAL_ERROR, message=error.message, data=error.to_payload()) from exc

    return wrapped
