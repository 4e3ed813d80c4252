"""Exact requests the OpenRouter adapter sends through the openai SDK, and how it reads every
answer (images, usage, errors in and out of HTTP 200), against the wire-level fake."""

from __future__ import annotations

import base64
import copy
import logging

import attrs
import pytest

from adapters.png import solid_png
from adapters.providers.openrouter_catalog import ROUTES, curated, openrouter_catalog
from adapters.providers.openrouter_provider import OpenRouterImageProvider, build_openrouter_provider
from domain.catalog import unknown_model_spec
from domain.errors import AppError, ModelNotFound, ProviderNotConfigured
from domain.images import ImageData
from domain.options import Background, Operation, OutputFormat, SizeTier
from tests.adapters.openrouter_fake import API_KEY, BASE_URL, Answer, Clock, FakeOpenRouter, or_error
from tests.conftest import make_settings
from tests.contract.provider_contract import request_for

PNG = solid_png(24, 16)
FOX = "a red fox in the snow"


@pytest.fixture
async def provider(fake: FakeOpenRouter, clock: Clock):
    adapter = OpenRouterImageProvider(
        api_key=API_KEY,
        base_url=BASE_URL,
        timeout_s=5.0,
        app_url="https://example.org/image-gen-mcp",
        app_title="image-gen-mcp",
        models_ttl_s=600.0,
        http_client=fake.http_client(),
        clock=clock,
    )
    yield adapter
    await adapter.aclose()


def spec(model: str):
    found = curated(model)
    assert found is not None
    return found


def request(model_spec, operation: Operation = Operation.GENERATE, **changes):
    return attrs.evolve(request_for(model_spec, operation), **changes)


def test_every_curated_model_has_a_route_and_no_mask() -> None:
    models = [s.model for s in openrouter_catalog()]
    assert sorted(ROUTES) == sorted(models)
    assert not any(s.mask for s in openrouter_catalog())
    retired = curated("google/gemini-2.5-flash-image-preview")
    assert retired is not None and retired.status.value == "retired"
    assert retired.replacement == "google/gemini-2.5-flash-image"


async def test_image_api_request_is_exact(provider, fake, monkeypatch) -> None:
    # The OpenAI vendor's organization must not travel to OpenRouter.
    monkeypatch.setenv("OPENAI_ORG_ID", "org-should-not-leak")
    gpt = spec("openai/gpt-image-2")
    result = await provider.generate(
        request(
            gpt,
            n=3,
            size_tier=SizeTier.M,
            size_label="2K",
            aspect_ratio="3:2",
            quality="high",
            background=Background.OPAQUE,
            output_format=OutputFormat.WEBP,
            output_compression=80,
        )
    )
    [sent] = fake.requests
    assert (sent.method, sent.path) == ("POST", "/api/v1/images")
    assert sent.body == {
        "model": "openai/gpt-image-2",
        "prompt": FOX,
        "n": 3,
        "resolution": "2K",
        "aspect_ratio": "3:2",
        "quality": "high",
        "background": "opaque",
        "output_format": "webp",
        "output_compression": 80,
    }
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["http-referer"] == "https://example.org/image-gen-mcp"
    assert sent.headers["x-openrouter-title"] == "image-gen-mcp"
    assert sent.headers["x-title"] == "image-gen-mcp"
    assert "openai-organization" not in sent.headers
    assert sent.headers["x-stainless-retry-count"] == "0"
    assert [i.media_type for i in result.images] == ["image/webp"] * 3
    assert (result.images[0].width, result.images[0].height) == (96, 64)
    assert result.usage.as_dict() == {"input_tokens": 12, "output_tokens": 3870, "total_tokens": 3882}
    assert result.used["cost"] == pytest.approx(0.12)
    assert result.used | {"cost": 0} == {
        "route": "images",
        "resolution": "2K",
        "aspect_ratio": "3:2",
        "quality": "high",
        "background": "opaque",
        "output_format": "webp",
        "size": "96x64",
        "cost": 0,
    }
    assert result.warnings == ()


async def test_single_image_model_gets_no_knobs_it_lacks(provider, fake) -> None:
    gemini = spec("google/gemini-3.1-flash-image")
    await provider.generate(request(gemini, background=Background.OPAQUE, aspect_ratio="16:9"))
    assert fake.requests[0].body == {
        "model": "google/gemini-3.1-flash-image",
        "prompt": FOX,
        "resolution": "1K",
        "aspect_ratio": "16:9",
    }


async def test_edit_sends_input_references_as_data_urls(provider, fake) -> None:
    jpeg_image = ImageData.from_bytes(base64.b64decode(_tiny_jpeg()))
    gemini = spec("google/gemini-3.1-flash-image")
    result = await provider.edit(
        request(gemini, Operation.EDIT, images=(ImageData.from_bytes(PNG), jpeg_image))
    )
    refs = fake.requests[0].body["input_references"]
    assert refs == [
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
        },
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + _tiny_jpeg()}},
    ]
    assert result.images[0].media_type == "image/png"


async def test_chat_route_for_chat_only_models(provider, fake) -> None:
    gpt5 = spec("openai/gpt-5-image")
    result = await provider.generate(request(gpt5, aspect_ratio="3:2"))
    [sent] = fake.requests
    assert (sent.method, sent.path) == ("POST", "/api/v1/chat/completions")
    assert sent.body == {
        "model": "openai/gpt-5-image",
        "messages": [{"role": "user", "content": FOX}],
        "modalities": ["image", "text"],
        "image_config": {"aspect_ratio": "3:2", "image_size": "1K"},
    }
    assert sent.headers["x-openrouter-title"] == "image-gen-mcp"
    assert (result.images[0].width, result.images[0].height) == (64, 43)
    assert result.used["route"] == "chat" and result.used["upstream_provider"] == "OpenAI"
    assert result.used["cost"] == 0.05
    assert result.usage.total_tokens == 1320


async def test_chat_route_edit_sends_image_url_parts(provider, fake) -> None:
    gpt5 = spec("openai/gpt-5-image-mini")
    await provider.edit(request(gpt5, Operation.EDIT, images=(ImageData.from_bytes(PNG),)))
    assert fake.requests[0].body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": FOX},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
                },
            ],
        }
    ]


async def test_image_api_404_falls_back_to_chat_and_is_remembered(provider, fake, clock) -> None:
    unknown = unknown_model_spec("openrouter", "acme/chat-painter", spec("google/gemini-3.1-flash-image"))
    first = await provider.generate(request(unknown))
    assert [r.path for r in fake.requests] == ["/api/v1/images", "/api/v1/chat/completions"]
    assert first.used["route"] == "chat"
    await provider.generate(request(unknown))
    assert [r.path for r in fake.requests][2:] == ["/api/v1/chat/completions"]
    clock.now += 601  # the memory lasts one TTL, then the image API is asked again
    await provider.generate(request(unknown))
    assert [r.path for r in fake.requests][3:] == ["/api/v1/images", "/api/v1/chat/completions"]


async def test_fallback_with_n_above_one_makes_one_chat_call_per_image(provider, fake) -> None:
    unknown = attrs.evolve(unknown_model_spec("openrouter", "acme/chat-painter", None), max_n=4)
    fake.fail_next(or_error(404, "not on the image API"), Answer(200, {"choices": []}))
    result = await provider.generate(request(unknown, n=3))
    assert [r.path for r in fake.requests].count("/api/v1/chat/completions") == 3
    assert len(result.images) == 2
    assert any("One of 3 chat calls failed" in w for w in result.warnings)


async def test_unknown_model_not_served_anywhere_is_model_not_found(provider, fake) -> None:
    fake.fail_with("model_not_found")
    with pytest.raises(ModelNotFound) as caught:
        await provider.generate(request(unknown_model_spec("openrouter", "acme/nothing", None)))
    assert [r.path for r in fake.requests] == ["/api/v1/images", "/api/v1/chat/completions"]
    assert caught.value.details["route"] == "images" and caught.value.details["status"] == 404


async def test_retired_model_not_found_names_its_replacement_without_fallback(provider, fake) -> None:
    fake.fail_next(or_error(404, "No endpoints found for google/gemini-2.5-flash-image-preview"))
    with pytest.raises(ModelNotFound) as caught:
        await provider.generate(request(spec("google/gemini-2.5-flash-image-preview")))
    assert caught.value.details["replacement"] == "google/gemini-2.5-flash-image"
    assert "google/gemini-2.5-flash-image instead" in caught.value.message
    assert [r.path for r in fake.requests] == ["/api/v1/images"]  # catalog data: a 404 is final


async def test_discovered_model_404_is_final(provider, fake) -> None:
    seedream = next(s for s in await provider.models() if s.model == "bytedance-seed/seedream-4.5")
    fake.fail_next(or_error(404, "No endpoints found"))
    with pytest.raises(ModelNotFound):
        await provider.generate(request(seedream))
    assert [r.path for r in fake.requests] == ["/api/v1/images/models", "/api/v1/images"]


ERROR_CASES = [
    pytest.param(
        or_error(403, "Flagged", {"error_type": "content_policy_violation"}), "content_blocked", id="403-type"
    ),
    pytest.param(or_error(400, "Refused", {"error_type": "refusal"}), "content_blocked", id="400-refusal"),
    pytest.param(or_error(403, "Key not allowed"), "permission_denied", id="403-plain"),
    pytest.param(or_error(402, "Insufficient credits"), "quota_exhausted", id="402"),
    pytest.param(or_error(408, "Request timed out"), "timeout", id="408"),
    pytest.param(or_error(413, "Payload too large"), "invalid_request", id="413"),
    pytest.param(or_error(422, "Bad n"), "invalid_request", id="422"),
    pytest.param(or_error(500, "Internal"), "provider_unavailable", id="500"),
    pytest.param(or_error(503, "No provider", retry_after="3"), "provider_unavailable", id="503"),
    pytest.param(or_error(524, "Edge timeout"), "timeout", id="524"),
    pytest.param(
        or_error(529, "Overloaded", {"error_type": "provider_overloaded"}), "provider_unavailable", id="529"
    ),
    pytest.param(
        Answer(
            200, {"error": {"code": 502, "message": "Upstream failed", "metadata": {"error_type": "server"}}}
        ),
        "provider_unavailable",
        id="200-error-502",
    ),
    pytest.param(
        Answer(200, {"error": {"code": 429, "message": "Slow down"}}), "rate_limited", id="200-error-429"
    ),
    pytest.param(
        Answer(200, {"created": 1, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]}), "no_image", id="200-junk"
    ),
    pytest.param(Answer(200, {"created": 1}), "no_image", id="200-no-data"),
]


@pytest.mark.parametrize(("answer", "code"), ERROR_CASES)
async def test_image_api_errors_are_translated(provider, fake, answer, code) -> None:
    fake.fail_next(answer)
    with pytest.raises(AppError) as caught:
        await provider.generate(request(spec("google/gemini-3.1-flash-image")))
    assert caught.value.code == code
    assert caught.value.details["provider"] == "openrouter"
    assert caught.value.details.get("retry_after") == (3.0 if answer.headers.get("retry-after") else None)


async def test_rate_limit_carries_retry_after_and_request_id(provider, fake) -> None:
    fake.fail_next(
        Answer(
            429,
            {"error": {"code": 429, "message": "Rate limit"}},
            {"Retry-After": "7", "x-request-id": "req_9"},
        )
    )
    with pytest.raises(AppError) as caught:
        await provider.generate(request(spec("google/gemini-3.1-flash-image")))
    assert caught.value.code == "rate_limited" and caught.value.retryable
    assert caught.value.details["retry_after"] == 7.0 and caught.value.details["request_id"] == "req_9"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, 30.0, id="availability-only"),
        pytest.param({"Retry-After": "5"}, 5.0, id="header-wins"),
    ],
)
async def test_unavailable_model_waits_for_availability_retry_after(
    provider, fake, headers, expected
) -> None:
    error = {
        "code": 503,
        "message": "Warming up",
        "availability": {"code": "capacity_exhausted", "retry_after": 30},
    }
    fake.fail_next(Answer(503, {"error": error}, headers))
    with pytest.raises(AppError) as caught:
        await provider.generate(request(spec("google/gemini-3.1-flash-image")))
    assert caught.value.code == "provider_unavailable" and caught.value.retryable
    assert caught.value.details["retry_after"] == expected


async def test_unavailable_model_names_openrouters_fallback(provider, fake) -> None:
    error = {
        "code": 400,
        "message": "Model gone",
        "availability": {"code": "model_deprecated", "fallback_models": ["acme/v2"]},
    }
    fake.fail_next(Answer(400, {"error": error}))
    with pytest.raises(ModelNotFound) as caught:
        await provider.generate(request(spec("google/gemini-3.1-flash-image")))
    assert (
        caught.value.details["replacement"] == "acme/v2"
        and caught.value.details["availability"] == "model_deprecated"
    )


async def test_transparent_refusal_is_unsupported_option(provider, fake) -> None:
    fake.fail_next(or_error(400, "background 'transparent' is not supported by this model"))
    gpt = spec("openai/gpt-image-2")
    with pytest.raises(AppError) as caught:
        await provider.generate(request(gpt, background=Background.TRANSPARENT))
    assert caught.value.code == "unsupported_option" and caught.value.details["option"] == "background"
    assert fake.requests[0].body["background"] == "transparent"


def _chat(choice: dict | None = None, **top) -> Answer:
    body = {"id": "gen-1", "object": "chat.completion", "created": 1, "model": "openai/gpt-5-image", **top}
    if choice is not None:
        body["choices"] = [{"index": 0, **choice}]
    return Answer(200, body)


CHAT_CASES = [
    pytest.param(
        _chat({"finish_reason": "error", "message": {"role": "assistant", "content": "partial"},
               "error": {"code": 502, "message": "Provider disconnected", "metadata": {"error_type": "provider_unavailable"}}}),
        "provider_unavailable",
        id="finish-error",
    ),
    pytest.param(_chat(error={"code": 429, "message": "Rate limit exceeded"}), "rate_limited", id="top-level-error"),
    pytest.param(_chat({"finish_reason": "error", "message": {"role": "assistant"}}), "provider_unavailable", id="bare-error"),
    pytest.param(_chat({"finish_reason": "stop", "message": {"role": "assistant", "content": "I can only describe it."}}),
                 "no_image", id="text-only"),
    pytest.param(_chat({"finish_reason": "stop", "message": {"role": "assistant", "content": None, "refusal": "No."}}),
                 "content_blocked", id="refusal"),
    pytest.param(_chat({"finish_reason": "content_filter", "message": {"role": "assistant", "content": None}}),
                 "content_blocked", id="content-filter"),
    pytest.param(or_error(401, "User not found."), "auth_failed", id="401"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "code"), CHAT_CASES)
async def test_chat_route_errors_are_translated(provider, fake, answer, code) -> None:
    fake.fail_next(answer)
    with pytest.raises(AppError) as caught:
        await provider.generate(request(spec("openai/gpt-5-image")))
    assert caught.value.code == code
    if code == "no_image":
        assert "I can only describe it." in caught.value.message


async def test_the_key_never_leaks(provider, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next(or_error(401, f"Invalid key {API_KEY}"))
    fake.listing_failure = or_error(401, f"Invalid key {API_KEY}")
    with pytest.raises(AppError) as caught:
        await provider.generate(request(spec("google/gemini-3.1-flash-image")))
    await provider.models()
    assert caught.value.code == "auth_failed"
    assert API_KEY not in str(caught.value.to_payload()) and "***" in caught.value.message
    assert API_KEY not in caplog.text and "discovery failed" in caplog.text


async def test_one_client_is_reused_and_closed(fake) -> None:
    http = fake.http_client()
    adapter = OpenRouterImageProvider(api_key=API_KEY, base_url=BASE_URL, timeout_s=5.0, http_client=http)
    gemini = spec("google/gemini-3.1-flash-image")
    await adapter.generate(request(gemini))
    await adapter.edit(request(gemini, Operation.EDIT))
    assert len(fake.requests) == 2 and not http.is_closed
    await adapter.aclose()
    await adapter.aclose()
    assert http.is_closed


async def test_built_from_settings(output_root, fake) -> None:
    settings = make_settings(
        output_root,
        OPENROUTER_API_KEY=API_KEY,
        OPENROUTER_BASE_URL=BASE_URL,
        OPENROUTER_APP_URL="https://app.example",
        OPENROUTER_APP_TITLE="My MCP",
    )
    adapter = build_openrouter_provider(settings, http_client=fake.http_client())
    await adapter.generate(request(spec("google/gemini-3.1-flash-image")))
    await adapter.aclose()
    headers = fake.requests[0].headers
    assert headers["http-referer"] == "https://app.example" and headers["x-title"] == "My MCP"
    assert fake.requests[0].path == "/api/v1/images"
    with pytest.raises(ProviderNotConfigured):
        build_openrouter_provider(make_settings(output_root))


def _tiny_jpeg() -> str:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="JPEG")
    return base64.b64encode(out.getvalue()).decode()


async def test_discovered_models_get_input_references_only_when_listed(provider, fake) -> None:
    from application.policy import PolicyLimits, plan_request
    from domain.errors import UnsupportedOption
    from domain.images import ImageRequest

    specs = {s.model: s for s in await provider.models()}
    image = ImageData.from_bytes(solid_png(8, 8))
    edit = ImageRequest(prompt="make it blue", images=(image,))
    with pytest.raises(UnsupportedOption):  # text-only listing: refused before any call
        plan_request(edit, specs["bytedance-seed/seedream-4.5"], PolicyLimits())
    plan = plan_request(edit, specs["sourceful/riverflow-v2"], PolicyLimits())
    await provider.edit(plan.calls[0])  # the fake refuses any key the listing does not name
    sent = fake.generation_requests()[-1].body
    assert [r["type"] for r in sent["input_references"]] == ["image_url"]
    assert sent["input_references"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    # A key the listing leaves out is refused by the vendor, as the fake shows.
    fake.listing = copy.deepcopy(fake.listing)  # the default listing is shared by every test
    fake.listing[1]["supported_parameters"].pop("aspect_ratio")
    seedream = plan_request(ImageRequest(prompt="x"), specs["bytedance-seed/seedream-4.5"], PolicyLimits())
    with pytest.raises(AppError) as refused:
        await provider.generate(seedream.calls[0])
    assert refused.value.code == "invalid_request" and "aspect_ratio" in refused.value.message
