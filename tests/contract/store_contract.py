"""The ImageStore contract, shared by every store."""

from __future__ import annotations

import hashlib

import pytest

from adapters.png import solid_png
from application.ports import ImageStore
from domain.errors import ImageNotFound
from domain.images import GeneratedImage


def generated(width: int = 8, height: int = 4) -> GeneratedImage:
    return GeneratedImage(
        data=solid_png(width, height),
        media_type="image/png",
        width=width,
        height=height,
        provider="fake",
        model="fake-image",
    )


class ImageStoreContract:
    @pytest.fixture
    def store(self) -> ImageStore:
        raise NotImplementedError

    async def test_saved_image_reads_back_unchanged(self, store: ImageStore) -> None:
        image = generated()
        record = await store.save(image, metadata={"prompt": "p"})
        read, data = await store.get(record.id)
        assert data == image.data
        assert read.sha256 == hashlib.sha256(image.data).hexdigest() == record.sha256
        assert (read.width, read.height, read.media_type) == (8, 4, "image/png")
        assert read.metadata["prompt"] == "p"

    async def test_ids_are_unique_and_unguessable(self, store: ImageStore) -> None:
        ids = {(await store.save(generated())).id for _ in range(5)}
        assert len(ids) == 5
        assert all(len(i) >= 32 for i in ids)

    async def test_unknown_id_raises_image_not_found(self, store: ImageStore) -> None:
        for bad in ("0" * 32, "../../etc/passwd", "", "x" * 500):
            with pytest.raises(ImageNotFound):
                await store.get(bad)

    async def test_list_recent_is_newest_first(self, store: ImageStore) -> None:
        first = await store.save(generated())
        second = await store.save(generated())
        recent = await store.list_recent(10)
        assert [r.id for r in recent][:2] == [second.id, first.id]
        assert len(await store.list_recent(1)) == 1
