"""Hostile input images and local paths: every one refused with invalid_request before any
vendor sees it; the operator's local folder opt-in reads only inside that folder."""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from fastmcp import Client
from PIL import Image

from adapters.local_files import LocalFileReader
from adapters.memory import InMemoryImageStore
from adapters.png import solid_png
from domain.errors import InvalidRequest
from entrypoints.container import build_container
from entrypoints.image_checks import verify_image
from entrypoints.image_inputs import ImageInputReader
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

PNG = solid_png(16, 12)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def encoded(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 200, 30)).save(out, format=fmt, **options)
    return out.getvalue()


JPEG, GIF, WEBP = encoded("JPEG"), encoded("GIF"), encoded("WEBP")
PROGRESSIVE_JPEG = encoded("JPEG", progressive=True, quality=80)
MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def refusal(data: bytes, media_type: str, max_pixels: int = 50_000_000) -> str:
    with pytest.raises(InvalidRequest) as caught:
        verify_image(data, media_type, max_pixels)
    return caught.value.details["reason"]


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (PROGRESSIVE_JPEG, "image/jpeg"), (GIF, "image/gif"),
     (WEBP, "image/webp"), (JPEG + JPEG, "image/jpeg"), (PNG + b"\0\0\0", "image/png")],
)  # fmt: skip
def test_good_images_pass(data: bytes, media_type: str) -> None:
    width, height = verify_image(data, media_type)
    assert (width, height) in {(16, 12), (20, 10)}


@pytest.mark.parametrize(("data", "media_type"), [(PNG, "png"), (JPEG, "jpeg"), (GIF, "gif"), (WEBP, "webp")])
def test_truncated_images_are_refused(data: bytes, media_type: str) -> None:
    for cut in (len(data) // 2, len(data) - 1):
        assert refusal(data[:cut], MEDIA[media_type]) in {"truncated", "undecodable"}


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "png"), (JPEG, "jpeg"), (GIF, "gif"), (WEBP, "webp"), (PROGRESSIVE_JPEG, "jpeg")],
)
def test_polyglots_with_appended_payloads_are_refused(data: bytes, media_type: str) -> None:
    zip_tail = b"PK\x03\x04" + b"\x14\x00" * 10 + b"evil.sh"
    html_tail = b"<html><script>alert(1)</script></html>"
    assert refusal(data + zip_tail, MEDIA[media_type]) == "trailing_data"
    assert refusal(data + html_tail, MEDIA[media_type]) == "trailing_data"
    # Dressed up as an appended JPEG: only whole JPEGs may follow a JPEG.
    assert refusal(data + b"\xff\xd8\xff" + html_tail + zip_tail, MEDIA[media_type]) == "trailing_data"
    assert refusal(data + JPEG + zip_tail, MEDIA[media_type]) == "trailing_data"


def test_corrupt_png_data_or_checksum_is_refused() -> None:
    for offset in (-20, -14):  # inside the IDAT data; inside its CRC (the data still inflates)
        broken = bytearray(PNG)
        broken[offset] ^= 0xFF
        assert refusal(bytes(broken), "image/png") == "undecodable"


def test_decompression_bomb_is_refused_from_the_header() -> None:
    bomb = png_declaring(100_000, 100_000)
    assert len(bomb) < 200
    assert refusal(bomb, "image/png") == "too_many_pixels"
    assert refusal(png_declaring(3000, 3000), "image/png", max_pixels=1_000_000) == "too_many_pixels"


def test_zero_sized_and_mislabelled_images_are_refused() -> None:
    assert refusal(png_declaring(0, 10), "image/png") in {"too_many_pixels", "undecodable"}
    assert refusal(b"RIFF\x04\x00\x00\x00WEBP", "image/webp") in {"truncated", "undecodable"}
    assert refusal(PNG, "image/gif") in {"truncated", "mismatch"}


# -- the same refusals through the edit tool ----------------------------------------------


@pytest.fixture
def server(output_root: Path):
    return build_mcp_server(build_container(make_settings(output_root, IMAGE_GEN_MCP_STORE="memory")))


@pytest.mark.parametrize(
    "payload",
    [
        png_declaring(100_000, 100_000),
        PNG[:-30],
        PNG + b"PK\x03\x04zip",
        JPEG + b"<?php system($_GET[c]); ?>",
    ],
)
async def test_edit_tool_refuses_hostile_images_before_the_vendor(server, payload: bytes) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(payload).decode()
    async with Client(server) as client:
        for arguments in (
            {"images": [data_url]},
            {"images": [base64.b64encode(PNG).decode()], "mask": data_url},
        ):
            result = await client.call_tool(
                "edit_image", {"prompt": "x", "provider": "fake", **arguments}, raise_on_error=False
            )
            assert result.is_error
            assert result.structured_content["code"] == "invalid_request"
            assert result.structured_content["details"]["option"] in {"images[0]", "mask"}


# -- local files: only inside the operator's folder ---------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    inside, outside = tmp_path / "inputs", tmp_path / "private"
    (inside / "sub").mkdir(parents=True)
    outside.mkdir()
    (inside / "ok.png").write_bytes(PNG)
    (inside / "sub" / "deep.png").write_bytes(PNG)
    (outside / "secret.png").write_bytes(PNG)
    (inside / "escape.png").symlink_to(outside / "secret.png")
    (inside / "escape-dir").symlink_to(outside, target_is_directory=True)
    (inside / "alias.png").symlink_to(inside / "ok.png")
    os.mkfifo(inside / "pipe.png")
    (inside / "big.png").write_bytes(PNG + b"\0" * 5000)
    return inside, outside


def reader(local_dir: Path | None, max_bytes: int = 4096) -> ImageInputReader:
    read_local = LocalFileReader(local_dir, max_bytes) if local_dir else None
    return ImageInputReader(InMemoryImageStore(), max_bytes, read_local=read_local)


@pytest.mark.parametrize(
    "value",
    ["{inside}/ok.png", "file://{inside}/sub/deep.png", "file://localhost{inside}/ok.png", "./ok.png",
     "./sub/../ok.png", "{inside}/sub/../ok.png"],
)  # fmt: skip
async def test_files_inside_the_local_folder_are_read(folders, value: str) -> None:
    inside, _ = folders
    image = await reader(inside).read(value.format(inside=inside), "images[0]")
    assert image.data == PNG and image.media_type == "image/png"


@pytest.mark.parametrize(
    "value",
    ["{outside}/secret.png", "file://{outside}/secret.png", "../private/secret.png", "./escape.png",
     "./escape-dir/secret.png", "{inside}/../private/secret.png", "file://otherhost{inside}/ok.png",
     "./missing.png", "./sub", "./pipe.png", "./big.png", "/etc/passwd", "~/.bashrc", "./ok.png\x00.txt",
     "./alias.png"],
)  # fmt: skip
async def test_everything_else_stays_refused_without_naming_server_paths(folders, value: str) -> None:
    inside, outside = folders
    with pytest.raises(InvalidRequest) as caught:
        await reader(inside).read(value.format(inside=inside, outside=outside), "mask")
    assert caught.value.details["option"] == "mask"
    assert str(inside.parent) not in caught.value.message


async def test_without_the_opt_in_no_local_file_is_read(folders) -> None:
    inside, _ = folders
    for value in (f"{inside}/ok.png", f"file://{inside}/ok.png", "./ok.png"):
        with pytest.raises(InvalidRequest, match="local files are not read"):
            await reader(None).read(value, "images[0]")


async def test_local_files_get_the_same_image_checks(folders) -> None:
    inside, _ = folders
    (inside / "poly.png").write_bytes(PNG + b"PK\x03\x04")
    (inside / "bomb.png").write_bytes(png_declaring(100_000, 100_000))
    for name in ("poly.png", "bomb.png"):
        with pytest.raises(InvalidRequest):
            await reader(inside).read(f"./{name}", "images[0]")


async def test_a_refused_path_says_the_same_whether_or_not_the_file_exists(folders) -> None:
    inside, outside = folders
    (outside / "sub").mkdir()
    values = [f"{outside}/secret.png", f"{outside}/missing.png", f"file://{outside}/secret.png",
              f"file://{outside}/missing.png", "../private/secret.png", "../private/missing.png",
              "./escape.png", "./escape-dir/secret.png", "./escape-dir/missing.png", "./missing.png",
              f"{outside}/sub", f"{outside}/nosuchdir"]  # fmt: skip
    messages = set()
    for value in values:
        with pytest.raises(InvalidRequest) as caught:
            await reader(inside).read(value, "images[0]")
        messages.add(caught.value.message)
    assert len(messages) == 1, messages


async def test_a_hard_link_to_a_file_outside_is_not_read(folders) -> None:
    inside, outside = folders
    os.link(outside / "secret.png", inside / "linked.png")
    with pytest.raises(InvalidRequest):
        await reader(inside).read("./linked.png", "images[0]")
