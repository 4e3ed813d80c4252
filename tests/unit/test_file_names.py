"""Saved files carry a short slug of the prompt, and stay unique and safe."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.filesystem_store import FilesystemImageStore
from adapters.png import solid_png
from adapters.store_records import prompt_slug, slugged_name
from domain.images import GeneratedImage, StoredImage

NAME = re.compile(r"^\d{8}-[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{8}\.png$")


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        ("A lighthouse at dusk", "a-lighthouse-at-dusk"),
        ("Lighthouse at dusk, oil on canvas, warm light", "lighthouse-at-dusk-oil-on-canvas"),
        ("Crème brûlée — top view", "creme-brulee-top-view"),
        ("../../etc/passwd", "etc-passwd"),
        ("CON", "con"),
        ("😀🎨", "image"),
        ("", "image"),
        ("x" * 300, "x" * 40),
        ("a\x00b\nc/d\\e", "a-b-c-d-e"),
    ],
)
def test_slug(prompt: str, slug: str) -> None:
    assert prompt_slug(prompt) == slug


def test_name_shape() -> None:
    record = StoredImage(
        id="1a2b3c4d" + "0" * 24, media_type="image/png", width=4, height=4, byte_size=1, sha256="0",
        created_at=datetime(2026, 12, 4, 15, 0, tzinfo=UTC), metadata={"prompt": "A lighthouse at dusk"},
    )  # fmt: skip
    assert slugged_name(record) == "20261204-a-lighthouse-at-dusk-1a2b3c4d.png"
    assert slugged_name(record, full=True) == "20261204-a-lighthouse-at-dusk-1a2b3c4d" + "0" * 24 + ".png"


async def test_saved_names_are_unique_safe_and_ids_unchanged(tmp_path: Path) -> None:
    store = FilesystemImageStore(tmp_path)
    image = GeneratedImage(data=solid_png(4, 4), media_type="image/png", width=4, height=4, provider="p", model="m")
    saved = [await store.save(image, metadata={"prompt": "../A lighthouse/at dusk"}) for _ in range(5)]
    names = [Path(s.path).name for s in saved]
    assert len(set(names)) == 5 and all(NAME.match(n) for n in names), names
    assert all("-a-lighthouse-at-dusk-" in n for n in names)
    assert all(Path(s.path).parent == tmp_path.resolve() for s in saved)
    assert all(re.fullmatch(r"[0-9a-f]{32}", s.id) for s in saved)
    record, data = await store.get(saved[0].id)
    assert data == image.data and record.path == saved[0].path


async def test_a_short_id_clash_falls_back_to_the_full_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    ids = iter([uuid.UUID("1a2b3c4d" + "0" * 24), uuid.UUID("1a2b3c4d" + "f" * 24)])
    monkeypatch.setattr("adapters.store_records.uuid4", lambda: next(ids))  # ids only, not temp names
    store = FilesystemImageStore(tmp_path)
    image = GeneratedImage(data=solid_png(4, 4), media_type="image/png", width=4, height=4, provider="p", model="m")
    first = await store.save(image, metadata={"prompt": "same"})
    second = await store.save(image, metadata={"prompt": "same"})
    assert Path(first.path).name.endswith("-same-1a2b3c4d.png")
    assert Path(second.path).name.endswith("-same-1a2b3c4d" + "f" * 24 + ".png")
    assert (await store.get(first.id))[1] == image.data
