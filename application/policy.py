"""The normalization policy: every knob is honoured, remapped with a warning, or refused.

It runs before any network call. Rule of thumb (from the provider fact sheet): refuse when the
result would be something the caller did not ask for (transparency the model cannot make, a
mask it cannot use, too many images); remap with a warning when only fidelity or cost changes
(size tier, quality, aspect ratio, emulated negative prompt, fan-out). ``strict`` turns every
warning into an ``unsupported_option`` error.
"""

from __future__ import annotations

import math
import re

from attrs import frozen

from domain.catalog import ModelSpec, ratio_label
from domain.errors import InvalidRequest, UnsupportedOption
from domain.images import ImageRequest
from domain.normalized import KnobWarning, ProviderRequest
from domain.options import (
    ORIENTATION_RATIOS,
    SIZE_ORDER,
    Background,
    ModelStatus,
    Operation,
    Orientation,
    OutputFormat,
    SizeTier,
)

_RATIO = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?):(\d{1,3}(?:\.\d{1,2})?)$")


@frozen
class PolicyLimits:
    """Server-wide caps, from settings."""

    max_n: int = 10
    max_fan_out: int = 4


@frozen
class Plan:
    """The vendor calls to make (one, or several for fan-out) and the warnings to report."""

    calls: tuple[ProviderRequest, ...]
    warnings: tuple[KnobWarning, ...]
    aspect_ratio: str
    size_tier: SizeTier

    @property
    def total_images(self) -> int:
        return sum(call.n for call in self.calls)


def ratio_value(ratio: str) -> float:
    match = _RATIO.match(ratio)
    if not match or float(match.group(2)) == 0 or float(match.group(1)) == 0:
        raise InvalidRequest(
            f"aspect_ratio must look like '16:9', got {ratio[:20]!r}.", option="aspect_ratio"
        )
    return float(match.group(1)) / float(match.group(2))


def nearest_ratio(ratio: str | float, supported: tuple[str, ...]) -> str:
    """The supported ratio closest to ``ratio`` (a "W:H" string or a width/height value)."""
    target = math.log(ratio if isinstance(ratio, float) else ratio_value(ratio))
    return min(supported, key=lambda r: abs(math.log(ratio_value(r)) - target))


def plan_request(request: ImageRequest, spec: ModelSpec, limits: PolicyLimits) -> Plan:
    """Check and translate ``request`` for ``spec``. Raises InvalidRequest/UnsupportedOption."""
    warnings: list[KnobWarning] = []
    operation = Operation.EDIT if request.is_edit else Operation.GENERATE
    where = f"{spec.provider}/{spec.model}"

    _check_status(spec, warnings)
    if operation not in spec.operations:
        raise UnsupportedOption(
            f"{where} cannot {operation.value}; choose a model whose operations include it "
            "(see get_model_capabilities).",
            option="model",
        )
    prompt = _prompt(request, spec, warnings)
    counts = _split_n(request.n, spec, limits, warnings)
    ratio = _aspect_ratio(request, spec, warnings)
    tier = _size_tier(request.size, spec, warnings)
    width, height = _pixels(tier, ratio, spec, warnings)
    quality = None
    if request.quality is not None:
        quality = spec.qualities.get(request.quality)
        if quality is None:
            warnings.append(KnobWarning("quality", f"{where} has no quality setting; ignored."))
    output_format = _output_format(request, spec)
    compression = request.output_compression
    if compression is not None and output_format not in (OutputFormat.JPEG, OutputFormat.WEBP):
        warnings.append(KnobWarning("output_compression", "Only jpeg and webp are compressed; ignored."))
        compression = None
    _check_inputs(request, spec, where)

    remapped = [w for w in warnings if not w.advisory]
    if request.strict and remapped:
        raise UnsupportedOption(
            "strict=true: refused, nothing was made. Without strict: "
            + " ".join(w.conditional() for w in remapped),
            warnings=[{"option": w.option, "message": w.conditional()} for w in remapped],
        )
    calls = tuple(
        ProviderRequest(
            operation=operation,
            spec=spec,
            prompt=prompt,
            n=count,
            aspect_ratio=ratio,
            size_tier=tier,
            size_label=spec.size_tiers.get(tier),
            width=width,
            height=height,
            quality=quality,
            background=request.background,
            output_format=output_format,
            output_compression=compression,
            negative_prompt=request.negative_prompt if spec.native_negative_prompt else None,
            images=request.images,
            mask=request.mask,
        )
        for count in counts
    )
    return Plan(calls=calls, warnings=tuple(warnings), aspect_ratio=ratio, size_tier=tier)


def _check_status(spec: ModelSpec, warnings: list[KnobWarning]) -> None:
    if spec.status is ModelStatus.RETIRED:
        when = f" on {spec.retired_on.isoformat()}" if spec.retired_on else ""
        instead = f"; use {spec.replacement} instead" if spec.replacement else ""
        warnings.append(
            KnobWarning(
                "model",
                f"{spec.model} was retired by the vendor{when}{instead}. Sent anyway, "
                "since some deployments still serve it.",
                advisory=True,  # the model is sent as asked: strict has nothing to refuse
            )
        )
    elif spec.status is ModelStatus.LEGACY and spec.replacement:
        successor = f"{spec.model} is legacy; {spec.replacement} is its successor."
        warnings.append(KnobWarning("model", successor, advisory=True))
    if not spec.known:
        nearest = f" The closest catalogued model is {spec.replacement}." if spec.replacement else ""
        warnings.append(
            KnobWarning(
                "model",
                f"{spec.model} is not in the catalog of {spec.provider}; sent as is with "
                f"universal checks only.{nearest}",
                advisory=True,
            )
        )


def _prompt(request: ImageRequest, spec: ModelSpec, warnings: list[KnobWarning]) -> str:
    prompt = request.prompt.strip()
    if not prompt:
        raise InvalidRequest("prompt must not be empty.", option="prompt")
    negative = (request.negative_prompt or "").strip()
    if negative and not spec.native_negative_prompt:
        prompt = f"{prompt}\n\nAvoid: {negative}"
        warnings.append(
            KnobWarning(
                "negative_prompt",
                f"{spec.model} has no negative prompt; it was appended to the prompt as 'Avoid: …'.",
            )
        )
    if len(prompt) > spec.max_prompt_chars:
        raise InvalidRequest(
            f"prompt is {len(prompt)} characters; {spec.model} accepts at most {spec.max_prompt_chars}.",
            option="prompt",
            limit=spec.max_prompt_chars,
        )
    return prompt


def _split_n(n: int, spec: ModelSpec, limits: PolicyLimits, warnings: list[KnobWarning]) -> list[int]:
    if n < 1 or n > limits.max_n:
        raise InvalidRequest(f"n must be between 1 and {limits.max_n}.", option="n")
    if n <= spec.max_n:
        return [n]
    calls = [spec.max_n] * (n // spec.max_n) + ([n % spec.max_n] if n % spec.max_n else [])
    if len(calls) > limits.max_fan_out:
        most = spec.max_n * limits.max_fan_out
        raise UnsupportedOption(
            f"{spec.model} makes {spec.max_n} image(s) per call and this server fans out at "
            f"most {limits.max_fan_out} calls: n must be at most {most}.",
            option="n",
            limit=most,
        )
    warnings.append(
        KnobWarning(
            "n",
            f"{spec.model} makes {spec.max_n} image(s) per call; n={n} was made with "
            f"{len(calls)} parallel calls.",
        )
    )
    return calls


def _aspect_ratio(request: ImageRequest, spec: ModelSpec, warnings: list[KnobWarning]) -> str:
    if request.aspect_ratio:
        wanted, option = request.aspect_ratio.strip(), "aspect_ratio"
        value = ratio_value(wanted)
        if request.orientation is not None:
            shape = (
                Orientation.SQUARE
                if abs(value - 1) < 1e-6
                else Orientation.LANDSCAPE
                if value > 1
                else Orientation.PORTRAIT
            )
            if shape is not request.orientation:
                raise InvalidRequest(
                    f"aspect_ratio {wanted} is {shape.value}, but orientation is "
                    f"{request.orientation.value}; give one or make them agree.",
                    option="aspect_ratio",
                )
    elif request.orientation is None and (size := _first_input_size(request)) is not None:
        # An edit with no shape asked for keeps its input's shape, as the vendors do by default;
        # a model that takes any WxH keeps it exactly (within its ratio bounds).
        value = size[0] / size[1]
        if spec.flexible_sizes is not None:
            return ratio_label(spec.flexible_sizes.clamp_ratio(value))
        return nearest_ratio(value, spec.aspect_ratios)
    else:
        wanted = ORIENTATION_RATIOS[request.orientation or Orientation.SQUARE]
        option = "orientation"
    if wanted in spec.aspect_ratios:
        return wanted
    if spec.flexible_sizes is not None and spec.flexible_sizes.accepts_ratio(ratio_value(wanted)):
        return wanted
    used = nearest_ratio(wanted, spec.aspect_ratios)
    warnings.append(KnobWarning(option, f"{spec.model} does not offer {wanted}; used the nearest, {used}."))
    return used


def _first_input_size(request: ImageRequest) -> tuple[int, int] | None:
    first = request.images[0] if request.images else None
    if first is None or not first.width or not first.height:
        return None
    return first.width, first.height


def _size_tier(size: SizeTier | None, spec: ModelSpec, warnings: list[KnobWarning]) -> SizeTier:
    wanted = size or SizeTier.S
    if wanted in spec.size_tiers:
        return wanted
    index = SIZE_ORDER.index(wanted)
    # Prefer the largest tier below the one asked for, then the smallest above it.
    candidates = [t for t in reversed(SIZE_ORDER[:index]) if t in spec.size_tiers] + [
        t for t in SIZE_ORDER[index + 1 :] if t in spec.size_tiers
    ]
    used = candidates[0] if candidates else SizeTier.S
    if size is not None:
        warnings.append(
            KnobWarning("size", f"{spec.model} has no size {wanted.value}; used {used.value} instead.")
        )
    return used


def _pixels(
    tier: SizeTier, ratio: str, spec: ModelSpec, warnings: list[KnobWarning]
) -> tuple[int | None, int | None]:
    if not spec.pixel_sizes and spec.flexible_sizes is None:
        return None, None
    size = spec.pixel_sizes.get((tier, ratio))
    flexible = spec.flexible_sizes
    if size is None and flexible is not None:
        size = flexible.size_for(tier, ratio_value(ratio))
    if size is None:
        raise UnsupportedOption(f"{spec.model} has no {tier.value} size at {ratio}.", option="size")
    if flexible is not None and size[0] * size[1] > flexible.experimental_pixels:
        warnings.append(
            KnobWarning(
                "size",
                f"{size[0]}x{size[1]} is above 2560x1440, which the vendor calls experimental: "
                "it may be refused or slow.",
                advisory=True,
            )
        )
    return size


def _output_format(request: ImageRequest, spec: ModelSpec) -> OutputFormat:
    transparent = request.background is Background.TRANSPARENT
    where = f"{spec.provider}/{spec.model}"
    if transparent and not spec.transparency:
        raise UnsupportedOption(
            f"{where} cannot make a transparent background; choose a model with "
            "transparency (see get_model_capabilities) or omit background.",
            option="background",
        )
    fmt = request.output_format
    if fmt is not None and fmt not in spec.output_formats:
        offered = ", ".join(f.value for f in spec.output_formats)
        raise UnsupportedOption(
            f"{where} cannot write {fmt.value}; it offers {offered}.", option="output_format"
        )
    if transparent:
        if fmt is not None and not fmt.has_alpha:
            raise UnsupportedOption(
                "A transparent background needs png or webp, not jpeg.", option="output_format"
            )
        if fmt is None:
            fmt = next(f for f in spec.output_formats if f.has_alpha)
    return fmt or spec.output_formats[0]


def _check_inputs(request: ImageRequest, spec: ModelSpec, where: str) -> None:
    if len(request.images) > spec.max_input_images:
        raise UnsupportedOption(
            f"{where} takes at most {spec.max_input_images} input image(s); got {len(request.images)}.",
            option="images",
            limit=spec.max_input_images,
        )
    if spec.max_input_bytes is not None:
        limit = spec.max_input_bytes
        named = [(f"images[{i}]", image) for i, image in enumerate(request.images)]
        named += [("mask", request.mask)] if request.mask is not None else []
        for option, image in named:
            if len(image.data) > limit:
                raise InvalidRequest(
                    f"{option} is {len(image.data) / 1e6:.1f} MB; {where} takes at most "
                    f"{limit / 1e6:g} MB per inline image. Send a smaller or more compressed image.",
                    option=option,
                    limit=limit,
                    size=len(image.data),
                )
    if request.mask is not None:
        if not request.is_edit:
            raise InvalidRequest("A mask only makes sense with images to edit.", option="mask")
        if not spec.mask:
            raise UnsupportedOption(
                f"{where} does not support masks; describe the region in the prompt or choose "
                "a model with supports_mask.",
                option="mask",
            )
