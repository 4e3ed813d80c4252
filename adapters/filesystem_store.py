"""FilesystemImageStore: every image saved under one output root, never outside it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import evolve

from adapters.safe_paths import (
    UnsafePath,
    atomic_write,
    existing_prefix_is_folders,
    open_top,
    read_file,
    relative_parts,
    walk,
)
from adapters.store_records import (
    IMAGE_ID,
    new_record,
    record_from_json,
    record_json,
    requested_directory,
    slugged_name,
)
from application.ports import ImageStore
from domain.errors import ImageNotFound, InvalidRequest, StorageFailed
from domain.images import GeneratedImage, StoredImage
from domain.tenants import UNNAMED, checked_tenant

_INDEX = (".image-gen-mcp", "index")
TENANTS = "tenants"
# First folder names a ``directory`` may not start with: the index, and the tenants' folders
# (so the unnamed tenant cannot write into, or read by id from, another tenant's space).
_RESERVED = frozenset({_INDEX[0], TENANTS})
_MAX_RECORD = 1 << 20
_MAX_IMAGE = 1 << 31


_ROOT_SETTING = "IMAGE_GEN_MCP_OUTPUT_DIR"
# The path itself goes in details.root only: the MCP face shows it over stdio, never over HTTP.
_FIX_ROOT = f"check that the output root ({_ROOT_SETTING}) exists, is writable and has space."


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "OSError")


class FilesystemImageStore(ImageStore):
    """Saves images and JSON sidecars under ``root``.

    * ``directory`` names a folder inside the tenant's space: relative, or absolute but inside.
      ``..`` segments, absolute paths elsewhere and symlinks anywhere below the root are refused.
    * Every folder below the root is walked by descriptor without following symlinks, and files
      are created and renamed relative to their folder's descriptor (see
      :mod:`adapters.safe_paths`): swapping a folder for a symlink mid-call cannot redirect a
      write or a read outside the root.
    * Writes are atomic (temp file in the same folder, fsync, rename): a reader never sees a
      half-written image, and a failure leaves no partial file behind.
    * The file extension comes from the real bytes, not from what a vendor claimed.
    * An index under ``<space>/.image-gen-mcp/index`` maps ids to files, so several server
      instances sharing one root see the same images.

    Layout: the unnamed tenant's space is ``root`` itself (the single-user layout);
    :meth:`for_tenant` gives a view whose space is ``root/tenants/<tenant>``.
    """

    def __init__(self, root: Path | str, *, tenant: str = UNNAMED) -> None:
        self.root = Path(root).expanduser().absolute()
        self.tenant = checked_tenant(tenant)
        self._space: tuple[str, ...] = (TENANTS, tenant) if tenant else ()

    def for_tenant(self, tenant: str) -> FilesystemImageStore:
        if tenant == self.tenant:
            return self
        return FilesystemImageStore(self.root, tenant=tenant)

    async def check_directory(self, directory: str | None) -> None:
        await asyncio.to_thread(self._check_directory, directory)

    async def save(
        self,
        image: GeneratedImage,
        *,
        directory: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StoredImage:
        return await asyncio.to_thread(self._save, image, directory, dict(metadata or {}))

    async def get(self, image_id: str) -> tuple[StoredImage, bytes]:
        return await asyncio.to_thread(self._get, image_id)

    async def list_recent(self, limit: int = 20) -> list[StoredImage]:
        return await asyncio.to_thread(self._list_recent, limit)

    # -- blocking parts, run in worker threads ------------------------------------------

    def _space_paths(self) -> tuple[Path, Path]:
        """The tenant's space as configured and with the root's symlinks resolved (records
        written before this layout carry the resolved form)."""
        return self.root.joinpath(*self._space), self.root.resolve().joinpath(*self._space)

    def _open_root(self, stack: contextlib.ExitStack) -> int:
        try:
            return stack.enter_context(open_top(str(self.root), create=True))
        except OSError as exc:
            raise self._storage_failed("The output root cannot be created", exc) from None

    def _storage_failed(self, what: str, exc: OSError) -> StorageFailed:
        return StorageFailed(
            f"{what} ({_errno_name(exc)}); {_FIX_ROOT}",
            reason=type(exc).__name__,
            setting=_ROOT_SETTING,
            root=str(self.root),
        )

    def _target_parts(self, directory: str | None) -> tuple[str, ...]:
        """``directory`` as folder names below the tenant's space; refuses what leaves it."""
        requested = requested_directory(directory)
        if requested is None:
            return ()
        parts = self._parts_inside(str(requested)) if requested.is_absolute() else _parts(str(requested))
        if parts is None:
            raise InvalidRequest(
                "directory must be inside the output root (IMAGE_GEN_MCP_OUTPUT_DIR); "
                "give a relative folder name.",
                option="directory",
            )
        if parts and parts[0] in _RESERVED:
            raise InvalidRequest(
                f"directory must not start with {parts[0]!r}: the store keeps that folder for itself.",
                option="directory",
            )
        return parts

    def _parts_inside(self, path: str) -> tuple[str, ...] | None:
        """Folder names of absolute ``path`` below the tenant's space, or None when outside."""
        for base in self._space_paths():
            with contextlib.suppress(ValueError):
                return _parts(str(Path(path).relative_to(base)))
        return None

    def _check_directory(self, directory: str | None) -> None:
        parts = self._target_parts(directory)
        with contextlib.ExitStack() as stack:
            top = self._open_root(stack)
            # Refuse now, before a vendor is paid, a path that runs through a file or a link.
            if not existing_prefix_is_folders(top, (*self._space, *parts)):
                raise _through_a_file()

    def _save(self, image: GeneratedImage, directory: str | None, metadata: dict[str, Any]) -> StoredImage:
        parts = self._target_parts(directory)
        record = new_record(image, metadata)
        image_id = record.id
        with contextlib.ExitStack() as stack:
            top = self._open_root(stack)
            target = -1
            name = ""
            try:
                space = stack.enter_context(walk(top, self._space, create=True))
                try:
                    target = stack.enter_context(walk(space, parts, create=True))
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a link or a file, maybe swapped in
                        raise _through_a_file() from None
                    raise
                name = slugged_name(record)
                if _exists(name, target):  # the same day, prompt and 8 hex digits: the full id
                    name = slugged_name(record, full=True)
                record = evolve(record, path=str(self._space_paths()[1].joinpath(*parts, name)))
                sidecar = record_json(record)
                atomic_write(target, name, image.data)
                atomic_write(target, name + ".json", sidecar)
                # The index is walked like any folder: an index folder that is a symlink fails.
                index = stack.enter_context(walk(space, _INDEX, create=True))
                atomic_write(index, f"{image_id}.json", sidecar)
            except OSError as exc:
                for leftover in (name, name + ".json") if target >= 0 and name else ():
                    with contextlib.suppress(OSError):
                        os.unlink(leftover, dir_fd=target)
                raise self._storage_failed("The image could not be saved", exc) from None
        return record

    def _get(self, image_id: str) -> tuple[StoredImage, bytes]:
        if not IMAGE_ID.match(image_id):
            raise ImageNotFound(f"No stored image has id {image_id[:64]!r}.")
        try:
            with (
                open_top(str(self.root)) as top,
                walk(top, self._space) as space,
                walk(space, _INDEX) as index,
            ):
                record, _ = record_from_json(read_file(index, f"{image_id}.json", _MAX_RECORD))
                parts = self._parts_inside(record.path or "")
                if record.id != image_id or not parts or (not self._space and parts[0] in _RESERVED):
                    raise KeyError(image_id)  # a record that points elsewhere is not this tenant's
                with walk(space, parts[:-1]) as folder:
                    return record, read_file(folder, parts[-1], _MAX_IMAGE)
        except (OSError, ValueError, KeyError, TypeError):
            raise ImageNotFound(f"No stored image has id {image_id!r}.") from None

    def _list_recent(self, limit: int) -> list[StoredImage]:
        records: list[StoredImage] = []
        with contextlib.ExitStack() as stack:
            try:
                top = stack.enter_context(open_top(str(self.root)))
                space = stack.enter_context(walk(top, self._space))
                index = stack.enter_context(walk(space, _INDEX))
                names = [n for n in os.listdir(index) if n.endswith(".json") and IMAGE_ID.match(n[:-5])]
            except OSError:
                return []  # nothing saved yet (or the index is not a plain folder)
            dated = []
            for entry in names:
                with contextlib.suppress(OSError):  # removed while listing
                    dated.append((os.stat(entry, dir_fd=index, follow_symlinks=False).st_mtime_ns, entry))
            for _, entry in sorted(dated, reverse=True)[: max(0, limit)]:
                try:
                    records.append(record_from_json(read_file(index, entry, _MAX_RECORD))[0])
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # a record removed by hand is simply not listed
        return records


def _parts(relative: str) -> tuple[str, ...] | None:
    try:
        return relative_parts(relative)
    except UnsafePath:
        return None


def _exists(name: str, folder: int) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _through_a_file() -> InvalidRequest:
    return InvalidRequest(
        "directory runs through an existing file or a symlink; choose another folder name.",
        option="directory",
    )
