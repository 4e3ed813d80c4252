"""The in-flight cap shared by every instance on one Redis: a lease per call, with an expiry.

Leases live in one sorted set, each member a lease id scored by its expiry in milliseconds of
*Redis's* clock (``TIME`` inside the scripts), so instances with skewed clocks agree on what has
expired. Acquiring purges expired leases, counts the rest and adds one if there is room — in one
Lua script, so two instances can never both take the last slot. A holder renews its lease every
third of the lease time while its call runs, so a slow vendor is not mistaken for a crash; a
holder that crashed stops renewing, and its slot frees itself within one lease time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from adapters.redis_connection import RedisGuard, redis_client
from application.ports import AdmissionControl
from domain.errors import AppError, Overloaded

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

DEFAULT_KEY = "image-gen-mcp:in-flight"

# KEYS[1] the lease set; ARGV: limit, lease ms, lease id. Returns {granted 0/1, running}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local running = redis.call('ZCARD', KEYS[1])
if running >= tonumber(ARGV[1]) then
  return {0, running}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
return {1, running + 1}
"""

# KEYS[1] the lease set; ARGV: lease ms, lease id. Pushes the expiry on; returns 1 when the
# lease had already been purged (and is now counted again), 0 when it was simply extended.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
"""


class RedisInFlightLimit(AdmissionControl):
    """At most ``limit`` generations in flight across every instance sharing ``key`` on one
    Redis. ``slot()`` raises ``Overloaded`` when the cluster is full and ``BackendUnavailable``
    when Redis cannot be reached within the timeout; it never waits for a slot."""

    def __init__(
        self,
        client: Redis,
        guard: RedisGuard,
        limit: int,
        *,
        lease_s: float = 30.0,
        key: str = DEFAULT_KEY,
        retry_after: float = 5.0,
    ) -> None:
        self.client = client
        self.guard = guard
        self.limit = limit
        self.lease_ms = max(1, round(lease_s * 1000))
        self.renew_every_s = lease_s / 3
        self.key = key
        self.retry_after = retry_after
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        # Who holds a lease, for anyone reading the set with ZRANGE: host, process, then random.
        self._holder = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def from_url(
        cls, url: str, limit: int, *, timeout_s: float = 1.0, lease_s: float = 30.0, key: str = DEFAULT_KEY
    ) -> RedisInFlightLimit:
        """Connects lazily: building one never touches the network."""
        client, guard = redis_client(url, timeout_s), RedisGuard(url, timeout_s)
        return cls(client, guard, limit, lease_s=lease_s, key=key)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        lease = f"{self._holder}:{uuid.uuid4().hex}"
        async with self.guard.reaching("taking an in-flight slot"):
            granted, running = await self._acquire(keys=[self.key], args=[self.limit, self.lease_ms, lease])
        if not granted:
            raise Overloaded(
                f"{running} generations are already running across the cluster; try again shortly.",
                retry_after=self.retry_after,
                limit=self.limit,
            )
        keeper = asyncio.create_task(self._keep_alive(lease))
        try:
            yield
        finally:
            keeper.cancel()
            # wait(), not `await keeper`: a cancellation of *this* task must still propagate.
            await asyncio.wait([keeper])
            await self._release(lease)

    async def _keep_alive(self, lease: str) -> None:
        """Renew ``lease`` until cancelled. A failed renewal is logged, not raised: the call
        it covers is already running, and the next renewal may get through."""
        while True:
            await asyncio.sleep(self.renew_every_s)
            try:
                async with self.guard.reaching("renewing an in-flight lease"):
                    lost = await self._renew(keys=[self.key], args=[self.lease_ms, lease])
            except AppError:
                continue
            if lost:
                log.warning("An in-flight lease expired before it was renewed; it is counted again.")

    async def _release(self, lease: str) -> None:
        # Never raised: the call's own outcome matters more, and the lease expires by itself.
        try:
            async with self.guard.reaching("releasing an in-flight slot"):
                await self.client.zrem(self.key, lease)
        except AppError:
            log.warning("An in-flight lease was not released; it expires in %.1f s.", self.lease_ms / 1000)

    async def ping(self) -> None:
        """Raises ``BackendUnavailable`` unless Redis answers within the timeout (readiness)."""
        async with self.guard.reaching("checking readiness"):
            await self.client.ping()

    async def aclose(self) -> None:
        await self.client.aclose()
