"""Slow and idle clients cannot hold the HTTP server: a header deadline and a connection cap.

uvicorn (0.54, h11 and httptools alike) arms no timer on a connection until a first response
has been sent: a client that connects and sends nothing, or trickles its headers a byte at a
time (slowloris), holds its socket for as long as it likes, and enough of them exhaust the
process's descriptors so that ``/healthz`` no longer answers. ``limit_concurrency`` does not
help: it answers 503 to *requests* beyond the limit, and an idle socket makes none.

uvicorn does let ``Config.http`` be a protocol class, so the fix is a subclass of its h11
protocol rather than another ASGI server (Hypercorn has the same gap for a silent first
connection, and moving server would change every other behaviour the tests pin):

* **Header deadline**: from the moment a connection opens, or the first byte of a further
  request on a kept-alive one, the request line and headers must be complete within
  ``header_timeout_s``; otherwise the connection is closed. Bodies are the body limit's
  business (``entrypoints/http/body_limit.py``). Idle keep-alive connections are closed after
  the same time (uvicorn's own keep-alive timer).
* **Connection cap**: when a new connection would make more than ``max_connections`` open, the
  connections that are waiting for a request (idle or still sending headers) are closed, oldest
  first, to make room; when every connection is busy with a request, the new one is refused
  with 503. A probe therefore always gets in while idle sockets are what fills the server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and an open-connection cap. Use
    :func:`guarded_protocol` to make one with the settings baked in."""

    header_timeout_s = 5.0
    max_connections = 512

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_since = time.monotonic()
        if len(self.connections) > self.max_connections and not self._make_room():
            self._refuse_busy()
            return
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._awaiting_request():
            self._waiting_since = time.monotonic()
            self._arm_header_timer()  # the first byte of a further request on this connection
        super().data_received(data)
        if not self._awaiting_request():
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    # -- helpers -----------------------------------------------------------------------------

    def _awaiting_request(self) -> bool:
        """No request is being handled: the connection is idle or its headers are incomplete."""
        in_cycle = self.cycle is not None and not self.cycle.response_complete
        return not in_cycle and self.conn.their_state is h11.IDLE

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_request() and not self.transport.is_closing():
            self.transport.close()

    def _make_room(self) -> bool:
        """Close the longest-waiting connections that have no request in progress, enough to
        get back under the cap; False when none can be closed."""
        others = (c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol))
        waiting = sorted((c for c in others if c._idle()), key=lambda c: c._waiting_since)
        excess = len(self.connections) - self.max_connections
        for connection in waiting[:excess]:
            connection.transport.close()
            # connection_lost comes later; count it gone now so the next arrival sees room.
            self.connections.discard(connection)
        return len(self.connections) <= self.max_connections

    def _idle(self) -> bool:
        return self._awaiting_request() and not self.transport.is_closing()

    def _refuse_busy(self) -> None:
        body = b'{"code":"overloaded","message":"Too many open connections; retry shortly."}'
        head = (
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
            b"retry-after: 1\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(body)
        )
        self.transport.write(head + body)
        self.transport.close()


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass with these limits, for ``uvicorn.run(http=...)``."""
    attributes: dict[str, Any] = {"header_timeout_s": header_timeout_s, "max_connections": max_connections}
    return type("GuardedH11Protocol", (GuardedH11Protocol,), attributes)
