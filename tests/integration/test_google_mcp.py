"""generate_image / edit_image on Gemini and Vertex through a real MCP client.

The container is the real one; only its vendor table is overridden (dependency-injector
``override``) so that the real ``build_gemini_provider`` / ``build_vertex_provider`` receive an
``httpx2`` client whose MockTransport answers like Google. Everything between the MCP client and
the wire (tools, routing, policy, fan-out, retries, the SDK) runs for real. Vertex credentials
are a service-account file made here, exchanged at a loopback token endpoint.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from dependency_injector import providers
from fastmcp import Client

from adapters.png import solid_png
from adapters.providers.gemini_provider import build_gemini_provider
from adapters.providers.google_catalog import gemini_catalog, vertex_catalog
from adapters.providers.vertex_provider import build_vertex_provider
from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.adapters.google_fakes import (
    ACCESS_TOKEN,
    FakeGoogle,
    TokenServer,
    error_answer,
    failure_answers,
    write_service_account,
)
from tests.conftest import make_settings

KEY = "AIza-integration-key-42"


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.fixture
def fake() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
def server(output_root: Path, tmp_path: Path, fake: FakeGoogle, token_server: TokenServer):
    settings = make_settings(
        output_root,
        GEMINI_API_KEY=KEY,
        VERTEX_PROJECT="test-project",
        VERTEX_CREDENTIALS_PATH=str(write_service_account(tmp_path, token_server.url)),
        IMAGE_GEN_MCP_RETRIES=1,
    )
    container = build_container(settings)
    container.vendors.override(
        providers.Object(
            {
                "gemini": (lambda s: build_gemini_provider(s, http_client=fake.client()), gemini_catalog),
                "vertex": (lambda s: build_vertex_provider(s, http_client=fake.client()), vertex_catalog),
            }
        )
    )
    return build_mcp_server(container)


async def run(server, tool: str, arguments: dict) -> dict:
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments, raise_on_error=False)
    return result.structured_content


async def test_n3_on_a_one_image_model_fans_out_to_three_calls(server, fake) -> None:
    data = await run(
        server,
        "generate_image",
        {"prompt": "a fox", "provider": "gemini", "model": "gemini-3.1-flash-image", "n": 3},
    )
    assert data["ok"] is True and data["image_count"] == 3
    assert len(fake.seen) == 3
    assert all(s.url.endswith("/v1/models/gemini-3.1-flash-image:generateContent") for s in fake.seen)
    assert any(w["option"] == "n" and "3 parallel calls" in w["message"] for w in data["warnings"])


@pytest.mark.parametrize(
    ("arguments", "ratio", "size"),
    [
        ({"orientation": "landscape"}, "3:2", "1K"),
        ({"orientation": "portrait", "size": "L"}, "2:3", "4K"),
        ({"aspect_ratio": "16:9", "size": "M"}, "16:9", "2K"),
        ({"aspect_ratio": "1:8"}, "1:8", "1K"),
    ],
)
async def test_orientation_and_size_become_image_config(server, fake, arguments, ratio, size) -> None:
    data = await run(
        server,
        "generate_image",
        {"prompt": "a fox", "provider": "gemini", "model": "gemini-3.1-flash-image", **arguments},
    )
    assert data["ok"] is True, data
    assert fake.last.body["generationConfig"]["imageConfig"] == {"aspectRatio": ratio, "imageSize": size}
    assert fake.last.body["contents"][0]["parts"] == [{"text": "a fox"}]
    w, h = (int(x) for x in ratio.split(":"))
    image = data["images"][0]
    assert (image["width"] > image["height"]) == (w > h) and (image["width"] < image["height"]) == (w < h)
    assert data["used"]["aspect_ratio"] == ratio


async def test_edit_sends_the_images_as_parts(server, fake) -> None:
    first, second = solid_png(30, 20), solid_png(10, 10)
    data = await run(
        server,
        "edit_image",
        {
            "prompt": "put the cat on the sofa",
            "provider": "gemini",
            "images": [data_url(first), data_url(second)],
        },
    )
    assert data["ok"] is True and data["model"] == "gemini-3.1-flash-image"
    parts = fake.last.body["contents"][0]["parts"]
    assert parts[0] == {"text": "put the cat on the sofa"}
    assert [base64.urlsafe_b64decode(p["inlineData"]["data"]) for p in parts[1:]] == [first, second]


async def test_mask_and_transparency_are_refused_on_gemini_before_any_call(server, fake) -> None:
    png = data_url(solid_png(16, 16))
    masked = await run(
        server, "edit_image", {"prompt": "x", "provider": "gemini", "images": [png], "mask": png}
    )
    transparent = await run(
        server, "generate_image", {"prompt": "x", "provider": "gemini", "background": "transparent"}
    )
    assert masked["code"] == "unsupported_option" and masked["details"]["option"] == "mask"
    assert transparent["code"] == "unsupported_option" and transparent["details"]["option"] == "background"
    assert fake.seen == []


async def test_safety_block_is_content_blocked(server, fake) -> None:
    fake.answer(failure_answers(vertex=False)["content_blocked"])
    data = await run(server, "generate_image", {"prompt": "x", "provider": "gemini"})
    assert data["ok"] is False and data["code"] == "content_blocked"
    assert data["details"]["reason"] == "PROHIBITED_CONTENT"


async def test_bad_key_is_auth_failed_and_the_key_stays_secret(server, fake) -> None:
    fake.answer(failure_answers(vertex=False)["auth_failed"])
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "gemini"}, raise_on_error=False
        )
    assert result.structured_content["code"] == "auth_failed"
    assert "GEMINI_API_KEY" in result.structured_content["message"]
    assert KEY not in str(result.structured_content) and KEY not in result.content[0].text


async def test_one_failed_fan_out_call_returns_the_rest_with_a_warning(server, fake) -> None:
    fake.answer(error_answer(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
    data = await run(server, "generate_image", {"prompt": "x", "provider": "gemini", "n": 2})
    assert data["ok"] is True and data["image_count"] == 1
    assert len(fake.seen) == 2
    assert any("invalid argument" in w["message"] for w in data["warnings"])


async def test_vertex_imagen_masked_edit_sends_a_user_provided_mask(server, fake, token_server) -> None:
    from PIL import Image

    mask = Image.new("L", (24, 12), 0)
    mask.paste(255, (12, 0, 24, 12))  # white = edit, the right half
    out = io.BytesIO()
    mask.save(out, format="PNG")
    data = await run(
        server,
        "edit_image",
        {
            "prompt": "a sailboat",
            "provider": "vertex",
            "model": "imagen-3.0-capability-001",
            "images": [data_url(solid_png(24, 12))],
            "mask": data_url(out.getvalue()),
        },
    )
    assert data["ok"] is True, data
    seen = fake.last
    assert seen.url.endswith(
        "/projects/test-project/locations/global/publishers/google/models/imagen-3.0-capability-001:predict"
    )
    assert seen.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    reference = seen.body["instances"][0]["referenceImages"][1]
    assert reference["maskImageConfig"] == {"maskMode": "MASK_MODE_USER_PROVIDED"}
    sent = Image.open(io.BytesIO(base64.urlsafe_b64decode(reference["referenceImage"]["bytesBase64Encoded"])))
    assert (
        sent.size == (24, 12)
        and sent.convert("L").getpixel((20, 6)) == 255
        and sent.convert("L").getpixel((3, 6)) == 0
    )
    assert any(w["option"] == "model" and "retired" in w["message"] for w in data["warnings"])
    assert len(token_server.exchanges) == 1


async def test_vertex_imagen_n3_is_one_predict_with_landscape_as_4_3(server, fake) -> None:
    data = await run(
        server,
        "generate_image",
        {
            "prompt": "a harbour",
            "provider": "vertex",
            "model": "imagen-4.0-generate-001",
            "n": 3,
            "orientation": "landscape",
        },
    )
    assert data["ok"] is True and data["image_count"] == 3
    assert len(fake.seen) == 1
    assert fake.last.body["parameters"]["sampleCount"] == 3
    assert fake.last.body["parameters"]["aspectRatio"] == "4:3"


async def test_vertex_retired_model_404_names_the_replacement(server, fake) -> None:
    fake.answer(error_answer(404, "NOT_FOUND", "Publisher Model imagen-4.0-generate-001 was not found."))
    data = await run(
        server, "generate_image", {"prompt": "x", "provider": "vertex", "model": "imagen-4.0-generate-001"}
    )
    assert data["code"] == "model_not_found"
    assert data["details"]["replacement"] == "gemini-3.1-flash-image"


async def test_capabilities_list_both_google_catalogs(server) -> None:
    async with Client(server) as client:
        report = (await client.call_tool("get_model_capabilities", {})).structured_content
    by_id = {p["provider"]: p for p in report["providers"]}
    assert by_id["gemini"]["enabled"] and by_id["vertex"]["enabled"]
    gemini = {m["model"]: m for m in by_id["gemini"]["models"]}
    assert gemini["gemini-3.1-flash-image"]["supports_mask"] is False
    assert gemini["gemini-2.5-flash-image-preview"]["status"] == "retired"
    vertex = {m["model"]: m for m in by_id["vertex"]["models"]}
    # A retired model cannot be called: it reports only its status and what replaces it.
    assert vertex["imagen-3.0-capability-001"] == {
        "model": "imagen-3.0-capability-001", "status": "retired", "retired_on": "2026-06-30",
        "replacement": "gemini-3.1-flash-image",
    }
    assert gemini["gemini-3.1-flash-image"]["supports_mask"] is False
    assert by_id["gemini"]["default_model"] == by_id["vertex"]["default_model"] == "gemini-3.1-flash-image"
    assert "9:21" in vertex["gemini-3.1-flash-image"]["aspect_ratios"]
