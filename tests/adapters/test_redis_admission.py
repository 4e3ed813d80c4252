"""The cluster-wide in-flight cap against a real redis-server: it holds across instances, a
crashed holder's slot frees itself, a long call keeps its lease, and a Redis that is gone or
hung fails calls fast with `backend_unavailable` — and serves them again once it is back."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from adapters.redis_admission import RedisInFlightLimit
from domain.errors import BackendUnavailable, Overloaded
from tests.engines import RedisServer

REPO = Path(__file__).resolve().parents[2]
KEY = "test:in-flight"
TIMEOUT_S = 0.3
# Two timeouts (the guard's bound) plus scheduling slack on a busy 2-core machine.
FAST_S = 2.0

Factory = Callable[..., RedisInFlightLimit]


@pytest.fixture
async def limiters() -> AsyncIterator[Factory]:
    """Builds limiters (each one "server" with its own client) and closes them after the test."""
    made: list[RedisInFlightLimit] = []

    def make(url: str, limit: int, lease_s: float = 5.0) -> RedisInFlightLimit:
        made.append(RedisInFlightLimit.from_url(url, limit, timeout_s=TIMEOUT_S, lease_s=lease_s, key=KEY))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.aclose()


async def leases(limiter: RedisInFlightLimit) -> list[tuple[bytes, float]]:
    return await limiter.client.zrange(KEY, 0, -1, withscores=True)


async def test_the_cap_holds_across_two_instances(redis_url: str, limiters: Factory) -> None:
    a, b = limiters(redis_url, 2), limiters(redis_url, 2)
    async with AsyncExitStack() as held:
        await held.enter_async_context(a.slot())
        await held.enter_async_context(b.slot())
        for limiter in (a, b):
            with pytest.raises(Overloaded) as refused:
                await held.enter_async_context(limiter.slot())
            assert refused.value.details["limit"] == 2 and refused.value.retryable
    assert await leases(a) == []  # both released
    async with a.slot(), b.slot():
        pass


async def test_concurrent_calls_on_two_instances_never_exceed_the_cap(
    redis_url: str, limiters: Factory
) -> None:
    instances = [limiters(redis_url, 3), limiters(redis_url, 3)]
    running = peak = 0

    async def call(i: int) -> bool:
        nonlocal running, peak
        try:
            async with instances[i % 2].slot():
                running += 1
                peak = max(peak, running)
                await asyncio.sleep(0.3)
                running -= 1
                return True
        except Overloaded:
            return False

    granted = await asyncio.gather(*(call(i) for i in range(12)))
    assert sum(granted) == 3 and peak == 3


CRASHING_HOLDER = """
import asyncio, sys
from adapters.redis_admission import RedisInFlightLimit

async def main():
    limiter = RedisInFlightLimit.from_url(sys.argv[1], 1, timeout_s=1.0, lease_s=float(sys.argv[2]), key=sys.argv[3])
    async with limiter.slot():
        print("held", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_crashed_holder_frees_its_slot_within_one_lease(redis_url: str, limiters: Factory) -> None:
    lease_s = 1.0
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_HOLDER, redis_url, str(lease_s), KEY,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 60) == b"held\n"
        other = limiters(redis_url, 1)
        await asyncio.sleep(lease_s * 1.5)  # the live holder keeps renewing past its first expiry
        with pytest.raises(Overloaded):
            async with other.slot():
                pass
        holder.send_signal(signal.SIGKILL)  # no finally, no release: a crash
        await holder.wait()
        killed = time.monotonic()
        while True:
            try:
                async with other.slot():
                    break
            except Overloaded:
                assert time.monotonic() - killed < lease_s + 1.0, "the dead holder's lease never expired"
                await asyncio.sleep(0.05)
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.communicate()


async def test_a_long_call_keeps_renewing_its_lease(redis_url: str, limiters: Factory) -> None:
    lease_s = 0.6
    a, b = limiters(redis_url, 1, lease_s=lease_s), limiters(redis_url, 1, lease_s=lease_s)
    async with a.slot():
        [(_, first_expiry)] = await leases(a)
        for _ in range(5):  # 2.5 s: four lease times
            await asyncio.sleep(0.5)
            with pytest.raises(Overloaded):
                async with b.slot():
                    pass
        [(_, later_expiry)] = await leases(a)
    assert later_expiry - first_expiry >= 2000  # milliseconds: renewed, not merely left alone
    async with b.slot():
        pass


async def assert_fails_fast(limiter: RedisInFlightLimit) -> BackendUnavailable:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as caught:
        async with limiter.slot():
            pass
    assert time.monotonic() - started < FAST_S
    error = caught.value
    assert error.retryable and error.details["engine"] == "redis" and error.code == "backend_unavailable"
    return error


async def test_redis_stopped_fails_fast_and_recovers_without_restart(
    redis_server: RedisServer, limiters: Factory
) -> None:
    limiter = limiters(redis_server.url, 2)
    async with limiter.slot():  # a pooled connection exists: it must not be trusted after the outage
        pass
    redis_server.stop()
    await assert_fails_fast(limiter)
    await assert_fails_fast(limiter)  # still fast the second time: nothing piles up
    redis_server.start()  # a fresh process: empty, and its script cache is gone too
    async with limiter.slot():
        pass
    assert await leases(limiter) == []


async def test_a_hung_redis_fails_fast_instead_of_hanging(
    redis_server: RedisServer, limiters: Factory
) -> None:
    """A stopped-but-listening Redis (SIGSTOP) accepts connections and never answers: only the
    command timeout saves the caller."""
    limiter = limiters(redis_server.url, 2)
    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        await assert_fails_fast(limiter)
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    async with limiter.slot():
        pass


async def test_nothing_says_the_password(
    redis_server: RedisServer, limiters: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cret-REDIS-password-0123"
    setup = limiters(redis_server.url, 1)
    await setup.client.config_set("requirepass", password)
    good = f"redis://:{password}@127.0.0.1:{redis_server.port}/0"
    wrong = f"redis://:{password}-wrong@127.0.0.1:{redis_server.port}/0"
    caplog.set_level(logging.DEBUG)
    async with limiters(good, 1).slot():  # the password is really used
        pass
    refused = await assert_fails_fast(limiters(wrong, 1))  # a wrong one is refused, fast
    redis_server.stop()
    gone = await assert_fails_fast(limiters(good, 1))
    for error in (refused, gone):
        assert password not in str(error.to_payload()) and password not in repr(error)
    assert "Redis at redis://127.0.0.1" in caplog.text  # the endpoint is logged, credentials not
    assert password not in caplog.text


async def test_a_cancelled_call_gives_its_slot_back(redis_url: str, limiters: Factory) -> None:
    limiter = limiters(redis_url, 1)
    entered = asyncio.Event()

    async def call() -> None:
        async with limiter.slot():
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(call())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await leases(limiter) == []


async def test_a_running_call_outlives_a_redis_outage(
    redis_server: RedisServer, limiters: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewals fail while Redis is away (logged, not raised into the call); once it is back the
    lease is counted again, and the call gives it back when it ends."""
    limiter = limiters(redis_server.url, 1, lease_s=0.9)
    other = limiters(redis_server.url, 1)
    async with limiter.slot():
        redis_server.stop()
        await asyncio.sleep(1.0)  # renewals fail
        redis_server.start()  # empty: the lease is gone with the old process
        await asyncio.sleep(0.6)  # the next renewal puts it back
        with pytest.raises(Overloaded):  # so the running call still counts
            async with other.slot():
                pass
    assert await leases(limiter) == []
    assert "failed while renewing an in-flight lease" in caplog.text
    assert "expired before it was renewed; it is counted again" in caplog.text
