"""Every catalogued OpenAI and Azure OpenAI model × a matrix of knobs, planned by the real policy
and sent through the real adapter and SDK to the fake, which refuses bodies that break a
documented rule (``openai_fake``).

Whatever the policy lets through, the fake accepts, with exactly one request per planned call.
Whatever it refuses, the fake refuses too when the refused knob is forced onto a request that
the policy does plan: the policy never refuses what the vendor would serve.
"""

from __future__ import annotations

import io
from typing import Any

import attrs
import pytest
from PIL import Image

from adapters.providers.azure_provider import AzureOpenAIImageProvider
from adapters.providers.openai_catalog import azure_catalog, openai_catalog
from adapters.providers.openai_provider import OpenAIImageProvider
from application.policy import PolicyLimits, plan_request
from domain.catalog import ModelSpec
from domain.errors import AppError
from domain.images import ImageData, ImageRequest
from domain.normalized import ProviderRequest
from domain.options import Background, Operation, Orientation, OutputFormat, Quality, SizeTier
from tests.adapters.openai_fake import FakeImagesAPI


def _png(width: int, height: int, alpha: int = 255) -> ImageData:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 60, 20, alpha)).save(out, format="PNG")
    return ImageData.from_bytes(out.getvalue())


PICTURE, MASK = _png(32, 32), _png(32, 32, alpha=0)
KNOBS: tuple[dict[str, Any], ...] = (
    {},
    {"orientation": Orientation.PORTRAIT, "size": SizeTier.M},
    {"orientation": Orientation.LANDSCAPE, "size": SizeTier.L},
    *({"aspect_ratio": ratio} for ratio in ("16:9", "9:21", "1:8", "7:3", "4:5")),
    {"quality": Quality.HIGH},
    {"quality": Quality.DRAFT, "background": Background.OPAQUE},
    {"background": Background.TRANSPARENT},
    {"background": Background.TRANSPARENT, "output_format": OutputFormat.WEBP},
    {"output_format": OutputFormat.JPEG, "output_compression": 60},
    {"output_format": OutputFormat.WEBP, "output_compression": 60},
    {"n": 3},
    {"n": 10, "size": SizeTier.M},
    {"images": (PICTURE,) * 2},
    {"images": (PICTURE,) * 17},
    {"images": (PICTURE,), "mask": MASK},
)
LIMITS = PolicyLimits(max_n=10, max_fan_out=10)
CATALOG = [pytest.param(s, id=f"{s.provider}/{s.model}") for s in (*openai_catalog(), *azure_catalog())]


def _provider(spec: ModelSpec, fake: FakeImagesAPI):
    if spec.provider == "azure":
        return AzureOpenAIImageProvider(
            endpoint="https://contoso.openai.azure.com",
            api_key="azure-key-0123456789",
            http_client=fake.client(),
        )
    return OpenAIImageProvider(api_key="sk-matrix-0123456789", http_client=fake.client())


async def _send(provider, call: ProviderRequest) -> None:
    await (provider.edit(call) if call.operation is Operation.EDIT else provider.generate(call))


def _forced(refused: AppError, knobs: dict[str, Any], spec: ModelSpec) -> ProviderRequest | None:
    """The refused knob put back onto a request the policy plans, or None when it has no wire
    form (an operation the model lacks)."""
    option = refused.details.get("option")
    kept = {k: v for k, v in knobs.items() if k not in ("background", "output_format", "output_compression")}
    if option in ("images", "mask"):
        kept = {k: v for k, v in knobs.items() if k not in ("images", "mask")}
        kept["images"] = (PICTURE,)
    elif option not in ("background", "output_format"):
        return None
    base = plan_request(ImageRequest(prompt="a fox", **kept), spec, LIMITS).calls[0]
    forced = {k: knobs[k] for k in ("background", "output_format", "images", "mask") if k in knobs}
    if "output_format" in forced and knobs.get("output_compression") is not None:
        forced["output_compression"] = knobs["output_compression"]
    return attrs.evolve(base, **forced)


@pytest.mark.parametrize("spec", CATALOG)
async def test_policy_and_vendor_agree_on_every_knob(spec: ModelSpec) -> None:
    fake = FakeImagesAPI(spec.provider, serve_retired=True)
    provider = _provider(spec, fake)
    try:
        for knobs in KNOBS:
            try:
                plan = plan_request(ImageRequest(prompt="a fox", **knobs), spec, LIMITS)
            except AppError as refused:
                forced = _forced(refused, knobs, spec)
                if refused.details.get("option") == "model":
                    assert Operation.EDIT not in spec.operations and "images" in knobs, refused.message
                    continue
                assert forced is not None, (knobs, refused.message)
                try:
                    await _send(provider, forced)
                except AppError as vendor:
                    assert vendor.code in ("invalid_request", "unsupported_option"), (knobs, vendor.message)
                else:  # served: then the model has no such field, and the knob never reached the wire
                    wire = {"images": "image[]"}.get(refused.details["option"], refused.details["option"])
                    sent = set(fake.last.body) | {part.name for part in fake.last.files}
                    assert wire not in sent, (knobs, refused.message, sent)
                continue
            before = len(fake.seen)
            for call in plan.calls:
                await _send(provider, call)  # raises if the fake refuses the body
            assert len(fake.seen) - before == len(plan.calls), knobs
            assert plan.total_images == knobs.get("n", 1), knobs
    finally:
        await provider.aclose()
