"""One catalog entry × a matrix of knobs, planned by the real policy and sent through the real
adapter to a wire-level fake, in both directions:

- whatever the policy plans, the fake accepts, with exactly one request per planned call;
- whatever the policy refuses, the fake refuses too when the refused knob is forced onto a
  request the policy does plan, or the knob has no wire field on that model (so sending it
  would silently drop it). The policy never refuses what the vendor would serve.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from PIL import Image

from application.policy import PolicyLimits, plan_request
from domain.catalog import ModelSpec
from domain.errors import AppError
from domain.images import ImageData, ImageRequest
from domain.normalized import ProviderRequest
from domain.options import Background, Operation, Orientation, OutputFormat, Quality, SizeTier


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
_FORCEABLE = ("background", "output_format", "images", "mask")


def _forced(option: str, knobs: dict[str, Any], spec: ModelSpec) -> ProviderRequest:
    """The refused knob put back onto a request the policy plans."""
    kept = {k: v for k, v in knobs.items() if k not in (*_FORCEABLE, "output_compression")}
    if option in ("images", "mask"):
        kept["images"] = (PICTURE,)
    base = plan_request(ImageRequest(prompt="a fox", **kept), spec, LIMITS).calls[0]
    forced = {k: knobs[k] for k in _FORCEABLE if k in knobs}
    if "output_format" in forced and knobs.get("output_compression") is not None:
        forced["output_compression"] = knobs["output_compression"]
    return attrs.evolve(base, **forced)


async def check_every_knob(
    spec: ModelSpec,
    provider: Any,
    *,
    requests_seen: Callable[[], int],
    last_sent: Callable[[], set[str]],
    wire_names: Mapping[str, str] = {},
) -> None:
    """Raise AssertionError on the first knob where the policy and the fake disagree."""

    async def send(call: ProviderRequest) -> None:
        await (provider.edit(call) if call.operation is Operation.EDIT else provider.generate(call))

    for knobs in KNOBS:
        try:
            plan = plan_request(ImageRequest(prompt="a fox", **knobs), spec, LIMITS)
        except AppError as refused:
            option = refused.details.get("option")
            if option == "model":  # an operation the model lacks
                assert Operation.EDIT not in spec.operations and "images" in knobs, refused.message
                continue
            assert option in _FORCEABLE, (knobs, refused.message)
            try:
                await send(_forced(option, knobs, spec))
            except AppError as vendor:
                assert vendor.code in ("invalid_request", "unsupported_option"), (knobs, vendor.message)
            else:
                assert wire_names.get(option, option) not in last_sent(), (knobs, refused.message)
            continue
        before = requests_seen()
        for call in plan.calls:
            await send(call)  # raises if the fake refuses the body
        assert requests_seen() - before == len(plan.calls), knobs
        assert plan.total_images == knobs.get("n", 1), knobs
