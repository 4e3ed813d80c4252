"""The OpenAI-compatible gateway at /openai/v1, driven by the real ``openai`` SDK (and by plain
multipart requests) against the app in process, with the fake vendor behind it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from PIL import Image
from starlette.applications import Starlette

from adapters.png import solid_png
from domain.errors import (
    AuthFailed,
    ContentBlocked,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    StorageFailed,
)
from tests.http.helpers import BASE_URL, make_app, noisy_png, sdk


@pytest.fixture
async def gateway(output_root: Path) -> AsyncIterator[tuple[AsyncOpenAI, httpx2.AsyncClient, Starlette]]:
    app = make_app(output_root, IMAGE_GEN_MCP_RETRIES=1)
    async with sdk(app) as (client, http):
        yield client, http, app


def decoded(b64: str) -> Image.Image:
    return Image.open(BytesIO(base64.b64decode(b64)))


PNG = solid_png(48, 32, (10, 200, 30, 255))
MASK = solid_png(48, 32, (0, 0, 0, 0))


# -- generations ---------------------------------------------------------------------------


async def test_generate_returns_the_images_api_response_with_our_result_beside_it(gateway: Any) -> None:
    client, http, _ = gateway
    response = await client.images.generate(prompt="a red kite", model="fake/fake-image", n=2)
    assert len(response.data) == 2
    assert response.output_format == "png" and response.created > 0
    assert (
        response.usage is not None and response.usage.total_tokens == 10 + 100 * 2
    )  # one vendor call for both
    extra = response.model_extra["image_gen"]
    assert extra["provider"] == "fake" and extra["model"] == "fake-image" and extra["image_count"] == 2
    for datum, record in zip(response.data, extra["images"], strict=True):
        image = decoded(datum.b64_json)
        assert f"{image.width}x{image.height}" == response.size
        stored = await http.get(record["href"])
        assert stored.status_code == 200 and stored.content == base64.b64decode(datum.b64_json)
    assert response.data[0].b64_json != response.data[1].b64_json


async def test_wxh_is_mapped_to_the_nearest_size_and_the_change_reported(gateway: Any) -> None:
    client, _, app = gateway
    raw = await client.images.with_raw_response.generate(
        prompt="a kite", model="fake/fake-image", size="1792x1024"
    )
    response = raw.parse()
    # The fake offers 16:9 and no 7:4: the policy picks the nearest ratio, as for the tools.
    assert app.state.container.fake().calls[-1].aspect_ratio == "16:9"
    assert response.size == "64x36"
    assert raw.headers["x-image-gen-adjusted"] == "size=1792x1024->64x36"
    options = {w["option"] for w in response.model_extra["image_gen"]["warnings"]}
    assert "aspect_ratio" in options


async def test_an_exact_size_and_auto_report_no_adjustment(output_root: Path) -> None:
    app = make_app(output_root)
    app.state.container.fake().size = (1024, 1024)
    async with sdk(app) as (client, _):
        exact = await client.images.with_raw_response.generate(
            prompt="a kite", model="fake/fake-image", size="1024x1024"
        )
        auto = await client.images.with_raw_response.generate(
            prompt="a kite", model="fake/fake-image", size="auto"
        )
    assert exact.parse().size == "1024x1024" and "x-image-gen-adjusted" not in exact.headers
    assert "x-image-gen-adjusted" not in auto.headers
    assert app.state.container.fake().calls[-1].aspect_ratio == "1:1"


@pytest.mark.parametrize(
    ("asked", "tier"),
    [("1024x1024", "S"), ("1792x1024", "S"), ("2048x1152", "M"), ("3840x2160", "L"), ("4096x4096", "L")],
)
async def test_the_long_edge_picks_the_size_tier(gateway: Any, asked: str, tier: str) -> None:
    client, _, app = gateway
    await client.images.generate(prompt="a kite", model="fake/fake-image", size=asked)
    assert app.state.container.fake().calls[-1].size_tier.value == tier


@pytest.mark.parametrize(
    ("quality", "native", "reported"),
    [
        ("low", "low", "low"),
        ("medium", "medium", "medium"),
        ("hd", "high", "high"),
        ("standard", "medium", "medium"),
    ],
)
async def test_quality_words_of_gpt_image_and_dalle_map_to_the_tools_vocabulary(
    gateway: Any, quality: str, native: str, reported: str
) -> None:
    client, _, app = gateway
    response = await client.images.generate(prompt="a kite", model="fake/fake-image", quality=quality)
    assert app.state.container.fake().calls[-1].quality == native
    assert response.quality == reported


async def test_background_output_format_and_compression_are_passed_through(gateway: Any) -> None:
    client, _, app = gateway
    response = await client.images.generate(
        prompt="a logo",
        model="fake/fake-image",
        background="transparent",
        output_format="webp",
        output_compression=70,
        moderation="auto",
        user="someone",
    )
    call = app.state.container.fake().calls[-1]
    assert call.background.value == "transparent" and call.output_format.value == "webp"
    assert call.output_compression == 70
    assert response.background == "transparent"


async def test_url_response_format_points_at_the_native_image_route(gateway: Any) -> None:
    client, http, _ = gateway
    response = await client.images.generate(prompt="a kite", model="fake/fake-image", response_format="url")
    url = response.data[0].url
    assert response.data[0].b64_json is None
    assert url.startswith(f"{BASE_URL}/v1/images/")
    fetched = await http.get(url)
    record = response.model_extra["image_gen"]["images"][0]
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == record["sha256"]


async def test_an_unsaved_image_comes_back_as_b64_even_when_a_url_was_asked(
    gateway: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, app = gateway

    async def disk_full(*args: Any, **kwargs: Any) -> None:
        raise StorageFailed("The image could not be saved (ENOSPC).")

    monkeypatch.setattr(app.state.container.store(), "save", disk_full)
    response = await client.images.generate(prompt="a kite", model="fake/fake-image", response_format="url")
    assert response.data[0].url is None and decoded(response.data[0].b64_json or "").format == "PNG"
    options = [w["option"] for w in response.model_extra["image_gen"]["warnings"]]
    assert "directory" in options and "response_format" in options


@pytest.mark.parametrize(
    ("model", "provider", "model_id", "by_default"),
    [
        ("fake/fake-single", "fake", "fake-single", False),
        ("fake-single", "fake", "fake-single", True),  # the provider came from the catalog
        ("fake", "fake", "fake-image", True),
        (None, "placeholder", "placeholder", True),
    ],
)
async def test_model_is_provider_slash_model_a_bare_id_a_provider_or_the_default(
    gateway: Any, model: str | None, provider: str, model_id: str, by_default: bool
) -> None:
    client, _, _ = gateway
    options = {"model": model} if model else {}
    extra = (await client.images.generate(prompt="a kite", **options)).model_extra["image_gen"]
    assert (extra["provider"], extra["model"], extra["chosen_by_default"]) == (provider, model_id, by_default)


async def test_openai_only_knobs_are_accepted_and_said_to_be_dropped(gateway: Any) -> None:
    client, _, _ = gateway
    raw = await client.images.with_raw_response.generate(
        prompt="a kite", model="fake/fake-image", moderation="low", style="vivid"
    )
    options = [w["option"] for w in raw.parse().model_extra["image_gen"]["warnings"]]
    assert options == ["moderation", "style"]
    assert raw.headers["x-image-gen-adjusted"] == "moderation; style"


# -- edits ---------------------------------------------------------------------------------


async def test_edit_one_file(gateway: Any) -> None:
    client, _, app = gateway
    response = await client.images.edit(
        image=("in.png", PNG, "image/png"), prompt="make it blue", model="fake"
    )
    call = app.state.container.fake().calls[-1]
    assert call.operation.value == "edit" and len(call.images) == 1 and call.mask is None
    assert call.images[0].data == PNG
    assert response.model_extra["image_gen"]["operation"] == "edit"
    # No size asked: the edit keeps the input's 3:2 shape.
    assert call.aspect_ratio == "3:2" and decoded(response.data[0].b64_json).size == (64, 43)


async def test_edit_several_files_with_a_mask_and_n(gateway: Any) -> None:
    client, _, app = gateway
    second = solid_png(32, 32, (1, 2, 3, 255))
    response = await client.images.edit(
        image=[("a.png", PNG, "image/png"), ("b.png", second, "image/png")],
        mask=("mask.png", MASK, "image/png"),
        prompt="merge them",
        model="fake/fake-image",
        n=3,
        size="1024x1024",
    )
    call = app.state.container.fake().calls[-1]
    assert [image.data for image in call.images] == [PNG, second]
    assert call.mask is not None and call.n == 3
    assert len(response.data) == 3 and response.size == "64x64"
    assert len(response.model_extra["image_gen"]["images"][0]["id"]) == 32


async def test_curl_style_multipart_with_repeated_image_fields(gateway: Any) -> None:
    _, http, app = gateway
    files = [
        ("image", ("a.png", PNG, "image/png")),
        ("image[]", ("b.png", PNG, "image/png")),
        ("mask", ("m.png", MASK, "image/png")),
    ]
    data = {"prompt": "tidy up", "model": "fake/fake-image", "n": "2", "response_format": "b64_json"}
    response = await http.post("/openai/v1/images/edits", data=data, files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) == 2 and all(d["b64_json"] for d in body["data"])
    call = app.state.container.fake().calls[-1]
    assert len(call.images) == 2 and call.mask is not None and call.n == 2


async def test_json_edit_takes_stored_ids_and_image_url_objects(gateway: Any) -> None:
    client, http, app = gateway
    made = await client.images.generate(prompt="a kite", model="fake/fake-image")
    image_id = made.model_extra["image_gen"]["images"][0]["id"]
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    body = {
        "prompt": "add a tail",
        "model": "fake/fake-image",
        "images": [{"image_url": f"image://{image_id}"}, data_url],
        "mask": {"image_url": data_url},
    }
    response = await http.post("/openai/v1/images/edits", json=body)
    assert response.status_code == 200, response.text
    call = app.state.container.fake().calls[-1]
    assert call.images[0].source_id == image_id and call.images[1].data == PNG and call.mask is not None
    assert response.json()["image_gen"]["operation"] == "edit"


async def test_json_edit_refuses_file_ids_naming_the_image(gateway: Any) -> None:
    _, http, app = gateway
    body = {"prompt": "x", "images": [{"image_url": "image://" + "0" * 32}, {"file_id": "file-abc"}]}
    response = await http.post("/openai/v1/images/edits", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "image[1]" and "file_id" in error["message"]
    assert app.state.container.fake().calls == []


# -- models --------------------------------------------------------------------------------


async def test_models_lists_the_enabled_models_as_provider_slash_model(gateway: Any) -> None:
    client, _, _ = gateway
    models = [m async for m in client.models.list()]
    ids = [m.id for m in models]
    assert {"fake/fake-image", "fake/fake-single", "placeholder/placeholder"} <= set(ids)
    assert not any(i.startswith(("openai/", "gemini/")) for i in ids)  # not configured here
    assert all(m.object == "model" and m.owned_by == m.id.split("/")[0] for m in models)
    one = await client.models.retrieve("fake/fake-single")
    assert one.id == "fake/fake-single"
    with pytest.raises(openai.NotFoundError) as missing:
        await client.models.retrieve("fake/nothing")
    assert missing.value.code == "model_not_found"


# -- errors, as the SDK's own exceptions ---------------------------------------------------


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"size": "big"}, "size"),
        ({"size": "100x9000"}, "size"),
        ({"n": 0}, "n"),
        ({"quality": "ultra"}, "quality"),
        ({"extra_body": {"frobnicate": 1}}, "frobnicate"),
        ({"model": "fake/fake-generate-only", "background": "transparent"}, "background"),
    ],
)
async def test_bad_parameters_are_bad_request_errors_naming_the_param(
    gateway: Any, options: dict[str, Any], param: str
) -> None:
    client, _, _ = gateway
    with pytest.raises(openai.BadRequestError) as error:
        await client.images.generate(prompt="a kite", **options)
    assert error.value.param == param
    assert error.value.code in ("invalid_request", "unsupported_option")
    assert error.value.type == "invalid_request_error"


async def test_streaming_is_refused_up_front(gateway: Any) -> None:
    _, http, app = gateway
    response = await http.post("/openai/v1/images/generations", json={"prompt": "x", "stream": True})
    assert response.status_code == 400 and response.json()["error"]["param"] == "stream"
    assert app.state.container.fake().calls == []


async def test_malformed_and_unsupported_bodies(gateway: Any) -> None:
    _, http, _ = gateway
    broken = await http.post(
        "/openai/v1/images/generations", content=b"{", headers={"Content-Type": "application/json"}
    )
    plain = await http.post("/openai/v1/images/edits", content=b"x", headers={"Content-Type": "text/plain"})
    no_boundary = await http.post(
        "/openai/v1/images/edits", content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    no_image = await http.post("/openai/v1/images/edits", data={"prompt": "x"}, files={"other": ("a", b"1")})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_request"
    assert plain.status_code == 415 and plain.json()["error"]["code"] == "unsupported_media_type"
    assert no_boundary.status_code == 400 and no_boundary.json()["error"]["type"] == "invalid_request_error"
    assert no_image.status_code == 400


async def test_an_upload_that_is_not_an_image_is_refused_naming_it(gateway: Any) -> None:
    client, _, app = gateway
    with pytest.raises(openai.BadRequestError) as error:
        await client.images.edit(
            image=[("a.png", PNG, "image/png"), ("b.png", b"not an image", "image/png")], prompt="x"
        )
    assert error.value.param == "image[1]"
    assert app.state.container.fake().calls == []


async def test_per_file_and_file_count_limits_hold_for_multipart(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_MAX_INPUT_BYTES=20_000)
    async with sdk(app) as (client, http):
        with pytest.raises(openai.BadRequestError) as too_big:
            await client.images.edit(image=("big.png", noisy_png(100, 100), "image/png"), prompt="x")
        many = [("image[]", (f"{i}.png", PNG, "image/png")) for i in range(18)]
        crowd = await http.post("/openai/v1/images/edits", data={"prompt": "x"}, files=many)
    assert too_big.value.param == "image[0]" and "20000 bytes" in too_big.value.message
    assert crowd.status_code == 400 and "Too many files" in crowd.json()["error"]["message"]
    assert app.state.container.fake().calls == []


async def test_the_body_cap_covers_multipart(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_MAX_BODY_BYTES=50_000)
    async with sdk(app) as (client, _):
        with pytest.raises(openai.APIStatusError) as error:
            await client.images.edit(image=("big.png", noisy_png(150, 150), "image/png"), prompt="x")
    assert error.value.status_code == 413
    assert error.value.code == "payload_too_large"


async def test_a_wrong_or_missing_token_is_an_authentication_error(output_root: Path) -> None:
    async with sdk(make_app(output_root), api_key="not-the-token") as (client, http):
        with pytest.raises(openai.AuthenticationError) as error:
            await client.images.generate(prompt="x")
        anonymous = await http.get("/openai/v1/models", headers={"Authorization": ""})
    assert error.value.code == "unauthorized" and error.value.type == "authentication_error"
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_a_foreign_origin_or_host_is_refused_in_the_envelope(output_root: Path) -> None:
    headers = {"Origin": "https://evil.example"}
    async with sdk(make_app(output_root), default_headers=headers) as (client, http):
        with pytest.raises(openai.PermissionDeniedError) as error:
            await client.images.generate(prompt="x")
        rebound = await http.get("/openai/v1/models", headers={"Host": "evil.example"})
    assert error.value.code == "forbidden"
    assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "misdirected_request"


async def test_unknown_model_and_path_are_not_found_errors(gateway: Any) -> None:
    client, http, _ = gateway
    with pytest.raises(openai.NotFoundError) as error:
        await client.images.generate(prompt="x", model="no-such-model")
    missing_path = await http.get("/openai/v1/images/variations")
    wrong_method = await http.get("/openai/v1/images/generations")
    assert error.value.code == "model_not_found"
    assert missing_path.status_code == 404 and missing_path.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_an_unconfigured_provider_is_a_conflict_error_not_retried(output_root: Path) -> None:
    async with sdk(make_app(output_root), max_retries=2) as (client, _):
        with pytest.raises(openai.ConflictError) as error:
            await client.images.generate(prompt="x", model="gemini/gemini-3.1-flash-image")
    assert error.value.code == "provider_not_configured"
    assert "GEMINI_API_KEY" in error.value.message
    assert error.value.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize(
    ("error", "exception", "status", "code"),
    [
        (
            ContentBlocked("refused by safety", provider="fake"),
            openai.UnprocessableEntityError,
            422,
            "content_blocked",
        ),
        (
            RateLimited("slow down", provider="fake", retry_after=7),
            openai.RateLimitError,
            429,
            "rate_limited",
        ),
        (QuotaExhausted("no credit", provider="fake"), openai.RateLimitError, 429, "quota_exhausted"),
        (
            ProviderUnavailable("down", provider="fake"),
            openai.InternalServerError,
            503,
            "provider_unavailable",
        ),
        (AuthFailed("bad key", provider="fake", status=401), openai.InternalServerError, 502, "auth_failed"),
    ],
)
async def test_vendor_errors_are_the_sdks_own_exceptions(
    output_root: Path, error: Exception, exception: type[openai.APIStatusError], status: int, code: str
) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_RETRIES=1)
    app.state.container.fake().fail_next(error)
    async with sdk(app) as (client, _):
        with pytest.raises(exception) as raised:
            await client.images.generate(prompt="x", model="fake/fake-image")
    assert raised.value.status_code == status and raised.value.code == code
    headers = raised.value.response.headers
    if code == "rate_limited":
        assert headers["retry-after"] == "7" and headers["x-should-retry"] == "true"
    if code in ("quota_exhausted", "auth_failed"):
        assert headers["x-should-retry"] == "false"


async def test_a_quota_error_is_not_retried_by_the_sdk(output_root: Path) -> None:
    app = make_app(output_root, IMAGE_GEN_MCP_RETRIES=1)
    fake = app.state.container.fake()
    fake.fail_next(QuotaExhausted("no credit", provider="fake"))
    async with sdk(app, max_retries=2) as (client, _):
        with pytest.raises(openai.RateLimitError):
            await client.images.generate(prompt="x", model="fake/fake-image")
    assert len(fake.calls) == 1


async def test_over_the_in_flight_cap_is_a_rate_limit_error_with_retry_after(output_root: Path) -> None:
    import asyncio

    app = make_app(output_root, IMAGE_GEN_MCP_MAX_IN_FLIGHT=1, IMAGE_GEN_MCP_FAKE_LATENCY=0.3)
    async with sdk(app) as (client, _):
        results = await asyncio.gather(
            client.images.generate(prompt="x", model="fake/fake-image"),
            client.images.generate(prompt="y", model="fake/fake-image"),
            return_exceptions=True,
        )
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(refused) == 1 and refused[0].code == "overloaded"
    assert int(refused[0].response.headers["retry-after"]) >= 1


async def test_errors_never_carry_a_configured_secret(output_root: Path) -> None:
    secret = "sk-gateway-secret-0123456789abcdef"
    app = make_app(output_root, OPENAI_API_KEY=secret, IMAGE_GEN_MCP_RETRIES=1)
    app.state.container.fake().fail_next(ProviderUnavailable(f"upstream said: key {secret} is odd"))
    async with sdk(app) as (client, _):
        with pytest.raises(openai.InternalServerError) as error:
            await client.images.generate(prompt="x", model="fake/fake-image")
    assert secret not in error.value.response.text
