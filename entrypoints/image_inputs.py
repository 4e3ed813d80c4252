"""Turn the ``images``/``mask`` strings of a tool call into checked image bytes.

Accepted forms: ``data:image/...;base64,...``, bare base64, ``image://{id}`` or a bare id of
an image this server stored (edit by reference), ``https://`` URLs when a fetcher is
configured, and local paths or ``file://`` URLs only inside the operator's folder
(``IMAGE_GEN_MCP_LOCAL_INPUT_DIR``). Magic bytes decide the type; size caps apply before
decoding, then every image is decoded once in a worker thread (truncated, corrupt, oversized
and polyglot files are refused) before anything is sent to a vendor.
"""

from __future__ import annotations

import binascii
import re
from typing import Protocol

import attrs
import pybase64

from application.ports import ImageStore
from domain.errors import ImageNotFound, InvalidRequest
from domain.images import ImageData
from domain.media import MAX_PIXELS, sniff_media_type
from entrypoints.decode_pool import DecodePool
from entrypoints.image_checks import verify_image


class Fetch(Protocol):
    """Downloads a URL; raises InvalidRequest naming ``field`` when it refuses or fails."""

    async def __call__(self, url: str, field: str = ...) -> bytes: ...


class ReadLocal(Protocol):
    """Reads a local path or ``file://`` URL inside the operator's folder (at most the byte cap
    plus one); raises InvalidRequest naming ``field``, with one message for every refusal."""

    async def __call__(self, path: str, field: str) -> bytes: ...


_ID = re.compile(r"^[0-9a-f]{32}$")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,", re.I)
_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/=_-]+$")
_WHITESPACE = b" \t\n\r\v\f"
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://", re.I)
_LOCAL_PREFIXES = ("/", "./", "../", "~", "\\", ".\\", "..\\")


def _base64_image_prefix(text: str) -> bool:
    """True when ``text`` opens like bare base64 of an image. A JPEG's base64 starts with
    ``/9j/``, which would otherwise read as an absolute path."""
    head = text[:16]
    if len(head) < 16 or not _BASE64_CHARS.match(head):
        return False
    try:
        return sniff_media_type(pybase64.b64decode(head)) is not None
    except (binascii.Error, ValueError):
        return False


class ImageInputReader:
    """Decodes one input string; raises InvalidRequest / ImageNotFound with the field named.

    ``read_local`` is the operator's opt-in for local files (paths and ``file://`` URLs inside
    ``IMAGE_GEN_MCP_LOCAL_INPUT_DIR``); without it every local path is refused.
    """

    def __init__(
        self,
        store: ImageStore,
        max_bytes: int,
        fetch: Fetch | None = None,
        *,
        max_pixels: int = MAX_PIXELS,
        read_local: ReadLocal | None = None,
        pool: DecodePool | None = None,
    ) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.fetch = fetch
        self.max_pixels = max_pixels
        self.read_local = read_local
        # Decoding (base64 and pixels) runs here, never on the event loop, and never more
        # than pool.workers at a time: that bounds the memory of decoded buffers.
        self.pool = pool or DecodePool()

    async def read_all(
        self, images: list[str], mask: str | None
    ) -> tuple[tuple[ImageData, ...], ImageData | None]:
        decoded = tuple([await self.read(value, f"images[{i}]") for i, value in enumerate(images)])
        return decoded, (await self.read(mask, "mask") if mask else None)

    async def read(self, value: str, field: str) -> ImageData:
        text = value.strip()
        if not text:
            raise InvalidRequest(f"{field} is empty.", option=field)
        if text.startswith("image://"):
            return await self._stored(text.removeprefix("image://").split("/")[0], field)
        if _ID.match(text):
            return await self._stored(text, field)
        lowered = text[:16].lower()
        if lowered.startswith("file:") or (
            text.startswith(_LOCAL_PREFIXES) and not _base64_image_prefix(text)
        ):
            return await self._local(text, field)
        if lowered.startswith(("https://", "http://")):
            return await self._url(text, field)
        if _URL_SCHEME.match(text):
            raise InvalidRequest(f"{field}: only https URLs are fetched.", option=field, reason="scheme")
        match = _DATA_URL.match(text[:200])
        payload = text[match.end() :] if match else text
        if not match and text[:5].lower() == "data:":
            raise InvalidRequest(f"{field}: only base64 data URLs are accepted.", option=field)
        # Megabytes of base64: checked and decoded in a worker thread, not on the event loop.
        data = await self.pool.run(self._decode_base64, payload, field)
        return await self._checked(data, field)

    async def read_upload(self, data: bytes, field: str) -> ImageData:
        """Check the bytes of an uploaded file (a multipart part) like any other input."""
        return await self._checked(data, field)

    def _too_large(self, field: str) -> InvalidRequest:
        return InvalidRequest(
            f"{field} is larger than {self.max_bytes} bytes.", option=field, limit=self.max_bytes
        )

    def _decode_base64(self, payload: str, field: str, *, stop: object = None) -> bytes:
        # Cap before decoding: base64 is 4/3 of the bytes it carries.
        if len(payload) > self.max_bytes * 4 // 3 + 4:
            raise self._too_large(field)
        not_base64 = InvalidRequest(
            f"{field} is neither a data URL, base64, an image id nor an https URL.", option=field
        )
        try:
            raw = payload.encode("ascii")
        except UnicodeEncodeError:
            raise not_base64 from None
        # One C-level pass each: drop whitespace, map the URL-safe alphabet, check the
        # alphabet. (str.split() would build one string object per line or character.)
        compact = raw.translate(_URLSAFE_TO_STANDARD, _WHITESPACE)
        if not compact or compact.translate(None, _BASE64_ALPHABET):
            raise not_base64
        try:
            return pybase64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"{field} is not valid base64.", option=field) from None

    async def _checked(
        self,
        data: bytes,
        field: str,
        source_id: str | None = None,
        *,
        trusted_size: tuple[int, int] | None = None,
    ) -> ImageData:
        """Size cap, magic bytes, then (for anything a caller sent) a full decode check.
        Bytes with a ``trusted_size`` are this server's own stored outputs: they skip the decode
        check, their size is known."""
        if len(data) > self.max_bytes:
            raise self._too_large(field)
        try:
            image = ImageData.from_bytes(data, source_id=source_id)
            size = trusted_size or await self.pool.run(verify_image, data, image.media_type, self.max_pixels)
        except InvalidRequest as exc:
            raise InvalidRequest(f"{field}: {exc.message}", **{**exc.details, "option": field}) from None
        return attrs.evolve(image, width=size[0], height=size[1])

    async def _stored(self, image_id: str, field: str) -> ImageData:
        try:
            record, data = await self.store.get(image_id)
        except ImageNotFound as exc:
            raise ImageNotFound(f"{field}: {exc.message}", option=field) from None
        return await self._checked(
            data, field, source_id=image_id, trusted_size=(record.width, record.height)
        )

    async def _url(self, url: str, field: str) -> ImageData:
        if self.fetch is None:
            raise InvalidRequest(
                f"{field}: fetching URLs is switched off on this server "
                "(IMAGE_GEN_MCP_ALLOW_URLS); send a data URL or base64.",
                option=field,
            )
        return await self._checked(await self.fetch(url, field), field)

    async def _local(self, text: str, field: str) -> ImageData:
        if self.read_local is None:
            raise InvalidRequest(
                f"{field}: local files are not read; send the image as a data URL or base64, "
                "or as image://{id} for an image this server made (an operator may allow one "
                "folder with IMAGE_GEN_MCP_LOCAL_INPUT_DIR).",
                option=field,
            )
        return await self._checked(await self.read_local(text, field), field)
