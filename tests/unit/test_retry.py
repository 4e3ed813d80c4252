"""The one retry policy: bounded attempts, exponential backoff with jitter, Retry-After up to
a cap, only retryable errors, and a deadline that ends in a ``timeout`` error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from application.retry import RetryPolicy
from domain.errors import (
    AppError,
    AuthFailed,
    ContentBlocked,
    InvalidRequest,
    NetworkError,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
)


class Script:
    """A vendor call that fails with the given errors in turn, then answers ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(sleeps: list[float], jitter: Callable[[], float] = lambda: 0.0, **kwargs: object) -> RetryPolicy:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(sleep=sleep, jitter=jitter, **kwargs)  # type: ignore[arg-type]


def unavailable() -> ProviderUnavailable:
    return ProviderUnavailable("503 from the vendor", status=503)


async def test_retryable_failures_are_retried_until_success() -> None:
    sleeps: list[float] = []
    call = Script(unavailable(), NetworkError("connection reset"))
    assert await policy(sleeps, attempts=3).run(call) == "ok"
    assert call.calls == 3 and len(sleeps) == 2


async def test_attempts_are_bounded_and_reported() -> None:
    sleeps: list[float] = []
    call = Script(*(unavailable() for _ in range(10)))
    with pytest.raises(ProviderUnavailable) as caught:
        await policy(sleeps, attempts=4).run(call)
    assert call.calls == 4 and len(sleeps) == 3
    assert caught.value.details["attempts"] == 4
    assert caught.value.to_payload()["retryable"] is True


async def test_backoff_doubles_up_to_the_cap() -> None:
    sleeps: list[float] = []
    call = Script(*(unavailable() for _ in range(7)))
    with pytest.raises(ProviderUnavailable):
        await policy(sleeps, attempts=7, base_delay=0.5, max_delay=4.0).run(call)
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_jitter_adds_up_to_a_quarter() -> None:
    sleeps: list[float] = []
    with pytest.raises(ProviderUnavailable):
        await policy(sleeps, jitter=lambda: 1.0, attempts=3, base_delay=1.0).run(
            Script(unavailable(), unavailable(), unavailable())
        )
    assert sleeps == [1.25, 2.5]
    # With the real random jitter every delay lies within [backoff, 1.25 * backoff).
    real = RetryPolicy(base_delay=1.0, max_delay=8.0, attempts=5)
    delays = [real.delay_for(unavailable(), attempt) for attempt in (1, 2, 3) for _ in range(50)]
    assert all(1.0 <= d < 1.25 or 2.0 <= d < 2.5 or 4.0 <= d < 5.0 for d in delays if d is not None)
    assert len({round(d, 6) for d in delays if d is not None}) > 3  # it does vary


async def test_retry_after_is_honoured_exactly_when_within_the_cap() -> None:
    sleeps: list[float] = []
    call = Script(RateLimited("slow down", status=429, retry_after=7))
    assert await policy(sleeps, max_retry_after=30.0).run(call) == "ok"
    assert sleeps == [7.0]


async def test_retry_after_beyond_the_cap_is_not_retried() -> None:
    sleeps: list[float] = []
    call = Script(RateLimited("slow down", status=429, retry_after=31))
    with pytest.raises(RateLimited) as caught:
        await policy(sleeps, max_retry_after=30.0).run(call)
    assert call.calls == 1 and sleeps == []
    assert caught.value.details["retry_after"] == 31  # the client learns how long to wait


@pytest.mark.parametrize("retry_after", [0, -5, "soon", None])
async def test_unusable_retry_after_falls_back_to_backoff(retry_after: object) -> None:
    sleeps: list[float] = []
    call = Script(RateLimited("slow down", retry_after=retry_after))
    assert await policy(sleeps, base_delay=0.5).run(call) == "ok"
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    "error",
    [
        AuthFailed("bad key"),
        ContentBlocked("refused", reason="safety"),
        InvalidRequest("bad size"),
        QuotaExhausted("no credit"),
    ],
)
async def test_non_retryable_errors_fail_at_once(error: AppError) -> None:
    sleeps: list[float] = []
    call = Script(error)
    with pytest.raises(type(error)):
        await policy(sleeps, attempts=5).run(call)
    assert call.calls == 1 and sleeps == []
    assert "attempts" not in error.details


async def test_unexpected_exceptions_are_not_retried() -> None:
    sleeps: list[float] = []
    call = Script(KeyError("bug"))
    with pytest.raises(KeyError):
        await policy(sleeps, attempts=5).run(call)
    assert call.calls == 1


async def test_a_hanging_call_ends_in_a_timeout_error_at_the_deadline() -> None:
    async def hangs() -> str:
        await asyncio.Event().wait()
        return "never"

    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as caught:
        await RetryPolicy(deadline=0.05).run(hangs, what="fake call")
    assert time.monotonic() - started < 0.5
    payload = caught.value.to_payload()
    assert payload["code"] == "timeout" and payload["retryable"] is True
    assert payload["details"]["deadline_s"] == 0.05
    assert "fake call" in payload["message"]


async def test_the_deadline_covers_every_attempt_and_backoff() -> None:
    call = Script(*(unavailable() for _ in range(10)))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        # Calls at 0, 0.1 and 0.2 s; the third backoff would end at 0.3 s, past the deadline
        # (0.25 s). No jitter, and 50 ms of slack either side, so the count is exact.
        policy = RetryPolicy(attempts=10, base_delay=0.1, max_delay=0.1, deadline=0.25, jitter=lambda: 0.0)
        await policy.run(call)
    assert time.monotonic() - started < 0.5
    assert call.calls == 3
