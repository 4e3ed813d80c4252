"""FilesystemImageStore: every image saved under one output root, never outside it."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.ports import ImageStore
from domain.errors import ImageNotFound, InvalidRequest, StorageFailed
from domain.images import GeneratedImage, StoredImage
from domain.media import extension_for, sniff_media_type

_ID = re.compile(r"^[0-9a-f]{32}$")
_ROOT_SETTING = "IMAGE_GEN_MCP_OUTPUT_DIR"
# The path itself goes in details.root only: the MCP face shows it over stdio, never over HTTP.
_FIX_ROOT = f"check that the output root ({_ROOT_SETTING}) exists, is writable and has space."
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG_WORDS, _SLUG_CHARS = 6, 40


def prompt_slug(prompt: object) -> str:
    """``"A lighthouse at dusk, oil on canvas"`` → ``"a-lighthouse-at-dusk-oil-on"``: ASCII
    letters and digits joined by hyphens, at most six words and 40 characters, so a name is
    safe on every filesystem and shell; ``"image"`` when nothing is left."""
    import unicodedata

    text = unicodedata.normalize("NFKD", prompt if isinstance(prompt, str) else "")
    words = _NOT_SLUG.sub(" ", text.encode("ascii", "ignore").decode().lower()).split()
    slug = "-".join(words[:_SLUG_WORDS])[:_SLUG_CHARS].strip("-")
    return slug or "image"


def file_name(created: datetime, prompt: object, image_id: str, extension: str, *, full: bool = False) -> str:
    """``20261204-lighthouse-at-dusk-1a2b3c4d.png``: the day, the prompt's slug and the id's
    first 8 hex digits (all of them with ``full``)."""
    return f"{created:%Y%m%d}-{prompt_slug(prompt)}-{image_id if full else image_id[:8]}.{extension}"
_INDEX = ".image-gen-mcp/index"


class FilesystemImageStore(ImageStore):
    """Saves images and JSON sidecars under ``root``.

    * ``directory`` names a folder inside the root: relative, or absolute but inside. ``..``
      segments, absolute paths elsewhere and symlinks that lead out are refused.
    * Writes are atomic (temp file in the same folder, fsync, rename): a reader never sees a
      half-written image, and a failure leaves no partial file behind.
    * The file extension comes from the real bytes, not from what a vendor claimed.
    * An index under ``root/.image-gen-mcp`` maps ids to files, so several server instances
      sharing one root see the same images.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()

    async def check_directory(self, directory: str | None) -> None:
        await asyncio.to_thread(self._target_dir, directory)

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

    def _real_root(self) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return self.root.resolve(strict=True)
        except OSError as exc:
            raise StorageFailed(
                f"The output root cannot be created ({errno.errorcode.get(exc.errno or 0, 'OSError')}); "
                f"{_FIX_ROOT}",
                reason=type(exc).__name__,
                setting=_ROOT_SETTING,
                root=str(self.root),
            ) from None

    def _target_dir(self, directory: str | None, root: Path | None = None) -> Path:
        """The folder to write to, inside ``root`` (the resolved output root, found here when
        not given)."""
        root = root or self._real_root()
        if not directory:
            return root
        if "\x00" in directory or len(directory) > 1024:
            raise InvalidRequest("directory is not a valid path.", option="directory")
        requested = Path(directory).expanduser()
        if ".." in requested.parts:
            raise InvalidRequest(
                "directory must not contain '..'; give a folder inside the output root.",
                option="directory",
            )
        candidate = requested if requested.is_absolute() else root / requested
        # resolve() follows symlinks that already exist, so a link pointing out is caught.
        resolved = candidate.resolve(strict=False)
        if not (resolved == root or resolved.is_relative_to(root)):
            raise InvalidRequest(
                "directory must be inside the output root (IMAGE_GEN_MCP_OUTPUT_DIR); "
                "give a relative folder name.",
                option="directory",
            )
        # Refuse now, before a vendor is paid, a path that runs through an existing file.
        for part in (resolved, *resolved.parents):
            if part == root:
                break
            if part.exists() and not part.is_dir():
                raise InvalidRequest(
                    "directory runs through an existing file; choose another folder name.",
                    option="directory",
                )
        return resolved

    def _save(self, image: GeneratedImage, directory: str | None, metadata: dict[str, Any]) -> StoredImage:
        root = self._real_root()  # once per save: it creates and resolves the folder
        target = self._target_dir(directory, root)
        media_type = sniff_media_type(image.data) or image.media_type
        image_id = uuid.uuid4().hex
        created = datetime.now(UTC)
        path = target / file_name(created, metadata.get("prompt"), image_id, extension_for(media_type))
        if path.exists():  # the same prompt, day and 8 hex digits: the full id keeps it unique
            path = target / file_name(created, metadata.get("prompt"), image_id, path.suffix[1:], full=True)
        record = StoredImage(
            id=image_id,
            media_type=media_type,
            width=image.width,
            height=image.height,
            byte_size=len(image.data),
            sha256=hashlib.sha256(image.data).hexdigest(),
            created_at=created,
            path=str(path),
            metadata=metadata,
        )
        sidecar = _record_json(record)
        try:
            target.mkdir(parents=True, exist_ok=True)
            if not target.resolve().is_relative_to(root):  # raced by a symlink
                raise InvalidRequest("directory left the output root.", option="directory")
            _atomic_write(path, image.data)
            _atomic_write(path.with_suffix(path.suffix + ".json"), sidecar)
            index = root / _INDEX
            index.mkdir(parents=True, exist_ok=True)
            _atomic_write(index / f"{image_id}.json", sidecar)
        except OSError as exc:
            for leftover in (path, path.with_suffix(path.suffix + ".json")):
                with contextlib.suppress(OSError):  # e.g. the folder itself never came to be
                    leftover.unlink(missing_ok=True)
            raise StorageFailed(
                f"The image could not be saved ({errno.errorcode.get(exc.errno or 0, 'OSError')}); "
                f"{_FIX_ROOT}",
                reason=type(exc).__name__,
                setting=_ROOT_SETTING,
                root=str(root),
            ) from None
        return record

    def _get(self, image_id: str) -> tuple[StoredImage, bytes]:
        if not _ID.match(image_id):
            raise ImageNotFound(f"No stored image has id {image_id[:64]!r}.")
        root = self._real_root()
        try:
            record = _record_from_json((root / _INDEX / f"{image_id}.json").read_bytes())
            path = Path(record.path or "").resolve()
            if not path.is_relative_to(root):
                raise ImageNotFound(f"Image {image_id} is no longer inside the output root.")
            return record, path.read_bytes()
        except (OSError, ValueError, KeyError):
            raise ImageNotFound(f"No stored image has id {image_id!r}.") from None

    def _list_recent(self, limit: int) -> list[StoredImage]:
        index = self._real_root() / _INDEX
        if not index.is_dir():
            return []
        entries = sorted(index.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        records = []
        for entry in entries[: max(0, limit)]:
            try:
                records.append(_record_from_json(entry.read_bytes()))
            except (OSError, ValueError, KeyError):
                continue  # a record removed by hand is simply not listed
        return records


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record_json(record: StoredImage) -> bytes:
    return json.dumps(
        {
            "id": record.id,
            "media_type": record.media_type,
            "width": record.width,
            "height": record.height,
            "byte_size": record.byte_size,
            "sha256": record.sha256,
            "created_at": record.created_at.isoformat(),
            "path": record.path,
            "metadata": record.metadata,
        },
        indent=2,
        default=str,
    ).encode()


def _record_from_json(raw: bytes) -> StoredImage:
    data = json.loads(raw)
    return StoredImage(
        id=data["id"],
        media_type=data["media_type"],
        width=int(data["width"]),
        height=int(data["height"]),
        byte_size=int(data["byte_size"]),
        sha256=data["sha256"],
        created_at=datetime.fromisoformat(data["created_at"]),
        path=data.get("path"),
        metadata=data.get("metadata") or {},
    )
