"""The REST API in process: the same results and coded errors as the MCP tools."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from io import BytesIO
from pathlib import Path

import httpx2
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from PIL import Image

from adapters.png import solid_png
from domain.errors import AuthFailed, ProviderTimeout, ProviderUnavailable, RateLimited
from tests.http.helpers import AUTH, BASE_URL, data_url, make_app, mcp_client_factory, serving


async def generate(client: httpx2.AsyncClient, **body: object) -> httpx2.Response:
    return await client.post("/v1/images/generations", json={"prompt": "a red kite", **body})


async def test_generation_mirrors_the_tool_result_with_links_and_no_pixels(
    client: httpx2.AsyncClient, output_root: Path
) -> None:
    response = await generate(client, provider="fake", n=2, orientation="landscape")
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True and data["operation"] == "generate" and data["provider"] == "fake"
    assert data["image_count"] == 2
    for image in data["images"]:
        assert image["inline"] == "none" and "inline_data" not in image
        assert image["href"] == f"/v1/images/{image['id']}"
        assert image["preview_href"] == f"/v1/images/{image['id']}/preview"
        assert image["uri"] == f"image://{image['id']}"
        assert image["width"] > image["height"]
        assert "path" not in image  # a remote client gets links, not the server's folders
        assert len(list(output_root.rglob(f"*{image['id'][:8]}*.png"))) == 1
    assert len(response.text) < 5_000


async def test_full_image_bytes_come_back_with_their_type_and_an_etag(client: httpx2.AsyncClient) -> None:
    image = (await generate(client, provider="fake")).json()["images"][0]
    full = await client.get(image["href"])
    assert full.status_code == 200
    assert full.headers["content-type"] == image["media_type"] == "image/png"
    assert hashlib.sha256(full.content).hexdigest() == image["sha256"]
    assert full.headers["x-content-type-options"] == "nosniff"
    again = await client.get(image["href"], headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_one_images_record_is_what_the_listing_says_of_it(client: httpx2.AsyncClient) -> None:
    made = (await generate(client, provider="fake", prompt="a red kite")).json()["images"][0]
    record = await client.get(f"{made['href']}/record")
    assert record.status_code == 200
    image = record.json()["image"]
    listed = next(i for i in (await client.get("/v1/images")).json()["images"] if i["id"] == made["id"])
    assert image == listed
    assert image["prompt"] == "a red kite" and image["provider"] == "fake" and image["sha256"] == made["sha256"]
    missing = await client.get("/v1/images/" + "f" * 32 + "/record")
    assert missing.status_code == 404 and missing.json()["code"] == "image_not_found"


async def test_preview_is_a_small_jpeg(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_PREVIEW_MAX_EDGE=128)
    async with serving(app, headers=AUTH) as client:
        image = (await generate(client, provider="fake", size="L")).json()["images"][0]
        preview = await client.get(image["preview_href"])
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    with Image.open(BytesIO(preview.content)) as decoded:
        assert decoded.format == "JPEG" and max(decoded.size) <= 128 < max(image["width"], image["height"])


async def test_a_preview_made_with_other_settings_is_not_reported_unchanged(output_root: Path) -> None:
    async with serving(make_app(output_root, IMAGE_GEN_MCP_PREVIEW_MAX_EDGE=128), headers=AUTH) as client:
        image = (await generate(client, provider="fake", size="L")).json()["images"][0]
        jpeg = await client.get(image["preview_href"])
    assert jpeg.headers["content-type"] == "image/jpeg"
    webp_app = make_app(output_root, IMAGE_GEN_MCP_PREVIEW_MAX_EDGE=128, IMAGE_GEN_MCP_PREVIEW_FORMAT="webp")
    async with serving(webp_app, headers=AUTH) as client:
        again = await client.get(image["preview_href"], headers={"If-None-Match": jpeg.headers["etag"]})
    assert again.status_code == 200 and again.headers["content-type"] == "image/webp"


async def test_inline_preview_is_only_sent_when_asked(client: httpx2.AsyncClient) -> None:
    image = (await generate(client, provider="fake", inline="preview")).json()["images"][0]
    assert image["inline"] in ("preview", "full")
    header, payload = image["inline_data"].split(",", 1)
    assert header.startswith("data:image/") and header.endswith(";base64")
    assert base64.b64decode(payload)[:4] in (b"\x89PNG", b"RIFF")


async def test_edit_by_reference_and_by_data_url(client: httpx2.AsyncClient) -> None:
    source = (await generate(client, provider="fake")).json()["images"][0]
    by_ref = await client.post(
        "/v1/images/edits",
        json={"prompt": "add a moon", "provider": "fake", "images": [f"image://{source['id']}"]},
    )
    by_data = await client.post(
        "/v1/images/edits",
        json={"prompt": "add a moon", "provider": "fake", "images": [data_url(solid_png(32, 32))]},
    )
    assert by_ref.status_code == 200 and by_data.status_code == 200
    assert by_ref.json()["operation"] == "edit"
    recent = {r["id"]: r for r in (await client.get("/v1/images", params={"limit": 3})).json()["images"]}
    edited_by_ref = by_ref.json()["images"][0]["id"]
    assert {edited_by_ref, by_data.json()["images"][0]["id"], source["id"]} == set(recent)
    assert recent[edited_by_ref]["source_images"] == [source["id"]]


async def test_recent_list_and_its_limit(client: httpx2.AsyncClient) -> None:
    for _ in range(3):
        await generate(client, provider="fake")
    listed = await client.get("/v1/images", params={"limit": 2})
    assert listed.status_code == 200 and len(listed.json()["images"]) == 2
    bad = await client.get("/v1/images", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


async def test_capabilities(client: httpx2.AsyncClient) -> None:
    everything = await client.get("/v1/capabilities")
    assert everything.status_code == 200
    providers = {p["provider"]: p for p in everything.json()["providers"]}
    assert providers["fake"]["enabled"] and not providers["openai"]["enabled"]
    one = await client.get("/v1/capabilities", params={"provider": "fake"})
    assert [p["provider"] for p in one.json()["providers"]] == ["fake"]
    unknown = await client.get("/v1/capabilities", params={"provider": "nope"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_request"


async def test_capabilities_of_one_model(client: httpx2.AsyncClient) -> None:
    """The same ``model`` filter as the MCP tool: only the providers that list it, only it."""
    everything = (await client.get("/v1/capabilities", params={"provider": "fake"})).json()
    wanted = everything["providers"][0]["models"][-1]["model"]
    one = (await client.get("/v1/capabilities", params={"model": wanted})).json()
    models = [m["model"] for p in one["providers"] for m in p["models"]]
    assert models and set(models) == {wanted}
    missing = await client.get("/v1/capabilities", params={"model": "no-such-model"})
    assert missing.status_code == 404 and missing.json()["code"] == "model_not_found"
    too_long = await client.get("/v1/capabilities", params={"model": "m" * 201})
    assert too_long.status_code == 422 and too_long.json()["details"]["option"] == "model"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "prompt"),
        ({"prompt": "x", "colour": "red"}, 422, "colour"),
        ({"prompt": "x", "n": 11}, 422, "n"),
        ({"prompt": "x", "provider": "midjourney"}, 422, "provider"),
    ],
)
async def test_invalid_bodies_name_the_field(
    client: httpx2.AsyncClient, body: dict[str, object], status: int, field: str
) -> None:
    response = await client.post("/v1/images/generations", json=body)
    assert response.status_code == status
    error = response.json()
    assert error["code"] == "invalid_request" and error["retryable"] is False
    assert field in [p["field"] for p in error["details"]["problems"]]


async def test_bad_image_input_names_its_position(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/images/edits", json={"prompt": "x", "provider": "fake", "images": ["not an image!"]}
    )
    assert response.status_code == 422
    assert response.json()["details"]["option"] == "images[0]"


async def test_malformed_json_and_wrong_media_type(client: httpx2.AsyncClient) -> None:
    broken = await client.post(
        "/v1/images/generations", content=b'{"prompt": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_request"
    form = await client.post("/v1/images/generations", data={"prompt": "x"})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("directory", ["../escape", "/etc", "sub/../../escape"])
async def test_directory_is_confined_to_the_output_root(
    client: httpx2.AsyncClient, output_root: Path, directory: str
) -> None:
    response = await generate(client, provider="fake", directory=directory)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert response.json()["details"]["option"] == "directory"
    assert not (output_root.parent / "escape").exists()


async def test_directory_inside_the_root_is_used(client: httpx2.AsyncClient, output_root: Path) -> None:
    image = (await generate(client, provider="fake", directory="team/a")).json()["images"][0]
    assert len(list((output_root / "team" / "a").glob(f"*{image['id'][:8]}*.png"))) == 1


async def test_unknown_image_and_unknown_path(client: httpx2.AsyncClient) -> None:
    missing = await client.get("/v1/images/" + "0" * 32)
    assert missing.status_code == 404 and missing.json()["code"] == "image_not_found"
    traversal = await client.get("/v1/images/..%2f..%2fetc%2fpasswd")
    assert traversal.status_code == 404
    nowhere = await client.get("/v1/nothing-here")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
    wrong_method = await client.delete("/v1/images/generations")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


async def test_unconfigured_provider_is_409_naming_the_variable(client: httpx2.AsyncClient) -> None:
    response = await generate(client, provider="gemini")
    assert response.status_code == 409
    assert response.json()["code"] == "provider_not_configured"
    assert "GEMINI_API_KEY" in response.json()["message"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RateLimited("slow down", provider="fake", retry_after=7), 429, "rate_limited"),
        (ProviderUnavailable("down", provider="fake", retry_after=2.5), 503, "provider_unavailable"),
        (ProviderTimeout("late", provider="fake"), 504, "timeout"),
        (AuthFailed("bad key", provider="fake", status=401), 502, "auth_failed"),
    ],
)
async def test_vendor_errors_map_to_http_statuses(
    output_root: Path, error: Exception, status: int, code: str
) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_RETRIES=1)
    app.state.container.fake().fail_next(error)
    async with serving(app, headers=AUTH) as client:
        response = await generate(client, provider="fake")
    assert response.status_code == status
    assert response.json()["code"] == code
    retry_after = response.json()["details"].get("retry_after")
    if retry_after is None:
        assert "retry-after" not in response.headers
    else:
        assert response.headers["retry-after"] == str(int(-(-retry_after // 1)))


async def test_generations_over_the_in_flight_cap_get_429_with_retry_after(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_MAX_IN_FLIGHT=1, IMAGE_GEN_MCP_FAKE_LATENCY=0.2)
    async with serving(app, headers=AUTH) as client:
        first, second = await asyncio.gather(
            generate(client, provider="fake"), generate(client, provider="fake")
        )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 429]
    refused = first if first.status_code == 429 else second
    assert refused.json()["code"] == "overloaded" and refused.json()["retryable"] is True
    assert int(refused.headers["retry-after"]) >= 1


async def test_two_instances_sharing_a_store_behave_as_one(output_root: Path) -> None:
    """Made on one instance, fetched from another (REST and MCP): nothing is per-process."""
    first, second = make_app(output_root), make_app(output_root)
    async with serving(first, headers=AUTH) as a:
        image = (await generate(a, provider="fake")).json()["images"][0]
    async with serving(second, headers=AUTH) as b:
        fetched = await b.get(image["href"])
        transport = StreamableHttpTransport(
            f"{BASE_URL}/mcp",
            auth=AUTH["Authorization"].split()[1],
            httpx_client_factory=mcp_client_factory(second),
        )
        async with Client(transport) as mcp:
            contents = await mcp.read_resource(f"image://{image['id']}")
    assert hashlib.sha256(fetched.content).hexdigest() == image["sha256"]
    assert hashlib.sha256(base64.b64decode(contents[0].blob)).hexdigest() == image["sha256"]


async def test_rest_applies_the_same_input_caps_as_mcp(output_root: Path) -> None:
    import base64

    from adapters.png import solid_png

    app = make_app(output_root, IMAGE_GEN_MCP_MAX_INPUT_PIXELS=4096)
    big = base64.b64encode(solid_png(200, 200)).decode()
    async with serving(app, headers=AUTH) as client:
        response = await client.post(
            "/v1/images/edits", json={"prompt": "x", "provider": "fake", "images": [big]}
        )
    assert response.status_code == 422
    assert "4096 pixels" in response.json()["message"]
