from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.filesystem_store import FilesystemImageStore
from adapters.memory import InMemoryImageStore
from adapters.object_store import ObjectImageStore
from adapters.object_store_backends import open_object_image_store
from domain.errors import ImageNotFound, InvalidRequest, StorageFailed
from tests.contract.store_contract import ImageStoreContract, generated


class TestInMemoryImageStore(ImageStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryImageStore:
        return InMemoryImageStore()


class TestObjectImageStoreOnS3(ImageStoreContract):
    """The same contract against moto's S3 server: a bucket root, a prefix, and a tenant view."""

    @pytest.fixture(params=["bucket-root", "prefix", "tenant"])
    def store(self, request: pytest.FixtureRequest, s3_bucket: str) -> ObjectImageStore:
        if request.param == "bucket-root":
            return open_object_image_store(f"s3://{s3_bucket}")
        store = open_object_image_store(f"s3://{s3_bucket}/team/images")
        return store.for_tenant("acme") if request.param == "tenant" else store


class TestFilesystemImageStore(ImageStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FilesystemImageStore:
        return FilesystemImageStore(tmp_path / "root")

    async def test_file_and_sidecar_land_in_a_subfolder(self, store, tmp_path: Path) -> None:
        record = await store.save(generated(), directory="cats/2026", metadata={"prompt": "cat"})
        path = Path(record.path)
        assert path.parent == (tmp_path / "root" / "cats" / "2026").resolve()
        assert path.suffix == ".png"
        assert path.with_suffix(".png.json").read_text().count('"prompt": "cat"') == 1

    async def test_extension_comes_from_the_bytes(self, store) -> None:
        image = generated()
        lying = image.__class__(
            data=image.data, media_type="image/jpeg", width=8, height=4, provider="fake", model="m"
        )
        record = await store.save(lying)
        assert record.path.endswith(".png") and record.media_type == "image/png"

    @pytest.mark.parametrize("directory", ["../escape", "/etc", "a/../../b", "/tmp/elsewhere"])
    async def test_directories_outside_the_root_are_refused(
        self, store, tmp_path: Path, directory: str
    ) -> None:
        with pytest.raises(InvalidRequest) as caught:
            await store.check_directory(directory)
        assert caught.value.details["option"] == "directory"
        with pytest.raises(InvalidRequest):
            await store.save(generated(), directory=directory)
        assert not (tmp_path / "escape").exists()

    async def test_absolute_path_inside_the_root_is_accepted(self, store, tmp_path: Path) -> None:
        inside = tmp_path / "root" / "inside"
        record = await store.save(generated(), directory=str(inside))
        assert Path(record.path).parent == inside.resolve()

    async def test_symlink_leading_out_is_refused(self, store, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        (tmp_path / "root").mkdir(exist_ok=True)
        os.symlink(outside, tmp_path / "root" / "link")
        with pytest.raises(InvalidRequest):
            await store.save(generated(), directory="link")
        assert list(outside.iterdir()) == []

    async def test_permission_denied_is_storage_failed(self, store, monkeypatch) -> None:
        import adapters.safe_paths as module

        def refuse(*args: object, **kwargs: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(module, "create_exclusive", refuse)
        with pytest.raises(StorageFailed) as caught:
            await store.save(generated(), directory="ro")
        assert caught.value.code == "storage_failed"
        assert "EACCES" in caught.value.message

    async def test_write_failure_leaves_no_partial_file(self, store, tmp_path: Path, monkeypatch) -> None:
        import adapters.filesystem_store as module

        def disk_full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(module.os, "fsync", disk_full)
        with pytest.raises(StorageFailed) as caught:
            await store.save(generated(), directory="full")
        assert "ENOSPC" in caught.value.message
        assert [p.name for p in (tmp_path / "root" / "full").iterdir()] == []


async def test_directory_through_an_existing_file_is_refused_before_any_call(tmp_path: Path) -> None:
    store = FilesystemImageStore(tmp_path / "root")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "blocker").write_text("a file, not a folder")
    with pytest.raises(InvalidRequest) as caught:
        await store.check_directory("blocker/sub")
    assert caught.value.details["option"] == "directory"


async def test_a_folder_that_cannot_be_made_is_a_coded_error(tmp_path: Path, monkeypatch) -> None:
    import adapters.filesystem_store as module

    store = FilesystemImageStore(tmp_path / "root")
    await store.check_directory("later/sub")

    def not_a_directory(dir_fd: int, name: str, data: bytes) -> None:
        raise NotADirectoryError(20, "Not a directory")

    monkeypatch.setattr(module, "atomic_write", not_a_directory)
    with pytest.raises(StorageFailed) as caught:
        await store.save(generated(), directory="later/sub")
    assert "ENOTDIR" in caught.value.message


async def test_tenant_spaces_live_under_tenants_and_the_root_stays_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = FilesystemImageStore(root)
    own = await store.save(generated(), directory="cats")
    acme = await store.for_tenant("acme").save(generated(), directory="cats")
    assert Path(own.path).parent == (root / "cats").resolve()
    assert Path(acme.path).parent == (root / "tenants" / "acme" / "cats").resolve()
    assert (root / ".image-gen-mcp" / "index" / f"{own.id}.json").is_file()
    assert (root / "tenants" / "acme" / ".image-gen-mcp" / "index" / f"{acme.id}.json").is_file()


@pytest.mark.parametrize(
    "directory", ["tenants/acme", "tenants", ".image-gen-mcp/index", "{root}/tenants/acme"]
)
async def test_the_unnamed_tenant_cannot_reach_into_tenant_spaces(tmp_path: Path, directory: str) -> None:
    store = FilesystemImageStore(tmp_path / "root")
    await store.for_tenant("acme").save(generated())
    with pytest.raises(InvalidRequest):
        await store.save(generated(), directory=directory.format(root=tmp_path / "root"))


async def test_a_record_pointing_into_a_tenant_space_is_not_served_to_the_unnamed_tenant(
    tmp_path: Path,
) -> None:
    store = FilesystemImageStore(tmp_path / "root")
    theirs = await store.for_tenant("acme").save(generated())
    own = await store.save(generated())
    # A hand-made root index entry that points at acme's file: still not served.
    index = tmp_path / "root" / ".image-gen-mcp" / "index"
    forged = (index / f"{own.id}.json").read_text().replace(str(Path(own.path)), theirs.path)
    (index / f"{own.id}.json").write_text(forged)
    with pytest.raises(ImageNotFound):
        await store.get(own.id)


async def test_an_index_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / ".image-gen-mcp").mkdir(parents=True)
    elsewhere.mkdir()
    (root / ".image-gen-mcp" / "index").symlink_to(elsewhere, target_is_directory=True)
    store = FilesystemImageStore(root)
    with pytest.raises(StorageFailed):
        await store.save(generated())
    assert list(elsewhere.iterdir()) == []
    assert await store.list_recent(5) == []
