"""Exact requests the Gemini API and Vertex AI adapters send through the real google-genai SDK,
and how the answers (images, blocks, errors, credentials) come back."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import attrs
import httpx2
import pytest

from adapters.png import solid_png
from adapters.providers.gemini_provider import GeminiImageProvider, build_gemini_provider
from adapters.providers.vertex_provider import VertexImageProvider, build_vertex_provider
from domain.catalog import ModelSpec
from domain.errors import (
    AuthFailed,
    ContentBlocked,
    ModelNotFound,
    NoImage,
    ProviderTimeout,
    RateLimited,
    UnsupportedOption,
)
from domain.images import ImageData
from domain.normalized import ProviderRequest
from domain.options import Operation, OutputFormat, SizeTier
from tests.adapters.google_fakes import (
    ACCESS_TOKEN,
    FakeGoogle,
    TokenServer,
    b64,
    content_answer,
    error_answer,
    image_part,
    write_service_account,
)
from tests.conftest import make_settings

KEY = "AIza-test-key-0123456789"
GEMINI_URL = "https://generativelanguage.googleapis.com/v1/models/{}:generateContent"
VERTEX_PREFIX = "https://aiplatform.googleapis.com/v1beta1/projects/test-project/locations/global"


def spec(provider, model: str) -> ModelSpec:
    return next(s for s in provider.catalog() if s.model == model)


def call(
    model_spec: ModelSpec,
    *,
    operation: Operation = Operation.GENERATE,
    prompt: str = "a lighthouse at dusk",
    n: int = 1,
    ratio: str = "3:2",
    tier: SizeTier = SizeTier.S,
    images: tuple[ImageData, ...] = (),
    mask: ImageData | None = None,
    output_format: OutputFormat = OutputFormat.PNG,
    compression: int | None = None,
    negative: str | None = None,
) -> ProviderRequest:
    return ProviderRequest(
        operation=operation,
        spec=model_spec,
        prompt=prompt,
        n=n,
        aspect_ratio=ratio,
        size_tier=tier,
        size_label=model_spec.size_tiers[tier],
        width=None,
        height=None,
        quality=None,
        background=None,
        output_format=output_format,
        output_compression=compression,
        negative_prompt=negative,
        images=images,
        mask=mask,
    )


@pytest.fixture
def fake() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def gemini(fake: FakeGoogle):
    provider = GeminiImageProvider(KEY, timeout_s=42.5, http_client=fake.client())
    yield provider
    await provider.aclose()


@pytest.fixture
def service_account(tmp_path: Path, token_server: TokenServer) -> Path:
    return write_service_account(tmp_path, token_server.url)


@pytest.fixture
async def vertex(fake: FakeGoogle, service_account: Path):
    provider = VertexImageProvider(
        "test-project", credentials_path=service_account, timeout_s=30, http_client=fake.client()
    )
    yield provider
    await provider.aclose()


# -- Gemini API ---------------------------------------------------------------------------


async def test_gemini_generate_sends_image_config_and_the_key_in_a_header(gemini, fake) -> None:
    result = await gemini.generate(
        call(spec(gemini, "gemini-3.1-flash-image"), ratio="21:9", tier=SizeTier.L)
    )
    seen = fake.last
    assert seen.method == "POST"
    assert seen.url == GEMINI_URL.format("gemini-3.1-flash-image")  # no key=... in the URL
    assert seen.headers["x-goog-api-key"] == KEY
    assert seen.headers["x-server-timeout"] == "43"  # HttpOptions.timeout is milliseconds
    assert seen.body["generationConfig"] == {
        "responseModalities": ["IMAGE"],
        "imageConfig": {"aspectRatio": "21:9", "imageSize": "4K"},
    }
    # The prompt is sent exactly: orientation never becomes words.
    assert seen.body["contents"] == [{"role": "user", "parts": [{"text": "a lighthouse at dusk"}]}]
    assert result.used == {
        "aspect_ratio": "21:9",
        "image_size": "4K",
        "output_format": "png",
        "model_version": "fake-model-version",
    }
    assert result.usage.input_tokens == 12 and result.usage.total_tokens == 1132


async def test_gemini_edit_sends_every_input_image_as_an_inline_part(gemini, fake) -> None:
    first, second = solid_png(20, 10), solid_png(5, 5, (1, 2, 3, 255))
    images = (ImageData.from_bytes(first), ImageData.from_bytes(second))
    await gemini.edit(call(spec(gemini, "gemini-3-pro-image"), operation=Operation.EDIT, images=images))
    parts = fake.last.body["contents"][0]["parts"]
    assert parts[0] == {"text": "a lighthouse at dusk"}
    inline = [p["inlineData"] for p in parts[1:]]
    # The SDK writes bytes as URL-safe base64, which Google's JSON parser accepts.
    assert [base64.urlsafe_b64decode(i["data"]) for i in inline] == [first, second]
    assert [i.get("mimeType", i.get("mime_type")) for i in inline] == ["image/png", "image/png"]
    assert fake.last.url == GEMINI_URL.format("gemini-3-pro-image")


async def test_legacy_model_gets_no_image_size(gemini, fake) -> None:
    result = await gemini.generate(call(spec(gemini, "gemini-2.5-flash-image"), ratio="2:3"))
    assert fake.last.body["generationConfig"]["imageConfig"] == {"aspectRatio": "2:3"}
    assert result.used["image_size"] is None


async def test_thought_images_are_skipped(gemini, fake) -> None:
    draft, final = solid_png(8, 8, (255, 0, 0, 255)), solid_png(12, 8)
    fake.answer(content_answer(image_part(draft, thought=True), {"text": "Here it is"}, image_part(final)))
    result = await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    assert [i.data for i in result.images] == [final]
    assert (result.images[0].width, result.images[0].height) == (12, 8)


async def test_jpeg_answer_is_reported_as_what_it_is(gemini, fake) -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (9, 6), "red").save(out, format="JPEG")
    fake.answer(content_answer(image_part(out.getvalue(), mime="image/png")))  # a vendor that mislabels
    result = await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    assert result.images[0].media_type == "image/jpeg"
    assert result.used["output_format"] == "jpeg"
    assert "image/png was asked for" in result.warnings[0]


@pytest.mark.parametrize(
    ("answer", "stage", "reason"),
    [
        ({"promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": "unsafe"}}, "input", "SAFETY"),
        (
            {
                "candidates": [
                    {
                        "content": {"parts": []},
                        "finishReason": "IMAGE_SAFETY",
                        "finishMessage": "The image may be unsafe.",
                        "safetyRatings": [
                            {
                                "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                                "probability": "HIGH",
                                "blocked": True,
                            }
                        ],
                    }
                ]
            },
            "output",
            "IMAGE_SAFETY",
        ),
    ],
)
async def test_safety_blocks_at_http_200_become_content_blocked(gemini, fake, answer, stage, reason) -> None:
    fake.answer(httpx2.Response(200, json=answer))
    with pytest.raises(ContentBlocked) as caught:
        await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    assert caught.value.details["stage"] == stage
    assert caught.value.details["reason"] == reason
    assert reason in caught.value.message


async def test_text_only_answer_is_no_image_with_what_the_model_said(gemini, fake) -> None:
    fake.answer(content_answer({"text": "I cannot draw that."}, finish="NO_IMAGE"))
    with pytest.raises(NoImage) as caught:
        await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    assert "I cannot draw that." in caught.value.message
    assert caught.value.details["finish_reason"] == "NO_IMAGE"


async def test_no_sdk_retries_one_failure_is_one_request(gemini, fake) -> None:
    fake.answer(
        error_answer(503, "UNAVAILABLE", "overloaded"), error_answer(503, "UNAVAILABLE", "overloaded")
    )
    with pytest.raises(Exception) as caught:
        await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    assert caught.value.code == "provider_unavailable"
    assert len(fake.seen) == 1  # application/retry.py is the only retry policy


async def test_rate_limit_carries_retry_delay(gemini, fake) -> None:
    fake.answer(
        error_answer(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded.",
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"},
        )
    )
    with pytest.raises(RateLimited) as caught:
        await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    assert caught.value.details["retry_after"] == 12.5
    assert caught.value.details["http_status"] == 429


async def test_retired_model_404_names_its_replacement(gemini, fake) -> None:
    fake.answer(error_answer(404, "NOT_FOUND", "models/gemini-2.5-flash-image-preview is not found"))
    with pytest.raises(ModelNotFound) as caught:
        await gemini.generate(call(spec(gemini, "gemini-2.5-flash-image-preview")))
    assert caught.value.details["replacement"] == "gemini-2.5-flash-image"
    assert "use gemini-2.5-flash-image instead" in caught.value.message


async def test_the_key_never_appears_in_an_error(gemini, fake) -> None:
    fake.answer(error_answer(400, "INVALID_ARGUMENT", f"bad request for ?key={KEY}&alt=json and {KEY}"))
    with pytest.raises(Exception) as caught:
        await gemini.generate(call(spec(gemini, "gemini-3.1-flash-image")))
    payload = json.dumps(caught.value.to_payload())
    assert caught.value.code == "invalid_request"
    assert KEY not in payload and KEY not in str(caught.value)


async def test_base_url_setting_is_honoured(output_root, fake, monkeypatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "https://gemini-proxy.example/")
    settings = make_settings(output_root, GEMINI_API_KEY=KEY)
    assert settings.gemini_base_url == "https://gemini-proxy.example/"
    provider = build_gemini_provider(settings, http_client=fake.client())
    await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert fake.last.url == "https://gemini-proxy.example/v1/models/gemini-3.1-flash-image:generateContent"


# -- Vertex AI ------------------------------------------------------------------------------


async def test_vertex_exchanges_the_service_account_for_a_token_and_sends_it(
    vertex, fake, token_server
) -> None:
    model = spec(vertex, "gemini-3.1-flash-image")
    await vertex.generate(call(model, ratio="9:21", tier=SizeTier.M))
    await vertex.generate(call(model))
    assert [s.url for s in fake.seen] == [
        f"{VERTEX_PREFIX}/publishers/google/models/gemini-3.1-flash-image:generateContent"
    ] * 2
    assert all(s.headers["authorization"] == f"Bearer {ACCESS_TOKEN}" for s in fake.seen)
    assert "x-goog-api-key" not in fake.seen[0].headers
    assert fake.seen[0].body["generationConfig"]["imageConfig"] == {"aspectRatio": "9:21", "imageSize": "2K"}
    # One exchange, at the file's own token_uri, signed with the file's key, for cloud-platform
    # (google-auth keeps Google's token URL as the JWT audience whatever the endpoint).
    assert len(token_server.exchanges) == 1
    exchange = token_server.exchanges[0]
    assert exchange["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert exchange["claims"]["aud"] == "https://oauth2.googleapis.com/token"
    assert exchange["claims"]["iss"] == "image-gen@test-project.iam.gserviceaccount.com"
    assert exchange["claims"]["scope"] == "https://www.googleapis.com/auth/cloud-platform"


async def test_vertex_gemini_jpeg_output_uses_image_output_options(vertex, fake) -> None:
    model = spec(vertex, "gemini-3-pro-image")
    await vertex.generate(call(model, ratio="1:1", output_format=OutputFormat.JPEG, compression=70))
    assert fake.last.body["generationConfig"]["imageConfig"] == {
        "aspectRatio": "1:1",
        "imageSize": "1K",
        "imageOutputOptions": {"mimeType": "image/jpeg", "compressionQuality": 70},
    }


async def test_vertex_location_and_base_url_from_settings(
    output_root, fake, service_account, monkeypatch
) -> None:
    settings = make_settings(
        output_root,
        VERTEX_PROJECT="p1",
        VERTEX_LOCATION="us-central1",
        VERTEX_CREDENTIALS_PATH=str(service_account),
    )
    regional = build_vertex_provider(settings, http_client=fake.client())
    await regional.generate(call(spec(regional, "gemini-2.5-flash-image")))
    await regional.aclose()
    assert fake.last.url == (
        "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/p1/locations/us-central1"
        "/publishers/google/models/gemini-2.5-flash-image:generateContent"
    )
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", "https://vertex-gateway.example/")
    settings = make_settings(output_root, VERTEX_PROJECT="p1", VERTEX_CREDENTIALS_PATH=str(service_account))
    proxied = build_vertex_provider(settings, http_client=fake.client())
    await proxied.generate(call(spec(proxied, "gemini-3.1-flash-image")))
    await proxied.aclose()
    assert fake.last.url == (
        "https://vertex-gateway.example/v1beta1/projects/p1/locations/global"
        "/publishers/google/models/gemini-3.1-flash-image:generateContent"
    )


async def test_vertex_refuses_a_global_only_model_on_a_regional_location_before_calling(
    fake, service_account
) -> None:
    regional = VertexImageProvider(
        "p1",
        location="europe-west4",
        credentials_path=service_account,
        timeout_s=30,
        http_client=fake.client(),
    )
    # The listed 3.x models, and a 3.x id not listed yet.
    for model in ("gemini-3.1-flash-image", "gemini-3-pro-image", "gemini-3.5-flash-image-preview"):
        request = call(attrs.evolve(spec(regional, "gemini-3.1-flash-image"), model=model))
        with pytest.raises(ModelNotFound) as refused:
            await regional.generate(request)
        assert "VERTEX_LOCATION" in refused.value.message and "europe-west4" in refused.value.message
        assert refused.value.details["variable"] == "VERTEX_LOCATION"
        with pytest.raises(ModelNotFound):
            await regional.edit(request)
    assert fake.seen == []  # nothing was sent
    await regional.generate(call(spec(regional, "gemini-2.5-flash-image")))  # served regionally
    assert "/locations/europe-west4/" in fake.last.url
    # get_model_capabilities tells the same before anyone tries.
    noted = {s.model for s in regional.catalog() if "needs VERTEX_LOCATION=global" in s.description}
    assert noted == {s.model for s in regional.catalog() if s.model.startswith("gemini-3")} != set()
    await regional.aclose()
    global_ = VertexImageProvider(
        "p1", credentials_path=service_account, timeout_s=30, http_client=fake.client()
    )
    assert not any("VERTEX_LOCATION" in s.description for s in global_.catalog())
    await global_.aclose()


async def test_imagen_generate_posts_predict_with_parameters(vertex, fake) -> None:
    result = await vertex.generate(
        call(spec(vertex, "imagen-4.0-generate-001"), n=3, ratio="4:3", tier=SizeTier.M)
    )
    seen = fake.last
    assert seen.url == f"{VERTEX_PREFIX}/publishers/google/models/imagen-4.0-generate-001:predict"
    assert seen.body["instances"] == [{"prompt": "a lighthouse at dusk"}]
    assert seen.body["parameters"] == {
        "sampleCount": 3,
        "aspectRatio": "4:3",
        "sampleImageSize": "2K",
        "includeRaiReason": True,
        "outputOptions": {"mimeType": "image/png"},
    }
    assert len(result.images) == 3 and result.images[0].width > result.images[0].height


async def test_imagen_3_takes_a_native_negative_prompt_and_no_size(vertex, fake) -> None:
    model = spec(vertex, "imagen-3.0-generate-002")
    await vertex.generate(
        call(model, ratio="9:16", negative="text, watermark", output_format=OutputFormat.JPEG)
    )
    parameters = fake.last.body["parameters"]
    assert parameters["negativePrompt"] == "text, watermark"
    assert "sampleImageSize" not in parameters
    assert parameters["outputOptions"] == {"mimeType": "image/jpeg"}


async def test_imagen_rai_filter_is_content_blocked_or_a_warning(vertex, fake) -> None:
    model = spec(vertex, "imagen-4.0-fast-generate-001")
    reason = "Your current safety filter threshold filtered out 1 generated images."
    fake.answer(httpx2.Response(200, json={"predictions": [{"raiFilteredReason": reason}]}))
    with pytest.raises(ContentBlocked) as caught:
        await vertex.generate(call(model, ratio="1:1"))
    assert caught.value.details["rai_filtered_reason"] == reason
    png = solid_png(16, 16)
    fake.answer(
        httpx2.Response(
            200,
            json={
                "predictions": [
                    {"bytesBase64Encoded": b64(png), "mimeType": "image/png"},
                    {"raiFilteredReason": reason},
                ]
            },
        )
    )
    result = await vertex.generate(call(model, n=2, ratio="1:1"))
    assert [i.data for i in result.images] == [png]
    assert reason in result.warnings[0]


def _transparent_hole_mask() -> bytes:
    """An OpenAI-style mask: transparent where to edit (the left half)."""
    from PIL import Image

    mask = Image.new("RGBA", (20, 10), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 10, 10))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("prompt", "mode"),
    [
        ("a red kite in the sky", "EDIT_MODE_INPAINT_INSERTION"),
        ("Remove the boat", "EDIT_MODE_INPAINT_REMOVAL"),
    ],
)
async def test_imagen_masked_edit_sends_a_user_provided_white_mask(vertex, fake, prompt, mode) -> None:
    from PIL import Image

    base = solid_png(20, 10)
    request = call(
        spec(vertex, "imagen-3.0-capability-001"),
        operation=Operation.EDIT,
        prompt=prompt,
        ratio="1:1",
        images=(ImageData.from_bytes(base),),
        mask=ImageData.from_bytes(_transparent_hole_mask()),
    )
    result = await vertex.edit(request)
    seen = fake.last
    assert seen.url == f"{VERTEX_PREFIX}/publishers/google/models/imagen-3.0-capability-001:predict"
    instance = seen.body["instances"][0]
    assert instance["prompt"] == prompt
    raw, mask = instance["referenceImages"]
    raw_image = raw.pop("referenceImage")
    assert base64.urlsafe_b64decode(raw_image["bytesBase64Encoded"]) == base
    assert raw_image["mimeType"] == "image/png"
    assert raw == {"referenceId": 1, "referenceType": "REFERENCE_TYPE_RAW"}
    assert mask["referenceType"] == "REFERENCE_TYPE_MASK" and mask["referenceId"] == 2
    assert mask["maskImageConfig"] == {"maskMode": "MASK_MODE_USER_PROVIDED"}
    assert mask["referenceImage"]["mimeType"] == "image/png"
    sent = Image.open(io.BytesIO(base64.urlsafe_b64decode(mask["referenceImage"]["bytesBase64Encoded"])))
    assert sent.size == (20, 10)
    assert (
        sent.convert("L").getpixel((2, 5)) == 255 and sent.convert("L").getpixel((17, 5)) == 0
    )  # white = edit
    assert seen.body["parameters"]["editMode"] == mode
    assert seen.body["parameters"]["sampleCount"] == 1
    assert result.used["edit_mode"] == mode


async def test_imagen_edit_without_mask_is_refused_before_any_call(vertex, fake) -> None:
    request = call(
        spec(vertex, "imagen-3.0-capability-001"),
        operation=Operation.EDIT,
        ratio="1:1",
        images=(ImageData.from_bytes(solid_png(4, 4)),),
    )
    with pytest.raises(UnsupportedOption):
        await vertex.edit(request)
    assert fake.seen == []


# -- Vertex credentials ----------------------------------------------------------------------


def _vertex_with(path: Path, fake: FakeGoogle) -> VertexImageProvider:
    return VertexImageProvider("test-project", credentials_path=path, timeout_s=30, http_client=fake.client())


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"type": "service_account"})])
async def test_broken_credentials_file_fails_the_first_call_naming_the_variable(
    tmp_path: Path, fake, content
) -> None:
    path = tmp_path / "sa.json"
    if content is not None:
        path.write_text(content)
    provider = _vertex_with(path, fake)  # building never reads the file
    with pytest.raises(AuthFailed) as caught:
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert "VERTEX_CREDENTIALS_PATH" in caught.value.message
    assert caught.value.details["variable"] == "VERTEX_CREDENTIALS_PATH"
    assert fake.seen == []


async def test_token_endpoint_refusal_is_auth_failed(service_account, token_server, fake) -> None:
    token_server.fail_with = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    provider = _vertex_with(service_account, fake)
    with pytest.raises(AuthFailed) as caught:
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert "invalid_grant" in caught.value.message and "VERTEX_CREDENTIALS_PATH" in caught.value.message
    assert caught.value.details["variable"] == "VERTEX_CREDENTIALS_PATH"
    assert fake.seen == []


async def test_without_a_file_application_default_credentials_are_used(fake, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    provider = VertexImageProvider("test-project", timeout_s=30, http_client=fake.client())
    with pytest.raises(AuthFailed) as caught:
        await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    await provider.aclose()
    assert "Application Default Credentials" in caught.value.message


def test_sdks_load_on_first_use_not_at_import() -> None:
    code = (
        "import sys, entrypoints.container, adapters.providers.gemini_provider, "
        "adapters.providers.vertex_provider; "
        "print(sorted(m for m in sys.modules if m.startswith(('google.genai', 'google.auth'))))"
    )
    repo = Path(__file__).resolve().parents[2]
    # A fixed command line run with this interpreter: no untrusted input.
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.strip() == "[]"


def test_every_replacement_is_in_the_same_catalog() -> None:
    from adapters.providers.google_catalog import gemini_catalog, vertex_catalog

    for catalog in (gemini_catalog(), vertex_catalog()):
        names = {m.model for m in catalog}
        assert all(m.replacement in names for m in catalog if m.replacement)
        assert len(names) == len(catalog)


async def test_gif_inputs_are_sent_as_png_parts() -> None:
    from io import BytesIO

    from PIL import Image

    from adapters.providers.google_catalog import gemini_catalog
    from adapters.providers.google_common import content_parts
    from tests.contract.provider_contract import request_for

    out = BytesIO()
    Image.new("P", (8, 8)).save(out, format="GIF")
    gif = ImageData.from_bytes(out.getvalue())
    spec = next(s for s in gemini_catalog() if s.can_edit)
    request = attrs.evolve(request_for(spec), images=(gif,))
    parts = content_parts(request)
    assert parts[1].inline_data.mime_type == "image/png"
    assert parts[1].inline_data.data.startswith(b"\x89PNG")


async def test_a_504_deadline_exceeded_is_a_timeout(gemini, vertex, fake) -> None:
    for provider in (gemini, vertex):
        fake.answer(
            error_answer(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
        )
        with pytest.raises(ProviderTimeout) as caught:
            await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
        assert caught.value.code == "timeout" and caught.value.retryable


async def test_retired_models_point_to_a_replacement_the_location_serves(fake, service_account) -> None:
    regional = VertexImageProvider(
        "p1",
        location="us-central1",
        credentials_path=service_account,
        timeout_s=30,
        http_client=fake.client(),
    )
    global_ = VertexImageProvider(
        "p1", credentials_path=service_account, timeout_s=30, http_client=fake.client()
    )
    imagen = spec(regional, "imagen-4.0-generate-001")
    assert imagen.replacement == "gemini-2.5-flash-image" and "VERTEX_LOCATION=global" in imagen.description
    assert spec(global_, "imagen-4.0-generate-001").replacement == "gemini-3.1-flash-image"
    # Every replacement the regional catalog names is one the regional endpoint serves, but for
    # entries that are global-only themselves (or the regional model's own successor): those
    # say what they need.
    for entry in regional.catalog():
        if entry.replacement and entry.model != "gemini-2.5-flash-image":
            global_only = "needs VERTEX_LOCATION=global" in entry.description
            assert global_only or not entry.replacement.startswith("gemini-3"), entry.model
    # The vendor's 404 on a retired model names that replacement.
    fake.answer(error_answer(404, "NOT_FOUND", "Publisher model imagen-4.0-generate-001 was not found."))
    with pytest.raises(ModelNotFound) as caught:
        await regional.generate(call(imagen))
    assert caught.value.details["replacement"] == "gemini-2.5-flash-image"
    assert "use gemini-2.5-flash-image instead" in caught.value.message
    await regional.aclose()
    await global_.aclose()


async def test_an_unknown_id_of_a_known_line_is_pointed_to_its_current_model(gemini, fake) -> None:
    from application.policy import PolicyLimits, plan_request
    from domain.catalog import template_for, unknown_model_spec
    from domain.images import ImageRequest

    model = "gemini-3.1-flash-image-preview-11-2026"  # a dated preview the catalog never listed
    unknown = unknown_model_spec("gemini", model, template_for(model, gemini.catalog()))
    assert unknown.replacement == "gemini-3.1-flash-image"
    plan = plan_request(ImageRequest(prompt="a kite"), unknown, PolicyLimits())
    assert "closest catalogued model is gemini-3.1-flash-image" in plan.warnings[0].message
    fake.answer(error_answer(404, "NOT_FOUND", f"models/{model} is not found for API version v1."))
    with pytest.raises(ModelNotFound) as caught:
        await gemini.generate(plan.calls[0])
    assert caught.value.details["replacement"] == "gemini-3.1-flash-image"
    assert "closest catalogued model is gemini-3.1-flash-image" in caught.value.message


def test_every_preview_id_and_alias_is_catalogued_with_status_date_and_replacement() -> None:
    from adapters.providers.google_catalog import gemini_catalog, vertex_catalog

    gemini = {s.model: s for s in gemini_catalog()}
    vertex = {s.model: s for s in vertex_catalog()}
    for model in ("gemini-3.1-flash-image-preview", "gemini-3-pro-image-preview", "nano-banana-pro-preview",
                  "gemini-2.5-flash-image-preview"):  # fmt: skip
        entry = gemini[model]
        assert entry.status.value == "retired" and entry.retired_on and entry.replacement, model
    assert vertex["gemini-3.1-flash-image-preview"].retired_on.isoformat() == "2026-07-17"
    assert vertex["gemini-3-pro-image-preview"].status.value == "legacy"
    assert gemini["gemini-nano-banana-2.1"].status.value == "current"
    assert next(iter(gemini)) == "gemini-3.1-flash-image"  # the default stays first


@pytest.mark.parametrize(("variable", "version"), [(None, "v1"), ("v1beta", "v1beta")])
async def test_the_gemini_api_version_is_a_setting(fake, output_root, variable, version) -> None:
    extra = {"GOOGLE_GEMINI_API_VERSION": variable} if variable else {}
    settings = make_settings(output_root, GEMINI_API_KEY=KEY, **extra)
    provider = build_gemini_provider(settings, http_client=fake.client())
    result = await provider.generate(call(spec(provider, "gemini-3.1-flash-image")))
    assert (
        fake.last.url
        == f"https://generativelanguage.googleapis.com/{version}/models/gemini-3.1-flash-image:generateContent"
    )
    assert fake.last.body["generationConfig"]["imageConfig"] == {"aspectRatio": "3:2", "imageSize": "1K"}
    assert len(result.images) == 1
    await provider.aclose()


def test_a_malformed_gemini_api_version_is_refused_at_start(output_root) -> None:
    with pytest.raises(ValueError, match="GOOGLE_GEMINI_API_VERSION"):
        make_settings(output_root, GEMINI_API_KEY=KEY, GOOGLE_GEMINI_API_VERSION="../v1")


async def test_an_inline_image_over_the_documented_limit_is_refused_before_the_call(gemini, fake) -> None:
    from application.policy import PolicyLimits, plan_request
    from domain.errors import InvalidRequest
    from domain.images import ImageRequest

    big = ImageData.from_bytes(solid_png(8, 8) + b"\0" * 7_000_000)  # a PNG padded past 7 MB
    small = ImageData.from_bytes(solid_png(8, 8))
    model = spec(gemini, "gemini-3.1-flash-image")
    with pytest.raises(InvalidRequest) as caught:
        plan_request(ImageRequest(prompt="x", images=(small, big)), model, PolicyLimits())
    assert caught.value.details["option"] == "images[1]" and caught.value.details["limit"] == 7_000_000
    assert "7 MB per inline image" in caught.value.message
    plan = plan_request(ImageRequest(prompt="x", images=(small,)), model, PolicyLimits())
    await gemini.edit(plan.calls[0])  # within the limit: sent
    assert len(fake.seen) == 1
