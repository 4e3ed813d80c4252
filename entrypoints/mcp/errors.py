"""Every MCP failure as a coded result: ``isError`` plus ``{code, message, details}``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastmcp.exceptions import NotFoundError, ValidationError
from fastmcp.server.middleware import Middleware, MiddlewareContext
from fastmcp.tools import ToolResult
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent
from mcp_types import INVALID_PARAMS
from pydantic import ValidationError as PydanticValidationError

from domain.errors import ImageNotFound, InvalidRequest
from entrypoints.mcp.error_payload import error_payload
from entrypoints.mcp.presentation import error_text


def resource_not_found(exc: ImageNotFound, image_id: str) -> MCPError:
    # 2026-07-28 uses -32602 for a missing resource (legacy clients also accept it).
    return MCPError(
        code=INVALID_PARAMS,
        message=f"Resource not found: {exc.message}",
        data={"code": exc.code, "uri": f"image://{image_id[:64]}"},
    )


def error_result(exc: BaseException, *, local_paths: bool = False) -> ToolResult:
    payload = error_payload(exc, local_paths=local_paths)
    return ToolResult(
        content=[TextContent(type="text", text=error_text(payload))],
        structured_content={"ok": False, **payload},
        is_error=True,
    )


class CodedErrors(Middleware):
    """Turns argument validation failures and anything unexpected into coded isError
    results, so a client always gets ``{code, message, details}``."""

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        try:
            return await call_next(context)
        except ValidationError as exc:
            cause = exc.__cause__
            if not isinstance(cause, PydanticValidationError):
                cause = InvalidRequest("Invalid arguments.", problems=[])
            return error_result(cause)
        except (NotFoundError, asyncio.CancelledError):
            raise
        except Exception as exc:  # the last line of defence: log, mask, keep serving
            return error_result(exc)
