"""Inline previews are made while the images are saved, once each, and only where they fit."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from adapters.memory import FakeImageProvider, InMemoryImageStore
from application.create_images import CreateImages
from application.retry import RetryPolicy
from application.routing import ProviderRegistry
from domain.errors import StorageFailed
from domain.images import ImageRequest
from entrypoints.mcp import presentation
from entrypoints.settings import InlineMode, Settings

# Larger than the preview edge, so every inline image is a re-encoded preview.
SIZE = (1800, 1200)


class PreviewCounter:
    """Wraps make_preview: counts calls and signals the first one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.started = threading.Event()
        real = presentation.make_preview

        def counting(*args, **kwargs):
            self.calls += 1
            self.started.set()
            return real(*args, **kwargs)

        monkeypatch.setattr(presentation, "make_preview", counting)


class StoreWaitingForAPreview(InMemoryImageStore):
    """Saves only once a preview has started: a call that made previews after saving fails."""

    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started

    async def save(self, image, *, directory=None, metadata=None):
        if not await asyncio.to_thread(self.started.wait, 5):
            raise StorageFailed("no preview was started while saving")
        return await super().save(image, directory=directory, metadata=metadata)


def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, IMAGE_GEN_MCP_OUTPUT_DIR=str(tmp_path))


def use_case(store: InMemoryImageStore) -> CreateImages:
    registry = ProviderRegistry(enabled={"fake": FakeImageProvider(size=SIZE)}, disabled={})
    return CreateImages(registry=registry, store=store, retry=RetryPolicy())


async def test_previews_are_made_while_saving_and_used_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = PreviewCounter(monkeypatch)
    run = use_case(StoreWaitingForAPreview(counter.started))
    renderer = presentation.InlineRenderer(settings(tmp_path), InlineMode.PREVIEW)
    outcome = await run(ImageRequest(prompt="x", provider="fake", n=2), None, renderer.images_ready)
    inlined = await renderer.render(outcome)
    assert all(item.stored is not None for item in outcome.items)
    assert all(preview is not None and preview.media_type == "image/jpeg" for preview in inlined)
    assert counter.calls == 2  # the early previews were used, not made again


async def test_inline_none_makes_no_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = PreviewCounter(monkeypatch)
    renderer = presentation.InlineRenderer(settings(tmp_path), InlineMode.NONE)
    outcome = await use_case(InMemoryImageStore())(
        ImageRequest(prompt="x", provider="fake"), None, renderer.images_ready
    )
    assert await renderer.render(outcome) == [None]
    assert counter.calls == 0


class FailingStore(InMemoryImageStore):
    async def save(self, image, *, directory=None, metadata=None):
        raise StorageFailed("disk full")


async def test_an_unsaved_image_goes_inline_whole_not_as_the_early_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = presentation.InlineRenderer(settings(tmp_path), InlineMode.PREVIEW)
    outcome = await use_case(FailingStore())(
        ImageRequest(prompt="x", provider="fake"), None, renderer.images_ready
    )
    (inlined,) = await renderer.render(outcome)
    assert inlined is not None and inlined.data is outcome.items[0].image.data  # the original bytes


async def test_an_early_preview_made_for_another_budget_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = PreviewCounter(monkeypatch)
    renderer = presentation.InlineRenderer(settings(tmp_path), InlineMode.PREVIEW)
    outcome = await use_case(InMemoryImageStore())(ImageRequest(prompt="x", provider="fake", n=2))
    # Handed three images (a budget a third of the result's each), then rendering two of them.
    renderer.images_ready([*(item.image for item in outcome.items), outcome.items[0].image], outcome.used)
    await renderer.render(outcome)
    for _ in range(500):  # the early ones may still be running in the pool
        if counter.calls >= 3 + 2:
            break
        await asyncio.sleep(0.01)
    assert counter.calls == 3 + 2
