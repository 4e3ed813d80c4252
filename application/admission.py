"""A cap on generations in flight: excess calls are refused at once instead of piling up."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from domain.errors import Overloaded


class AdmissionControl(Protocol):
    """Decides whether one more generation may run now.

    ``slot()`` is an async context manager held for the whole call (vendor and store). Entering
    it raises ``Overloaded`` when the cap is reached, or ``BackendUnavailable`` when a shared
    cap cannot be consulted; it never waits for a slot to free up. Leaving it gives the slot
    back, whether the call succeeded, failed or was cancelled.
    """

    @abstractmethod
    def slot(self) -> AbstractAsyncContextManager[None]:
        """Hold one slot for the duration of the ``async with`` block."""


class InFlightLimit(AdmissionControl):
    """Counts running generations; ``slot()`` raises Overloaded when all are taken."""

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
