"""The daily budget on Redis, exact across every instance: one float counter per tenant per
UTC day (``<prefix>spend:<tenant>:<YYYY-MM-DD>``), which expires two days later.

``reserve`` is one Lua script — read, compare, ``INCRBYFLOAT`` — so two instances never both
take the last dollars. ``settle`` adds ``actual − estimate`` with ``INCRBYFLOAT``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from adapters.redis_connection import RedisGuard, redis_client
from application.budget import Reservation, SpendBudget, over_budget, utc_day
from domain.errors import AppError

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Two days: a call reserved just before midnight still finds its key when it settles.
_TTL_S = 2 * 86_400

# KEYS[1] the day's counter; ARGV: estimate, limit, ttl. Returns {granted, spent before}.
# Floats travel as strings: Lua numbers returned to Redis are truncated to integers.
_RESERVE = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  return {0, tostring(spent)}
end
redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, tostring(spent)}
"""


class RedisSpendBudget(SpendBudget):
    """``limit_usd`` per tenant per UTC day, counted on Redis under ``prefix``."""

    def __init__(
        self, client: Redis, guard: RedisGuard, tenant: Callable[[], str], limit_usd: float, prefix: str
    ) -> None:
        self.client = client
        self.guard = guard
        self.tenant = tenant
        self.limit_usd = limit_usd
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE)

    @classmethod
    def from_url(
        cls, url: str, tenant: Callable[[], str], limit_usd: float, *, timeout_s: float, prefix: str
    ) -> RedisSpendBudget:
        """Connects lazily: building one never touches the network."""
        return cls(redis_client(url, timeout_s), RedisGuard(url, timeout_s), tenant, limit_usd, prefix)

    def key(self, tenant: str, day: str) -> str:
        return f"{self.prefix}spend:{tenant or '_'}:{day}"

    async def reserve(self, estimate_usd: float) -> Reservation:
        tenant, day = self.tenant(), utc_day()
        async with self.guard.reaching("reserving daily budget"):
            granted, spent = await self._reserve(
                keys=[self.key(tenant, day)], args=[repr(estimate_usd), repr(self.limit_usd), _TTL_S]
            )
        if not int(granted):
            raise over_budget(tenant, float(spent), estimate_usd, self.limit_usd)
        return Reservation(tenant, day, estimate_usd)

    async def settle(self, reservation: Reservation, actual_usd: float | None) -> None:
        if actual_usd is None:
            return  # unknown: the estimate stands as what was spent
        change = actual_usd - reservation.amount
        if change == 0:
            return
        try:
            async with self.guard.reaching("settling daily budget"):
                await self.client.incrbyfloat(self.key(reservation.tenant, reservation.day), change)
        except AppError:
            # The call is done and paid for: its result matters more than the ledger.
            log.warning("Could not settle a daily budget reservation of $%.6f.", reservation.amount)

    async def aclose(self) -> None:
        await self.client.aclose()
