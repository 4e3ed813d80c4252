"""The ImageStore contract, shared by every store."""

from __future__ import annotations

import hashlib

import pytest

from adapters.png import solid_png
from application.ports import ImageStore
from domain.errors import ImageNotFound, InvalidRequest
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

    # -- tenants -------------------------------------------------------------------------

    async def test_the_unnamed_tenant_is_the_root_store(self, store: ImageStore) -> None:
        # ``store`` may itself be a tenant's view: "" always leads back to the root's namespace.
        root = store.for_tenant("")
        record = await root.save(generated())
        again = root.for_tenant("").for_tenant("acme").for_tenant("")
        assert (await again.get(record.id))[0].id == record.id
        assert [r.id for r in await again.list_recent(5)] == [record.id]

    async def test_tenants_never_see_each_others_images(self, store: ImageStore) -> None:
        store = store.for_tenant("")  # from the root, whichever view the fixture gave
        acme, globex = store.for_tenant("acme"), store.for_tenant("globex")
        mine = await acme.save(generated(), metadata={"prompt": "acme secret"})
        theirs = await globex.save(generated(), metadata={"prompt": "globex secret"})
        own = await store.save(generated(), metadata={"prompt": "local"})
        for view, foreign in ((acme, theirs), (globex, mine), (acme, own), (store, mine), (store, theirs)):
            with pytest.raises(ImageNotFound):
                await view.get(foreign.id)
        assert (await acme.get(mine.id))[0].metadata["prompt"] == "acme secret"
        assert (await store.for_tenant("acme").get(mine.id))[0].id == mine.id  # views are stable
        assert [r.id for r in await acme.list_recent(10)] == [mine.id]
        assert [r.id for r in await globex.list_recent(10)] == [theirs.id]
        assert [r.id for r in await store.list_recent(10)] == [own.id]

    async def test_directory_stays_inside_the_tenant(self, store: ImageStore) -> None:
        acme = store.for_tenant("acme")
        record = await acme.save(generated(), directory="cats")
        assert (await acme.get(record.id))[0].id == record.id
        with pytest.raises(ImageNotFound):
            await store.for_tenant("globex").get(record.id)
        for bad in ("../globex", "../../escape"):
            with pytest.raises(InvalidRequest):
                await acme.save(generated(), directory=bad)

    @pytest.mark.parametrize("name", ["Acme", "-acme", "a/b", "..", "a" * 65, "ac me", "é"])
    def test_tenant_names_are_checked(self, store: ImageStore, name: str) -> None:
        with pytest.raises(InvalidRequest):
            store.for_tenant(name)
