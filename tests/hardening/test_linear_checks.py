"""Every check over input bytes is linear in the input: a payload as large as the caps allow,
built for the worst case of each check, is checked within a small multiple of the time a plain
decode of an ordinary image of the same size takes (both measured here, on this machine)."""

from __future__ import annotations

import base64
import io
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable

import pytest
from PIL import Image

from domain.errors import InvalidRequest
from entrypoints.image_checks import verify_image
from entrypoints.image_inputs import ImageInputReader

CAP = 25 * 1024 * 1024  # IMAGE_GEN_MCP_MAX_INPUT_BYTES' default
RATIO = 5.0  # generous: the machine is shared and noisy; the old walks were quadratic


def tiny(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def chunk(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def filled(head: bytes, unit: bytes, tail: bytes = b"") -> bytes:
    return head + unit * ((CAP - len(head) - len(tail)) // len(unit)) + tail


def ordinary_png(size: int) -> bytes:
    """A noise PNG of about ``size`` bytes, stored uncompressed (built directly: fast)."""
    side = int((size / 3) ** 0.5)
    rows = os.urandom(side * side * 3)
    raw = b"".join(b"\x00" + rows[y * side * 3 : (y + 1) * side * 3] for y in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND")
    )


JPEG, PNG, GIF = tiny("JPEG"), tiny("PNG"), tiny("GIF")
_SOS = JPEG.index(b"\xff\xda")
_SCAN = _SOS + 2 + int.from_bytes(JPEG[_SOS + 2 : _SOS + 4], "big")
# Built on demand (about 25 MB each), not when the test module is collected.
WORST_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    # The old trailer check re-sliced the remaining bytes for each appended JPEG: quadratic.
    "a tiny JPEG then millions of minimal JPEGs": (lambda: filled(JPEG, b"\xff\xd8\xff\xd9"), "image/jpeg"),
    "a JPEG of empty comment segments": (
        lambda: filled(b"\xff\xd8", b"\xff\xfe\x00\x02", JPEG[2:]),
        "image/jpeg",
    ),
    "entropy data of stuffing and restart markers": (
        lambda: JPEG[:_SCAN] + b"\xff\x00\xff\xd0" * ((CAP - len(JPEG)) // 4) + JPEG[_SCAN:],
        "image/jpeg",
    ),
    "a PNG of empty ancillary chunks": (lambda: filled(PNG[:33], chunk(b"abCd"), PNG[33:]), "image/png"),
    "a PNG with as many ancillary chunks as allowed": (
        lambda: PNG[:33] + chunk(b"abCd") * 4_000 + PNG[33:],
        "image/png",
    ),
    "a PNG padded with zeros": (lambda: filled(PNG, b"\x00" * 4096), "image/png"),
    "a GIF comment of one-byte sub-blocks": (
        lambda: filled(GIF[:-1] + b"\x21\xfe", b"\x01a", b"\x00\x3b"),
        "image/gif",
    ),
}


def timed(check: Callable[[], object], limit: float) -> float:
    """Seconds ``check`` took, failing when it has not finished within ``limit`` (a daemon
    thread, so a quadratic walk cannot hold the test run hostage)."""
    done = threading.Event()

    def run() -> None:
        try:
            check()
        except InvalidRequest:
            pass
        finally:
            done.set()

    started = time.perf_counter()
    threading.Thread(target=run, daemon=True).start()
    assert done.wait(limit), f"still running after {limit:.2f} s"
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def plain_decode() -> Callable[[str], float]:
    """Measures a plain Pillow decode of an ordinary image of the given type as large as the
    cap, in seconds (scaled to the cap when the encoder made it a little smaller). Called right
    beside each measurement, so both see the same load on a shared machine."""
    noise = Image.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=100)
    ordinary = {"image/png": ordinary_png(CAP), "image/jpeg": out.getvalue()}

    def measure(media_type: str) -> float:
        data = ordinary.get(media_type, ordinary["image/png"])

        def decode() -> None:
            with Image.open(io.BytesIO(data)) as image:
                image.load()

        return timed(decode, 60) * CAP / len(data)

    return measure


def compare(check: Callable[[], object], reference_decode: Callable[[], float]) -> tuple[float, float]:
    """(check, reference) seconds, best of three interleaved runs each."""
    pairs = []
    for _ in range(3):
        reference = reference_decode()
        pairs.append((timed(check, RATIO * reference + 2), reference))
    return min(p[0] for p in pairs), min(p[1] for p in pairs)


@pytest.mark.parametrize("name", list(WORST_CASES))
def test_worst_case_payloads_are_checked_in_linear_time(
    name: str, plain_decode: Callable[[str], float]
) -> None:
    build, media_type = WORST_CASES[name]
    data = build()
    assert len(data) <= CAP
    took, reference = compare(lambda: verify_image(data, media_type), lambda: plain_decode(media_type))
    assert took <= RATIO * reference, (name, took, reference)


def test_refusals_of_the_worst_cases_are_coded() -> None:
    reasons = {}
    for name, (build, media_type) in WORST_CASES.items():
        try:
            verify_image(build(), media_type)
            reasons[name] = "accepted"
        except InvalidRequest as exc:
            reasons[name] = exc.details["reason"]
    assert reasons == {
        "a tiny JPEG then millions of minimal JPEGs": "trailing_data",
        "a JPEG of empty comment segments": "truncated",
        "entropy data of stuffing and restart markers": "accepted",
        "a PNG of empty ancillary chunks": "truncated",
        "a PNG with as many ancillary chunks as allowed": "accepted",
        "a PNG padded with zeros": "accepted",
        "a GIF comment of one-byte sub-blocks": "truncated",
    }


def test_phone_jpegs_with_a_few_appended_pictures_still_pass() -> None:
    assert verify_image(JPEG + JPEG + JPEG + b"\x00" * 16, "image/jpeg") == (8, 8)


def test_worst_case_base64_is_decoded_in_linear_time(plain_decode: Callable[[str], float]) -> None:
    # Whitespace after every character: str.split() made one string object per character.
    reader = ImageInputReader(store=None, max_bytes=CAP)  # type: ignore[arg-type]
    encoded = base64.b64encode(os.urandom(CAP * 3 // 8)).decode()
    spaced = "\n".join(encoded)
    assert len(spaced) <= CAP * 4 // 3 + 4

    def plain() -> None:
        base64.b64decode(encoded + encoded)  # the same number of characters, no whitespace

    # base64 alone is much faster than an image decode: the bound is the larger of the two
    # references, so a str.split() per character (seconds) still fails it.
    took, image_decode = compare(
        lambda: reader._decode_base64(spaced, "images[0]"), lambda: plain_decode("image/png")
    )
    reference = min(timed(plain, 60) for _ in range(3))
    assert took <= RATIO * max(reference, image_decode / 2), (took, reference, image_decode)
    assert reader._decode_base64(spaced, "images[0]") == base64.b64decode(encoded)
