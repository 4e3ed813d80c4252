"""Pillow helpers shared by adapters. Pillow is imported on first use, not at start-up."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import attrs

from domain.errors import InvalidRequest
from domain.images import ImageData
from domain.media import MAX_PIXELS, sniff_media_type

if TYPE_CHECKING:
    from PIL import Image


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open (lazily: only the header is read) and check the pixel count before decoding.

    Raises InvalidRequest for bytes that are not an image, or one larger than ``max_pixels``.
    """
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own bomb guard, at our limit
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise InvalidRequest(f"The image cannot be read: {type(exc).__name__}.") from None
    if image.width * image.height > max_pixels:
        raise InvalidRequest(
            f"The image is {image.width}x{image.height}; at most {max_pixels} pixels are allowed.",
            limit=max_pixels,
        )
    return image


def image_size(data: bytes) -> tuple[str, int, int]:
    """(media type from magic bytes, width, height). Raises InvalidRequest for non-images."""
    media_type = sniff_media_type(data)
    if media_type is None:
        raise InvalidRequest("The data is not a PNG, JPEG, WebP or GIF image.")
    image = open_image(data)
    return media_type, image.width, image.height


def encode(image: Image.Image, fmt: str, *, quality: int | None = None) -> bytes:
    """Encode to png, jpeg or webp; jpeg drops alpha onto white."""
    from PIL import Image

    out = io.BytesIO()
    if fmt == "jpeg" and image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    options: dict[str, object] = {}
    if quality is not None and fmt in ("jpeg", "webp"):
        options["quality"] = quality
    if fmt == "png":
        options["optimize"] = False
    image.save(out, format=fmt.upper(), **options)
    return out.getvalue()


# What the Gemini API, Vertex and OpenRouter accept as input images (no GIF).
COMMON_INPUT_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})


def as_accepted(image: ImageData, accepted: frozenset[str] = COMMON_INPUT_TYPES) -> ImageData:
    """``image`` itself when the vendor takes its type, else re-encoded as PNG (for a GIF, its
    first frame). Blocking: call it in a worker thread."""
    if image.media_type in accepted:
        return image
    png = encode(open_image(image.data).convert("RGBA"), "png")
    return attrs.evolve(image, data=png, media_type="image/png")
