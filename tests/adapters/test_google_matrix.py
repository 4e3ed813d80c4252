"""Every catalogued Gemini API and Vertex model × a matrix of knobs, planned by the real policy
and sent through the real adapter and SDK to the fake, which enforces Google's documented rules
(``google_rules``, written from the fact sheet, not from the catalog).

Two directions: whatever the policy lets through, the fake accepts, with exactly one request
per planned call; and under ``strict`` the policy refuses, before any call, exactly the ratios,
sizes and input counts the fake refuses when sent as asked.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from adapters.png import solid_png
from adapters.providers.gemini_provider import GeminiImageProvider
from adapters.providers.google_catalog import gemini_catalog, vertex_catalog
from adapters.providers.vertex_provider import VertexImageProvider
from application.policy import PolicyLimits, plan_request
from domain.catalog import ModelSpec
from domain.errors import AppError
from domain.images import ImageData, ImageRequest
from domain.options import Background, Operation, Orientation, OutputFormat, Quality, SizeTier
from tests.adapters.google_fakes import FakeGoogle, write_service_account
from tests.adapters.google_rules import refusal

SQUARE = ImageData.from_bytes(solid_png(16, 16))
MASK = ImageData.from_bytes(solid_png(16, 16, (0, 0, 0, 0)))  # all transparent: edit everywhere
RATIOS = ("1:1", "21:9", "9:21", "1:8", "8:1", "7:3", "5:4", "3:2")
KNOBS: tuple[dict[str, Any], ...] = (
    {},
    {"orientation": Orientation.PORTRAIT},
    {"orientation": Orientation.LANDSCAPE, "size": SizeTier.M},
    *({"aspect_ratio": ratio} for ratio in RATIOS),
    {"size": SizeTier.L, "quality": Quality.HIGH},
    {"quality": Quality.DRAFT, "background": Background.OPAQUE},
    {"background": Background.TRANSPARENT},
    {"output_format": OutputFormat.JPEG, "output_compression": 70},
    {"output_format": OutputFormat.WEBP},
    {"n": 3},
    {"n": 4, "aspect_ratio": "16:9"},
    {"images": (SQUARE,) * 2},
    {"images": (SQUARE,) * 4},
    {"images": (SQUARE,) * 15},
    {"images": (SQUARE,), "mask": MASK},
)
STRICT_KNOBS = (
    *({"aspect_ratio": ratio, "size": tier} for ratio in RATIOS for tier in SizeTier),
    *({"images": (SQUARE,) * count} for count in (1, 3, 4, 14, 15)),
)
NAIVE_SIZES = {SizeTier.M: "2K", SizeTier.L: "4K"}  # S is the vendor default, sent as nothing
ORIENTED = {None: "1:1", Orientation.SQUARE: "1:1", Orientation.PORTRAIT: "2:3", Orientation.LANDSCAPE: "3:2"}
LIMITS = PolicyLimits(max_n=10, max_fan_out=4)


def _expected_refusal(spec: ModelSpec, knobs: dict[str, Any]) -> str | None:
    """The option the policy must refuse, from documented facts: no Google image model makes a
    transparent background or takes a mask but Imagen's editor; only Vertex writes jpeg; none
    writes webp; Imagen's generators do not edit and its editor needs a mask."""
    imagen = spec.family == "imagen"
    if knobs.get("images") and Operation.EDIT not in spec.operations:
        return "model"
    if not knobs.get("images") and Operation.GENERATE not in spec.operations:
        return "model"
    if knobs.get("background") is Background.TRANSPARENT:
        return "background"
    fmt = knobs.get("output_format")
    if fmt is OutputFormat.WEBP or (fmt is OutputFormat.JPEG and spec.provider == "gemini"):
        return "output_format"
    if imagen and len(knobs.get("images", ())) > 1:
        return "images"  # Imagen's editor takes one base image and its mask
    if "images" in knobs and _naive_refusal(spec, {"images": knobs["images"]}):
        return "images"
    if knobs.get("mask") is not None and not imagen:
        return "mask"
    return None


def _naive_refusal(spec: ModelSpec, knobs: dict[str, Any]) -> str | None:
    """What the fake answers to the request sent exactly as asked, with no remapping."""
    ratio = knobs.get("aspect_ratio") or ORIENTED[knobs.get("orientation")]
    size = NAIVE_SIZES.get(knobs.get("size") or SizeTier.S)
    vertex = spec.provider == "vertex"
    path = f"{'/projects/p' if vertex else ''}/models/{spec.model}"
    if spec.family == "imagen":
        parameters = {"sampleCount": 1, "aspectRatio": ratio, **({"sampleImageSize": size} if size else {})}
        return refusal(path + ":predict", {"parameters": parameters}, vertex=True)
    parts = [{"text": "x"}] + [{"inlineData": {}} for _ in knobs.get("images", ())]
    image = {"aspectRatio": ratio, **({"imageSize": size} if size else {})}
    body = {
        "contents": [{"parts": parts}],
        "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": image},
    }
    return refusal(path + ":generateContent", body, vertex=vertex)


def _request(knobs: dict[str, Any], *, strict: bool = False) -> ImageRequest:
    return ImageRequest(prompt="a lighthouse at dusk", strict=strict, **knobs)


async def _send(provider, plan) -> None:
    for call in plan.calls:
        await (provider.edit(call) if call.operation is Operation.EDIT else provider.generate(call))


CATALOG = [pytest.param(s, id=f"{s.provider}/{s.model}") for s in (*gemini_catalog(), *vertex_catalog())]


@pytest.mark.parametrize("spec", CATALOG)
async def test_what_the_policy_lets_through_the_vendor_accepts(
    spec: ModelSpec, tmp_path, token_server
) -> None:
    fake = FakeGoogle()
    provider = _provider(spec.provider, fake, tmp_path, token_server)
    outcomes: dict[int, str | int] = {}
    try:
        for index, knobs in enumerate(KNOBS):
            expected = _expected_refusal(spec, knobs)
            try:
                plan = plan_request(_request(knobs), spec, LIMITS)
            except AppError as refused:
                outcomes[index] = f"refused:{refused.details.get('option')}"
                assert expected == refused.details.get("option"), (knobs, refused.message)
                continue
            assert expected is None, (knobs, "was planned but the vendor refuses it")
            before = len(fake.seen)
            await _send(provider, plan)  # raises InvalidRequest if the fake refuses a body
            outcomes[index] = len(fake.seen) - before
            assert outcomes[index] == len(plan.calls), knobs
            assert plan.total_images == knobs.get("n", 1), knobs
    finally:
        await provider.aclose()
    assert len(outcomes) == len(KNOBS)


@pytest.mark.parametrize("spec", CATALOG)
def test_strict_refuses_exactly_what_the_vendor_refuses(spec: ModelSpec) -> None:
    for knobs in STRICT_KNOBS:
        editing = bool(knobs.get("images"))
        if (Operation.EDIT if editing else Operation.GENERATE) not in spec.operations:
            continue  # an operation the model lacks: covered above
        if editing and spec.family == "imagen":
            continue  # Imagen's masked editor sends no ratio, size or input list to check
        vendor_refuses = _naive_refusal(spec, knobs) is not None
        try:
            plan_request(_request(knobs, strict=True), spec, LIMITS)
            refused = False
        except AppError:
            refused = True
        assert refused == vendor_refuses, (knobs, _naive_refusal(spec, knobs))


def _provider(name: str, fake: FakeGoogle, tmp_path, token_server):
    if name == "gemini":
        return GeminiImageProvider("AIza-matrix-key-0123456789", timeout_s=30, http_client=fake.client())
    path = write_service_account(tmp_path, token_server.url)
    return VertexImageProvider("p", credentials_path=path, timeout_s=30, http_client=fake.client())


def _content(model: str, *, vertex: bool = False, images: int = 0, **config: Any) -> str | None:
    config.setdefault("responseModalities", ["IMAGE"])
    parts = [{"text": "x"}] + [{"inlineData": {}}] * images
    path = f"{'/projects/p' if vertex else ''}/models/{model}:generateContent"
    return refusal(path, {"contents": [{"parts": parts}], "generationConfig": config}, vertex=vertex)


def _predict(model: str, parameters: dict[str, Any]) -> str | None:
    return refusal(f"/projects/p/models/{model}:predict", {"parameters": parameters}, vertex=True)


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (_content("gemini-3.1-flash-image", imageConfig={"aspectRatio": "7:3"}), "Unsupported aspect ratio"),
        (_content("gemini-3-pro-image", imageConfig={"aspectRatio": "1:8"}), "Unsupported aspect ratio"),
        (_content("gemini-3.1-flash-image", imageConfig={"aspectRatio": "9:21"}), "Unsupported aspect ratio"),
        (_content("gemini-2.5-flash-image", imageConfig={"imageSize": "1K"}), "Supported: none"),
        (_content("gemini-3.1-flash-lite-image", imageConfig={"imageSize": "2K"}), "Supported: 1K."),
        (_content("gemini-3-pro-image", imageConfig={"imageSize": "512"}), "Unsupported image size"),
        (_content("gemini-3.1-flash-image", imageConfig={"imageSize": "1k"}), "Unsupported image size"),
        (_content("gemini-2.5-flash-image", images=4), "at most 3 input images"),
        (_content("gemini-3-pro-image", images=15), "at most 14 input images"),
        (_content("gemini-3.1-flash-image", imageConfig={"imageOutputOptions": {}}), "Unknown name"),
        (_content("gemini-3.1-flash-image", candidateCount=2), "candidateCount must be 1"),
        (_content("gemini-3.1-flash-image", responseModalities=["TEXT"]), "responseModalities"),
        (_predict("imagen-4.0-generate-001", {"sampleCount": 5}), "between 1 and 4"),
        (_predict("imagen-4.0-ultra-generate-001", {"sampleCount": 2}), "between 1 and 1"),
        (_predict("imagen-4.0-generate-001", {"aspectRatio": "3:2"}), "Unsupported aspect ratio"),
        (
            _predict("imagen-3.0-generate-002", {"sampleImageSize": "1K"}),
            "not supported by imagen-3.0-generate-002",
        ),
    ],
)
def test_the_fake_refuses_each_documented_rule(verdict: str | None, expected: str) -> None:
    assert verdict is not None and expected in verdict


def test_the_fake_accepts_the_documented_edges() -> None:
    assert _content("gemini-3.1-flash-image", vertex=True, imageConfig={"aspectRatio": "9:21"}) is None
    assert _content("gemini-3.1-flash-image", imageConfig={"aspectRatio": "1:8", "imageSize": "512"}) is None
    assert _content("gemini-3.1-flash-image", vertex=True, imageConfig={"imageOutputOptions": {}}) is None
    assert _content("gemini-2.5-flash-image", images=3, responseModalities=["TEXT", "IMAGE"]) is None


async def test_a_refused_body_comes_back_as_google_says_it(tmp_path, token_server) -> None:
    fake = FakeGoogle()
    provider = _provider("gemini", fake, tmp_path, token_server)
    spec = next(s for s in gemini_catalog() if s.model == "gemini-3-pro-image")
    call = plan_request(_request({}), spec, LIMITS).calls[0]
    with pytest.raises(AppError) as caught:
        await provider.generate(attrs.evolve(call, aspect_ratio="1:8"))
    await provider.aclose()
    assert caught.value.code == "invalid_request"
    assert caught.value.details == {
        "provider": "gemini",
        "http_status": 400,
        "vendor_status": "INVALID_ARGUMENT",
    }
    assert "Unsupported aspect ratio: 1:8" in caught.value.message
