"""The seed-compatible vocabulary of knobs, as enums whose values are the wire strings."""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    GENERATE = "generate"
    EDIT = "edit"


class SizeTier(StrEnum):
    """S/M/L: roughly 1K, 2K and 4K on the long edge, mapped per model."""

    S = "S"
    M = "M"
    L = "L"


class Orientation(StrEnum):
    SQUARE = "square"
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"


class Quality(StrEnum):
    DRAFT = "draft"
    STANDARD = "standard"
    HIGH = "high"


class Background(StrEnum):
    TRANSPARENT = "transparent"
    OPAQUE = "opaque"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def media_type(self) -> str:
        return f"image/{self.value}"

    @property
    def has_alpha(self) -> bool:
        return self is not OutputFormat.JPEG


class ModelStatus(StrEnum):
    CURRENT = "current"
    LEGACY = "legacy"
    RETIRED = "retired"


# Canonical ratio per orientation: 3:2 and 2:3 match OpenAI's fixed sizes and every Gemini model.
ORIENTATION_RATIOS: dict[Orientation, str] = {
    Orientation.SQUARE: "1:1",
    Orientation.LANDSCAPE: "3:2",
    Orientation.PORTRAIT: "2:3",
}

SIZE_ORDER: tuple[SizeTier, ...] = (SizeTier.S, SizeTier.M, SizeTier.L)

# Every provider id, in the order they are listed and tried as a default: real vendors first,
# the offline placeholder last so that configuring any key makes that vendor the default.
PROVIDER_ORDER: tuple[str, ...] = (
    "openai", "azure", "gemini", "vertex", "openrouter", "placeholder", "fake",
)  # fmt: skip
