"""The OpenAI and Azure OpenAI image models, as data (facts: providers.md §1, §2, §6).

Two size families:

* **fixed** (gpt-image-1-mini, gpt-image-1.5, chatgpt-image-latest): only 1024x1024, 1536x1024
  and 1024x1536, so one S tier at 1:1, 3:2 and 2:3; M and L fall back to S with a policy warning.
* **flexible** (gpt-image-2, the 2.5 family and the 2.6 family): any ``WxH`` with both edges
  multiples of 16, a ratio between 1:3 and 3:1, 655,360..8,294,400 pixels and the long edge at
  most 3840 (under 3840 on Azure). The table below keeps M within 2560x1440's pixel budget
  (above it the SDK calls sizes experimental) and every entry at its exact ratio; any other
  ratio within bounds is computed by ``FlexibleSizes``. The SDK documents no size rules of its
  own for 2.6; the fact sheet groups it with the flexible models (providers.md §6, "OpenAI
  flexible models (2, 2.5, 2.6*)", and §1.2, "assume 2.5 rules"), so it is flexible here too.

Transparency on gpt-image-2 is "preview" per the SDK docstring: it is offered (so the request
is sent as asked), and a vendor 400 on ``background`` becomes ``unsupported_option``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import partial

from attrs import field, frozen

from domain.catalog import FlexibleSizes, ModelSpec
from domain.options import ModelStatus, Operation, OutputFormat, Quality, SizeTier

S, M, L = SizeTier.S, SizeTier.M, SizeTier.L

FIXED_RATIOS: tuple[str, ...] = ("1:1", "3:2", "2:3")
FIXED_SIZES: Mapping[tuple[SizeTier, str], tuple[int, int]] = {
    (S, "1:1"): (1024, 1024),
    (S, "3:2"): (1536, 1024),
    (S, "2:3"): (1024, 1536),
}

# Landscape (and square) sizes per tier S, M, L; portrait entries are these turned round.
_FLEX_LANDSCAPE: Mapping[str, tuple[tuple[int, int], ...]] = {
    "1:1": ((1024, 1024), (1920, 1920), (2560, 2560)),
    "3:2": ((1536, 1024), (2304, 1536), (3456, 2304)),
    "4:3": ((1280, 960), (2176, 1632), (3072, 2304)),
    "5:4": ((1280, 1024), (2080, 1664), (3040, 2432)),
    "16:9": ((1536, 864), (2560, 1440), (3584, 2016)),
    "21:9": ((1568, 672), (2912, 1248), (3584, 1536)),
}


def _flexible_sizes() -> dict[tuple[SizeTier, str], tuple[int, int]]:
    table: dict[tuple[SizeTier, str], tuple[int, int]] = {}
    for ratio, sizes in _FLEX_LANDSCAPE.items():
        wide, high = ratio.split(":")
        for tier, (width, height) in zip((S, M, L), sizes, strict=True):
            table[(tier, ratio)] = (width, height)
            table[(tier, f"{high}:{wide}")] = (height, width)
    return table


FLEX_SIZES: Mapping[tuple[SizeTier, str], tuple[int, int]] = _flexible_sizes()
FLEX_RATIOS: tuple[str, ...] = (
    "1:1", "3:2", "2:3", "4:3", "3:4", "5:4", "4:5", "16:9", "9:16", "21:9", "9:21",
)  # fmt: skip

# Pixel budgets: S about 1024², M the largest size the SDK does not call experimental
# (2560x1440's pixel count), L the documented maximum (3840x2160's).
_FLEX_BUDGETS: Mapping[SizeTier, int] = {S: 1024 * 1024, M: 2560 * 1440, L: 3840 * 2160}
OPENAI_FLEXIBLE = FlexibleSizes(tier_pixels=_FLEX_BUDGETS)
AZURE_FLEXIBLE = FlexibleSizes(tier_pixels=_FLEX_BUDGETS, max_edge=3840 - 16)  # "under 3840 px"

GPT_QUALITIES: Mapping[Quality, str] = {
    Quality.DRAFT: "low",
    Quality.STANDARD: "medium",
    Quality.HIGH: "high",
}
DALL_E_3_QUALITIES: Mapping[Quality, str] = {
    Quality.DRAFT: "standard",
    Quality.STANDARD: "standard",
    Quality.HIGH: "hd",
}
OPENAI_FORMATS = (OutputFormat.PNG, OutputFormat.JPEG, OutputFormat.WEBP)
AZURE_FORMATS = (OutputFormat.PNG, OutputFormat.JPEG)  # Azure has no webp output


@frozen
class WireRules:
    """What goes on the wire for one model, beyond its ModelSpec.

    ``dall_e`` models take ``response_format`` (they answer with URLs otherwise) and no
    ``output_format``/``background``/``output_compression``; GPT image models are the opposite.
    ``input_fidelity`` lists the values an edit may send; empty means never send it.
    """

    dall_e: bool = False
    input_fidelity: frozenset[str] = field(factory=frozenset)


GPT_IMAGE_RULES = WireRules()
WIRE_RULES: Mapping[str, WireRules] = {
    "gpt-image-1.5": WireRules(input_fidelity=frozenset({"high", "low"})),
    "gpt-image-1-mini": WireRules(input_fidelity=frozenset({"low"})),
    "gpt-image-1": WireRules(input_fidelity=frozenset({"high", "low"})),
    "dall-e-3": WireRules(dall_e=True),
    "dall-e-2": WireRules(dall_e=True),
}


def wire_rules(model: str) -> WireRules:
    """The wire rules of ``model``; unknown ids get the GPT image rules (no input_fidelity)."""
    return WIRE_RULES.get(model, GPT_IMAGE_RULES)


def _gpt(
    provider: str,
    model: str,
    family: str,
    description: str,
    *,
    flexible: FlexibleSizes | None,
    formats: tuple[OutputFormat, ...],
    status: ModelStatus = ModelStatus.CURRENT,
    retired_on: date | None = None,
    replacement: str | None = None,
) -> ModelSpec:
    return ModelSpec(
        provider=provider,
        model=model,
        family=family,
        description=description,
        status=status,
        retired_on=retired_on,
        replacement=replacement,
        max_n=10,
        max_input_images=16,
        mask=True,
        transparency=True,
        output_formats=formats,
        aspect_ratios=FLEX_RATIOS if flexible else FIXED_RATIOS,
        size_tiers={S: "1K", M: "2K", L: "4K"} if flexible else {S: "1K"},
        pixel_sizes=FLEX_SIZES if flexible else FIXED_SIZES,
        flexible_sizes=flexible,
        qualities=GPT_QUALITIES,
        max_prompt_chars=32_000,
    )


def _dall_e_3(provider: str, retired_on: date, replacement: str) -> ModelSpec:
    return ModelSpec(
        provider=provider,
        model="dall-e-3",
        family="dall-e",
        architecture="diffusion",
        description="Retired DALL·E 3: generate only, one image per call, URL-era API.",
        operations=frozenset({Operation.GENERATE}),
        status=ModelStatus.RETIRED,
        retired_on=retired_on,
        replacement=replacement,
        max_n=1,
        aspect_ratios=("1:1", "7:4", "4:7"),
        size_tiers={S: "1K"},
        pixel_sizes={(S, "1:1"): (1024, 1024), (S, "7:4"): (1792, 1024), (S, "4:7"): (1024, 1792)},
        qualities=DALL_E_3_QUALITIES,
        max_prompt_chars=4_000,
    )


def openai_catalog() -> tuple[ModelSpec, ...]:
    """OpenAI's image models; the first current entry is the default model."""
    fixed = partial(_gpt, "openai", flexible=None, formats=OPENAI_FORMATS)
    flex = partial(_gpt, "openai", flexible=OPENAI_FLEXIBLE, formats=OPENAI_FORMATS)
    retired = date(2026, 5, 12)
    flex_2 = "Any WxH (multiples of 16, 1:3..3:1); transparency is a vendor preview."
    flex_25 = "Any WxH (multiples of 16, 1:3..3:1); opaque and transparent backgrounds."
    flex_26 = "Any WxH as on 2.5 (the SDK documents no rules of its own for 2.6)."
    return (
        fixed("gpt-image-1.5", "gpt-image-1", "Fixed sizes; input_fidelity on edits."),
        fixed("gpt-image-1-mini", "gpt-image-1", "Fixed sizes, lowest cost."),
        fixed("chatgpt-image-latest", "chatgpt-image", "Alias of ChatGPT's image model; fixed sizes."),
        flex("gpt-image-2", "gpt-image-2", flex_2),
        flex("gpt-image-2-2026-04-21", "gpt-image-2", "Snapshot. " + flex_2),
        flex("gpt-image-2.5-sunburst", "gpt-image-2.5", flex_25),
        flex("gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.5", "Snapshot. " + flex_25),
        flex("gpt-image-2.5-flare", "gpt-image-2.5", flex_25),
        flex("gpt-image-2.5-flare-2026-09-08", "gpt-image-2.5", "Snapshot. " + flex_25),
        flex("gpt-image-2.6-sunburst", "gpt-image-2.6", flex_26),
        flex("gpt-image-2.6-flare", "gpt-image-2.6", flex_26),
        fixed(
            "gpt-image-1",
            "gpt-image-1",
            "Shut down by OpenAI; its SDK points to gpt-image-2.5-sunburst or -flare.",
            status=ModelStatus.RETIRED,
            retired_on=date(2026, 10, 23),
            replacement="gpt-image-2.5-sunburst",
        ),
        _dall_e_3("openai", retired, "gpt-image-1.5"),
        ModelSpec(
            provider="openai",
            model="dall-e-2",
            family="dall-e",
            architecture="diffusion",
            description="Retired DALL·E 2: square images, one input image and an exact mask.",
            status=ModelStatus.RETIRED,
            retired_on=retired,
            replacement="gpt-image-1-mini",
            max_n=10,
            mask=True,
            aspect_ratios=("1:1",),
            size_tiers={S: "1K"},
            pixel_sizes={(S, "1:1"): (1024, 1024)},
            max_prompt_chars=1_000,
        ),
    )


def azure_catalog() -> tuple[ModelSpec, ...]:
    """Azure OpenAI's image models (sent to the deployment mapped to each id).

    Azure lags OpenAI: the 2.5 family is not documented there, so it is left to the
    uncatalogued-model path; gpt-image-1 has no Azure retirement date and stays legacy.
    """
    fixed = partial(_gpt, "azure", flexible=None, formats=AZURE_FORMATS)
    flex = partial(_gpt, "azure", flexible=AZURE_FLEXIBLE, formats=AZURE_FORMATS)
    return (
        fixed("gpt-image-1.5", "gpt-image-1", "Fixed sizes (limited access)."),
        fixed("gpt-image-1-mini", "gpt-image-1", "Fixed sizes (limited access)."),
        flex("gpt-image-2", "gpt-image-2", "Version 2026-04-21; any WxH within Azure's pixel limits."),
        fixed(
            "gpt-image-1",
            "gpt-image-1",
            "Superseded by gpt-image-1.5.",
            status=ModelStatus.LEGACY,
            replacement="gpt-image-1.5",
        ),
        _dall_e_3("azure", date(2026, 3, 4), "gpt-image-1.5"),
    )
