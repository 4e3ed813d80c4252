"""One mask convention for users, converted to what each vendor expects.

Users may send either kind of mask:

* a mask **with transparency**: fully transparent pixels (alpha 0) mark where to edit
  (OpenAI's own convention);
* a plain **black and white** mask with no transparency: white marks where to edit, black
  what to keep (Imagen's convention, and what image editors export).

:func:`edit_region` reduces either to one greyscale image where 255 means "edit here";
adapters then render it for their vendor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.imaging import encode, open_image
from domain.errors import InvalidRequest

if TYPE_CHECKING:
    from PIL import Image


def edit_region(mask: bytes, size: tuple[int, int]) -> Image.Image:
    """An ``L`` image of ``size`` where 255 marks the area to edit.

    The mask is scaled to ``size`` (nearest neighbour, so edges stay hard) when it differs.
    Raises InvalidRequest when the mask is unreadable or marks nothing to edit.
    """
    from PIL import Image

    image = open_image(mask)
    try:
        image.load()
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"The mask is damaged: {type(exc).__name__}.", option="mask") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    alpha = image.convert("RGBA").getchannel("A") if has_alpha else None
    if alpha is not None and alpha.getextrema()[0] < 128:
        region = alpha.point(lambda a: 255 if a < 128 else 0)
    else:  # no transparency, or an alpha that is fully opaque: read as black/white
        region = image.convert("L").point(lambda v: 255 if v >= 128 else 0)
    if region.size != size:
        region = region.resize(size, Image.Resampling.NEAREST)
    if region.getextrema()[1] == 0:
        raise InvalidRequest(
            "The mask marks nothing to edit: use transparent or white pixels for the area to change.",
            option="mask",
        )
    return region


def openai_mask(mask: bytes, size: tuple[int, int]) -> bytes:
    """PNG with alpha, ``size`` pixels: alpha 0 where to edit, opaque elsewhere."""
    from PIL import Image

    region = edit_region(mask, size)
    out = Image.new("RGBA", size, (0, 0, 0, 255))
    out.putalpha(region.point(lambda v: 0 if v else 255))
    return encode(out, "png")


def white_edit_mask(mask: bytes, size: tuple[int, int]) -> bytes:
    """Greyscale PNG, ``size`` pixels: white where to edit, black elsewhere (Imagen)."""
    return encode(edit_region(mask, size), "png")
