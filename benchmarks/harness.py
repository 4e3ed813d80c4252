"""Shared pieces of the in-process benchmarks: two test images (photo-like and high-detail), an
instant fake vendor that returns one, a server built over a real filesystem store, and
peak-memory / event-loop probes.

The fake shipped in ``adapters.memory`` answers with a solid PNG, which compresses to almost
nothing and so flatters every step after the vendor (decode, preview, hash, save). These
benchmarks answer instead with a 1024² (or any size) image whose PNG weighs what a real
vendor's does (about 1.4–1.6 bytes per pixel), generated once per process.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_images import IMAGES
from dependency_injector import providers
from fastmcp import Client, FastMCP

from adapters.memory import FakeImageProvider
from domain.images import GeneratedImage, ProviderResult, Usage
from domain.normalized import ProviderRequest
from entrypoints.container import Container, build_container
from entrypoints.mcp.server import build_mcp_server
from entrypoints.settings import Settings
from entrypoints.stdio.server import start_up_heap


class PhotoFakeProvider(FakeImageProvider):
    """The scriptable fake vendor, answering every call with one of :data:`IMAGES`.

    ``latency`` is the vendor's think time (``asyncio.sleep``: no CPU, like a network wait).
    """

    def __init__(
        self, size: tuple[int, int] = (1024, 1024), latency: float = 0.0, image: str = "photo"
    ) -> None:
        super().__init__(latency=latency, size=size)
        self._png = IMAGES[image](*size)

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        return await self._photo(request)

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        return await self._photo(request)

    async def _photo(self, request: ProviderRequest) -> ProviderResult:
        self.calls.append(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        width, height = self.size or (1024, 1024)
        image = GeneratedImage(
            data=self._png, media_type="image/png", width=width, height=height,
            provider=self.provider_id, model=request.model,
        )  # fmt: skip
        return ProviderResult(
            images=(image,) * request.n,
            usage=Usage(input_tokens=10, output_tokens=100, total_tokens=110),
            used={"size": f"{width}x{height}"},
        )


class PlainClient(Client):
    """A client that declares no tasks extension, as today's hosts: the benchmarks time the
    blocking call (fastmcp's Client would otherwise run every call as a background task)."""

    _auto_internal_extensions = False


def bench_settings(output_dir: Path, **values: Any) -> Settings:
    """Settings as a user would run them (filesystem store, preview inline), fake vendor on."""
    env: dict[str, Any] = {
        "IMAGE_GEN_MCP_OUTPUT_DIR": str(output_dir),
        "IMAGE_GEN_MCP_FAKE_PROVIDER": True,
        "IMAGE_GEN_MCP_DEFAULT_PROVIDER": "fake",
    }
    env.update(values)
    return Settings(_env_file=None, **env)


def bench_container(settings: Settings, fake: FakeImageProvider) -> Container:
    container = build_container(settings)
    container.fake.override(providers.Object(fake))
    return container


def bench_server(settings: Settings, fake: FakeImageProvider) -> FastMCP:
    """The MCP server over :func:`bench_container`, built as ``serve_stdio`` builds it (start-up
    objects frozen out of the garbage collector's sight)."""
    with start_up_heap():
        return build_mcp_server(bench_container(settings, fake))


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median, p95, min and max of ``samples`` (seconds), in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
        "n": len(ordered),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: ru_maxrss is KB on Linux, bytes on macOS

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class LoopStallProbe:
    """Measures the longest time the event loop was blocked while the probe ran.

    A task asks to wake every millisecond; how late it wakes is how long something else held
    the loop. Blocking work (decode, encode, hashing, file writes) on the loop shows up here.
    """

    def __init__(self, tick: float = 0.001) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, time.perf_counter() - start - self.tick)

    async def __aenter__(self) -> LoopStallProbe:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
