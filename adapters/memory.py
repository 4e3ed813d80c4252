"""In-memory fakes of both ports, shipped beside the real adapters (as httpx ships
MockTransport) so that the entrypoints run end to end with no vendor network."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.png import solid_png
from application.ports import ImageProvider, ImageStore
from domain.catalog import STANDARD_RATIOS, ModelSpec, pixel_table
from domain.errors import (
    AppError,
    ContentBlocked,
    ImageNotFound,
    InvalidRequest,
    NoImage,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from domain.images import GeneratedImage, ProviderResult, StoredImage, Usage
from domain.normalized import ProviderRequest
from domain.options import Operation, OutputFormat, Quality, SizeTier
from domain.tenants import UNNAMED, checked_tenant


def _fake_pixels() -> dict[tuple[SizeTier, str], tuple[int, int]]:
    # Tiny images keep the tests fast.
    return pixel_table({SizeTier.S: 64, SizeTier.M: 128, SizeTier.L: 256}, STANDARD_RATIOS)


FAKE_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        provider="fake",
        model="fake-image",
        family="fake",
        description="Scriptable in-memory model for tests.",
        max_n=10,
        max_input_images=16,
        mask=True,
        transparency=True,
        output_formats=(OutputFormat.PNG, OutputFormat.WEBP, OutputFormat.JPEG),
        aspect_ratios=STANDARD_RATIOS,
        size_tiers={SizeTier.S: "small", SizeTier.M: "medium", SizeTier.L: "large"},
        pixel_sizes=_fake_pixels(),
        qualities={Quality.DRAFT: "low", Quality.STANDARD: "medium", Quality.HIGH: "high"},
    ),
    ModelSpec(
        provider="fake",
        model="fake-single",
        family="fake",
        description="One image per call, no mask, no transparency: exercises fan-out.",
        max_n=1,
        max_input_images=3,
        aspect_ratios=("1:1", "3:2", "2:3", "16:9"),
        size_tiers={SizeTier.S: "1K", SizeTier.M: "2K"},
    ),
    ModelSpec(
        provider="fake",
        model="fake-generate-only",
        family="fake",
        description="Generates only.",
        operations=frozenset({Operation.GENERATE}),
        max_n=4,
        size_tiers={SizeTier.S: "1K"},
    ),
)


class FakeImageProvider(ImageProvider):
    """Scriptable fake vendor.

    Each call pops the next scripted outcome (an AppError instance to raise, or None for a
    normal answer); with an empty script every call succeeds. ``latency`` delays each call.
    ``calls`` records every request, ``cancelled`` counts calls cancelled mid-flight.

    ``fault_rate`` (0-1) makes unscripted calls fail or answer slowly at random, from a
    generator seeded with ``fault_seed``: soak tests inject vendor faults from outside this way.
    """

    def __init__(
        self,
        provider_id: str = "fake",
        catalog: Sequence[ModelSpec] = FAKE_MODELS,
        latency: float = 0.0,
        size: tuple[int, int] | None = None,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
    ) -> None:
        self.provider_id = provider_id
        self._catalog = tuple(catalog)
        self.latency = latency
        self.size = size
        self.script: deque[AppError | None] = deque()
        self.calls: list[ProviderRequest] = []
        self.cancelled = 0
        self.closed = False
        self.fault_rate = fault_rate
        self._faults = random.Random(fault_seed)  # noqa: S311 -- test faults, not security

    def fail_next(self, *errors: AppError | None) -> FakeImageProvider:
        self.script.extend(errors)
        return self

    def catalog(self) -> Sequence[ModelSpec]:
        return self._catalog

    async def models(self) -> Sequence[ModelSpec]:
        return self._catalog

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        return await self._answer(request)

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        return await self._answer(request)

    async def aclose(self) -> None:
        self.closed = True

    async def _answer(self, request: ProviderRequest) -> ProviderResult:
        self.calls.append(request)
        outcome = self.script.popleft() if self.script else None
        delay = self.latency
        if outcome is None and self.fault_rate and self._faults.random() < self.fault_rate:
            outcome, delay = self._random_fault(delay)
        try:
            if delay:
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if outcome is not None:
            raise outcome
        width, height = self.size or (request.width or 64, request.height or 64)
        shade = len(self.calls) % 200
        images = tuple(
            GeneratedImage(
                data=solid_png(width, height, (shade, index * 20 % 256, 128, 255)),
                media_type="image/png",
                width=width,
                height=height,
                provider=self.provider_id,
                model=request.model,
            )
            for index in range(request.n)
        )
        return ProviderResult(
            images=images,
            usage=Usage(input_tokens=10, output_tokens=100 * request.n, total_tokens=10 + 100 * request.n),
            used={"size": f"{width}x{height}", "quality": request.quality},
        )

    def _random_fault(self, delay: float) -> tuple[AppError | None, float]:
        """One injected fault: an error a real vendor sends, or a slow (but good) answer."""
        kind = self._faults.randrange(6)
        faults: list[AppError | None] = [
            ProviderUnavailable("Injected fault: the fake vendor is overloaded.", status=503),
            RateLimited("Injected fault: slow down.", status=429, retry_after=0.05),
            ProviderTimeout("Injected fault: the fake vendor timed out."),
            ContentBlocked("Injected fault: the fake safety system refused.", reason="injected"),
            NoImage("Injected fault: the fake vendor answered without an image."),
            None,  # slow response
        ]
        return faults[kind], (max(delay, 0.05) * 4 if faults[kind] is None else delay)


class InMemoryImageStore(ImageStore):
    """Keeps images in a dict; ids are random and unguessable like the filesystem store's.
    Each tenant view has a dict of its own, shared by every view of that tenant."""

    def __init__(self, *, tenant: str = UNNAMED, spaces: dict[str, InMemoryImageStore] | None = None) -> None:
        self.tenant = checked_tenant(tenant)
        self._items: dict[str, tuple[StoredImage, bytes]] = {}
        self._order = itertools.count()
        self._spaces = spaces if spaces is not None else {}
        self._spaces.setdefault(tenant, self)

    def for_tenant(self, tenant: str) -> InMemoryImageStore:
        view = self._spaces.get(tenant)
        if view is None:
            view = InMemoryImageStore(tenant=tenant, spaces=self._spaces)
        return view

    async def check_directory(self, directory: str | None) -> None:
        # No folders here, but the contract's refusals hold: nothing may climb out.
        if directory and (directory.startswith("/") or ".." in directory.replace("\\", "/").split("/")):
            raise InvalidRequest("directory must stay inside the store.", option="directory")

    async def save(
        self,
        image: GeneratedImage,
        *,
        directory: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StoredImage:
        await self.check_directory(directory)
        record = StoredImage(
            id=uuid.uuid4().hex,
            media_type=image.media_type,
            width=image.width,
            height=image.height,
            byte_size=len(image.data),
            sha256=hashlib.sha256(image.data).hexdigest(),
            created_at=datetime.now(UTC),
            metadata=dict(metadata or {}),
        )
        self._items[record.id] = (record, image.data)
        return record

    async def get(self, image_id: str) -> tuple[StoredImage, bytes]:
        try:
            return self._items[image_id]
        except KeyError:
            raise ImageNotFound(f"No stored image has id {image_id[:64]!r}.") from None

    async def list_recent(self, limit: int = 20) -> list[StoredImage]:
        records = [record for record, _ in self._items.values()]
        return sorted(records, key=lambda r: r.created_at, reverse=True)[:limit]
