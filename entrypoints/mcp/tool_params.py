"""Annotated parameter types of the tools: names, enums and descriptions follow the seed."""

import json
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from domain.options import Background, Orientation, OutputFormat, Quality, SizeTier
from entrypoints.settings import InlineMode

# Input strings may carry a whole photo as base64; the decoder applies the byte cap.
MAX_IMAGE_ARG_CHARS = 50_000_000

Prompt = Annotated[str, Field(description="Text description of the desired image.", max_length=32_000)]
EditPrompt = Annotated[str, Field(description="The edit instruction.", max_length=32_000)]
Count = Annotated[
    int | None,
    Field(
        ge=1,
        le=10,
        description="How many images (default 1). Models that make one image per call fan out "
        "in parallel, up to the server's cap.",
    ),
]
Size = Annotated[
    SizeTier | None,
    Field(
        description="S ≈ 1K, M ≈ 2K, L ≈ 4K on the long edge, mapped per model (nearest tier "
        "with a warning where a model lacks one)."
    ),
]
OrientationArg = Annotated[
    Orientation | None,
    Field(description="square (1:1, default), landscape (3:2) or portrait (2:3)."),
]
QualityArg = Annotated[
    Quality | None,
    Field(
        description="draft, standard or high; ignored with a warning where a model has no quality setting."
    ),
]
BackgroundArg = Annotated[
    Background | None,
    Field(
        description="transparent or opaque; transparent is refused (unsupported_option) on "
        "models that cannot make it."
    ),
]
NegativePrompt = Annotated[
    str | None,
    Field(
        description="What to avoid; folded into the prompt (with a warning) where the model "
        "has no native negative prompt.",
        max_length=4_000,
    ),
]
Directory = Annotated[
    str | None,
    Field(
        description="Folder inside the server's output root (IMAGE_GEN_MCP_OUTPUT_DIR) to "
        "save into: relative, or absolute inside the root. Anything else is refused.",
        max_length=1024,
    ),
]
AspectRatio = Annotated[
    str | None,
    Field(
        description="Explicit ratio such as 16:9 or 21:9; overrides orientation. The nearest "
        "ratio the model offers is used, with a warning, if it lacks this one.",
        max_length=16,
    ),
]
OutputFormatArg = Annotated[
    OutputFormat | None, Field(description="png, jpeg or webp, where the model offers it.")
]
Compression = Annotated[int | None, Field(ge=0, le=100, description="0-100, for jpeg and webp output only.")]
Strict = Annotated[
    bool,
    Field(
        description="Refuse (unsupported_option) instead of remapping options the model "
        "cannot honour exactly."
    ),
]
Inline = Annotated[
    InlineMode | None,
    Field(
        description="preview (default): a small inline image per result; full: the original "
        "when it fits the result budget; none: resource links only."
    ),
]
_JSON_ARRAY_START = re.compile(r"\s*\[")


def _image_list(value: object) -> object:
    """Accept ``images`` as the list it should be, its JSON text, or one lone string.

    Claude Code, Claude Desktop and Copilot CLI are known to send an array argument as its JSON
    text now and then (anthropics/claude-code#22394, #59227, #86459), and models sometimes pass
    a single string where a list is declared. Neither is ambiguous here: no image form (data
    URL, base64, id, URL) starts with ``[``. The advertised schema stays a plain array.
    """
    if not isinstance(value, str):
        return value
    if _JSON_ARRAY_START.match(value):
        try:
            return json.loads(value)
        except ValueError:
            return value  # left for the list check to refuse with its usual message
    return [value]


Images = Annotated[
    list[Annotated[str, Field(max_length=MAX_IMAGE_ARG_CHARS)]],
    BeforeValidator(_image_list),
    Field(
        min_length=1,
        max_length=16,
        description="Source images: data URL, bare base64, image://{id} (or a bare id) of an "
        "image this server made, or an https URL. Most models use the first image; some "
        "combine several.",
    ),
]
Mask = Annotated[
    str | None,
    Field(
        description="Mask in the same forms as images. Transparent (alpha 0) or white pixels "
        "mark where to edit; it is converted to what each vendor expects. Only for models "
        "with supports_mask.",
        max_length=MAX_IMAGE_ARG_CHARS,
    ),
]
