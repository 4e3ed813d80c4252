"""Turn the ``images``/``mask`` strings of a tool call into checked image bytes.

Accepted forms: ``data:image/...;base64,...``, bare base64, ``image://{id}`` or a bare id of
an image this server stored (edit by reference), and ``https://`` URLs when a fetcher is
configured. Magic bytes decide the type; size caps apply before decoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable

from application.ports import ImageStore
from domain.errors import ImageNotFound, InvalidRequest
from domain.images import ImageData

Fetch = Callable[[str], Awaitable[bytes]]

_ID = re.compile(r"^[0-9a-f]{32}$")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,", re.I)
_BASE64_CHARS = re.compile(r"^[A-Za-z0-9+/=_-]+$")


class ImageInputReader:
    """Decodes one input string; raises InvalidRequest / ImageNotFound with the field named."""

    def __init__(self, store: ImageStore, max_bytes: int, fetch: Fetch | None = None) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.fetch = fetch

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
        if lowered.startswith(("https://", "http://")):
            return await self._url(text, field)
        if lowered.startswith("file:") or text.startswith(("/", "./", "../", "~")):
            raise InvalidRequest(
                f"{field}: local files are not read; send the image as a data URL or base64, "
                "or as image://{id} for an image this server made.",
                option=field,
            )
        match = _DATA_URL.match(text[:200])
        payload = text[match.end() :] if match else text
        if not match and text[:5].lower() == "data:":
            raise InvalidRequest(f"{field}: only base64 data URLs are accepted.", option=field)
        return self._decode_base64(payload, field)

    def _decode_base64(self, payload: str, field: str) -> ImageData:
        # Cap before decoding: base64 is 4/3 of the bytes it carries.
        if len(payload) > self.max_bytes * 4 // 3 + 4:
            raise InvalidRequest(
                f"{field} is larger than {self.max_bytes} bytes.", option=field, limit=self.max_bytes
            )
        compact = re.sub(r"\s+", "", payload)
        if not _BASE64_CHARS.match(compact):
            raise InvalidRequest(
                f"{field} is neither a data URL, base64, an image id nor an https URL.",
                option=field,
            )
        try:
            if "-" in compact or "_" in compact:
                data = base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
            else:
                data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"{field} is not valid base64.", option=field) from None
        return self._checked(data, field)

    def _checked(self, data: bytes, field: str, source_id: str | None = None) -> ImageData:
        if len(data) > self.max_bytes:
            raise InvalidRequest(
                f"{field} is larger than {self.max_bytes} bytes.", option=field, limit=self.max_bytes
            )
        try:
            return ImageData.from_bytes(data, source_id=source_id)
        except InvalidRequest as exc:
            raise InvalidRequest(f"{field}: {exc.message}", option=field) from None

    async def _stored(self, image_id: str, field: str) -> ImageData:
        try:
            _, data = await self.store.get(image_id)
        except ImageNotFound as exc:
            raise ImageNotFound(f"{field}: {exc.message}", option=field) from None
        return self._checked(data, field, source_id=image_id)

    async def _url(self, url: str, field: str) -> ImageData:
        if self.fetch is None:
            raise InvalidRequest(
                f"{field}: fetching URLs is switched off on this server "
                "(IMAGE_GEN_MCP_ALLOW_URLS); send a data URL or base64.",
                option=field,
            )
        return self._checked(await self.fetch(url), field)
