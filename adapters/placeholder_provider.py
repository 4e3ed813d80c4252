"""The placeholder provider: offline, no key, draws a deterministic labelled image.

It exists so a newcomer sees images flow end to end with no keys at all. Every image it makes
says "PLACEHOLDER" on it, and its catalog entry says so too.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from adapters.imaging import encode
from application.ports import ImageProvider
from domain.catalog import STANDARD_RATIOS, ModelSpec, pixel_table
from domain.images import GeneratedImage, ProviderResult
from domain.normalized import ProviderRequest
from domain.options import Background, OutputFormat, Quality, SizeTier

_LONG_EDGE = {SizeTier.S: 1024, SizeTier.M: 1536, SizeTier.L: 2048}


def _pixel_table() -> dict[tuple[SizeTier, str], tuple[int, int]]:
    return pixel_table(_LONG_EDGE, STANDARD_RATIOS, multiple=16)  # like real vendors' sizes


PLACEHOLDER_MODEL = ModelSpec(
    provider="placeholder",
    model="placeholder",
    family="placeholder",
    description="PLACEHOLDER: draws a labelled test card offline. Not a real image model.",
    max_n=10,
    max_input_images=16,
    mask=True,
    transparency=True,
    output_formats=(OutputFormat.PNG, OutputFormat.WEBP, OutputFormat.JPEG),
    aspect_ratios=STANDARD_RATIOS,
    size_tiers={SizeTier.S: "1K", SizeTier.M: "1.5K", SizeTier.L: "2K"},
    pixel_sizes=_pixel_table(),
    qualities={Quality.DRAFT: "draft", Quality.STANDARD: "standard", Quality.HIGH: "high"},
    native_negative_prompt=True,
    recommended=True,
)


def _pixels(request: ProviderRequest) -> tuple[int, int]:
    """The card's size: the catalog's, or for a model id it does not know, the same tiers."""
    if request.width is not None and request.height is not None:
        return request.width, request.height
    ratio = request.aspect_ratio
    return pixel_table(_LONG_EDGE, (ratio,), multiple=16)[(request.size_tier, ratio)]


def _paste_fitted(card: Any, data: bytes, frame: tuple[int, int, int, int]) -> None:
    """Scale the image in ``data`` to fit inside ``frame`` (keeping its shape) and paste it
    centred there."""
    from io import BytesIO

    from PIL import Image

    left, top, right, bottom = frame
    with Image.open(BytesIO(data)) as source:
        picture = source.convert("RGBA")
    picture.thumbnail((right - left, bottom - top))
    if picture.width < right - left and picture.height < bottom - top:  # small inputs grow too
        scale = min((right - left) / picture.width, (bottom - top) / picture.height)
        picture = picture.resize((max(1, int(picture.width * scale)), max(1, int(picture.height * scale))))
    x = left + (right - left - picture.width) // 2
    y = top + (bottom - top - picture.height) // 2
    card.alpha_composite(picture, (x, y))


class PlaceholderImageProvider(ImageProvider):
    """Draws test cards with Pillow, off the event loop. Same request, same bytes."""

    provider_id = "placeholder"

    def catalog(self) -> Sequence[ModelSpec]:
        return (PLACEHOLDER_MODEL,)

    async def models(self) -> Sequence[ModelSpec]:
        return self.catalog()

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        return await asyncio.to_thread(self._draw_all, request)

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        return await asyncio.to_thread(self._draw_all, request)

    async def probe(self) -> None:
        return None  # offline: nothing to reach

    async def aclose(self) -> None:
        return None

    def _draw_all(self, request: ProviderRequest) -> ProviderResult:
        images = tuple(self._draw(request, index) for index in range(request.n))
        return ProviderResult(
            images=images,
            used={
                "size": "{}x{}".format(*_pixels(request)),
                "output_format": request.output_format.value,
                "background": (request.background or Background.OPAQUE).value,
            },
        )

    def _draw(self, request: ProviderRequest, index: int) -> GeneratedImage:
        from PIL import Image, ImageDraw

        w, h = _pixels(request)
        seed = hashlib.sha256(f"{request.prompt}|{index}".encode()).digest()
        transparent = request.background is Background.TRANSPARENT
        fill = (seed[0], seed[1], seed[2], 0 if transparent else 255)
        image = Image.new("RGBA", (w, h), fill)
        draw = ImageDraw.Draw(image)
        ink = (255 - seed[0], 255 - seed[1], 255 - seed[2], 255)
        frame = (w // 10, h // 10, w - w // 10, h - h // 10)
        if request.images:
            # An edit shows its first input inside the frame, so a user sees the input arrived.
            _paste_fitted(image, request.images[0].data, frame)
        else:
            draw.line((0, 0, w, h), fill=ink, width=2)
            draw.line((0, h, w, 0), fill=ink, width=2)
        draw.rectangle(frame, outline=ink, width=max(2, w // 100))
        label = f"PLACEHOLDER {w}x{h} #{index + 1}\n{request.operation.value}: {request.prompt[:60]}"
        font_size = max(12, w // 40)
        box = draw.multiline_textbbox((w // 8, h // 8), label, font_size=font_size)
        draw.rectangle(box, fill=(0, 0, 0, 160))  # legible over any input image
        draw.multiline_text((w // 8, h // 8), label, fill=(255, 255, 255, 255), font_size=font_size)
        fmt = request.output_format
        data = encode(
            image if fmt.has_alpha else image.convert("RGB"), fmt.value, quality=request.output_compression
        )
        return GeneratedImage(
            data=data,
            media_type=fmt.media_type,
            width=w,
            height=h,
            provider=self.provider_id,
            model=request.model,
        )
