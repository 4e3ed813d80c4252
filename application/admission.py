"""A cap on generations in flight: excess calls are refused at once instead of piling up.

The cap is taken before a call reads its input images, so a burst of heavy edit calls is
refused before any of them decodes anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from application.ports import AdmissionControl
from domain.errors import Overloaded


class InFlightLimit(AdmissionControl):
    """Counts running generations in this process; ``slot()`` raises Overloaded when all are
    taken. (Single event loop: the check and the increment cannot interleave.)"""

    def __init__(self, limit: int, retry_after: float = 5.0) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.running = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.running >= self.limit:
            raise Overloaded(
                f"{self.running} generations are already running; try again shortly.",
                retry_after=self.retry_after,
                limit=self.limit,
            )
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
