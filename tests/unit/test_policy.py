"""The normalization policy: honour, remap with a warning, or refuse — before any call."""

from __future__ import annotations

import attrs
import pytest

from adapters.memory import FAKE_MODELS
from adapters.png import solid_png
from application.policy import PolicyLimits, plan_request
from domain.catalog import ModelSpec, unknown_model_spec
from domain.errors import InvalidRequest, UnsupportedOption
from domain.images import ImageData, ImageRequest
from domain.options import (
    Background,
    ModelStatus,
    Operation,
    Orientation,
    OutputFormat,
    Quality,
    SizeTier,
)

FLEX, SINGLE, GEN_ONLY = FAKE_MODELS
LIMITS = PolicyLimits(max_n=10, max_fan_out=4)
PNG = ImageData.from_bytes(solid_png(4, 4))


def plan(spec: ModelSpec = FLEX, **kwargs):
    return plan_request(ImageRequest(prompt=kwargs.pop("prompt", "a fox"), **kwargs), spec, LIMITS)


def options(result) -> list[str]:
    return [w.option for w in result.warnings]


def test_plain_request_is_honoured_without_warnings() -> None:
    result = plan(orientation=Orientation.LANDSCAPE, size=SizeTier.M, quality=Quality.HIGH)
    (call,) = result.calls
    assert call.aspect_ratio == "3:2" and call.size_tier is SizeTier.M
    assert (call.width, call.height) == FLEX.pixel_sizes[(SizeTier.M, "3:2")]
    assert call.quality == "high" and call.operation is Operation.GENERATE
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("orientation", "ratio"),
    [
        (None, "1:1"),
        (Orientation.SQUARE, "1:1"),
        (Orientation.PORTRAIT, "2:3"),
        (Orientation.LANDSCAPE, "3:2"),
    ],
)
def test_orientation_maps_to_canonical_ratio(orientation, ratio) -> None:
    assert plan(orientation=orientation).calls[0].aspect_ratio == ratio


def test_explicit_aspect_ratio_overrides_and_unsupported_one_goes_to_nearest() -> None:
    assert plan(aspect_ratio="16:9").calls[0].aspect_ratio == "16:9"
    result = plan(SINGLE, aspect_ratio="21:9")
    assert result.calls[0].aspect_ratio == "16:9"
    assert options(result) == ["aspect_ratio"]


def test_aspect_ratio_contradicting_orientation_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        plan(aspect_ratio="16:9", orientation=Orientation.PORTRAIT)


@pytest.mark.parametrize("bad", ["wide", "16/9", "0:1", "1:0", "999999:1"])
def test_malformed_aspect_ratio_is_invalid(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        plan(aspect_ratio=bad)


def test_missing_size_tier_falls_back_with_warning_and_strict_refuses() -> None:
    result = plan(SINGLE, size=SizeTier.L)
    assert result.calls[0].size_tier is SizeTier.M
    assert result.calls[0].size_label == "2K"
    assert options(result) == ["size"]
    with pytest.raises(UnsupportedOption):
        plan(SINGLE, size=SizeTier.L, strict=True)


def test_quality_without_a_knob_is_dropped_with_warning() -> None:
    result = plan(SINGLE, quality=Quality.HIGH)
    assert result.calls[0].quality is None and options(result) == ["quality"]


def test_negative_prompt_is_folded_in_where_not_native() -> None:
    result = plan(SINGLE, negative_prompt="text, watermark")
    assert result.calls[0].prompt.endswith("Avoid: text, watermark")
    assert result.calls[0].negative_prompt is None
    assert options(result) == ["negative_prompt"]


def test_fan_out_splits_n_into_parallel_calls() -> None:
    result = plan(SINGLE, n=3)
    assert [c.n for c in result.calls] == [1, 1, 1]
    assert options(result) == ["n"]
    assert [c.n for c in plan(n=7).calls] == [7]


def test_n_beyond_fan_out_cap_or_server_cap_is_refused() -> None:
    with pytest.raises(UnsupportedOption):
        plan(SINGLE, n=5)
    with pytest.raises(InvalidRequest):
        plan(n=11)
    with pytest.raises(InvalidRequest):
        plan(n=0)


def test_transparency_rules() -> None:
    with pytest.raises(UnsupportedOption):
        plan(SINGLE, background=Background.TRANSPARENT)
    with pytest.raises(UnsupportedOption):
        plan(background=Background.TRANSPARENT, output_format=OutputFormat.JPEG)
    assert plan(background=Background.TRANSPARENT).calls[0].output_format is OutputFormat.PNG
    webp = plan(background=Background.TRANSPARENT, output_format=OutputFormat.WEBP)
    assert webp.calls[0].output_format is OutputFormat.WEBP


def test_output_format_not_offered_is_refused() -> None:
    with pytest.raises(UnsupportedOption):
        plan(SINGLE, output_format=OutputFormat.WEBP)


def test_compression_only_for_lossy_formats() -> None:
    assert plan(output_format=OutputFormat.JPEG, output_compression=50).calls[0].output_compression == 50
    result = plan(output_format=OutputFormat.PNG, output_compression=50)
    assert result.calls[0].output_compression is None and options(result) == ["output_compression"]


def test_edit_rules() -> None:
    with pytest.raises(UnsupportedOption):
        plan(GEN_ONLY, images=(PNG,))
    with pytest.raises(UnsupportedOption):
        plan(SINGLE, images=(PNG,), mask=PNG)
    with pytest.raises(UnsupportedOption):
        plan(SINGLE, images=(PNG,) * 4)
    with pytest.raises(InvalidRequest):
        plan(mask=PNG)
    assert plan(images=(PNG,), mask=PNG).calls[0].operation is Operation.EDIT


def test_prompt_rules() -> None:
    with pytest.raises(InvalidRequest):
        plan(prompt="   ")
    with pytest.raises(InvalidRequest) as caught:
        plan(prompt="x" * (FLEX.max_prompt_chars + 1))
    assert caught.value.details["limit"] == FLEX.max_prompt_chars


def test_retired_and_unknown_models_warn_but_are_sent() -> None:
    retired = attrs.evolve(SINGLE, status=ModelStatus.RETIRED, replacement="fake-image")
    result = plan(retired)
    assert len(result.calls) == 1
    assert "fake-image" in result.warnings[0].message
    unknown = unknown_model_spec("fake", "fake-2099", FLEX)
    result = plan(unknown)
    assert result.calls[0].model == "fake-2099" and options(result) == ["model"]


def test_edit_without_shape_keeps_the_input_shape() -> None:
    portrait = attrs.evolve(ImageData.from_bytes(solid_png(4, 4)), width=688, height=1024)
    assert plan(images=(portrait,)).calls[0].aspect_ratio == "2:3"
    wide = attrs.evolve(ImageData.from_bytes(solid_png(4, 4)), width=1920, height=1080)
    result = plan(images=(wide,))
    assert result.calls[0].aspect_ratio == "16:9" and result.warnings == ()
    # An explicit orientation still wins, and an input of unknown size falls back to square.
    assert plan(images=(wide,), orientation=Orientation.PORTRAIT).calls[0].aspect_ratio == "2:3"
    assert plan(images=(PNG,)).calls[0].aspect_ratio == "1:1"


def test_unknown_ids_take_after_the_nearest_catalog_line_or_stay_open() -> None:
    from adapters.providers.google_catalog import vertex_catalog
    from adapters.providers.openrouter_catalog import openrouter_catalog
    from domain.catalog import template_for

    imagen = template_for("imagen-5.0-generate-001", vertex_catalog())
    assert imagen is not None and imagen.family == "imagen"
    assert template_for("acme/new-image-model", openrouter_catalog()) is None
    open_spec = unknown_model_spec("openrouter", "acme/new-image-model", None)
    result = plan(
        open_spec,
        background=Background.TRANSPARENT,
        output_format=OutputFormat.WEBP,
        size=SizeTier.L,
        aspect_ratio="21:9",
    )
    (call,) = result.calls
    assert (call.output_format, call.size_label, call.aspect_ratio) == (OutputFormat.WEBP, "4K", "21:9")
    assert options(result) == ["model"]  # only the "not in the catalog" note
