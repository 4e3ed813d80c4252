"""The request-body layer of the HTTP entrypoint: a size cap sized for images, read against
an idle and an overall deadline (uvicorn has neither, so a stalled body would hold its
connection and buffer forever)."""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http.security import PayloadTooLarge, RequestTimeout, refuse


class BodyLimit:
    """Refuses a body over ``max_bytes`` with 413 ``payload_too_large``. The body is buffered
    and replayed, as the MCP SDK's own limit does, so the app sees it unchanged.

    Before refusing, up to another ``max_bytes`` of the body is read and dropped: a client
    still sending when the server closes gets a connection reset instead of the coded 413, so
    a photo slightly over the cap would otherwise fail with no explanation.

    The body must keep coming: a pause longer than ``idle_timeout_s`` (a stalled or slowloris
    client) or a whole body taking longer than ``total_timeout_s`` (one trickling a byte at a
    time) is answered 408 ``request_timeout`` and the connection closed. 300 s carries the
    default 64 MiB cap at about 1.8 Mbit/s.
    """

    METHODS = frozenset({"POST", "PUT", "PATCH"})

    def __init__(
        self, app: ASGIApp, max_bytes: int, idle_timeout_s: float = 30.0, total_timeout_s: float = 300.0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_timeout_s = idle_timeout_s
        self.total_timeout_s = total_timeout_s

    async def _next(self, receive: Receive, deadline: float) -> Message:
        """The next message, or TimeoutError once the idle or the overall deadline passes."""
        left = min(self.idle_timeout_s, deadline - asyncio.get_running_loop().time())
        if left <= 0:
            raise TimeoutError
        async with asyncio.timeout(left):
            return await receive()

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, received: int, more: bool, deadline: float
    ) -> None:
        try:
            while more and received <= 2 * self.max_bytes:
                message = await self._next(receive, deadline)
                if message["type"] != "http.request":
                    return  # the client went away: nobody to answer
                received += len(message.get("body", b""))
                more = message.get("more_body", False)
        except TimeoutError:
            pass  # still answer 413: that is the reason this body is refused
        error = PayloadTooLarge(
            f"The request body is larger than {self.max_bytes} bytes (IMAGE_GEN_MCP_MAX_BODY_BYTES).",
            limit=self.max_bytes,
        )
        await refuse(error, scope, receive, send, headers={"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in self.METHODS:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.total_timeout_s
        declared = Headers(scope=scope).get("content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and len(declared) <= 20  # int() refuses more than 4300 digits
            and int(declared) > self.max_bytes
        ):
            more = int(declared) <= 2 * self.max_bytes
            await self._too_large(scope, receive, send, 0, more, deadline)
            return
        body = bytearray()
        pending: deque[Message] = deque()
        while True:
            try:
                message = await self._next(receive, deadline)
            except TimeoutError:
                error = RequestTimeout(
                    f"The request body did not arrive in time (at most {self.idle_timeout_s:g} s "
                    f"between parts and {self.total_timeout_s:g} s in all).",
                )
                await refuse(error, scope, receive, send, headers={"Connection": "close"}, status=408)
                return
            if message["type"] != "http.request":
                pending.append(message)
                break
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(scope, receive, send, len(body), more, deadline)
                return
            if not more:
                break
        pending.appendleft({"type": "http.request", "body": bytes(body), "more_body": False})

        async def replay() -> Message:
            return pending.popleft() if pending else await receive()

        await self.app(scope, replay, send)
