"""The exact requests the OpenAI and Azure adapters put on the wire, through the real SDK.

Requests are planned by the real normalization policy, sent by the official ``openai`` SDK over
``httpx2.MockTransport`` to a fake that applies the vendors' documented rules, and inspected
field by field.
"""

from __future__ import annotations

import io
import json
import math
import sys
import types

import attrs
import pytest
from PIL import Image

from adapters.providers.azure_provider import (
    AzureOpenAIImageProvider,
    build_azure_provider,
    parse_deployments,
)
from adapters.providers.openai_provider import OpenAIImageProvider, build_openai_provider
from application.policy import PolicyLimits, plan_request
from domain import errors
from domain.images import ImageData, ImageRequest
from domain.normalized import ProviderRequest
from domain.options import Background, ModelStatus, Orientation, OutputFormat, Quality, SizeTier
from entrypoints.settings import Settings
from tests.adapters.openai_fake import FakeImagesAPI

KEY = "sk-wire-test-0123456789abcdef"
AZURE_KEY = "azure-wire-key-0123456789abcdef"
ENDPOINT = "https://contoso.openai.azure.com"
API_VERSION = "2025-04-01-preview"


def on_openai(fake: FakeImagesAPI, **options) -> OpenAIImageProvider:
    return OpenAIImageProvider(api_key=KEY, http_client=fake.client(), **options)


def on_azure(fake: FakeImagesAPI, **options) -> AzureOpenAIImageProvider:
    options.setdefault("api_key", AZURE_KEY)
    return AzureOpenAIImageProvider(endpoint=ENDPOINT, http_client=fake.client(), **options)


def planned(provider, model: str, **fields) -> ProviderRequest:
    spec = next(s for s in provider.catalog() if s.model == model)
    fields.setdefault("prompt", "a red fox in the snow")
    plan = plan_request(ImageRequest(**fields), spec, PolicyLimits())
    assert len(plan.calls) == 1
    return plan.calls[0]


def picture(width: int, height: int, fmt: str = "PNG", mode: str = "RGB") -> ImageData:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 60, 20) if mode == "RGB" else None).save(out, format=fmt)
    return ImageData.from_bytes(out.getvalue())


def white_box_mask(width: int, height: int) -> ImageData:
    """A black/white mask (no alpha): white marks the area to change."""
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return ImageData.from_bytes(out.getvalue())


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


# -- generate: JSON fields per model family ---------------------------------------------------


async def test_fixed_size_model_sends_exactly_the_documented_fields() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    request = planned(provider, "gpt-image-1.5", n=2, orientation=Orientation.LANDSCAPE, quality=Quality.HIGH)
    result = await provider.generate(request)
    seen = fake.last
    assert (seen.method, seen.path, seen.query) == ("POST", "/v1/images/generations", {})
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.json == {
        "model": "gpt-image-1.5", "prompt": "a red fox in the snow", "n": 2,
        "size": "1536x1024", "quality": "high", "output_format": "png",
    }  # fmt: skip
    assert len(result.images) == 2 and result.images[0].width > result.images[0].height
    assert result.usage.as_dict() == {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    assert result.used == {
        "size": "1536x1024",
        "quality": "high",
        "background": "opaque",
        "output_format": "png",
    }


async def test_flexible_model_sends_wxh_background_format_and_compression() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    request = planned(
        provider, "gpt-image-2.5-flare", size=SizeTier.L, aspect_ratio="16:9", quality=Quality.DRAFT,
        background=Background.TRANSPARENT, output_format=OutputFormat.WEBP, output_compression=80,
    )  # fmt: skip
    result = await provider.generate(request)
    assert fake.last.json == {
        "model": "gpt-image-2.5-flare", "prompt": "a red fox in the snow", "n": 1, "size": "3584x2016",
        "quality": "low", "output_format": "webp", "background": "transparent", "output_compression": 80,
    }  # fmt: skip
    image = result.images[0]
    assert image.media_type == "image/webp" and opened(image.data).getpixel((0, 0))[3] == 0
    assert result.used["background"] == "transparent" and result.used["output_compression"] == 80


@pytest.mark.parametrize(
    ("model", "tier", "orientation", "size"),
    [
        ("gpt-image-2", SizeTier.M, Orientation.PORTRAIT, "1536x2304"),
        ("gpt-image-2-2026-04-21", SizeTier.S, Orientation.SQUARE, "1024x1024"),
        ("gpt-image-2.5-sunburst", SizeTier.L, Orientation.LANDSCAPE, "3456x2304"),
        ("gpt-image-1-mini", SizeTier.L, Orientation.PORTRAIT, "1024x1536"),  # fixed: L falls back to S
        ("chatgpt-image-latest", SizeTier.M, Orientation.LANDSCAPE, "1536x1024"),
    ],
)
async def test_size_tiers_map_to_the_model_family(model, tier, orientation, size) -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    await provider.generate(planned(provider, model, size=tier, orientation=orientation))
    assert fake.last.json["size"] == size


def _current(provider) -> list[str]:
    return [s.model for s in provider.catalog() if s.status is ModelStatus.CURRENT]


@pytest.mark.parametrize(
    ("flavour", "model"),
    [("openai", m) for m in _current(OpenAIImageProvider(api_key="k"))]
    + [("azure", m) for m in _current(AzureOpenAIImageProvider(endpoint=ENDPOINT, api_key="k"))],
)
async def test_every_knob_on_every_current_model_keeps_the_vendor_rules(flavour: str, model: str) -> None:
    fake = FakeImagesAPI(flavour)
    provider = on_openai(fake) if flavour == "openai" else on_azure(fake)
    spec = next(s for s in provider.catalog() if s.model == model)
    variants: list[dict] = [{"size": t, "aspect_ratio": r} for t in SizeTier for r in spec.aspect_ratios]
    variants += [{"quality": q, "n": 10} for q in Quality]
    variants += [
        {"background": b, "output_format": f, "output_compression": 50}
        for b in (None, *Background) for f in (None, *OutputFormat)
    ]  # fmt: skip
    edit = (picture(64, 48), picture(32, 32, "JPEG"))
    variants += [{"images": edit, "mask": white_box_mask(64, 48), "quality": q} for q in Quality]
    refused = []
    for fields in variants:
        try:
            request = planned(provider, model, **fields)
        except errors.UnsupportedOption:  # the policy refuses before any call: nothing to send
            refused.append((fields.get("background"), fields.get("output_format")))
            continue
        call = provider.edit if request.images else provider.generate
        result = await call(request)  # the fake answers 400 to any broken rule
        body = fake.last.body
        assert not {"response_format", "style"} & set(body)
        assert body["size"] == f"{request.width}x{request.height}"
        assert body["output_format"] == request.output_format.value
        image = result.images[0]
        ratio = request.width / request.height
        assert (image.width > image.height) == (ratio > 1) and (image.width < image.height) == (ratio < 1)
    # Exactly these, in variant order: transparent jpeg everywhere, and every webp on Azure,
    # which writes png and jpeg only (fact sheet §2.3).
    webp = OutputFormat.WEBP
    expected = [(Background.TRANSPARENT, OutputFormat.JPEG)]
    if flavour == "azure":
        expected = [(None, webp), expected[0], (Background.TRANSPARENT, webp), (Background.OPAQUE, webp)]
    assert refused == expected


async def test_retired_dall_e_3_gets_response_format_and_no_gpt_fields() -> None:
    fake = FakeImagesAPI(serve_retired=True)
    provider = on_openai(fake)
    spec = next(s for s in provider.catalog() if s.model == "dall-e-3")
    plan = plan_request(
        ImageRequest(prompt="a lighthouse", orientation=Orientation.LANDSCAPE, quality=Quality.HIGH),
        spec, PolicyLimits(),
    )  # fmt: skip
    result = await provider.generate(plan.calls[0])
    assert fake.last.json == {
        "model": "dall-e-3", "prompt": "a lighthouse", "n": 1, "size": "1792x1024",
        "quality": "hd", "response_format": "b64_json",
    }  # fmt: skip
    assert result.used["revised_prompt"] == "A revised a lighthouse"
    assert any("retired" in w.message and "gpt-image-1.5" in w.message for w in plan.warnings)


async def test_retired_model_is_sent_with_a_warning_and_a_404_names_the_replacement() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    spec = next(s for s in provider.catalog() if s.model == "gpt-image-1")
    plan = plan_request(ImageRequest(prompt="a fox"), spec, PolicyLimits())
    assert any("2026-10-23" in w.message and "gpt-image-2.5-sunburst" in w.message for w in plan.warnings)
    with pytest.raises(errors.ModelNotFound) as caught:
        await provider.generate(plan.calls[0])
    assert fake.last.json["model"] == "gpt-image-1"  # it was sent
    assert "gpt-image-2.5-sunburst" in caught.value.message
    assert caught.value.details["replacement"] == "gpt-image-2.5-sunburst"
    assert caught.value.details["status"] == 404 and caught.value.details["request_id"] == "req_1"


# -- edit: multipart ----------------------------------------------------------------------------


async def test_edit_sends_repeated_image_parts_with_names_and_types() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    images = (picture(96, 64), picture(40, 40, "JPEG"), picture(40, 40, "WEBP"))
    request = planned(provider, "gpt-image-1.5", images=images, orientation=Orientation.LANDSCAPE)
    await provider.edit(request)
    seen = fake.last
    assert seen.path == "/v1/images/edits"
    assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")
    parts = seen.parts("image[]")
    assert [(p.filename, p.content_type) for p in parts] == [
        ("image-1.png", "image/png"), ("image-2.jpg", "image/jpeg"), ("image-3.webp", "image/webp"),
    ]  # fmt: skip
    assert [p.data for p in parts] == [i.data for i in images]
    assert seen.fields == {
        "prompt": "a red fox in the snow", "model": "gpt-image-1.5", "n": "1",
        "size": "1536x1024", "output_format": "png",
    }  # fmt: skip
    assert not seen.parts("mask")


async def test_single_image_goes_as_image_and_gif_becomes_png() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    await provider.edit(planned(provider, "gpt-image-2", images=(picture(50, 30, "GIF", mode="P"),)))
    (part,) = fake.last.files
    assert (part.name, part.filename, part.content_type) == ("image", "image-1.png", "image/png")
    assert opened(part.data).size == (50, 30)


async def test_black_and_white_mask_becomes_alpha_png_of_the_first_image_size() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    images = (picture(128, 96), picture(40, 40))
    await provider.edit(planned(provider, "gpt-image-1.5", images=images, mask=white_box_mask(128, 96)))
    (part,) = fake.last.parts("mask")
    assert (part.filename, part.content_type) == ("mask.png", "image/png")
    sent = opened(part.data)
    assert sent.format == "PNG" and sent.mode == "RGBA" and sent.size == (128, 96)
    assert sent.getpixel((64, 48))[3] == 0 and sent.getpixel((2, 2))[3] == 255


async def test_alpha_mask_keeps_its_meaning_and_is_scaled_to_the_first_image() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    mask = Image.new("RGBA", (64, 48), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 48))  # transparent left half: change this
    out = io.BytesIO()
    mask.save(out, format="PNG")
    await provider.edit(
        planned(
            provider, "gpt-image-2", images=(picture(128, 96),), mask=ImageData.from_bytes(out.getvalue())
        )
    )
    sent = opened(fake.last.parts("mask")[0].data)
    assert sent.size == (128, 96)
    assert sent.getpixel((10, 50))[3] == 0 and sent.getpixel((120, 50))[3] == 255


@pytest.mark.parametrize(
    ("model", "quality", "fidelity"),
    [
        ("gpt-image-1.5", Quality.HIGH, "high"),
        ("gpt-image-1.5", Quality.STANDARD, None),
        ("gpt-image-1-mini", Quality.HIGH, None),  # accepts only the default, low
        ("gpt-image-2", Quality.HIGH, None),  # must be omitted
        ("gpt-image-2.5-sunburst", Quality.HIGH, None),
    ],
)
async def test_input_fidelity_only_where_the_model_allows_it(model, quality, fidelity) -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    result = await provider.edit(planned(provider, model, images=(picture(32, 32),), quality=quality))
    assert fake.last.fields.get("input_fidelity") == fidelity
    assert result.used.get("input_fidelity") == fidelity


# -- Azure --------------------------------------------------------------------------------------


async def test_azure_routes_to_the_deployment_with_api_version_and_api_key() -> None:
    fake = FakeImagesAPI("azure", deployments={"corp-images": "gpt-image-1.5"})
    provider = on_azure(fake, deployments="gpt-image-1.5=corp-images, gpt-image-2=img2")
    result = await provider.generate(planned(provider, "gpt-image-1.5", orientation=Orientation.PORTRAIT))
    seen = fake.last
    assert seen.path == "/openai/deployments/corp-images/images/generations"
    assert seen.query == {"api-version": API_VERSION}
    assert seen.headers["api-key"] == AZURE_KEY and "authorization" not in seen.headers
    assert seen.json["model"] == "corp-images" and seen.json["size"] == "1024x1536"
    assert result.used["deployment"] == "corp-images"
    assert result.images[0].model == "gpt-image-1.5"


async def test_azure_edit_uses_the_model_id_as_default_deployment_and_sends_png_for_webp() -> None:
    fake = FakeImagesAPI("azure")
    provider = on_azure(fake, api_version="2026-01-01-preview")
    await provider.edit(planned(provider, "gpt-image-2", images=(picture(48, 48, "WEBP"),)))
    seen = fake.last
    assert seen.path == "/openai/deployments/gpt-image-2/images/edits"
    assert seen.query == {"api-version": "2026-01-01-preview"}
    (part,) = seen.files
    assert part.content_type == "image/png" and opened(part.data).format == "PNG"


async def test_azure_offers_no_webp_and_transparency_means_png() -> None:
    fake = FakeImagesAPI("azure")
    provider = on_azure(fake)
    with pytest.raises(errors.UnsupportedOption):
        planned(provider, "gpt-image-1.5", output_format=OutputFormat.WEBP)
    await provider.generate(planned(provider, "gpt-image-1.5", background=Background.TRANSPARENT))
    assert fake.last.json["output_format"] == "png" and fake.last.json["background"] == "transparent"


async def test_azure_ad_token_is_sent_as_bearer() -> None:
    fake = FakeImagesAPI("azure")
    provider = on_azure(fake, api_key=None, ad_token="ad-token-123456789")
    await provider.generate(planned(provider, "gpt-image-1.5"))
    assert fake.last.headers["authorization"] == "Bearer ad-token-123456789"
    assert "api-key" not in fake.last.headers


async def test_entra_id_uses_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    scopes: list[str] = []
    identity = types.ModuleType("azure.identity")

    class DefaultAzureCredential:
        closed = False

        def close(self) -> None:
            DefaultAzureCredential.closed = True

    def get_bearer_token_provider(credential, scope):
        scopes.append(scope)
        return lambda: "entra-token-xyz"

    identity.DefaultAzureCredential = DefaultAzureCredential
    identity.get_bearer_token_provider = get_bearer_token_provider
    monkeypatch.setitem(sys.modules, "azure", types.ModuleType("azure"))
    monkeypatch.setitem(sys.modules, "azure.identity", identity)
    fake = FakeImagesAPI("azure")
    provider = on_azure(fake, api_key=None, use_entra_id=True)
    await provider.generate(planned(provider, "gpt-image-1.5"))
    assert fake.last.headers["authorization"] == "Bearer entra-token-xyz"
    assert scopes == ["https://cognitiveservices.azure.com/.default"]
    await provider.aclose()
    assert DefaultAzureCredential.closed


async def test_entra_id_without_the_extra_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import now fails
    fake = FakeImagesAPI("azure")
    provider = on_azure(fake, api_key=None, use_entra_id=True)
    with pytest.raises(errors.ProviderNotConfigured) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    assert "image-gen-mcp[azure]" in caught.value.message and not fake.seen


async def test_failing_token_provider_is_auth_failed() -> None:
    def broken() -> str:
        raise RuntimeError("no identity")

    provider = on_azure(FakeImagesAPI("azure"), api_key=None, token_provider=broken)
    with pytest.raises(errors.AuthFailed):
        await provider.generate(planned(provider, "gpt-image-1.5"))


def test_deployment_pairs_are_parsed_and_typos_reported() -> None:
    assert parse_deployments(" a=b , c = d ,,") == ({"a": "b", "c": "d"}, [])
    assert parse_deployments("gpt-image-1.5") == ({}, ["gpt-image-1.5"])


async def test_malformed_deployments_are_refused_before_any_call() -> None:
    fake = FakeImagesAPI("azure")
    provider = on_azure(fake, deployments="gpt-image-1.5")
    with pytest.raises(errors.ProviderNotConfigured) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    assert caught.value.details["missing"] == ["AZURE_OPENAI_DEPLOYMENTS"] and not fake.seen


async def test_azure_404_names_the_deployment_variable() -> None:
    provider = on_azure(FakeImagesAPI("azure").fail_next("model_not_found"))
    with pytest.raises(errors.ModelNotFound) as caught:
        await provider.generate(planned(provider, "gpt-image-2"))
    assert "AZURE_OPENAI_DEPLOYMENTS=gpt-image-2=" in caught.value.message


# -- errors ------------------------------------------------------------------------------------


async def test_error_details_carry_status_request_id_and_vendor_facts() -> None:
    provider = on_openai(FakeImagesAPI().fail_next("rate_limited", "content_blocked", "quota_exhausted"))
    request = planned(provider, "gpt-image-1.5")
    with pytest.raises(errors.RateLimited) as limited:
        await provider.generate(request)
    with pytest.raises(errors.ContentBlocked) as blocked:
        await provider.generate(request)
    with pytest.raises(errors.QuotaExhausted) as quota:
        await provider.generate(request)
    assert limited.value.details == {
        "provider": "openai", "model": "gpt-image-1.5", "status": 429, "request_id": "req_1",
        "vendor_code": "rate_limit_exceeded", "retry_after": 12.0,
    }  # fmt: skip
    assert blocked.value.details["stage"] == "input" and blocked.value.details["categories"] == ["violence"]
    assert blocked.value.details["reason"] == "moderation_blocked"
    assert not quota.value.retryable


async def test_azure_content_filter_and_retry_after_ms() -> None:
    provider = on_azure(FakeImagesAPI("azure").fail_next("content_blocked", "rate_limited"))
    request = planned(provider, "gpt-image-1.5")
    with pytest.raises(errors.ContentBlocked) as blocked:
        await provider.generate(request)
    with pytest.raises(errors.RateLimited) as limited:
        await provider.generate(request)
    assert blocked.value.details["categories"] == ["violence"]
    assert blocked.value.details["reason"] == "contentFilter"
    assert limited.value.details["retry_after"] == 20.0 and limited.value.details["request_id"] == "req_2"


@pytest.mark.parametrize(
    ("kind", "stage", "categories"),
    [
        ("filtered_output_in_200", "output", ["sexual"]),
        ("filtered_prompt_in_200", "input", ["jailbreak"]),
        ("error_in_200", "output", None),
    ],
)
async def test_azure_content_filter_inside_a_200_is_content_blocked(kind, stage, categories) -> None:
    provider = on_azure(FakeImagesAPI("azure").fail_next(kind))
    with pytest.raises(errors.ContentBlocked) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    details = caught.value.details
    assert (details["stage"], details.get("categories")) == (stage, categories)
    assert details["provider"] == "azure" and details["request_id"] == "req_1"


async def test_azure_filtering_one_image_of_two_in_a_200_keeps_the_other_and_says_so() -> None:
    provider = on_azure(FakeImagesAPI("azure").fail_next("one_of_two_filtered_in_200"))
    result = await provider.generate(planned(provider, "gpt-image-1.5", n=2))
    assert len(result.images) == 1
    assert result.warnings == ("Azure OpenAI's content filter withheld 1 image(s) (violence).",)


async def test_transparency_refused_by_a_preview_model_is_unsupported_option() -> None:
    fake = FakeImagesAPI(refuse_transparency={"gpt-image-2"})  # the preview is not open to everyone
    provider = on_openai(fake)
    with pytest.raises(errors.UnsupportedOption) as caught:
        await provider.generate(planned(provider, "gpt-image-2", background=Background.TRANSPARENT))
    assert fake.last.json["background"] == "transparent"
    assert caught.value.details["option"] == "background" and caught.value.details["status"] == 400


@pytest.mark.parametrize("flavour", ["openai", "azure"])
@pytest.mark.parametrize(
    "kind",
    ["auth_failed", "permission_denied", "model_not_found", "rate_limited", "quota_exhausted",
     "content_blocked", "provider_unavailable", "invalid_request", "timeout", "network_error", "no_image"],
)  # fmt: skip
async def test_the_key_never_appears_in_an_error(flavour: str, kind: str) -> None:
    fake = FakeImagesAPI(flavour).fail_next(kind)
    provider = on_openai(fake) if flavour == "openai" else on_azure(fake)
    with pytest.raises(errors.AppError) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    assert caught.value.code == kind
    text = json.dumps(caught.value.to_payload()) + str(caught.value) + repr(caught.value.__cause__)
    assert KEY not in text and AZURE_KEY not in text
    if kind == "auth_failed":  # the fake echoed the key in its message; it was scrubbed
        assert "***" in caught.value.message


# -- client lifecycle and settings --------------------------------------------------------------


async def test_one_client_is_reused_and_closed() -> None:
    fake = FakeImagesAPI()
    http = fake.client()
    provider = OpenAIImageProvider(api_key=KEY, http_client=http, timeout_s=42)
    await provider.generate(planned(provider, "gpt-image-1.5"))
    client = provider._client
    await provider.generate(planned(provider, "gpt-image-1.5"))
    assert provider._client is client and client.max_retries == 0 and client.timeout == 42
    await provider.aclose()
    await provider.aclose()
    assert http.is_closed


async def test_base_url_override_is_honoured() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake, base_url="https://gateway.example/proxy/v1", organization="org-7")
    await provider.generate(planned(provider, "gpt-image-1.5"))
    assert str(fake.last.headers["host"]) == "gateway.example"
    assert fake.last.path == "/proxy/v1/images/generations"
    assert fake.last.headers["openai-organization"] == "org-7"


def test_builders_read_settings() -> None:
    settings = Settings(
        _env_file=None, OPENAI_API_KEY=KEY, OPENAI_BASE_URL="http://127.0.0.1:9/v1", IMAGE_GEN_MCP_TIMEOUT=12,
        AZURE_OPENAI_ENDPOINT=ENDPOINT, AZURE_OPENAI_API_KEY=AZURE_KEY, AZURE_OPENAI_DEPLOYMENTS="gpt-image-2=img",
    )  # fmt: skip
    openai = build_openai_provider(settings)
    azure = build_azure_provider(settings)
    assert openai._base_url == "http://127.0.0.1:9/v1" and openai.timeout_s == 12
    assert azure._api_version == API_VERSION and azure.deployments == {"gpt-image-2": "img"}


# -- catalog data -------------------------------------------------------------------------------


def test_flexible_sizes_keep_the_documented_wxh_rules_at_their_exact_ratio() -> None:
    from adapters.providers.openai_catalog import FLEX_RATIOS, FLEX_SIZES

    assert {ratio for _, ratio in FLEX_SIZES} == set(FLEX_RATIOS) and len(FLEX_SIZES) == 3 * len(FLEX_RATIOS)
    for (tier, ratio), (width, height) in FLEX_SIZES.items():
        wide, high = (int(x) for x in ratio.split(":"))
        assert width % 16 == 0 and height % 16 == 0, (tier, ratio)
        assert width * high == height * wide, (tier, ratio)
        assert 1 / 3 <= width / height <= 3 and max(width, height) < 3840
        assert 655_360 <= width * height <= 8_294_400
        if tier is SizeTier.M:  # above 2560x1440's pixel count the SDK calls sizes experimental
            assert width * height <= 2560 * 1440


def test_retired_entries_carry_a_date_and_a_replacement() -> None:
    from adapters.providers.openai_catalog import azure_catalog, openai_catalog

    for spec in openai_catalog() + azure_catalog():
        if spec.status is ModelStatus.RETIRED:
            assert spec.retired_on is not None and spec.replacement is not None, spec.model
    dall_e_3 = next(s for s in openai_catalog() if s.model == "dall-e-3")
    assert dall_e_3.max_n == 1 and not dall_e_3.can_edit
    assert next(s for s in azure_catalog() if s.model == "dall-e-3").retired_on.isoformat() == "2026-03-04"
    assert all(OutputFormat.WEBP not in s.output_formats for s in azure_catalog())


# -- flexible sizes: the exact ratio asked for, within the documented WxH rules -----------------

_ODD_RATIOS = ("7:5", "1:3", "3:1", "2.39:1", "9:19.5", "17:10", "1:1")


def _flexible_models(provider) -> list[str]:
    return [s.model for s in provider.catalog() if s.flexible_sizes and s.status is not ModelStatus.RETIRED]


@pytest.mark.parametrize("flavour", ["openai", "azure"])
async def test_every_flexible_model_gets_the_exact_ratio_and_the_vendor_accepts_it(flavour: str) -> None:
    fake = FakeImagesAPI(flavour=flavour)
    provider = on_openai(fake) if flavour == "openai" else on_azure(fake)
    models = _flexible_models(provider)
    assert models and ("gpt-image-2.6-flare" in models) == (flavour == "openai")
    for model in models:
        for ratio in _ODD_RATIOS:
            for tier in SizeTier:
                request = planned(provider, model, aspect_ratio=ratio, size=tier)
                await provider.generate(request)  # the fake answers 400 on any broken WxH rule
                width, height = (int(x) for x in fake.last.body["size"].split("x"))
                wide, high = (float(x) for x in ratio.split(":"))
                # Exact up to the rounding of each edge to a multiple of 16 (a relative error of
                # at most a step on each edge).
                error = abs(math.log(width / height) - math.log(wide / high))
                assert error <= 16 / width + 16 / height, (model, ratio, tier)


def test_strict_refuses_on_a_flexible_model_only_what_the_vendor_would() -> None:
    provider = on_openai(FakeImagesAPI())
    exact = planned(provider, "gpt-image-2", aspect_ratio="7:5", size=SizeTier.M, strict=True)
    assert (exact.width, exact.height) == (2272, 1616) and exact.aspect_ratio == "7:5"
    with pytest.raises(errors.UnsupportedOption) as caught:
        planned(provider, "gpt-image-2", aspect_ratio="4:1", strict=True)  # beyond 3:1
    assert "nearest" in caught.value.message


def test_sizes_the_sdk_calls_experimental_carry_a_warning_that_strict_lets_through() -> None:
    provider = on_openai(FakeImagesAPI())
    spec = next(s for s in provider.catalog() if s.model == "gpt-image-2.5-flare")
    large = plan_request(ImageRequest(prompt="x", size=SizeTier.L, strict=True), spec, PolicyLimits())
    (warning,) = large.warnings
    assert warning.option == "size" and "experimental" in warning.message
    medium = plan_request(ImageRequest(prompt="x", size=SizeTier.M, aspect_ratio="7:5"), spec, PolicyLimits())
    assert medium.warnings == ()


async def test_an_edit_on_a_flexible_model_keeps_its_input_shape_exactly() -> None:
    fake = FakeImagesAPI()
    provider = on_openai(fake)
    shaped = attrs.evolve(picture(1000, 700), width=1000, height=700)  # as the input checks set it
    request = planned(provider, "gpt-image-2", images=(shaped,))
    assert request.aspect_ratio == "10:7"
    await provider.edit(request)
    width, height = (int(x) for x in fake.last.fields["size"].split("x"))
    assert abs(math.log(width / height) - math.log(10 / 7)) <= 16 / width + 16 / height
    # A fixed-size model still goes to its nearest ratio.
    assert planned(provider, "gpt-image-1.5", images=(shaped,)).aspect_ratio == "3:2"


async def test_a_429_without_retry_after_waits_for_the_later_of_the_two_reset_headers() -> None:
    provider = on_openai(FakeImagesAPI().fail_next("rate_limited_tokens"))
    with pytest.raises(errors.RateLimited) as caught:
        await provider.generate(planned(provider, "gpt-image-1.5"))
    assert caught.value.details["retry_after"] == 90.0  # tokens reset in 1m30s, requests in 120 ms
