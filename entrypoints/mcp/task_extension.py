"""FastMCP's tasks extension as this server runs it: a lost Redis is ``backend_unavailable``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastmcp.server.extensions import MethodBinding
from fastmcp_tasks import TasksExtension
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR

from domain.errors import BackendUnavailable


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
