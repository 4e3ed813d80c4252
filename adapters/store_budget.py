"""The daily budget kept in the image store itself: today's spend is the sum of the costs in
the metadata of the tenant's images made today, plus what calls in flight have reserved.

No extra file or engine: every saved image already records its share of its call's cost.
Within one process the check and the reservation happen under one lock, so concurrent calls
never overspend together. Several processes sharing one store each see the others' finished
calls (they are in the store) but not their calls in flight: set ``IMAGE_GEN_MCP_REDIS_URL``
for a cap that is exact across instances (:mod:`adapters.redis_budget`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from application.budget import Reservation, SpendBudget, over_budget, utc_day
from application.ports import ImageStore

log = logging.getLogger(__name__)

# How many of the tenant's newest images are read to sum today's spend: beyond that many
# images in one day the oldest are not counted (documented in README "Cost").
SCAN_LIMIT = 1000
FIRST_READ = 50


class StoreSpendBudget(SpendBudget):
    """``limit_usd`` per tenant per UTC day, summed from ``store`` (the current tenant's view)."""

    def __init__(self, store: ImageStore, tenant: Callable[[], str], limit_usd: float) -> None:
        self.store = store
        self.tenant = tenant
        self.limit_usd = limit_usd
        self._reserved: dict[tuple[str, str], float] = {}
        self._lock = asyncio.Lock()

    async def spent_today(self) -> float:
        """What the current tenant's images made today (UTC) cost, as their records say."""
        today = datetime.now(UTC).date()
        # A short read first: on an object store each record is one GET, and most days hold
        # fewer images than this. Only a day that fills it is read up to SCAN_LIMIT.
        for limit in (FIRST_READ, SCAN_LIMIT):
            records = await self.store.list_recent(limit)
            todays = [r for r in records if r.created_at.astimezone(UTC).date() == today]
            if len(todays) < limit:
                break
        return sum(
            cost
            for record in todays
            if isinstance(cost := record.metadata.get("cost_usd"), int | float) and not isinstance(cost, bool)
        )

    async def reserve(self, estimate_usd: float) -> Reservation:
        key = (self.tenant(), utc_day())
        async with self._lock:
            spent = await self.spent_today() + self._reserved.get(key, 0.0)
            if spent + estimate_usd > self.limit_usd:
                raise over_budget(key[0], spent, estimate_usd, self.limit_usd)
            self._reserved[key] = self._reserved.get(key, 0.0) + estimate_usd
        return Reservation(key[0], key[1], estimate_usd)

    async def settle(self, reservation: Reservation, actual_usd: float | None) -> None:
        # The actual cost is now in the saved images' records: drop the reservation. (An image
        # that could not be saved leaves no record, so its cost is not counted: logged.)
        key = (reservation.tenant, reservation.day)
        async with self._lock:
            left = self._reserved.get(key, 0.0) - reservation.amount
            if left > 1e-12:
                self._reserved[key] = left
            else:
                self._reserved.pop(key, None)
