"""Folders swapped for symlinks while calls run: nothing is ever written or read outside.

A thread flips a folder between the real one and a symlink to an outside folder as fast as it
can, for about a second, while saves, reads by id and local-input reads run against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.filesystem_store import FilesystemImageStore
from adapters.local_files import LocalFileReader
from adapters.png import solid_png
from domain.errors import ImageNotFound, InvalidRequest, StorageFailed
from tests.contract.store_contract import generated

SWAP_SECONDS = 1.0


@contextlib.contextmanager
def swapping(folder: Path, outside: Path) -> Iterator[None]:
    """Flip ``folder`` between itself and a symlink to ``outside`` until the block ends."""
    real = folder.with_name(folder.name + ".real")
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                os.rename(folder, real)
            with contextlib.suppress(OSError):
                os.symlink(outside, folder, target_is_directory=True)
            time.sleep(0)
            if folder.is_symlink():
                with contextlib.suppress(OSError):
                    os.unlink(folder)
            with contextlib.suppress(OSError):
                os.rename(real, folder)

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def everything_under(folder: Path) -> list[Path]:
    return list(folder.rglob("*"))


async def test_saves_never_land_outside_while_folders_are_swapped(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    store = FilesystemImageStore(root)
    await store.save(generated(), directory="d")  # the folders exist before the swapping starts
    saved = refused = 0
    with swapping(root / "d", outside), swapping(root / ".image-gen-mcp", outside):
        deadline = time.monotonic() + SWAP_SECONDS
        while time.monotonic() < deadline:
            results = await asyncio.gather(
                *(store.save(generated(), directory="d/e") for _ in range(4)), return_exceptions=True
            )
            for result in results:
                if isinstance(result, InvalidRequest | StorageFailed):
                    refused += 1
                elif isinstance(result, BaseException):
                    raise result
                else:
                    saved += 1
                    assert Path(result.path).is_relative_to(root.resolve())
    assert everything_under(outside) == []
    assert saved + refused > 0


async def test_reads_by_id_never_serve_a_file_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    store = FilesystemImageStore(root)
    image = generated()
    record = await store.save(image, directory="d")
    outside.mkdir()
    decoy = solid_png(8, 4, (255, 0, 0, 255))
    (outside / Path(record.path).name).write_bytes(decoy)
    attempts = 0
    with swapping(root / "d", outside):
        deadline = time.monotonic() + SWAP_SECONDS
        while time.monotonic() < deadline:
            attempts += 1
            try:
                _, data = await store.get(record.id)
            except ImageNotFound:
                continue  # the folder was a symlink just then: refused, not followed
            assert data == image.data
    assert attempts > 0
    assert (await store.get(record.id))[1] == image.data  # once the swapping stops, served again


@pytest.mark.parametrize("spelling", ["./sub/ok.png", "{inside}/sub/ok.png", "file://{inside}/sub/ok.png"])
async def test_local_inputs_never_read_a_file_outside(tmp_path: Path, spelling: str) -> None:
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    (inside / "sub").mkdir(parents=True)
    outside.mkdir()
    allowed, secret = solid_png(4, 4), solid_png(4, 4, (1, 2, 3, 255))
    (inside / "sub" / "ok.png").write_bytes(allowed)
    (outside / "ok.png").write_bytes(secret)
    read = LocalFileReader(inside, 4096)
    path = spelling.format(inside=inside)
    with swapping(inside / "sub", outside):
        deadline = time.monotonic() + SWAP_SECONDS / 3
        while time.monotonic() < deadline:
            try:
                data = await read(path, "images[0]")
            except InvalidRequest:
                continue
            assert data == allowed
