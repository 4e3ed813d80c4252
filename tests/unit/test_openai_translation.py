"""The gateway's vocabulary mapping: WxH to the policy's tier and ratio, and model names."""

from __future__ import annotations

import pytest

from application.policy import nearest_ratio, ratio_value
from domain.catalog import STANDARD_RATIOS
from domain.errors import InvalidRequest
from domain.options import SizeTier
from entrypoints.http.openai_translation import adjusted_header, route_names, size_request

PROVIDERS = ("openai", "gemini", "openrouter", "fake")


@pytest.mark.parametrize(
    ("size", "tier", "ratio"),
    [
        (None, None, None),
        ("auto", None, None),
        ("1024x1024", SizeTier.S, "1:1"),
        ("1536x1024", SizeTier.S, "3:2"),
        ("1792x1024", SizeTier.S, "7:4"),
        ("2048x2048", SizeTier.M, "1:1"),
        ("3840x2160", SizeTier.L, "16:9"),
        ("1000x1001", SizeTier.S, "1:1.00"),
        ("1920x1081", SizeTier.S, "1.78:1"),
    ],
)
def test_size_becomes_a_tier_and_a_ratio_the_policy_reads(
    size: str | None, tier: SizeTier | None, ratio: str | None
) -> None:
    assert size_request(size) == (tier, ratio)
    if ratio is not None:
        ratio_value(ratio)  # the policy accepts it (raises otherwise)


def test_an_odd_ratio_lands_on_the_nearest_offered_one() -> None:
    _, ratio = size_request("1920x1081")
    assert nearest_ratio(ratio or "", STANDARD_RATIOS) == "16:9"


def test_a_needle_of_a_size_is_refused_naming_size() -> None:
    with pytest.raises(InvalidRequest) as error:
        size_request("64x4096")
    assert error.value.details["option"] == "size"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (None, (None, None)),
        ("gemini/gemini-3.1-flash-image", ("gemini", "gemini-3.1-flash-image")),
        ("openrouter/google/gemini-3.1-flash-image", ("openrouter", "google/gemini-3.1-flash-image")),
        ("google/gemini-3.1-flash-image", (None, "google/gemini-3.1-flash-image")),
        ("gpt-image-1.5", (None, "gpt-image-1.5")),
        ("gemini", ("gemini", None)),
        ("openai/", (None, "openai/")),
    ],
)
def test_model_names(model: str | None, expected: tuple[str | None, str | None]) -> None:
    assert route_names(model, PROVIDERS) == expected


def test_adjusted_header_names_the_size_change_and_other_options_once() -> None:
    warnings = [
        {"option": "aspect_ratio", "message": "…"},
        {"option": "quality", "message": "…"},
        {"option": "quality", "message": "…"},
    ]
    assert adjusted_header("1000x700", "1024x683", warnings) == "size=1000x700->1024x683; quality"
    assert adjusted_header("1024x1024", "1024x1024", []) == ""
    assert adjusted_header("auto", "1024x1024", []) == ""
