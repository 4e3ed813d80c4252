"""OpenRouter's curated image models, and which of its two routes serves each one.

OpenRouter has a dedicated image API (``POST /images``) and the older chat-completions route
(``modalities`` + ``image_config``). Models that only emit images as chat output (the GPT-5
image models) are served by the chat route. What each model accepts and which route serves it
are data here, read by the policy and the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import attrs
from attrs import frozen

from domain.catalog import STANDARD_RATIOS, ModelSpec
from domain.options import ModelStatus, OutputFormat, Quality, SizeTier

PROVIDER_ID = "openrouter"

# Gemini 3.x image models: the standard ratios plus the extreme ones 3.1 flash added.
GEMINI_31_RATIOS: tuple[str, ...] = (*STANDARD_RATIOS, "1:4", "4:1", "1:8", "8:1")
OPENAI_FLEXIBLE_RATIOS: tuple[str, ...] = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16")
FLUX_RATIOS: tuple[str, ...] = (*STANDARD_RATIOS, "9:21")

TIERS_1K_2K_4K: Mapping[SizeTier, str] = {SizeTier.S: "1K", SizeTier.M: "2K", SizeTier.L: "4K"}
OPENAI_QUALITIES: Mapping[Quality, str] = {
    Quality.DRAFT: "low",
    Quality.STANDARD: "medium",
    Quality.HIGH: "high",
}
ALL_FORMATS = (OutputFormat.PNG, OutputFormat.WEBP, OutputFormat.JPEG)


class Api(StrEnum):
    IMAGES = "images"
    CHAT = "chat"


@frozen
class Route:
    """How a model is called: the API, and for the chat route the output modalities it takes
    (``["image"]`` for image-only models, ``["image", "text"]`` for models that also talk)."""

    api: Api
    modalities: tuple[str, ...] = ("image", "text")


IMAGE_API = Route(Api.IMAGES)
CHAT_ROUTE = Route(Api.CHAT)

# The route of every curated model. The GPT-5 image models make images as chat output, which
# the image API does not serve. Models not listed here (discovered live: the listing is of
# image-API models; or unknown ids) go to the image API.
ROUTES: Mapping[str, Route] = {
    "google/gemini-3.1-flash-image": IMAGE_API,
    "google/gemini-3-pro-image": IMAGE_API,
    "google/gemini-2.5-flash-image": IMAGE_API,
    "openai/gpt-image-2": IMAGE_API,
    "openai/gpt-5-image": CHAT_ROUTE,
    "openai/gpt-5-image-mini": CHAT_ROUTE,
    "black-forest-labs/flux.2-pro": IMAGE_API,
    "google/gemini-2.5-flash-image-preview": IMAGE_API,
}


def route_for(model: str) -> Route:
    return ROUTES.get(model, IMAGE_API)


def _gemini(model: str, description: str, **changes: Any) -> ModelSpec:
    base = ModelSpec(
        provider=PROVIDER_ID,
        model=model,
        family="gemini",
        description=description,
        max_n=1,  # one image per call: n fans out
        max_input_images=14,
        output_formats=(OutputFormat.PNG,),
        aspect_ratios=STANDARD_RATIOS,
        size_tiers=TIERS_1K_2K_4K,
    )
    return attrs.evolve(base, **changes)


def _chat_gpt(model: str, description: str) -> ModelSpec:
    return ModelSpec(
        provider=PROVIDER_ID,
        model=model,
        family="gpt-5-image",
        description=description,
        max_n=1,  # the chat route returns one image per request
        max_input_images=16,
        output_formats=(OutputFormat.PNG,),
        aspect_ratios=("1:1", "3:2", "2:3"),
        # The image is made at OpenAI's fixed sizes; image_config cannot raise it.
        size_tiers={SizeTier.S: "1K"},
    )


_CATALOG: tuple[ModelSpec, ...] = (
    _gemini(
        "google/gemini-3.1-flash-image",
        "Nano Banana 2: fast Gemini image model, up to 4K, edits with up to 14 reference images.",
        aspect_ratios=GEMINI_31_RATIOS,
        recommended=True,
    ),
    _gemini(
        "google/gemini-3-pro-image",
        "Nano Banana Pro: Gemini's highest-quality image model, up to 4K.",
    ),
    _gemini(
        "google/gemini-2.5-flash-image",
        "Nano Banana: Gemini 2.5 image model, 1K only, up to 3 input images.",
        max_input_images=3,
        size_tiers={SizeTier.S: "1K"},
    ),
    ModelSpec(
        provider=PROVIDER_ID,
        model="openai/gpt-image-2",
        family="gpt-image",
        description="OpenAI GPT Image 2: up to 10 images per call, quality levels, up to 16 input images.",
        max_n=10,
        max_input_images=16,
        # A preview on gpt-image-2: passed through, and a refusal comes back as unsupported_option.
        transparency=True,
        output_formats=ALL_FORMATS,
        aspect_ratios=OPENAI_FLEXIBLE_RATIOS,
        size_tiers=TIERS_1K_2K_4K,
        qualities=OPENAI_QUALITIES,
    ),
    _chat_gpt("openai/gpt-5-image", "GPT-5 with image output, through the chat route."),
    _chat_gpt("openai/gpt-5-image-mini", "GPT-5 mini with image output, through the chat route."),
    ModelSpec(
        provider=PROVIDER_ID,
        model="black-forest-labs/flux.2-pro",
        family="flux",
        architecture="diffusion",
        description="FLUX.2 [pro]: photoreal generation and multi-reference edits, up to 4 MP.",
        max_n=1,
        max_input_images=8,
        output_formats=(OutputFormat.PNG, OutputFormat.JPEG),
        aspect_ratios=FLUX_RATIOS,
        size_tiers={SizeTier.S: "1K", SizeTier.M: "2K"},
    ),
    _gemini(
        "google/gemini-2.5-flash-image-preview",
        "The seed's default model: retired by Google; use google/gemini-2.5-flash-image.",
        status=ModelStatus.RETIRED,
        replacement="google/gemini-2.5-flash-image",
        max_input_images=3,
        size_tiers={SizeTier.S: "1K"},
    ),
)


def openrouter_catalog() -> tuple[ModelSpec, ...]:
    """The curated OpenRouter entries, in a fixed order (the recommended one is the default)."""
    return _CATALOG


def curated(model: str) -> ModelSpec | None:
    return next((spec for spec in _CATALOG if spec.model == model), None)
