"""The model catalog as data: one immutable entry per (provider, model), each with a status.

Vendors retire models often, so what a model can do is described here once and read by the
normalization policy, never spread through ``if model == ...`` branches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from fractions import Fraction

from attrs import field, frozen

from domain.options import ModelStatus, Operation, OutputFormat, Quality, SizeTier

STANDARD_RATIOS: tuple[str, ...] = (
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
)  # fmt: skip
GENERATE_AND_EDIT = frozenset({Operation.GENERATE, Operation.EDIT})


def pixel_table(
    long_edges: Mapping[SizeTier, int], ratios: tuple[str, ...], multiple: int = 1
) -> dict[tuple[SizeTier, str], tuple[int, int]]:
    """Exact pixel sizes per (tier, ratio): the long edge per tier, the short edge from the
    ratio, both rounded to ``multiple`` (vendors such as OpenAI want multiples of 16)."""
    table: dict[tuple[SizeTier, str], tuple[int, int]] = {}
    for tier, edge in long_edges.items():
        for ratio in ratios:
            w, h = (float(x) for x in ratio.split(":"))
            scale = edge / max(w, h)
            table[(tier, ratio)] = (
                max(multiple, round(w * scale / multiple) * multiple),
                max(multiple, round(h * scale / multiple) * multiple),
            )
    return table


@frozen
class FlexibleSizes:
    """The ``WxH`` rule of models that take any size within bounds (OpenAI's gpt-image-2 line):
    edges in multiples of ``multiple``, a ratio within 1:``max_ratio``..``max_ratio``:1, a pixel
    count within ``min_pixels``..``max_pixels`` and the long edge at most ``max_edge``.

    Each S/M/L tier has a pixel budget; a ratio is met exactly up to the rounding of the edges
    to ``multiple``. Sizes above ``experimental_pixels`` are ones the vendor calls experimental.
    """

    tier_pixels: Mapping[SizeTier, int]
    multiple: int = 16
    max_ratio: float = 3.0
    min_pixels: int = 655_360
    max_pixels: int = 8_294_400
    max_edge: int = 3840
    experimental_pixels: int = 2560 * 1440

    def accepts_ratio(self, value: float) -> bool:
        return 1 / self.max_ratio - 1e-9 <= value <= self.max_ratio + 1e-9

    def clamp_ratio(self, value: float) -> float:
        return min(max(value, 1 / self.max_ratio), self.max_ratio)

    def size_for(self, tier: SizeTier, value: float) -> tuple[int, int]:
        """The largest ``WxH`` at ratio ``value`` (width/height) within the tier's budget and
        every bound; ``value`` must be one :meth:`accepts_ratio` accepts."""
        step = self.multiple
        budget = min(self.tier_pixels[tier], self.max_pixels)
        width = math.sqrt(budget * value)
        height = width / value
        shrink = min(1.0, self.max_edge / max(width, height))
        width, height = width * shrink, height * shrink
        # Round to the grid, then step down while a bound is broken (rounding up may cross one).
        w = max(step, round(width / step) * step)
        h = max(step, round(height / step) * step)
        while w * h > budget or max(w, h) > self.max_edge or not self.accepts_ratio(w / h):
            if w / h > value:
                w -= step
            else:
                h -= step
        while w * h < self.min_pixels:
            w, h = (w + step, h) if w / h < value else (w, h + step)
        return w, h


def ratio_label(value: float, largest_term: int = 64) -> str:
    """A ``W:H`` label for a width/height value, in small terms (``1.5`` → ``3:2``)."""
    fraction = Fraction(value).limit_denominator(largest_term)
    while fraction.numerator > 999:  # labels keep to three digits a side
        largest_term //= 2
        fraction = Fraction(value).limit_denominator(largest_term)
    return f"{fraction.numerator}:{fraction.denominator}"


@frozen
class ModelSpec:
    """What one model of one provider accepts.

    * ``max_n`` is how many images one vendor call can return; a larger ``n`` fans out.
    * ``size_tiers`` maps the S/M/L tiers the model distinguishes to its native label
      (``"1K"``, ``"2K"`` ...); a missing tier falls back to the nearest one, with a warning.
    * ``pixel_sizes`` gives exact pixels per (tier, ratio) for models that take ``WxH``.
    * ``flexible_sizes``, when set, lets any ratio within its bounds through exactly: sizes not
      in ``pixel_sizes`` are computed from it.
    * ``qualities`` maps draft/standard/high to native values; empty means no quality knob.
    * ``native_negative_prompt`` False means the negative prompt is folded into the prompt.
    * ``max_input_bytes`` is the vendor's per-image input cap: a larger input is refused before
      any call, naming the limit, instead of after an upload the vendor rejects.
    """

    provider: str
    model: str
    family: str
    description: str = ""
    # "ar" (autoregressive, e.g. GPT image, Gemini) or "diffusion" (Imagen, DALL·E, FLUX): the
    # older image-gen-mcp reported it, and clients written for it may still read it.
    architecture: str = "ar"
    operations: frozenset[Operation] = GENERATE_AND_EDIT
    status: ModelStatus = ModelStatus.CURRENT
    retired_on: date | None = None
    replacement: str | None = None
    max_n: int = 1
    max_input_images: int = 1
    mask: bool = False
    transparency: bool = False
    output_formats: tuple[OutputFormat, ...] = (OutputFormat.PNG,)
    aspect_ratios: tuple[str, ...] = ("1:1", "3:2", "2:3")
    size_tiers: Mapping[SizeTier, str] = field(factory=lambda: {SizeTier.S: "1K"})
    pixel_sizes: Mapping[tuple[SizeTier, str], tuple[int, int]] = field(factory=dict)
    flexible_sizes: FlexibleSizes | None = None
    qualities: Mapping[Quality, str] = field(factory=dict)
    native_negative_prompt: bool = False
    max_prompt_chars: int = 32_000
    # The vendor's documented cap on one input image (or mask), in bytes; None when it has none.
    max_input_bytes: int | None = None
    discovered: bool = False
    known: bool = True

    @property
    def can_generate(self) -> bool:
        return Operation.GENERATE in self.operations

    @property
    def can_edit(self) -> bool:
        return Operation.EDIT in self.operations

    def describe(self) -> dict[str, object]:
        """The JSON-safe summary get_model_capabilities reports."""
        return {
            "model": self.model,
            "family": self.family,
            "architecture": self.architecture,
            "description": self.description,
            "status": self.status.value,
            "retired_on": self.retired_on.isoformat() if self.retired_on else None,
            "replacement": self.replacement,
            "operations": sorted(op.value for op in self.operations),
            "supports_generation": self.can_generate,
            "supports_edit": self.can_edit,
            "supports_mask": self.mask,
            "supports_multi_image_edit": self.can_edit and self.max_input_images > 1,
            "supports_background": self.transparency,
            "supports_negative_prompt": self.native_negative_prompt,
            "max_n": self.max_n,
            "max_input_images": self.max_input_images if self.can_edit else 0,
            "sizes": [tier.value for tier in SizeTier if tier in self.size_tiers],
            "aspect_ratios": list(self.aspect_ratios),
            "transparency": self.transparency,
            "output_formats": [f.value for f in self.output_formats],
            "qualities": [q.value for q in Quality if q in self.qualities],
            "negative_prompt": "native" if self.native_negative_prompt else "emulated",
            "discovered": self.discovered,
        }


def unknown_model_spec(provider: str, model: str, template: ModelSpec | None) -> ModelSpec:
    """A permissive entry for a model id the catalog does not know yet.

    New vendor models appear monthly and must work without a release: only universal checks
    apply, and the vendor's own 400 answers for the rest. A ``template`` (a catalog entry of
    the same line of models) lends its knob shapes; without one, the knobs are left open:
    every output format, transparency, the standard ratios and S/M/L as 1K/2K/4K.
    """
    base = template or ModelSpec(
        provider=provider,
        model=model,
        family="unknown",
        transparency=True,
        output_formats=(OutputFormat.PNG, OutputFormat.JPEG, OutputFormat.WEBP),
        aspect_ratios=STANDARD_RATIOS,
        size_tiers={SizeTier.S: "1K", SizeTier.M: "2K", SizeTier.L: "4K"},
        max_input_images=16,
    )
    # The closest catalogued model of the same line is what to use if the vendor does not know
    # the id either: the template itself when current, else the template's own replacement.
    nearest = None
    if template is not None:
        nearest = template.model if template.status is ModelStatus.CURRENT else template.replacement
    return ModelSpec(
        provider=provider,
        model=model,
        family=base.family,
        architecture=base.architecture,
        description="Not in the catalog: sent as is, with universal checks only.",
        replacement=nearest,
        operations=GENERATE_AND_EDIT,
        max_n=base.max_n,
        max_input_images=max(base.max_input_images, 16),
        mask=base.mask,
        transparency=base.transparency,
        output_formats=base.output_formats,
        aspect_ratios=base.aspect_ratios,
        size_tiers=base.size_tiers,
        pixel_sizes=base.pixel_sizes,
        flexible_sizes=base.flexible_sizes,
        qualities=base.qualities,
        native_negative_prompt=base.native_negative_prompt,
        max_prompt_chars=base.max_prompt_chars,
        max_input_bytes=base.max_input_bytes,
        known=False,
    )


def template_for(model: str, specs: Sequence[ModelSpec]) -> ModelSpec | None:
    """The catalog entry whose id shares the longest prefix with ``model`` (at least six
    characters: ``imagen-5.0-…`` takes after the Imagen entries, ``openai/gpt-image-3`` after
    ``openai/gpt-image-2``), or None for an id of a line the catalog does not know."""

    def shared(spec: ModelSpec) -> int:
        count = 0
        for ours, theirs in zip(spec.model, model, strict=False):
            if ours != theirs:
                break
            count += 1
        return count

    best = max(specs, key=shared, default=None)
    return best if best is not None and shared(best) >= 6 else None
