"""Immutable values that flow through the use cases: requests, images, stored records."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

from domain.errors import InvalidRequest
from domain.media import sniff_media_type
from domain.options import Background, Orientation, OutputFormat, Quality, SizeTier


@frozen(repr=False)
class ImageData:
    """Raw image bytes with the media type their magic bytes prove.

    ``source_id`` is set when the bytes were read back from the store (edit by reference),
    so that lineage can be recorded. ``width``/``height`` are known once the image was checked;
    an edit keeps the first input's shape when no orientation is asked for.
    """

    data: bytes
    media_type: str
    source_id: str | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        source_id: str | None = None,
    ) -> ImageData:
        """Raises InvalidRequest when the bytes are not a PNG, JPEG, WebP or GIF image."""
        media_type = sniff_media_type(data)
        if media_type is None:
            raise InvalidRequest("The data is not a PNG, JPEG, WebP or GIF image.")
        return cls(data=data, media_type=media_type, source_id=source_id)

    def __repr__(self) -> str:  # never dump megabytes into logs or tracebacks
        return f"ImageData({self.media_type}, {len(self.data)} bytes)"


@frozen
class ImageRequest:
    """What the caller asked for, in the seed's vocabulary, before normalization.

    An edit carries ``images`` (at least one) and optionally a ``mask``; a generation carries
    neither. ``provider`` and ``model`` may be None: the router then picks the defaults.
    """

    prompt: str
    provider: str | None = None
    model: str | None = None
    n: int = 1
    size: SizeTier | None = None
    orientation: Orientation | None = None
    aspect_ratio: str | None = None
    quality: Quality | None = None
    background: Background | None = None
    negative_prompt: str | None = None
    output_format: OutputFormat | None = None
    output_compression: int | None = None
    images: tuple[ImageData, ...] = ()
    mask: ImageData | None = None
    strict: bool = False
    directory: str | None = None

    @property
    def is_edit(self) -> bool:
        return bool(self.images)


@frozen
class Usage:
    """Token counts as the vendor reported them (None when it did not)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            add(self.input_tokens, other.input_tokens),
            add(self.output_tokens, other.output_tokens),
            add(self.total_tokens, other.total_tokens),
        )

    def as_dict(self) -> dict[str, int]:
        return {
            k: v
            for k, v in (
                ("input_tokens", self.input_tokens),
                ("output_tokens", self.output_tokens),
                ("total_tokens", self.total_tokens),
            )
            if v is not None
        }


@frozen(repr=False)
class GeneratedImage:
    """One image a provider made: bytes, their real media type and pixel size."""

    data: bytes
    media_type: str
    width: int
    height: int
    provider: str
    model: str

    def __repr__(self) -> str:
        return (
            f"GeneratedImage({self.provider}/{self.model}, {self.media_type}, "
            f"{self.width}x{self.height}, {len(self.data)} bytes)"
        )

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@frozen
class ProviderResult:
    """What one provider call returned: the images, usage, and what the vendor actually used."""

    images: tuple[GeneratedImage, ...]
    usage: Usage = Usage()
    used: Mapping[str, Any] = field(factory=dict)
    warnings: tuple[str, ...] = ()


@frozen
class StoredImage:
    """An image as the store keeps it: a stable id, its metadata, and where it lives."""

    id: str
    media_type: str
    width: int
    height: int
    byte_size: int
    sha256: str
    created_at: datetime
    path: str | None = None
    metadata: Mapping[str, Any] = field(factory=dict)
