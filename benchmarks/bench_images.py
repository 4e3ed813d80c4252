"""The benchmarks' test images, PNGs that weigh what a vendor's do: a photo-like one that JPEG
compresses well, a high-detail one that it does not, and that one cut out on transparency.
Made once per process; only Pillow is needed, so the preview tests use them too.
"""

from __future__ import annotations

import functools
import io
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


@functools.cache
def photo_like_png(width: int, height: int) -> bytes:
    """An RGB PNG with smooth gradients, soft shapes and sensor-like noise.

    It compresses like a photograph (neither a flat card nor pure noise), so previews and
    hashes cost what they cost on real vendor output.
    """
    from PIL import Image, ImageDraw, ImageFilter

    base = _gradients(width, height)
    shapes = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(shapes)
    for i in range(40):  # deterministic "objects" so every run encodes the same picture
        x, y = (i * 7919) % width, (i * 104_729) % height
        r = 20 + (i * 37) % (min(width, height) // 4)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=((i * 53) % 256, (i * 97) % 256, (i * 151) % 256))
    picture = Image.blend(base, shapes.filter(ImageFilter.GaussianBlur(6)), 0.45)
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    return _png(Image.blend(picture, noise, 0.12))


@functools.cache
def detailed_png(width: int, height: int) -> bytes:
    """An RGB PNG of fine, high-contrast detail (foliage, fabric, text at a distance) with grain.

    About 1.5 bytes per pixel as PNG like :func:`photo_like_png`, but its detail survives JPEG
    badly: at quality 85 the 1024² JPEG is about 470 KB (630 k characters of base64), twice the
    default preview budget, where the photo-like one is about 115 KB. A preview of it has to
    give up quality or size.
    """
    from PIL import Image, ImageDraw

    rng = random.Random(17)  # fixed seed: every run encodes the same picture
    picture = _gradients(width, height)
    draw = ImageDraw.Draw(picture)
    for i in range(width * height * 3 // 200):  # dots and strokes a few pixels across
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(1, 5)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if i % 2:
            draw.line((x, y, x + rng.randint(-8, 8), y + rng.randint(-8, 8)), fill=colour, width=1)
        else:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    return _png(Image.blend(picture, noise, 0.07))


@functools.cache
def transparent_png(width: int, height: int) -> bytes:
    """An RGBA PNG as ``background: transparent`` gives: the high-detail picture cut out as a
    soft-edged oval on a fully transparent background. Its preview is drawn over a
    checkerboard (or, with ``IMAGE_GEN_MCP_PREVIEW_ALPHA=webp``, kept as WebP's alpha)."""
    from PIL import Image, ImageDraw, ImageFilter

    picture = Image.open(io.BytesIO(detailed_png(width, height))).convert("RGBA")
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((width // 8, height // 10, width * 7 // 8, height * 9 // 10), fill=255)
    picture.putalpha(mask.filter(ImageFilter.GaussianBlur(4)))
    return _png(picture)


def _gradients(width: int, height: int) -> Image.Image:
    """The smooth RGB base both pictures start from: two linear gradients and a radial one."""
    from PIL import Image

    return Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
        ),
    )


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


# The vendor's answer in the benchmarks: ``--image photo``, ``detailed`` or ``transparent``.
IMAGES = {"photo": photo_like_png, "detailed": detailed_png, "transparent": transparent_png}
