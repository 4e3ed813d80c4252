"""A preview costs one decode, at most one resize and at most two encodes, whatever the image,
and stays within its budget, as large as the budget allows."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image, ImageFile

from benchmarks.bench_images import detailed_png, photo_like_png
from entrypoints.mcp import png_decoding, previews
from entrypoints.mcp.previews import b64_len, make_preview

BUDGET = 300_000  # the default preview budget (IMAGE_GEN_MCP_PREVIEW_BUDGET)
MAX_EDGE = 1568  # the default long edge (IMAGE_GEN_MCP_PREVIEW_MAX_EDGE)


@dataclass
class Work:
    """What Pillow (and the PNG decoder beside it) was asked to do while a preview was made."""

    decodes: int = 0
    converts: int = 0
    resizes: int = 0
    encodes: list[tuple[int, int]] = field(default_factory=list)  # the size of each encoded image

    def reset(self) -> None:
        self.decodes = self.converts = self.resizes = 0
        self.encodes.clear()

    def encodes_of(self, size: tuple[int, int]) -> int:
        return sum(1 for encoded in self.encodes if encoded == size)

    def probes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        """Encodes of something other than the preview (the band probe)."""
        return [encoded for encoded in self.encodes if encoded != size]


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    """Counts the calls made from the preview code; calls Pillow makes inside them (an RGBA
    resize converts to premultiplied alpha and back) are part of the one counted call."""
    counts = Work()
    inside = threading.local()

    def counting(cls: type, name: str, tally: Callable[[Image.Image], None]) -> None:
        real = getattr(cls, name)

        def counted(self, *args, **kwargs):
            if getattr(inside, "busy", False):
                return real(self, *args, **kwargs)
            tally(self)
            inside.busy = True
            try:
                return real(self, *args, **kwargs)
            finally:
                inside.busy = False

        monkeypatch.setattr(cls, name, counted)

    def decode(image: Image.Image) -> None:
        if getattr(image, "_im", None) is None:  # a real decode, not load() of a decoded image
            counts.decodes += 1

    def tally(field_name: str) -> Callable[[Image.Image], None]:
        def add(image: Image.Image) -> None:
            setattr(counts, field_name, getattr(counts, field_name) + 1)

        return add

    counting(ImageFile.ImageFile, "load", decode)
    fast_decode = png_decoding.decode

    def fast_decode_counted(data: bytes, max_pixels: int | None) -> Image.Image | None:
        decoded = fast_decode(data, max_pixels)
        counts.decodes += decoded is not None  # a declined PNG goes on to Pillow's load()
        return decoded

    monkeypatch.setattr(png_decoding, "decode", fast_decode_counted)
    counting(Image.Image, "convert", tally("converts"))
    counting(Image.Image, "resize", tally("resizes"))
    counting(Image.Image, "reduce", tally("resizes"))
    counting(Image.Image, "save", lambda image: counts.encodes.append(image.size))
    for fmt, mode in (("jpeg", "RGB"), ("webp", "RGB"), ("webp", "RGBA")):
        previews._header_bytes(fmt, mode)  # measured once per process, not per preview
    counts.reset()
    yield counts


def preview(data: bytes, budget: int = BUDGET, keep_alpha: bool = False):
    return make_preview(
        data, "image/png", budget_chars=budget, max_edge=MAX_EDGE, keep_alpha=keep_alpha
    )  # fmt: skip


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_easy_image_is_one_probe_and_one_encode_at_full_size(work: Work) -> None:
    data = photo_like_png(1024, 1024)
    work.reset()
    made = preview(data)
    assert made is not None and (made.width, made.height) == (1024, 1024)
    assert made.media_type == "image/jpeg"
    assert work.decodes == 1 and work.converts == 0 and work.resizes == 0
    assert work.encodes_of((1024, 1024)) == 1
    (probe,) = work.probes((1024, 1024))
    assert probe[0] * probe[1] <= 1024 * 1024 // 5  # a fifth of the pixels at most


@pytest.mark.parametrize("size", [(1024, 1024), (1536, 1024)])
def test_a_detailed_image_costs_one_resize_and_two_encodes_at_most(work: Work, size: tuple[int, int]) -> None:
    data = detailed_png(*size)
    assert len(data) >= 1.5 * size[0] * size[1]  # what the test is about: ~1.5 bytes per pixel
    work.reset()
    made = preview(data)
    assert made is not None
    preview_size = (made.width, made.height)
    assert work.decodes == 1 and work.converts == 0 and work.resizes <= 1
    assert 1 <= work.encodes_of(preview_size) <= 2
    probes = work.probes(preview_size)
    assert len(probes) <= 2 and all(w * h <= size[0] * size[1] // 5 for w, h in probes)
    # As large as the budget allows: most of it used, and full size when the lowest quality fits.
    assert 0.75 * BUDGET <= b64_len(len(made.data)) <= BUDGET
    if size == (1024, 1024):
        assert preview_size == size


@pytest.mark.parametrize("budget", [300_000, 233_333, 175_000, 60_000, 10_000])
@pytest.mark.parametrize("image", [photo_like_png, detailed_png])
def test_every_preview_fits_its_budget_and_the_max_edge(image, budget: int) -> None:
    for size in ((1024, 1024), (1536, 1024), (2048, 1024)):
        made = preview(image(*size), budget)
        assert made is not None
        assert b64_len(len(made.data)) <= budget
        assert max(made.width, made.height) <= MAX_EDGE
        assert abs(made.width / made.height - size[0] / size[1]) < 0.01  # the shape is kept
        decoded = Image.open(io.BytesIO(made.data))
        assert decoded.format == "JPEG" and decoded.size == (made.width, made.height)


def test_a_preview_is_at_least_as_large_as_the_old_grid_gave() -> None:
    """The old walk tried scales 1, 0.75, 0.5, ... of the max edge: a detailed 1536×1024 image
    came out at 1152×768 within the default budget. The prediction keeps more of it."""
    made = preview(detailed_png(1536, 1024))
    assert made is not None and made.width > 1152


def test_transparency_kept_as_webp_alpha_when_asked_is_converted_never(work: Work) -> None:
    rgba = Image.open(io.BytesIO(detailed_png(512, 512))).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((512, 512)))
    data = png(rgba)
    work.reset()
    made = make_preview(data, "image/png", budget_chars=BUDGET, max_edge=MAX_EDGE, keep_alpha=True, alpha="webp")
    assert made is not None and made.media_type == "image/webp"
    assert Image.open(io.BytesIO(made.data)).mode == "RGBA"
    assert work.converts == 0  # already RGBA: nothing to convert


def cut_out(size: int) -> Image.Image:
    """A detailed square whose left half is fully transparent, right half opaque."""
    rgba = Image.open(io.BytesIO(detailed_png(size, size))).convert("RGBA")
    alpha = Image.new("L", (size, size), 255)
    alpha.paste(0, (0, 0, size // 2, size))
    rgba.putalpha(alpha)
    return rgba


def test_transparency_is_drawn_on_a_checkerboard_in_a_jpeg_by_default(work: Work) -> None:
    """What image editors show: white and light grey squares where the image is transparent,
    the image itself where it is opaque; one decode, no conversion, one resize at most."""
    source = cut_out(512)
    work.reset()
    made = preview(png(source), keep_alpha=True)
    assert made is not None and made.media_type == "image/jpeg" and (made.width, made.height) == (512, 512)
    assert work.decodes == 1 and work.converts == 0 and work.resizes == 0
    shown = Image.open(io.BytesIO(made.data)).convert("RGB")
    # Centres of the squares (16 px) in the transparent half: white, then grey, alternating.
    assert all(abs(c - 255) <= 6 for c in shown.getpixel((8, 8)))
    assert all(abs(c - 204) <= 6 for c in shown.getpixel((24, 8)))
    assert all(abs(c - 204) <= 6 for c in shown.getpixel((8, 24)))
    # The opaque half is the picture (a JPEG of fine detail: equal on average, not per pixel).
    assert mean_distance(shown, source.convert("RGB"), (300, 200, 460, 360)) < 4


def mean_distance(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The largest difference of a channel's mean over ``box``."""
    from PIL import ImageStat

    means = ImageStat.Stat(a.crop(box)).mean, ImageStat.Stat(b.crop(box)).mean
    return max(abs(x - y) for x, y in zip(*means, strict=True))


def test_a_transparent_image_is_not_drawn_on_a_checkerboard_when_transparency_does_not_matter() -> None:
    made = preview(png(cut_out(256)), keep_alpha=False)
    assert made is not None and made.media_type == "image/jpeg"
    shown = Image.open(io.BytesIO(made.data)).convert("RGB")
    # The colours under the transparent half, as an opaque preview has always shown them.
    source = cut_out(256).convert("RGB")
    assert mean_distance(shown, source, (0, 0, 128, 256)) < 4


def test_a_palette_image_with_transparency_is_converted_once_for_the_checkerboard(work: Work) -> None:
    source = cut_out(128).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    source.info["transparency"] = 0
    data = png(source)
    work.reset()
    made = preview(data, keep_alpha=True)
    assert made is not None and made.media_type == "image/jpeg"
    assert work.converts == 1


def test_an_opaque_palette_image_with_an_unused_transparent_index_is_a_jpeg(work: Work) -> None:
    palette = photo_like_png(256, 256)
    image = Image.open(io.BytesIO(palette)).convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=250)  # index 250 is in no pixel
    work.reset()
    made = preview(out.getvalue(), keep_alpha=True)
    assert made is not None and made.media_type == "image/jpeg"
    assert work.converts == 1  # P to RGB, once: the transparency check converts nothing


def test_undecodable_data_has_no_preview() -> None:
    truncated = photo_like_png(256, 256)[:2000]
    assert preview(truncated) is None
