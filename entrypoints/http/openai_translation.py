"""The Images API's vocabulary in the tools' terms, and back: sizes, quality words, model
names, usage, and the report of what was adjusted. Pure functions, no I/O."""

from __future__ import annotations

import math
from typing import Any

from domain.errors import InvalidRequest
from domain.options import Quality, SizeTier
from entrypoints.http.openai_schema import EditFields, GenerationFields

# OpenAI's quality words (and DALL·E's standard/hd) in the tools' vocabulary; auto is the default.
QUALITY: dict[str, Quality | None] = {
    "auto": None,
    "low": Quality.DRAFT,
    "medium": Quality.STANDARD,
    "standard": Quality.STANDARD,
    "high": Quality.HIGH,
    "hd": Quality.HIGH,
}
QUALITY_LABEL = {Quality.DRAFT: "low", Quality.STANDARD: "medium", Quality.HIGH: "high"}
# Long edge → tier: every OpenAI size (up to DALL·E 3's 1792x1024) is ≈1K (S); from 2048
# it is ≈2K (M); from 3840 (4K UHD) ≈4K (L).
TIER_BOUNDS = ((2048, SizeTier.S), (3840, SizeTier.M))
MAX_RATIO = 32.0
# Options that shape the image: their remapping is reported as the size change itself.
SHAPE_OPTIONS = frozenset({"size", "aspect_ratio", "orientation"})


def size_request(size: str | None) -> tuple[SizeTier | None, str | None]:
    """``"WxH"`` → the tier of its long edge and its ratio, for the normalization policy to map
    onto what the model offers (nearest ratio and tier, with warnings); ``auto`` → neither."""
    if size is None or size == "auto":
        return None, None
    width, height = (int(part) for part in size.split("x"))
    if max(width, height) / min(width, height) > MAX_RATIO:
        raise InvalidRequest(f"size {size} is more elongated than 1:{MAX_RATIO:g}.", option="size")
    long_edge = max(width, height)
    tier = next((t for bound, t in TIER_BOUNDS if long_edge < bound), SizeTier.L)
    divisor = math.gcd(width, height)
    a, b = width // divisor, height // divisor
    if a < 1000 and b < 1000:
        return tier, f"{a}:{b}"
    # The policy reads ratios of at most three digits: keep two decimals of the long side.
    return tier, (f"{width / height:.2f}:1" if width >= height else f"1:{height / width:.2f}")


def route_names(model: str | None, provider_ids: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``provider/model``, a provider id alone, or a bare model id → ``(provider, model)``.
    Only a known provider id counts as a prefix: OpenRouter's own ids contain a slash."""
    if not model:
        return None, None
    if model in provider_ids:
        return model, None
    prefix, slash, rest = model.partition("/")
    if slash and rest and prefix in provider_ids:
        return prefix, rest
    return None, model


def ignored_knobs(fields: GenerationFields) -> list[dict[str, str]]:
    """Warnings for the OpenAI-only knobs that no vendor call here can honour."""
    notes = []
    if fields.moderation == "low":
        notes.append(
            {
                "option": "moderation",
                "message": "moderation=low is not forwarded; each vendor's default applies.",
            }
        )
    if fields.style is not None:
        notes.append({"option": "style", "message": "style is a DALL·E 3 option; not forwarded."})
    if isinstance(fields, EditFields) and fields.input_fidelity is not None:
        notes.append({"option": "input_fidelity", "message": "input_fidelity is not forwarded."})
    return notes


def openai_usage(tokens: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's usage object, when the vendor reported token counts (the cost stays in
    ``image_gen.usage``: OpenAI's object has no field for it)."""
    if not any(key in tokens for key in ("input_tokens", "output_tokens", "total_tokens")):
        return None
    return {
        "input_tokens": tokens.get("input_tokens", 0),
        "output_tokens": tokens.get("output_tokens", 0),
        "total_tokens": tokens.get(
            "total_tokens", tokens.get("input_tokens", 0) + tokens.get("output_tokens", 0)
        ),
    }


def adjusted_header(size: str | None, made: str, warnings: list[dict[str, str]]) -> str:
    """The ``X-Image-Gen-Adjusted`` header: ``size=asked->made`` when the size changed, then
    every other option that was remapped or dropped (the messages are in ``image_gen``)."""
    parts = [f"size={size}->{made}"] if size not in (None, "auto") and size != made else []
    for option in dict.fromkeys(w["option"] for w in warnings):
        if option not in SHAPE_OPTIONS:
            parts.append(option)
    return "; ".join(parts)
