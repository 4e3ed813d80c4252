"""The use cases with in-memory fakes of both ports (no mocks)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.memory import FakeImageProvider, InMemoryImageStore
from adapters.png import solid_png
from application.admission import InFlightLimit
from application.create_images import CreateImages, EditImage, GenerateImage
from application.retry import RetryPolicy
from application.routing import DisabledProvider, ProviderRegistry
from domain.errors import (
    AppError,
    ContentBlocked,
    InvalidRequest,
    ModelNotFound,
    Overloaded,
    ProviderNotConfigured,
    ProviderUnavailable,
    RateLimited,
    StorageFailed,
)
from domain.images import ImageData, ImageRequest


async def no_sleep(seconds: float) -> None:
    return None


def make(
    provider: FakeImageProvider | None = None, store=None, **kwargs
) -> tuple[CreateImages, FakeImageProvider]:
    provider = provider or FakeImageProvider()
    registry = ProviderRegistry(
        enabled={"fake": provider},
        disabled={"openai": DisabledProvider("openai", ("OPENAI_API_KEY",))},
    )
    run = CreateImages(
        registry=registry,
        store=store or InMemoryImageStore(),
        retry=RetryPolicy(sleep=no_sleep),
        **kwargs,
    )
    return run, provider


async def test_defaults_are_chosen_and_reported() -> None:
    run, provider = make()
    outcome = await GenerateImage(run)(ImageRequest(prompt="fox"))
    assert (outcome.provider, outcome.model, outcome.chosen_by_default) == ("fake", "fake-image", True)
    assert len(outcome.items) == 1 and outcome.items[0].stored is not None
    assert provider.calls[0].prompt == "fox"


async def test_model_alone_finds_its_provider_and_unconfigured_names_variable() -> None:
    run, _ = make()
    outcome = await run(ImageRequest(prompt="x", model="fake-single"))
    assert outcome.provider == "fake"
    with pytest.raises(ProviderNotConfigured) as caught:
        await run(ImageRequest(prompt="x", provider="openai"))
    assert caught.value.details["missing"] == ["OPENAI_API_KEY"]
    with pytest.raises(ModelNotFound):
        await run(ImageRequest(prompt="x", model="no-such-model"))
    with pytest.raises(InvalidRequest):
        await run(ImageRequest(prompt="x", provider="nobody"))


async def test_fan_out_partial_failure_returns_successes_with_warnings() -> None:
    provider = FakeImageProvider().fail_next(None, ContentBlocked("blocked by vendor"), None)
    run, _ = make(provider)
    outcome = await run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=3))
    assert len(outcome.items) == 2
    assert len(provider.calls) == 3
    assert [f["code"] for f in outcome.failures] == ["content_blocked"]
    assert any("failed" in w.message for w in outcome.warnings)


async def test_all_calls_failing_raises_the_vendor_error() -> None:
    provider = FakeImageProvider().fail_next(ContentBlocked("no"), ContentBlocked("no"))
    run, _ = make(provider)
    with pytest.raises(ContentBlocked):
        await run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=2))


async def test_retryable_errors_are_retried_then_succeed() -> None:
    provider = FakeImageProvider().fail_next(
        RateLimited("slow down", retry_after=1), ProviderUnavailable("503")
    )
    run, _ = make(provider)
    outcome = await run(ImageRequest(prompt="x", provider="fake"))
    assert len(provider.calls) == 3 and len(outcome.items) == 1


async def test_policy_errors_happen_before_any_vendor_call() -> None:
    run, provider = make()
    with pytest.raises(AppError):
        await run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=9))
    with pytest.raises(InvalidRequest):
        await EditImage(run)(ImageRequest(prompt="x", provider="fake"))
    assert provider.calls == []


class FailingStore(InMemoryImageStore):
    async def save(self, image, *, directory=None, metadata=None):
        raise StorageFailed("disk full")


async def test_storage_failure_keeps_the_image_and_warns() -> None:
    run, _ = make(store=FailingStore())
    outcome = await run(ImageRequest(prompt="x", provider="fake"))
    (item,) = outcome.items
    assert item.stored is None and item.storage_error["code"] == "storage_failed"
    assert item.image.data.startswith(b"\x89PNG")
    assert any(w.option == "directory" for w in outcome.warnings)


async def test_edit_records_lineage_in_metadata() -> None:
    store = InMemoryImageStore()
    run, _ = make(store=store)
    source = ImageData.from_bytes(solid_png(8, 8), source_id="a" * 32)
    outcome = await EditImage(run)(ImageRequest(prompt="blue", provider="fake", images=(source,)))
    assert outcome.items[0].stored.metadata["source_images"] == ["a" * 32]


async def test_progress_increases_and_heartbeats_while_waiting() -> None:
    provider = FakeImageProvider(latency=0.12)
    run, _ = make(provider, heartbeat_s=0.02)
    seen: list[float] = []

    async def progress(done: float, total: float | None, message: str) -> None:
        seen.append(done)

    await run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=2), progress)
    assert len(seen) >= 4
    assert all(b > a for a, b in itertools.pairwise(seen)), seen


async def test_cancellation_cancels_vendor_calls_and_stores_nothing() -> None:
    store = InMemoryImageStore()
    provider = FakeImageProvider(latency=5)
    run, _ = make(provider, store=store)
    task = asyncio.create_task(run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=3)))
    for _ in range(200):  # wait until all three vendor calls are in flight
        if len(provider.calls) == 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.cancelled == 3
    assert await store.list_recent() == []


async def test_in_flight_cap_refuses_excess_calls() -> None:
    provider = FakeImageProvider(latency=0.2)
    run, _ = make(provider, in_flight=InFlightLimit(1))
    first = asyncio.create_task(run(ImageRequest(prompt="x", provider="fake")))
    await asyncio.sleep(0.05)
    with pytest.raises(Overloaded) as caught:
        await run(ImageRequest(prompt="y", provider="fake"))
    assert caught.value.details["retry_after"] > 0
    assert len((await first).items) == 1


class CostlyFake(FakeImageProvider):
    async def _answer(self, request):
        result = await super()._answer(request)
        return type(result)(images=result.images, usage=result.usage, used={**result.used, "cost": 0.25})


async def test_fan_out_sums_cost_and_usage() -> None:
    run, _ = make(CostlyFake())
    outcome = await run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=3))
    assert outcome.used["cost"] == 0.75
    assert outcome.usage.output_tokens == 300


class StaggeredFake(FakeImageProvider):
    """Each call waits its own time: the first fails early, the second succeeds later."""

    def __init__(self, latencies: list[float]) -> None:
        super().__init__()
        self.latencies = latencies

    async def _answer(self, request):
        self.latency = self.latencies[len(self.calls)]
        return await super()._answer(request)


async def test_progress_never_goes_back_when_a_parallel_call_fails() -> None:
    provider = StaggeredFake([0.08, 0.25]).fail_next(ContentBlocked("no"), None)
    run, _ = make(provider, heartbeat_s=0.02)
    seen: list[float] = []

    async def progress(done: float, total: float | None, message: str) -> None:
        seen.append(done)

    outcome = await run(ImageRequest(prompt="x", provider="fake", model="fake-single", n=2), progress)
    assert len(outcome.items) == 1
    assert all(b > a for a, b in itertools.pairwise(seen)), seen


async def test_no_enabled_provider_names_every_variable_that_would_enable_one() -> None:
    registry = ProviderRegistry(
        enabled={},
        disabled={
            "openai": DisabledProvider("openai", ("OPENAI_API_KEY",)),
            "azure": DisabledProvider("azure", ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY")),
        },
    )
    run = CreateImages(registry=registry, store=InMemoryImageStore())
    with pytest.raises(ProviderNotConfigured) as caught:
        await run(ImageRequest(prompt="x"))
    assert caught.value.details["missing"] == [
        "OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY",
    ]


class GatedStore(InMemoryImageStore):
    """Saves only once ``gate`` opens, and in the reverse order of the calls to save."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.started = 0

    async def save(self, image, *, directory=None, metadata=None):
        self.started += 1
        delay = 0.05 / self.started  # later saves finish first
        await self.gate.wait()
        await asyncio.sleep(delay)
        return await super().save(image, directory=directory, metadata=metadata)


async def test_images_are_handed_over_before_they_are_saved() -> None:
    store = GatedStore()
    run, _ = make(store=store)
    seen = []

    def images_ready(images, used) -> None:
        seen.append(([image.data for image in images], dict(used)))
        assert store.started == 0  # nothing is being saved yet
        store.gate.set()

    outcome = await run(ImageRequest(prompt="x", provider="fake", n=3), None, images_ready)
    ((handed, used),) = seen
    assert handed == [item.image.data for item in outcome.items]
    assert used == outcome.used
    assert all(item.stored is not None for item in outcome.items)


async def test_images_of_a_fan_out_are_saved_side_by_side_in_vendor_order() -> None:
    store = GatedStore()
    run, _ = make(store=store)
    handed = []
    task = asyncio.create_task(
        run(ImageRequest(prompt="x", provider="fake", n=3), None, lambda images, used: handed.extend(images))
    )
    for _ in range(100):  # every save is under way while none can finish
        if store.started == 3:
            break
        await asyncio.sleep(0.01)
    assert store.started == 3
    store.gate.set()  # the last save started now finishes first
    outcome = await task
    assert len({image.data for image in handed}) == 3
    assert [item.image for item in outcome.items] == handed
    assert [item.stored.sha256 for item in outcome.items] == [item.image.sha256 for item in outcome.items]
