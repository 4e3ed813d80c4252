"""Admission before decoding: the in-flight cap and the input deadline apply before a call's
input images are read, and decoding runs on a small pool whose size does not grow with the
number of waiting calls, so memory stays bounded and excess calls are refused at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from domain.errors import AppError, Overloaded
from domain.images import ImageRequest
from entrypoints.container import build_container
from entrypoints.decode_pool import DecodePool
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


async def test_a_call_over_the_cap_is_refused_before_its_inputs_are_read(output_root: Path) -> None:
    container = build_container(make_settings(output_root, IMAGE_GEN_MCP_MAX_IN_FLIGHT=1))
    edit = container.edit_image()
    read: list[str] = []

    async def inputs():  # type: ignore[no-untyped-def]
        read.append("read")
        raise AssertionError("an overloaded call must not read its inputs")

    async with container.in_flight().slot():
        with pytest.raises(Overloaded):
            await edit(ImageRequest(prompt="p", provider="fake"), inputs=inputs)
    assert read == []


async def test_reading_the_inputs_has_a_deadline_and_frees_the_slot(output_root: Path) -> None:
    container = build_container(
        make_settings(output_root, IMAGE_GEN_MCP_MAX_IN_FLIGHT=1, IMAGE_GEN_MCP_INPUT_TIMEOUT=0.2)
    )

    async def never():  # type: ignore[no-untyped-def]
        await asyncio.sleep(30)

    started = time.monotonic()
    with pytest.raises(AppError) as caught:
        await container.edit_image()(ImageRequest(prompt="p", provider="fake"), inputs=never)
    assert caught.value.code == "timeout" and time.monotonic() - started < 2
    assert container.in_flight().running == 0


async def test_the_decode_pool_never_runs_more_than_its_workers() -> None:
    pool = DecodePool(2)
    running, peak = 0, 0
    lock = threading.Lock()

    def work(*, stop: threading.Event) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    await asyncio.gather(*(pool.run(work) for _ in range(12)))
    pool.shutdown()
    assert peak == 2


async def test_cancelled_calls_abandon_their_checks() -> None:
    pool = DecodePool(1)
    started: list[int] = []
    stopped = threading.Event()
    gate = threading.Event()

    def first(*, stop: threading.Event) -> None:
        started.append(1)
        gate.wait(5)
        if stop.is_set():
            stopped.set()

    def queued(*, stop: threading.Event) -> None:
        started.append(2)

    running = asyncio.ensure_future(pool.run(first))
    waiting = asyncio.ensure_future(pool.run(queued))
    await asyncio.sleep(0.05)
    running.cancel()
    waiting.cancel()
    await asyncio.gather(running, waiting, return_exceptions=True)
    gate.set()
    await asyncio.to_thread(stopped.wait, 5)
    pool.shutdown()
    assert stopped.is_set()  # the running check was told to stop
    assert started == [1]  # the queued one never started


def test_parallel_heavy_edits_stay_under_the_memory_ceiling() -> None:
    # 30 calls x 3 PNGs of 24 MP each (a few tens of KB compressed, 96 MB decoded).
    # Ceiling: 2 decode workers x 24 MP x 4 bytes, plus 150 MB for everything else. Before,
    # every call decoded before admission on up to 32 default-executor threads.
    result = subprocess.run(  # noqa: S603 -- our own script, fixed arguments
        [sys.executable, str(ROOT / "tests/hardening/admission_load.py"), "30", "3", "6000", "4000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    ceiling_mb = 2 * 6000 * 4000 * 4 / 2**20 + 150
    assert report["growth_mb"] <= ceiling_mb, report
    assert report["codes"] == {"ok": 3, "overloaded": 27}, report
    assert report["slowest_refusal_s"] < 0.5, report
