"""The placeholder shows the flow: S/M/L give the sizes the README documents, and an edit
visibly carries its input image (scaled into the card, with the prompt over it)."""

from __future__ import annotations

import base64
from io import BytesIO
from pathlib import Path

import pytest
from fastmcp import Client
from PIL import Image

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings


@pytest.fixture
def server(output_root: Path):
    return build_mcp_server(build_container(make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False)))


@pytest.mark.parametrize(("size", "edge"), [("S", 1024), ("M", 1536), ("L", 2048)])
async def test_sizes_are_the_documented_ones(server, size: str, edge: int) -> None:
    async with Client(server) as client:
        square = await client.call_tool("generate_image", {"prompt": "x", "size": size, "inline": "none"})
        wide = await client.call_tool(
            "generate_image", {"prompt": "x", "size": size, "orientation": "landscape", "inline": "none"}
        )
    [image] = square.structured_content["images"]
    assert (image["width"], image["height"]) == (edge, edge)
    [image] = wide.structured_content["images"]
    assert image["width"] == edge and image["height"] == round(edge * 2 / 3 / 16) * 16
    readme = " ".join(Path(__file__).parents[2].joinpath("README.md").read_text().split())
    assert "S/M/L: 1024, 1536 and 2048 px on the long edge" in readme


def _png(color: tuple[int, int, int], size: tuple[int, int]) -> str:
    out = BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


async def test_an_edit_shows_its_input_image(server) -> None:
    async with Client(server) as client:
        made = await client.call_tool(
            "edit_image", {"prompt": "make it pop", "images": [_png((250, 10, 10), (300, 200))], "inline": "none"}
        )
        generated = await client.call_tool("generate_image", {"prompt": "make it pop", "inline": "none"})
    edited = Image.open(made.structured_content["images"][0]["path"]).convert("RGB")
    plain = Image.open(generated.structured_content["images"][0]["path"]).convert("RGB")
    # The input keeps its 3:2 shape (an edit keeps the first input's shape) and fills the frame.
    assert edited.width > edited.height
    w, h = edited.size
    for point in ((w // 2, h // 2), (w // 2 + w // 5, h // 2 + h // 5)):
        r, g, b = edited.getpixel(point)
        assert r > 200 and g < 60 and b < 60, (point, (r, g, b))
    assert plain.getpixel((plain.width // 2 + 7, plain.height // 2 + 40)) != (250, 10, 10)
