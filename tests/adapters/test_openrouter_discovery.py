"""Live discovery of OpenRouter image models: the listing request, specs derived from typed
parameter descriptors, TTL caching, failures that never break generation, and the §6 policy
(remap with a warning, or refuse) applied to knobs a discovered model does not list."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.memory import InMemoryImageStore
from adapters.png import solid_png
from adapters.providers.openrouter_discovery import parse_listing
from adapters.providers.openrouter_provider import OpenRouterImageProvider
from application.create_images import CreateImages
from application.policy import PolicyLimits
from application.retry import RetryPolicy
from application.routing import ProviderRegistry
from domain.errors import UnsupportedOption
from domain.images import ImageData, ImageRequest
from domain.options import Background, Operation, Orientation, OutputFormat, Quality, SizeTier
from tests.adapters.openrouter_fake import (
    API_KEY,
    BASE_URL,
    DEFAULT_LISTING,
    Answer,
    Clock,
    FakeOpenRouter,
    or_error,
)

TTL = 600.0


@pytest.fixture
async def provider(fake: FakeOpenRouter, clock: Clock):
    adapter = OpenRouterImageProvider(
        api_key=API_KEY,
        base_url=BASE_URL,
        timeout_s=5.0,
        app_title="image-gen-mcp",
        models_ttl_s=TTL,
        http_client=fake.http_client(),
        clock=clock,
    )
    yield adapter
    await adapter.aclose()


@pytest.fixture
def create(provider) -> CreateImages:
    return CreateImages(
        registry=ProviderRegistry(enabled={"openrouter": provider}),
        store=InMemoryImageStore(),
        limits=PolicyLimits(),
        retry=RetryPolicy(attempts=1),
    )


def by_model(specs):
    return {s.model: s for s in specs}


async def test_listing_request_and_derived_specs(provider, fake) -> None:
    specs = by_model(await provider.models())
    [sent] = fake.requests
    assert (sent.method, sent.path) == ("GET", "/api/v1/images/models")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["x-openrouter-title"] == "image-gen-mcp"

    seedream = specs["bytedance-seed/seedream-4.5"]
    assert seedream.discovered and seedream.describe()["discovered"] is True
    assert seedream.operations == frozenset({Operation.GENERATE})  # text-only input: no edits
    assert (seedream.max_n, seedream.transparency, dict(seedream.qualities)) == (1, False, {})
    assert seedream.aspect_ratios == ("1:1", "16:9", "9:16")  # "auto" is no ratio
    assert dict(seedream.size_tiers) == {SizeTier.S: "1K", SizeTier.M: "2K", SizeTier.L: "4K"}
    assert seedream.output_formats == (OutputFormat.PNG,) and seedream.mask is False

    riverflow = specs["sourceful/riverflow-v2"]
    assert riverflow.can_edit and riverflow.max_n == 4 and riverflow.transparency
    assert dict(riverflow.qualities) == {Quality.DRAFT: "low", Quality.HIGH: "high"}
    assert riverflow.output_formats == (OutputFormat.PNG, OutputFormat.WEBP)
    assert dict(riverflow.size_tiers) == {SizeTier.S: "1K", SizeTier.M: "2K"}

    assert "acme/text-only" in {m["id"] for m in DEFAULT_LISTING}
    assert "acme/text-only" not in specs  # listed, but makes no images
    gemini = specs["google/gemini-3.1-flash-image"]  # curated wins over the listing
    assert not gemini.discovered and "21:9" in gemini.aspect_ratios
    models = [s.model for s in await provider.models()]
    assert models[: len(provider.catalog())] == [s.model for s in provider.catalog()]


def test_image_input_without_input_references_is_generate_only() -> None:
    listed = {
        "id": "acme/looks-at-images",
        "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image"]},
        "supported_parameters": {"aspect_ratio": {"type": "enum", "values": ["1:1"]}},
    }
    [model] = parse_listing({"data": [listed]})
    assert model.spec.operations == frozenset({Operation.GENERATE}) and model.spec.max_input_images == 0
    listed["supported_parameters"]["input_references"] = {"type": "range", "min": 0, "max": 2}
    [model] = parse_listing({"data": [listed]})
    assert model.spec.can_edit and model.spec.max_input_images == 2


def test_listing_descriptors_of_every_kind() -> None:
    [model] = parse_listing(
        {
            "data": [
                {
                    "id": "acme/painter",
                    "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image"]},
                    "supported_parameters": {
                        "n": {"type": "boolean"},
                        "quality": {"type": "boolean"},
                        "background": {"type": "boolean"},
                        "input_references": {"type": "range", "min": 0, "max": 3},
                        "resolution": {"type": "enum", "values": ["512"]},
                        "output_format": {"type": "enum", "values": ["jpeg", "svg"]},
                    },
                },
                {"id": "broken"},
                "not even an object",
            ]
        }
    )
    spec = model.spec
    assert (spec.max_n, spec.max_input_images, len(spec.qualities)) == (10, 3, 3)
    assert dict(spec.size_tiers) == {SizeTier.S: "512"} and spec.aspect_ratios == ("1:1",)
    assert spec.output_formats == (OutputFormat.JPEG,) and spec.transparency is False  # jpeg has no alpha
    assert model.parameters >= {"n", "quality", "background", "resolution"}


async def until(condition, attempts: int = 200) -> None:
    """Let background tasks run until ``condition`` holds (bounded)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.005)


async def test_listing_is_cached_for_the_ttl(provider, fake, clock) -> None:
    for _ in range(3):
        await provider.models()
    assert len(fake.listing_requests()) == 1
    clock.now += TTL - 1
    await provider.models()
    assert len(fake.listing_requests()) == 1
    clock.now += 2
    await provider.models()  # served from the stale listing, refreshed in the background
    await until(lambda: len(fake.listing_requests()) == 2)
    assert len(fake.listing_requests()) == 2


@pytest.mark.parametrize(
    "failure",
    [
        or_error(500, "Internal Server Error"),
        Answer(200, {"unexpected": True}),
        Answer(200, ["not", "a", "map"]),
    ],
)
async def test_failed_discovery_falls_back_and_backs_off(provider, fake, clock, caplog, failure) -> None:
    fake.listing_failure = failure
    with caplog.at_level(logging.WARNING):
        listed = await provider.models()
    assert [s.model for s in listed] == [s.model for s in provider.catalog()]
    assert "OpenRouter model discovery failed" in caplog.text and "curated catalog only" in caplog.text
    await provider.models()
    assert len(fake.listing_requests()) == 1  # not retried on every call
    fake.listing_failure = None
    clock.now += 61
    await provider.models()  # the curated catalog still, while the retry runs in the background
    await until(lambda: len(fake.listing_requests()) == 2)
    assert "sourceful/riverflow-v2" in by_model(await provider.models())


async def test_a_later_failure_keeps_the_last_good_listing(provider, fake, clock) -> None:
    await provider.models()
    fake.listing_failure = or_error(503, "Service Unavailable")
    clock.now += TTL + 1
    assert "sourceful/riverflow-v2" in by_model(await provider.models())
    await until(lambda: len(fake.listing_requests()) == 2)
    assert "sourceful/riverflow-v2" in by_model(await provider.models())


async def test_a_slow_refresh_never_holds_up_a_call(provider, fake, clock) -> None:
    await provider.models()
    clock.now += TTL + 1
    fake.listing_delay = 5.0
    listed = await asyncio.wait_for(provider.models(), timeout=0.5)
    assert "sourceful/riverflow-v2" in by_model(listed)
    await provider.aclose()  # cancels the refresh still running


async def test_discovery_failure_does_not_break_generation(create, fake) -> None:
    fake.listing_failure = or_error(500, "Internal Server Error")
    outcome = await create(ImageRequest(prompt="a lighthouse", provider="openrouter"))
    assert outcome.model == "google/gemini-3.1-flash-image" and len(outcome.items) == 1
    assert [r.path for r in fake.requests] == ["/api/v1/images/models", "/api/v1/images"]


async def test_unlisted_knobs_are_remapped_with_warnings(create, fake) -> None:
    outcome = await create(
        ImageRequest(
            prompt="a lighthouse",
            provider="openrouter",
            model="bytedance-seed/seedream-4.5",
            n=2,
            size=SizeTier.L,
            orientation=Orientation.LANDSCAPE,
            quality=Quality.HIGH,
        )
    )
    bodies = [r.body for r in fake.generation_requests()]
    assert (
        bodies
        == [
            {
                "model": "bytedance-seed/seedream-4.5",
                "prompt": "a lighthouse",
                "resolution": "4K",
                "aspect_ratio": "16:9",
            }
        ]
        * 2
    )  # no n (fanned out), no quality
    options = {w.option for w in outcome.warnings}
    assert {"n", "quality", "orientation"} <= options
    assert len(outcome.items) == 2 and outcome.used["aspect_ratio"] == "16:9"


async def test_listed_knobs_are_sent_natively(create, fake) -> None:
    outcome = await create(
        ImageRequest(
            prompt="a sticker",
            provider="openrouter",
            model="sourceful/riverflow-v2",
            n=3,
            quality=Quality.STANDARD,  # riverflow lists low and high only
            background=Background.TRANSPARENT,
        )
    )
    [sent] = fake.generation_requests()
    assert sent.body == {
        "model": "sourceful/riverflow-v2",
        "prompt": "a sticker",
        "n": 3,
        "resolution": "1K",
        "aspect_ratio": "1:1",
        "background": "transparent",
        "output_format": "png",
    }
    assert [w.option for w in outcome.warnings] == ["quality"]


@pytest.mark.parametrize(
    ("model", "changes", "option"),
    [
        ("bytedance-seed/seedream-4.5", {"background": Background.TRANSPARENT}, "background"),
        ("bytedance-seed/seedream-4.5", {"images": "one"}, "model"),
        ("sourceful/riverflow-v2", {"images": "one", "mask": "one"}, "mask"),
        ("sourceful/riverflow-v2", {"quality": Quality.STANDARD, "strict": True}, None),
        ("sourceful/riverflow-v2", {"output_format": OutputFormat.JPEG}, "output_format"),
    ],
)
async def test_knobs_a_discovered_model_cannot_honour_are_refused_before_any_call(
    create, fake, model, changes, option
) -> None:
    image = ImageData.from_bytes(solid_png(16, 16))
    values = {k: ((image,) if k == "images" else image) if v == "one" else v for k, v in changes.items()}
    with pytest.raises(UnsupportedOption) as caught:
        await create(ImageRequest(prompt="x", provider="openrouter", model=model, **values))
    assert caught.value.details.get("option") == option
    assert fake.generation_requests() == []
