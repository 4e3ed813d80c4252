"""One retry policy for every vendor: bounded attempts, exponential backoff with jitter,
Retry-After honoured up to a cap, and a deadline for the whole call.

The vendor SDKs' own retries are switched off so that this is the only policy in force.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from attrs import field, frozen

from domain.errors import AppError, ProviderTimeout

T = TypeVar("T")
log = logging.getLogger(__name__)


@frozen
class RetryPolicy:
    """Retries only errors marked ``retryable`` (rate limits, 5xx, timeouts, network)."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    deadline: float = 300.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    jitter: Callable[[], float] = field(default=random.random, repr=False)

    def delay_for(self, error: AppError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when it must not be retried."""
        if not error.retryable or attempt >= self.attempts:
            return None
        retry_after = error.details.get("retry_after")
        if isinstance(retry_after, int | float) and retry_after > 0:
            return None if retry_after > self.max_retry_after else float(retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (1 + 0.25 * self.jitter())

    async def run(self, call: Callable[[], Awaitable[T]], *, what: str = "vendor call") -> T:
        """Run ``call`` until it succeeds, fails for good, or the deadline passes."""
        try:
            async with asyncio.timeout(self.deadline):
                attempt = 1
                while True:
                    try:
                        return await call()
                    except AppError as error:
                        delay = self.delay_for(error, attempt)
                        if delay is None:
                            if attempt > 1:
                                error.details.setdefault("attempts", attempt)
                            raise
                        log.info("%s failed with %s; retry %d in %.2fs", what, error.code, attempt, delay)
                        await self.sleep(delay)
                        attempt += 1
        except TimeoutError:
            raise ProviderTimeout(
                f"The {what} did not finish within {self.deadline:g} s.", deadline_s=self.deadline
            ) from None
