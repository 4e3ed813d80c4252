"""The preview's PNG decoder gives Pillow's pixels for what vendors send, and hands everything
else (and anything damaged) back to Pillow by returning None."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from benchmarks.bench_images import detailed_png, photo_like_png
from entrypoints.mcp import png_decoding
from entrypoints.mcp.previews import make_preview


def png(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk."""
    found, position = [], 8
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        found.append((data[position + 4 : position + 8], data[position + 8 : position + 8 + length]))
        position += 12 + length
    return found


def assemble(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        for kind, payload in parts
    )
    return b"\x89PNG\r\n\x1a\n" + body


def with_chunk(data: bytes, kind: bytes, payload: bytes) -> bytes:
    """``data`` with one more chunk right after IHDR."""
    parts = chunks(data)
    return assemble([parts[0], (kind, payload), *parts[1:]])


def interlaced(data: bytes) -> bytes:
    """``data`` with its header saying Adam7 (Pillow cannot write interlaced PNGs)."""
    parts = chunks(data)
    return assemble([(b"IHDR", parts[0][1][:12] + b"\x01"), *parts[1:]])


def pillow_pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.mode, image.size, image.tobytes()


def fast_pixels(data: bytes) -> tuple[str, tuple[int, int], bytes] | None:
    decoded = png_decoding.decode(data, Image.MAX_IMAGE_PIXELS)
    return None if decoded is None else (decoded.mode, decoded.size, decoded.tobytes())


def test_the_native_decoders_are_installed() -> None:
    """Without them every test below would pass on the fallback alone."""
    assert png_decoding._native() is not None


@pytest.mark.parametrize("make", [detailed_png, photo_like_png], ids=["detailed", "photo-like"])
@pytest.mark.parametrize("size", [(1024, 1024), (1536, 1024), (31, 7)])
def test_vendor_like_pngs_decode_to_pillows_pixels(make, size: tuple[int, int]) -> None:
    data = make(*size)
    assert fast_pixels(data) == pillow_pixels(data)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_every_eight_bit_colour_type_decodes_to_pillows_pixels(mode: str) -> None:
    source = Image.open(io.BytesIO(detailed_png(96, 64))).convert("RGBA")
    source.putalpha(Image.linear_gradient("L").resize(source.size))  # alpha that varies
    data = png(source.convert(mode))
    assert fast_pixels(data) == pillow_pixels(data)


def test_many_idat_chunks_and_harmless_ancillary_chunks_are_read() -> None:
    """Encoders split the data into many IDATs; text, physical size, C2PA-like private chunks
    and a suggested palette change nothing Pillow shows."""
    data = png(Image.open(io.BytesIO(detailed_png(200, 150))))
    parts = chunks(data)
    stream = b"".join(payload for kind, payload in parts if kind == b"IDAT")
    split = [(b"IDAT", stream[i : i + 997]) for i in range(0, len(stream), 997)]
    extra = [(b"tEXt", b"Comment\x00made here"), (b"pHYs", struct.pack(">IIB", 2835, 2835, 1)),
             (b"caBX", b"\x00" * 64), (b"PLTE", bytes(range(48)))]  # fmt: skip
    rebuilt = assemble([parts[0], *extra, *split, (b"IEND", b"")])
    assert len(split) > 50
    assert fast_pixels(rebuilt) == pillow_pixels(rebuilt)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png(Image.new("P", (64, 64), 3)), id="palette"),
        pytest.param(png(Image.new("I;16", (64, 64), 300)), id="16-bit"),
        pytest.param(interlaced(png(Image.new("RGB", (64, 64), "red"))), id="interlaced"),
        pytest.param(png(Image.new("RGB", (64, 64), "red"), transparency=(255, 0, 0)), id="colour-key"),
        pytest.param(with_chunk(png(Image.new("RGB", (64, 64))), b"iCCP", b"p\x00\x00" + zlib.compress(b"x")),
                     id="colour-profile"),
        pytest.param(with_chunk(png(Image.new("RGB", (64, 64))), b"eXIf", b"MM\x00*"), id="exif"),
        pytest.param(with_chunk(png(Image.new("RGB", (64, 64))), b"ZZZZ", b""), id="unknown-critical-chunk"),
        pytest.param(with_chunk(png(Image.new("L", (64, 64))), b"PLTE", bytes(48)), id="palette-in-grey"),
        pytest.param(photo_like_png(64, 64)[:-20], id="truncated"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 100, id="not-a-png"),
    ],
)
def test_what_this_path_does_not_take_goes_to_pillow(data: bytes) -> None:
    assert fast_pixels(data) is None


def test_a_damaged_chunk_goes_to_pillow() -> None:
    data = bytearray(photo_like_png(64, 64))
    data[60] ^= 0xFF  # inside the first IDAT: its CRC no longer matches
    assert fast_pixels(bytes(data)) is None


@pytest.mark.parametrize("declared", [(64, 63), (64, 65)], ids=["more-data-than-declared", "less-data"])
def test_data_that_does_not_match_the_header_goes_to_pillow(declared: tuple[int, int]) -> None:
    """The inflated size is the header's, exactly: no row is invented or dropped."""
    parts = chunks(png(Image.new("RGB", (64, 64), "blue")))
    ihdr = struct.pack(">II", *declared) + parts[0][1][8:]
    assert fast_pixels(assemble([(b"IHDR", ihdr), *parts[1:]])) is None


def test_an_image_over_the_pixel_limit_is_left_to_pillow_to_refuse() -> None:
    data = photo_like_png(64, 64)
    assert png_decoding.decode(data, 64 * 64 - 1) is None
    assert png_decoding.decode(data, 64 * 64) is not None


def test_a_preview_of_a_vendor_png_takes_this_path(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    real = png_decoding.decode
    monkeypatch.setattr(png_decoding, "decode", lambda data, limit: taken.append(True) or real(data, limit))
    made = make_preview(detailed_png(512, 512), "image/png", budget_chars=100_000, max_edge=1568, keep_alpha=True)
    assert made is not None and taken == [True]


def test_the_fast_path_never_imports_numpy() -> None:
    """libspng is called through ctypes: ``import pyspng`` would bring numpy's 15 MB along."""
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from benchmarks.bench_images import detailed_png\n"
        "from entrypoints.mcp import png_decoding\n"
        "assert png_decoding.decode(detailed_png(64, 64), None) is not None\n"
        "print('numpy' in sys.modules, 'pyspng' in sys.modules)\n"
    )
    repo = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(  # noqa: S603 -- this interpreter and our own fixed probe code
        [sys.executable, "-c", probe, repo], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"]


def test_damaged_pngs_never_decode_to_other_pixels_than_pillows() -> None:
    """Bytes flipped anywhere (header, chunk lengths, filters, deflate data), with the CRCs
    repaired so that the damage reaches the decoders: whenever this path returns an image,
    Pillow decodes the same bytes to the same pixels; otherwise it declined."""
    import random

    rng = random.Random(7)
    source = png(Image.open(io.BytesIO(detailed_png(48, 32))).convert("RGBA"))
    declined = 0
    for _ in range(300):
        parts = chunks(source)
        index = rng.randrange(len(parts) - 1)  # any chunk but IEND
        kind, payload = parts[index]
        if not payload:
            continue
        damaged = bytearray(payload)
        if kind == b"IDAT" and rng.random() < 0.5:
            # Damage inside the inflated rows (a filter byte or a pixel) with a valid stream.
            rows = bytearray(zlib.decompress(payload))
            rows[rng.randrange(len(rows))] = rng.randrange(256)
            damaged = bytearray(zlib.compress(bytes(rows)))
        else:
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        parts[index] = (kind, bytes(damaged))
        data = assemble(parts)
        fast = fast_pixels(data)
        if fast is None:
            declined += 1
            continue
        assert fast == pillow_pixels(data)
    assert 0 < declined < 300  # both outcomes were exercised
