"""Reaching Redis (or Valkey) for the shared limits: short timeouts, no silent retries, and one
coded error when it cannot be reached.

``redis`` is imported only when a client is built: it costs about a second to import on a busy
machine, and a server without ``IMAGE_GEN_MCP_REDIS_URL`` never needs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from domain.errors import BackendUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# A client that cannot reach Redis should hear so within about this much more than the
# connect timeout: the whole operation is bounded, not only each socket call.
_BOUND_FACTOR = 2.0
RETRY_AFTER_S = 2.0


def safe_endpoint(url: str) -> str:
    """``scheme://host:port/db`` of ``url``, without user name or password: for logs."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def redis_client(url: str, timeout_s: float) -> Redis:
    """An asyncio client that connects lazily and gives up after ``timeout_s`` per connect and
    per command, without retrying: the caller is waiting, and a retry would double the wait."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
        client_name="image-gen-mcp",
    )


class RedisGuard:
    """Runs Redis operations under one deadline and turns every way they can fail into
    :class:`BackendUnavailable` (``details.engine == "redis"``), logging the endpoint without
    its credentials."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.endpoint = safe_endpoint(url)
        self.deadline_s = timeout_s * _BOUND_FACTOR

    @asynccontextmanager
    async def reaching(self, what: str) -> AsyncIterator[None]:
        from redis.exceptions import RedisError

        try:
            async with asyncio.timeout(self.deadline_s):
                yield
        except (RedisError, OSError, TimeoutError) as exc:
            # The exception text names host and port at most (redis-py never echoes the
            # password), and the log filter masks the password besides.
            log.warning("Redis at %s failed while %s: %s: %s", self.endpoint, what, type(exc).__name__, exc)
            raise BackendUnavailable(
                "The shared limits store (Redis) cannot be reached; try again shortly.",
                engine="redis",
                operation=what,
                retry_after=RETRY_AFTER_S,
            ) from exc
