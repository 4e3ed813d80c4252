"""ObjectImageStore: every image and its record in an object-storage bucket (S3-compatible or
Google Cloud Storage), through obstore's async client.

Key layout under the store's prefix ``P`` (empty when the URL names none):

* ``P/{directory}/{YYYYmmdd-HHMMSS}-{id}.{ext}`` the image bytes, written first;
* ``P/.image-gen-mcp/records/{id}.json`` the record ``get`` reads: written second, it is what
  makes the image exist, so a reader never meets a record whose image is missing;
* ``P/.image-gen-mcp/recent/{inverted µs}-{id}.json`` the same record under a key that sorts
  newest first, so ``list_recent(n)`` is one LIST page plus n GETs, whatever the bucket holds;
* ``P/tenants/{tenant}/…`` the same layout again for each named tenant (``for_tenant``).

``directory`` and the ids of the unnamed tenant can never reach ``.image-gen-mcp/`` or
``tenants/``: those first segments are refused, and ids are 32 hex digits.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.store_records import (
    IMAGE_ID,
    image_name,
    new_record,
    record_from_json,
    record_json,
    requested_directory,
)
from application.ports import ImageStore
from domain.errors import ImageNotFound, InvalidRequest, StorageFailed
from domain.images import GeneratedImage, StoredImage
from domain.tenants import checked_tenant

if TYPE_CHECKING:
    from obstore.store import ObjectStore

log = logging.getLogger(__name__)

_META = ".image-gen-mcp"
_TENANTS = "tenants"
_RESERVED = frozenset({_META, _TENANTS})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVERT_FROM = 10**17  # microseconds: the inverted stamp keeps 17 digits until the year 5138
_PARALLEL_READS = 16  # GETs in flight for one listing
_S3_CODE = re.compile(r"<Code>([A-Za-z]{1,64})</Code>")
_STATUS = re.compile(r"status code: (\d{3})")


class ObjectImageStore(ImageStore):
    """Images in a bucket under a key prefix; see the module docstring for the key layout.

    ``backend`` is an obstore store opened on the whole bucket (the prefix is applied here, so
    tenant views share its connection pool). ``root`` is the prefix of the unnamed tenant;
    ``prefix`` this view's own (``root`` itself, or ``root/tenants/{tenant}``).
    """

    def __init__(self, backend: ObjectStore, prefix: str = "", *, root: str | None = None) -> None:
        self._backend = backend
        self._prefix = prefix.strip("/")
        self._root = self._prefix if root is None else root.strip("/")

    @property
    def prefix(self) -> str:
        return self._prefix

    def for_tenant(self, tenant: str) -> ObjectImageStore:
        """The view of one tenant: ``{root}/tenants/{tenant}/``; the unnamed tenant ("") is the
        root store. Tenant names follow :func:`domain.tenants.checked_tenant` (one key segment)."""
        if not checked_tenant(tenant):
            return self if self._prefix == self._root else ObjectImageStore(self._backend, self._root)
        return ObjectImageStore(self._backend, _join(self._root, _TENANTS, tenant), root=self._root)

    async def check_directory(self, directory: str | None) -> None:
        self._folder(directory)

    async def check_ready(self) -> None:
        """One listing request of at most one key under this view's prefix: it fails when the
        endpoint is unreachable, the credentials are refused or the bucket is missing, and
        succeeds on an empty bucket (unlike a HEAD of some key, whose 404 says neither)."""
        await self._recent_keys(1, "The bucket could not be listed")

    async def save(
        self,
        image: GeneratedImage,
        *,
        directory: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StoredImage:
        folder = self._folder(directory)
        # Hashing and JSON of a multi-megabyte image are CPU work: kept off the event loop.
        record, key, body = await asyncio.to_thread(self._record, image, folder, dict(metadata or {}))
        writes = (
            (key, image.data, record.media_type),
            (self._record_key(record.id), body, "application/json"),
            (self._recent_key(record), body, "application/json"),
        )
        # A caller cancelled mid-save (a client gone, a deadline) must not leave an image half
        # published: the writes run to their end in a task of their own, as the filesystem
        # store's worker thread does.
        publishing = asyncio.ensure_future(self._publish(writes))
        publishing.add_done_callback(_consume)
        await asyncio.shield(publishing)
        return record

    async def _publish(self, writes: tuple[tuple[str, bytes, str], ...]) -> None:
        """Write, then publish: the image, then the record that makes it visible, then its
        listing entry. Each PUT is atomic in object storage, so nothing is ever half-written;
        when one is refused, what went in before it is removed again."""
        import obstore

        written: list[str] = []
        try:
            for target, data, content_type in writes:
                await obstore.put_async(
                    self._backend, target, data, attributes={"Content-Type": content_type}
                )
                written.append(target)
        except _store_errors() as exc:
            await self._delete_quietly(written)
            raise _failure(exc, "The image could not be saved") from None

    async def get(self, image_id: str) -> tuple[StoredImage, bytes]:
        if not IMAGE_ID.match(image_id):
            raise ImageNotFound(f"No stored image has id {image_id[:64]!r}.")
        raw = await self._read(self._record_key(image_id), image_id)
        try:
            record, fields = record_from_json(raw)
            key = str(fields["key"])
        except (ValueError, KeyError):
            raise ImageNotFound(f"No stored image has id {image_id!r}.") from None
        if record.id != image_id or not self._owns(key):
            raise ImageNotFound(f"No stored image has id {image_id!r}.")
        return record, await self._read(key, image_id)

    async def list_recent(self, limit: int = 20) -> list[StoredImage]:
        import obstore

        if limit <= 0:
            return []
        keys = await self._recent_keys(limit, "The recent images could not be listed")
        gate = asyncio.Semaphore(_PARALLEL_READS)

        async def entry(key: str) -> StoredImage | None:
            async with gate:
                try:
                    result = await obstore.get_async(self._backend, key)
                    return record_from_json(bytes(await result.bytes_async()))[0]
                except (*_store_errors(), KeyError):
                    return None  # removed between the listing and the read: simply not listed

        records = await asyncio.gather(*(entry(key) for key in sorted(keys)[:limit]))
        return [record for record in records if record is not None]

    async def _recent_keys(self, limit: int, failure: str) -> list[str]:
        """Up to about ``limit`` keys of the recent listing, in one request for a small limit;
        ``failure`` names what could not be done when the bucket refuses."""
        import obstore

        keys: list[str] = []
        try:
            # Keys come back in lexical order, which the inverted stamp makes newest first:
            # the first page holds the answer, however many images the bucket keeps.
            stream = obstore.list(self._backend, prefix=self._meta_key("recent") + "/", chunk_size=limit)
            async for chunk in stream:
                keys.extend(entry["path"] for entry in chunk)
                if len(keys) >= limit:
                    break
        except _store_errors() as exc:
            raise _failure(exc, failure) from None
        return keys

    # -- keys --------------------------------------------------------------------------

    def _folder(self, directory: str | None) -> str:
        """``directory`` as a key prefix under this store's prefix, after the shared rule."""
        requested = requested_directory(directory)
        if requested is None:
            return ""
        if requested.is_absolute():
            raise InvalidRequest(
                "directory must be a relative folder name: images are kept in a bucket "
                "(IMAGE_GEN_MCP_STORE_URL), not in a local folder.",
                option="directory",
            )
        parts = requested.parts
        if parts and parts[0] in _RESERVED:
            raise InvalidRequest(
                f"directory must not start with {parts[0]!r}: the store keeps that prefix for itself.",
                option="directory",
            )
        if any(ord(char) < 0x20 or char == "\x7f" for part in parts for char in part):
            raise InvalidRequest("directory must not hold control characters.", option="directory")
        return "/".join(parts)

    def _record(
        self, image: GeneratedImage, folder: str, metadata: dict[str, Any]
    ) -> tuple[StoredImage, str, bytes]:
        record = new_record(image, metadata)  # path stays None: results show the image:// URI
        key = _join(self._prefix, folder, image_name(record))
        return record, key, record_json(record, key=key)

    def _meta_key(self, *parts: str) -> str:
        return _join(self._prefix, _META, *parts)

    def _record_key(self, image_id: str) -> str:
        return self._meta_key("records", f"{image_id}.json")

    def _recent_key(self, record: StoredImage) -> str:
        micros = (record.created_at - _EPOCH) // timedelta(microseconds=1)
        return self._meta_key("recent", f"{_INVERT_FROM - micros:017d}-{record.id}.json")

    def _owns(self, key: str) -> bool:
        """Whether ``key`` (read from a record) is an image key of this view, not of another
        tenant's and not of the store's own bookkeeping."""
        inside = key[len(self._prefix) + 1 :] if self._prefix else key
        if self._prefix and not key.startswith(self._prefix + "/"):
            return False
        return bool(inside) and inside.split("/", 1)[0] not in _RESERVED

    # -- I/O ---------------------------------------------------------------------------

    async def _read(self, key: str, image_id: str) -> bytes:
        import obstore

        try:
            result = await obstore.get_async(self._backend, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            raise ImageNotFound(f"No stored image has id {image_id!r}.") from None
        except _store_errors() as exc:
            raise _failure(exc, "The image could not be read") from None

    async def _delete_quietly(self, keys: list[str]) -> None:
        """Best effort: an unpublished image is invisible anyway; this only saves the space."""
        import obstore

        for key in reversed(keys):
            try:
                await obstore.delete_async(self._backend, key)
            except _store_errors():
                log.warning("An unpublished object could not be removed from the bucket.")


def _consume(task: asyncio.Future[None]) -> None:
    """Retrieve the outcome of a save whose caller was cancelled (it was logged already)."""
    if not task.cancelled():
        task.exception()


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _store_errors() -> tuple[type[Exception], ...]:
    from obstore.exceptions import BaseError

    # NotFound arrives as FileNotFoundError, connection faults as OSError subclasses, and a key
    # obstore cannot encode as ValueError.
    return (BaseError, OSError, ValueError)


def _failure(exc: Exception, what: str) -> StorageFailed:
    """A coded error naming what the bucket said (its S3 error code and HTTP status), never the
    raw message: it holds the endpoint URL and the request, not for clients to see."""
    text = str(exc)
    code = _S3_CODE.search(text)
    status = _STATUS.search(text)
    reason = code.group(1) if code else type(exc).__name__
    details: dict[str, Any] = {"reason": reason}
    if status:
        details["status"] = int(status.group(1))
    log.warning("%s: %s%s", what, reason, f" (HTTP {details['status']})" if status else "")
    return StorageFailed(f"{what}: the bucket refused or could not be reached ({reason}).", **details)
